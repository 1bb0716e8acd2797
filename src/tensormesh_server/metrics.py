"""Request metrics of the serverless surface, rendered in the Prometheus text format."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TOKEN_KINDS = ("prompt", "completion", "cached")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Iterable[str], values: Iterable[str]) -> str:
    return ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=False))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Histogram:
    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.buckets = [0] * len(LATENCY_BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        index = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        if index < len(self.buckets):
            self.buckets[index] += 1
        self.count += 1
        self.total += seconds


class Metrics:
    """Counters, gauges and a latency histogram kept in memory by the gateway."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.tokens: dict[tuple[str, str], int] = defaultdict(int)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.latency: dict[tuple[str, str], _Histogram] = {}

    def started(self, model: str) -> None:
        """A request for `model` began."""
        self.in_flight[model] += 1

    def finished(self, route: str, model: str, status: int, seconds: float) -> None:
        """A request ended (with `status`) after `seconds`; it was counted by `started`."""
        self.in_flight[model] -= 1
        self.record(route, model, status, seconds)

    def record(self, route: str, model: str, status: int, seconds: float) -> None:
        """Count a request that never reached an engine (or did, via started/finished)."""
        self.requests[(route, model, str(status))] += 1
        histogram = self.latency.get((route, model))
        if histogram is None:
            histogram = self.latency[(route, model)] = _Histogram()
        histogram.observe(seconds)

    def add_usage(self, model: str, usage: Mapping[str, object] | None) -> None:
        """Add the token counts of an OpenAI `usage` object."""
        if not isinstance(usage, Mapping):
            return
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens"))
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
        for kind, value in zip(TOKEN_KINDS, (prompt, completion, cached), strict=False):
            if isinstance(value, int):
                self.tokens[(model, kind)] += value

    def render(self) -> str:
        """The Prometheus text exposition (format 0.0.4)."""
        lines = [
            "# HELP tensormesh_requests_total Requests served, by route, model and status.",
            "# TYPE tensormesh_requests_total counter",
        ]
        for (route, model, status), count in sorted(self.requests.items()):
            labels = _labels(("route", "model", "status"), (route, model, status))
            lines.append(f"tensormesh_requests_total{{{labels}}} {count}")
        lines += [
            "# HELP tensormesh_tokens_total Tokens processed, by model and kind.",
            "# TYPE tensormesh_tokens_total counter",
        ]
        for (model, kind), count in sorted(self.tokens.items()):
            labels = _labels(("model", "kind"), (model, kind))
            lines.append(f"tensormesh_tokens_total{{{labels}}} {count}")
        lines += [
            "# HELP tensormesh_requests_in_flight Requests being served, by model.",
            "# TYPE tensormesh_requests_in_flight gauge",
        ]
        for model, count in sorted(self.in_flight.items()):
            lines.append(
                f"tensormesh_requests_in_flight{{{_labels(('model',), (model,))}}} {count}"
            )
        lines += [
            "# HELP tensormesh_request_duration_seconds Time to the end of the response.",
            "# TYPE tensormesh_request_duration_seconds histogram",
        ]
        for (route, model), histogram in sorted(self.latency.items()):
            base = _labels(("route", "model"), (route, model))
            cumulative = 0
            for bound, count in zip(LATENCY_BUCKETS, histogram.buckets, strict=False):
                cumulative += count
                name = "tensormesh_request_duration_seconds_bucket"
                lines.append(f'{name}{{{base},le="{_number(bound)}"}} {cumulative}')
            name = "tensormesh_request_duration_seconds"
            lines.append(f'{name}_bucket{{{base},le="+Inf"}} {histogram.count}')
            lines.append(f"{name}_sum{{{base}}} {histogram.total!r}")
            lines.append(f"{name}_count{{{base}}} {histogram.count}")
        return "\n".join(lines) + "\n"
