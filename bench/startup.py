"""Start-up wall times: `tm --help` and `import tensormesh`, each in a fresh process."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence

from .common import BIN, PYTHON, ROOT, Row, bench_env, median

COMMANDS = {
    "tm --help": [str(BIN / "tm"), "--help"],
    "import tensormesh": [PYTHON, "-c", "import tensormesh"],
    "python -c pass": [PYTHON, "-c", "pass"],
}


def _wall_ms(command: Sequence[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - began) * 1000


def startup_times(runs: int, say: Callable[[str], None]) -> list[Row]:
    """Median wall times over `runs` interleaved runs of each command (after one warm-up)."""
    env = bench_env()
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command in COMMANDS.values():
        _wall_ms(command, env)
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(_wall_ms(command, env))
    times = {name: median(values) for name, values in samples.items()}
    say(
        f"start-up wall time, median of {runs}: "
        + ", ".join(f"{name} {ms:.0f} ms" for name, ms in times.items())
    )
    bare = times["python -c pass"]
    help_ms, import_ms = times["tm --help"], times["import tensormesh"]
    details = {"median_ms": times, "samples_ms": samples}
    return [
        Row(
            name="tm --help wall time",
            measured=f"{help_ms:.0f} ms (python itself {bare:.0f} ms)",
            ratio=help_ms / 200,
            target="< 200 ms",
            passed=help_ms < 200,
            details=details,
        ),
        Row(
            name="import tensormesh wall time",
            measured=f"raw {import_ms:.0f} ms, net {import_ms - bare:.0f} ms",
            ratio=(import_ms - bare) / 150,
            target="net < 150 ms",
            passed=import_ms - bare < 150,
            details=details,
        ),
    ]
