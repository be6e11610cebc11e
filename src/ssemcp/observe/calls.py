"""The requests a server served, counted: by JSON-RPC method and tool or prompt, with how
each ended and how long it took. No I/O and no clock: durations come in measured.

``ssemcp.observe.watch`` records into a :class:`CallStats`; ``ssemcp.observe.metrics`` reads
it when scraped. Recording is a few dict and list operations, so that bench scenario a does
not move (issue #18: at most 3 %).
"""

from __future__ import annotations

import bisect
import collections
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from ssemcp.jsonrpc import RequestId

__all__ = [
    "CANCELLED",
    "CUT_OFF",
    "DURATION_BUCKETS_SECONDS",
    "ERROR",
    "INPUT_REQUIRED",
    "MAX_PENDING",
    "NAME_KEYS",
    "OK",
    "OUTCOMES",
    "STOPPED",
    "TOOL_ERROR",
    "CallRecord",
    "CallStats",
    "MethodStats",
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
# Durations a (method, name) holds before they are folded into its buckets.
MAX_PENDING: Final = 4096
# What a request's ``name`` or ``uri`` is called in a log line, by method.
NAME_KEYS: Final = {
    "tools/call": "tool",
    "prompts/get": "prompt",
    "resources/read": "resource",
    "resources/subscribe": "resource",
    "resources/unsubscribe": "resource",
}


# How a dispatched request ended (strings, not an enum: they are compared on every request).
OK: Final = "ok"
# A tools/call result with isError: the tool failed, the request did not.
TOOL_ERROR: Final = "tool_error"
# A JSON-RPC error reply (its code is recorded beside it).
ERROR: Final = "error"
# Cancelled: by the client (notifications/cancelled, a closed stream) or the session's end.
CANCELLED: Final = "cancelled"
# A 2026-07-28 round that ended by asking the client (an InputRequiredResult).
INPUT_REQUIRED: Final = "input_required"
# How a subscriptions/listen stream ended, besides OK (its client left or cancelled it): cut
# off (its reader fell too far behind), or ended by the server stopping.
CUT_OFF: Final = "cut_off"
STOPPED: Final = "stopped"
OUTCOMES: Final = (OK, TOOL_ERROR, ERROR, CANCELLED, INPUT_REQUIRED, CUT_OFF, STOPPED)


@dataclass(slots=True)
class CallRecord:
    """One dispatched request, as its log line shows it."""

    method: str
    # The tool or prompt name, or the resource URI; None when the request has none.
    name: str | None
    # None for input that was no request (a parse error).
    request_id: RequestId | None
    principal: str | None
    outcome: str  # one of OUTCOMES
    # The JSON-RPC error code of an ERROR.
    code: int | None
    duration_seconds: float
    # The tool or prompt arguments, when the log may show them (--log-arguments).
    arguments: object | None = None
    # The notifications a subscriptions/listen stream carried; None for any other request.
    notifications: int | None = None


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

    A request adds its duration to a list per (method, name) (:attr:`pending`, written by
    ``ssemcp.observe.watch``); the lists are folded into the counters and buckets when read,
    or when one holds :data:`MAX_PENDING` durations. The fold is a few calls into C per list
    (``collections.Counter`` over ``bisect``), where counting each request in Python took
    ~3 500 instructions: 3.5 % of bench scenario a's call.

    Args:
        buckets: the latency histogram's upper bounds, in seconds, ascending.
    """

    __slots__ = ("_bounds", "_bucket_of", "_by_method", "pending", "tool_durations")

    def __init__(self, buckets: tuple[float, ...] = DURATION_BUCKETS_SECONDS) -> None:
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError("buckets must be distinct and ascending")
        self._bounds = buckets
        # bisect_left: a duration equal to a bound falls in that bound's bucket (le="...").
        self._bucket_of = functools.partial(bisect.bisect_left, buckets)
        self._by_method: dict[tuple[str, str], MethodStats] = {}
        # Durations not yet folded, by (method, name). The names are the server's own tools
        # and prompts (or ""), and the methods dispatch's: the keys are bounded.
        self.pending: dict[tuple[str, str], list[float]] = {}
        # The same lists of tools/call, by tool name alone: the lookup on every call.
        self.tool_durations: dict[str, list[float]] = {}

    @property
    def bounds(self) -> tuple[float, ...]:
        return self._bounds

    def _stats(self, key: tuple[str, str]) -> MethodStats:
        stats = self._by_method.get(key)
        if stats is None:
            stats = self._by_method[key] = MethodStats(len(self._bounds))
        return stats

    def durations_of(self, method: str, name: str) -> list[float]:
        """The pending durations of (``method``, ``name``), made when first asked."""
        key = (method, name)
        durations = self.pending.get(key)
        if durations is None:
            durations = self.pending[key] = []
            if method == "tools/call" and name:
                self.tool_durations[name] = durations
        return durations

    def record(self, method: str, name: str, outcome: str, duration_seconds: float) -> None:
        """Count one request of ``method`` (``name``: a registered tool or prompt, or "";
        ``outcome``: one of :data:`OUTCOMES`). The watcher does the same inline."""
        durations = self.durations_of(method, name)
        durations.append(duration_seconds)
        if outcome is not OK:
            self.count_outcome(method, name, outcome)
        if len(durations) >= MAX_PENDING:
            self.fold()

    def count_outcome(self, method: str, name: str, outcome: str) -> None:
        """Count a request that did not end OK."""
        errors = self._stats((method, name)).errors
        errors[outcome] = errors.get(outcome, 0) + 1

    def fold(self) -> None:
        """Move the pending durations into the counters and buckets."""
        for key, durations in self.pending.items():
            if not durations:
                continue
            stats = self._stats(key)
            stats.count += len(durations)
            stats.sum_seconds += sum(durations)
            buckets = stats.buckets
            for bucket, count in collections.Counter(map(self._bucket_of, durations)).items():
                buckets[bucket] += count
            durations.clear()

    def __iter__(self) -> Iterator[tuple[str, str, MethodStats]]:
        """Each (method, name) seen, with its counters (folded first; a snapshot of keys)."""
        self.fold()
        for (method, name), stats in list(self._by_method.items()):
            yield method, name, stats
