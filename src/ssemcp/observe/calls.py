"""The requests a server served, counted: by JSON-RPC method and tool or prompt, with how
each ended and how long it took. No I/O and no clock: durations come in measured.

``ssemcp.observe.watch`` records into a :class:`CallStats`; ``ssemcp.observe.metrics`` reads
it when scraped. Recording is a few dict and list operations, so that bench scenario a does
not move (issue #18: at most 3 %).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from ssemcp.jsonrpc import RequestId

__all__ = [
    "DURATION_BUCKETS_SECONDS",
    "NAME_KEYS",
    "CallRecord",
    "CallStats",
    "MethodStats",
    "Outcome",
]

# Upper bounds of the latency histogram's buckets, in seconds: an in-process tool answers in
# well under a millisecond, one that calls an upstream API in tenths of a second to seconds,
# and an upstream's timeout is 10 s (ssemcp.toolsets._upstream). Prometheus' client defaults
# (5 ms to 10 s) miss the fast end.
DURATION_BUCKETS_SECONDS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
# What a request's ``name`` or ``uri`` is called in a log line, by method.
NAME_KEYS: Final = {
    "tools/call": "tool",
    "prompts/get": "prompt",
    "resources/read": "resource",
    "resources/subscribe": "resource",
    "resources/unsubscribe": "resource",
}


class Outcome(enum.Enum):
    """How a dispatched request ended."""

    OK = "ok"
    # A tools/call result with isError: the tool failed, the request did not.
    TOOL_ERROR = "tool_error"
    # A JSON-RPC error reply (its code is recorded beside it).
    ERROR = "error"
    # Cancelled: by the client (notifications/cancelled, a closed stream) or the session's end.
    CANCELLED = "cancelled"
    # A 2026-07-28 round that ended by asking the client (an InputRequiredResult).
    INPUT_REQUIRED = "input_required"


@dataclass(slots=True)
class CallRecord:
    """One dispatched request, as its log line shows it."""

    method: str
    # The tool or prompt name, or the resource URI; None when the request has none.
    name: str | None
    request_id: RequestId
    principal: str | None
    outcome: Outcome
    # The JSON-RPC error code of an ERROR.
    code: int | None
    duration_seconds: float
    # The tool or prompt arguments, when the log may show them (--log-arguments).
    arguments: object | None = None


class MethodStats:
    """One (method, name) pair's counters: requests, errors by outcome, latency buckets."""

    __slots__ = ("buckets", "count", "errors", "sum_seconds")

    def __init__(self, bucket_count: int) -> None:
        self.count = 0
        self.sum_seconds = 0.0
        # Not cumulative: bucket i counts durations in (bound[i-1], bound[i]]; the last one
        # counts those above every bound (Prometheus' +Inf).
        self.buckets = [0] * (bucket_count + 1)
        self.errors: dict[str, int] = {}


class CallStats:
    """What every request dispatched under one app did.

    Args:
        buckets: the latency histogram's upper bounds, in seconds, ascending.
    """

    __slots__ = ("_bounds", "_by_method")

    def __init__(self, buckets: tuple[float, ...] = DURATION_BUCKETS_SECONDS) -> None:
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError("buckets must be distinct and ascending")
        self._bounds = buckets
        self._by_method: dict[tuple[str, str], MethodStats] = {}

    @property
    def bounds(self) -> tuple[float, ...]:
        return self._bounds

    def record(self, method: str, name: str, outcome: Outcome, duration_seconds: float) -> None:
        """Count one request of ``method`` (``name``: a registered tool or prompt, or "")."""
        key = (method, name)
        stats = self._by_method.get(key)
        if stats is None:
            stats = self._by_method[key] = MethodStats(len(self._bounds))
        stats.count += 1
        stats.sum_seconds += duration_seconds
        # bisect_left: a duration equal to a bound falls in that bound's bucket (le="...").
        stats.buckets[bisect.bisect_left(self._bounds, duration_seconds)] += 1
        if outcome is not Outcome.OK:
            errors = stats.errors
            errors[outcome.value] = errors.get(outcome.value, 0) + 1

    def __iter__(self) -> Iterator[tuple[str, str, MethodStats]]:
        """Each (method, name) seen, with its counters (a snapshot of the keys)."""
        for (method, name), stats in list(self._by_method.items()):
            yield method, name, stats
