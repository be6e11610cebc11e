"""``SingleFlight``: identical calls made while one is in flight share it.

Owns merging concurrent calls by key: the first caller for a key starts the call as a task,
later callers for the same key wait for that task, and all get its outcome (value or error).
A caller that is cancelled stops waiting without cancelling the call for the others; the
call is cancelled only when no caller is left. The key is forgotten as soon as the call ends,
so the next caller starts afresh: keeping answers is a cache's job, not this module's.
:class:`~ssemcp.toolsets._upstream.UpstreamClient` keys its GETs by URL with it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Shown by asyncio's debug output and task dumps.
_TASK_NAME: Final = "ssemcp-single-flight"


@dataclass(slots=True)
class _Flight(Generic[V]):
    """One call in flight and how many callers wait for it."""

    task: asyncio.Task[V]
    waiters: int = 0


class SingleFlight(Generic[K, V]):
    """At most one call in flight per key. Not thread-safe: one event loop owns it."""

    def __init__(self) -> None:
        self._flights: dict[K, _Flight[V]] = {}

    def __len__(self) -> int:
        """How many calls are in flight."""
        return len(self._flights)

    def waiters(self, key: K) -> int:
        """How many callers wait for the call in flight for ``key`` (0 if there is none)."""
        flight = self._flights.get(key)
        return flight.waiters if flight is not None else 0

    async def run(self, key: K, call: Callable[[], Coroutine[object, None, V]]) -> V:
        """``call()``'s outcome, shared with every caller for ``key`` while it runs.

        ``call`` is called (and run as a task, in this caller's context) only when no call
        for ``key`` is in flight.

        Raises:
            Exception: whatever the shared call raised.
            asyncio.CancelledError: this caller was cancelled (the call goes on for others).
        """
        flight = self._flights.get(key)
        if flight is None or flight.task.done():
            flight = _Flight(asyncio.get_running_loop().create_task(call(), name=_TASK_NAME))
            self._flights[key] = flight
            flight.task.add_done_callback(functools.partial(self._forget, key, flight))
        flight.waiters += 1
        try:
            # shield: a caller's cancellation must not reach the task the others wait for.
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if not flight.waiters and not flight.task.done():
                # Every caller left: nobody wants the answer. Forget the call first, so that
                # a caller arriving now starts a new one instead of joining a cancelled one.
                self._forget(key, flight)
                flight.task.cancel()

    def _forget(self, key: K, flight: _Flight[V], _task: object = None) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
