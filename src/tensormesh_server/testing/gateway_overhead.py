"""Quick gateway overhead check: a fake upstream direct vs through `tm server up`.

Run `python -m tensormesh_server.testing.gateway_overhead`. It starts the fake upstream and a
`--no-embedded` gateway in front of it as separate processes, then prints the median latency
with one request in flight and the throughput with 16 in flight (the load generator runs in its
own process too), for both paths.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

import httpx2

from .fake_upstream import free_port

BODY = {"model": "fake", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
KEY = "tm_sk_overhead-check"

_LOAD = """
import asyncio, json, sys, time, httpx2
url, headers, body = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
workers, seconds = int(sys.argv[4]), float(sys.argv[5])
async def main():
    limits = httpx2.Limits(max_connections=workers * 2)
    async with httpx2.AsyncClient(trust_env=False, limits=limits) as client:
        done = 0
        stop = time.perf_counter() + seconds
        async def worker():
            nonlocal done
            while time.perf_counter() < stop:
                response = await client.post(url, json=body, headers=headers)
                assert response.status_code == 200, response.text
                done += 1
        await asyncio.gather(*(worker() for _ in range(workers)))
        print(done / seconds)
asyncio.run(main())
"""


async def median_latency_ms(url: str, headers: dict[str, str], count: int) -> float:
    """Median time of `count` sequential requests (after a warm-up)."""
    async with httpx2.AsyncClient(trust_env=False) as client:
        for _ in range(200):
            await client.post(url, json=BODY, headers=headers)
        samples = []
        for _ in range(count):
            began = time.perf_counter()
            response = await client.post(url, json=BODY, headers=headers)
            samples.append(time.perf_counter() - began)
            response.raise_for_status()
    return statistics.median(samples) * 1000


def throughput(url: str, headers: dict[str, str], workers: int, seconds: float) -> float:
    """Requests per second with `workers` in flight, from a separate load process."""
    args = [url, json.dumps(headers), json.dumps(BODY), str(workers), str(seconds)]
    output = subprocess.check_output([sys.executable, "-c", _LOAD, *args])
    return float(output.decode().strip())


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(url, timeout=1).status_code < 500:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    """Print latency and throughput, direct and through the gateway."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    up_port, gateway_port = free_port(), free_port()
    python = sys.executable
    upstream = subprocess.Popen(
        [python, "-m", "tensormesh_server.testing.fake_upstream", "--port", str(up_port)]
    )
    env = {**os.environ, "TENSORMESH_SERVER_API_KEYS": KEY}
    gateway_command = [
        *(python, "-m", "tensormesh_cli", "server", "up", "--no-embedded"),
        *("--serverless-port", str(gateway_port)),
        *("--upstream", f"fake=http://127.0.0.1:{up_port}"),
    ]
    gateway = subprocess.Popen(gateway_command, env=env, stderr=subprocess.DEVNULL)
    try:
        direct = f"http://127.0.0.1:{up_port}"
        through = f"http://127.0.0.1:{gateway_port}"
        _wait(direct + "/health")
        _wait(through + "/version")
        path = "/v1/chat/completions"
        auth = {"authorization": f"Bearer {KEY}"}
        direct_ms = asyncio.run(median_latency_ms(direct + path, {}, args.requests))
        gateway_ms = asyncio.run(median_latency_ms(through + path, auth, args.requests))
        print(
            f"1 in flight, median: direct {direct_ms:.3f} ms, gateway {gateway_ms:.3f} ms, "
            f"added {gateway_ms - direct_ms:.3f} ms"
        )
        direct_rps = throughput(direct + path, {}, args.workers, args.seconds)
        gateway_rps = throughput(through + path, auth, args.workers, args.seconds)
        print(
            f"{args.workers} in flight: direct {direct_rps:.0f} req/s, gateway {gateway_rps:.0f} "
            f"req/s, ratio {gateway_rps / direct_rps:.2f}"
        )
    finally:
        for process in (gateway, upstream):
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
