"""Benchmarks of the SDK, the CLI and the server (run `python -m bench.run` from the repo root)."""
