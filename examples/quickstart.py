"""Stream a chat completion from a Tensormesh serverless endpoint and print the token usage.

Configuration comes from the environment (TENSORMESH_SERVERLESS_BASE_URL,
TENSORMESH_INFERENCE_API_KEY); the model from TM_MODEL or the first one the endpoint lists.
"""

from __future__ import annotations

import os
import sys

from tensormesh import Tensormesh, TensormeshError


def main() -> int:
    try:
        with Tensormesh() as client:
            serverless = client.inference.serverless
            model = os.environ.get("TM_MODEL") or serverless.models.list().data[0].id
            stream = serverless.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "In one sentence, what is a KV cache?"}],
                max_tokens=64,
                stream=True,
                stream_options={"include_usage": True},
            )
            with stream:
                for text in stream.text_deltas():
                    print(text, end="", flush=True)
            print()
            usage = stream.usage
            if usage is not None:
                print(
                    f"usage: prompt={usage.prompt_tokens} completion={usage.completion_tokens} "
                    f"total={usage.total_tokens}",
                    file=sys.stderr,
                )
    except TensormeshError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
