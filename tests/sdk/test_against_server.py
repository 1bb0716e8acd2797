"""End to end: the real SDK (sync and async) against the real server with the embedded model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

import tensormesh
from tensormesh import AsyncTensormesh, AuthenticationError, NotFoundError, Tensormesh
from tensormesh.types import ResponseTextDeltaEvent
from tests.conftest import EMBEDDED_MODEL
from tests.support.servers import RunningServer

pytestmark = pytest.mark.slow

MESSAGES = [{"role": "user", "content": "Say hello in three words."}]


@pytest.fixture
def client(server: RunningServer) -> Iterator[Tensormesh]:
    with Tensormesh(
        serverless_base_url=server.serverless_url, inference_api_key=server.api_key, env={}
    ) as sdk:
        yield sdk


@pytest.fixture
async def aclient(server: RunningServer) -> AsyncIterator[AsyncTensormesh]:
    async with AsyncTensormesh(
        serverless_base_url=server.serverless_url, inference_api_key=server.api_key, env={}
    ) as sdk:
        yield sdk


def test_chat(client: Tensormesh) -> None:
    chat = client.inference.serverless.chat.completions.create(
        model=EMBEDDED_MODEL, messages=MESSAGES, max_tokens=12, temperature=0
    )
    assert chat.choices[0].message.content
    assert chat.usage is not None
    assert chat.usage.completion_tokens > 0
    assert chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens


def test_chat_stream_with_usage(client: Tensormesh) -> None:
    with client.inference.serverless.chat.completions.create(
        model=EMBEDDED_MODEL,
        messages=MESSAGES,
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        text = "".join(stream.text_deltas())
    assert text
    assert stream.usage is not None
    assert stream.usage.completion_tokens > 0
    assert stream.response.is_closed


async def test_async_chat_and_stream(aclient: AsyncTensormesh) -> None:
    s = aclient.inference.serverless
    chat = await s.chat.completions.create(model=EMBEDDED_MODEL, messages=MESSAGES, max_tokens=8)
    assert chat.choices[0].message.content
    stream = await s.chat.completions.create(
        model=EMBEDDED_MODEL,
        messages=MESSAGES,
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
    )
    async with stream:
        text = "".join([delta async for delta in stream.text_deltas()])
    assert text
    assert stream.usage is not None


def test_completions(client: Tensormesh) -> None:
    s = client.inference.serverless
    completion = s.completions.create(model=EMBEDDED_MODEL, prompt="The sky is", max_tokens=6)
    assert completion.choices[0].text
    stream = s.completions.create(
        model=EMBEDDED_MODEL, prompt="The sky is", max_tokens=6, stream=True
    )
    assert "".join(stream.text_deltas())


def test_responses(client: Tensormesh) -> None:
    s = client.inference.serverless
    response = s.responses.create(model=EMBEDDED_MODEL, input="Say hi.", max_output_tokens=8)
    assert response.output_text
    assert response.usage is not None
    with s.responses.create(
        model=EMBEDDED_MODEL, input="Say hi.", max_output_tokens=8, stream=True
    ) as stream:
        events = list(stream)
    types = [event.type for event in events]
    text = [event.delta for event in events if isinstance(event, ResponseTextDeltaEvent)]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    assert "response.output_text.delta" in types
    assert "".join(text)
    assert stream.usage is not None


async def test_async_responses_stream(aclient: AsyncTensormesh) -> None:
    stream = await aclient.inference.serverless.responses.create(
        model=EMBEDDED_MODEL, input="Say hi.", max_output_tokens=8, stream=True
    )
    async with stream:
        assert "".join([delta async for delta in stream.text_deltas()])
    assert stream.usage is not None


def test_tokenize_detokenize_round_trip(client: Tensormesh) -> None:
    s = client.inference.serverless
    text = "Hello, world! Tokens make a round trip."
    tokens = s.tokenize.create(model=EMBEDDED_MODEL, prompt=text, add_special_tokens=False)
    assert tokens.count == len(tokens.tokens) > 0
    assert s.detokenize.create(model=EMBEDDED_MODEL, tokens=tokens.tokens).prompt == text
    chat_tokens = s.tokenize.create(model=EMBEDDED_MODEL, messages=MESSAGES)
    assert chat_tokens.count > tokens.count // 2


async def test_async_tokenize_round_trip(aclient: AsyncTensormesh) -> None:
    s = aclient.inference.serverless
    tokens = await s.tokenize.create(
        model=EMBEDDED_MODEL, prompt="abc def", add_special_tokens=False
    )
    assert (
        await s.detokenize.create(model=EMBEDDED_MODEL, tokens=tokens.tokens)
    ).prompt == "abc def"


def test_models_health_version(client: Tensormesh) -> None:
    s = client.inference.serverless
    assert EMBEDDED_MODEL in [model.id for model in s.models.list().data]
    assert s.health.get().status == "healthy"
    assert s.version.get().version == tensormesh.__version__
    raw = s.version.with_raw_response.get(extra_headers={"x-request-id": "e2e-request-1"})
    assert raw.request_id == "e2e-request-1"


async def test_async_models_health_version(aclient: AsyncTensormesh) -> None:
    s = aclient.inference.serverless
    assert EMBEDDED_MODEL in [model.id for model in (await s.models.list()).data]
    assert (await s.health.get()).status == "healthy"
    assert (await s.version.get()).version == tensormesh.__version__


def test_bad_key_is_401(server: RunningServer) -> None:
    with (
        Tensormesh(
            serverless_base_url=server.serverless_url, inference_api_key="wrong-key", env={}
        ) as sdk,
        pytest.raises(AuthenticationError) as info,
    ):
        sdk.inference.serverless.chat.completions.create(model=EMBEDDED_MODEL, messages=MESSAGES)
    assert info.value.status_code == 401
    assert "inference" in str(info.value).lower()
    assert info.value.request_id


def test_unknown_model_is_404(client: Tensormesh) -> None:
    with pytest.raises(NotFoundError) as info:
        client.inference.serverless.chat.completions.create(
            model="no-such-model", messages=MESSAGES
        )
    assert "/v1/models" in str(info.value)
