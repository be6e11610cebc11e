"""Many deadlines checked by one periodic timer.

A request is bounded on every call yet almost never reaches its bound, and uvloop's
``call_at`` plus ``cancel`` costs about 2 µs, more than the rest of the bound's bookkeeping
together; a dict store and a dict pop cost a tenth of that. The price is precision: a bound
fires up to one ``resolution`` late, never early. The HTTP server's head deadline
(``ssemcp.http.uvicorn_protocol``), the app's body deadline (``ssemcp.http.timeouts``) and a
stream's keepalives (``ssemcp.transports.streamable``) all use it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from typing import Final

__all__ = ["Deadlines", "deadlines_in_running_loop", "resolution_for"]

logger = logging.getLogger(__name__)

# A bound fires at most a tenth of itself late, and at most this late.
_MAX_RESOLUTION_SECONDS: Final = 1.0


def resolution_for(timeout_seconds: float) -> float:
    """How often :class:`Deadlines` checks bounds of ``timeout_seconds``: a tenth of it, at
    most a second."""
    return min(timeout_seconds / 10, _MAX_RESOLUTION_SECONDS)


class Deadlines:
    """Deadlines (loop time) by key, checked every ``resolution`` seconds by one timer.

    The timer runs only while some deadline is set. An expired entry is removed before its
    callback runs, so the callback may set it again.

    Args:
        loop: the loop whose clock (``loop.time()``) the deadlines are in.
        resolution: seconds between checks; a deadline fires up to this late, never early.
    """

    __slots__ = ("_entries", "_loop", "_resolution", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, resolution: float) -> None:
        if resolution <= 0:
            raise ValueError("resolution must be positive")
        self._loop = loop
        self._resolution = resolution
        self._entries: dict[Hashable, tuple[float, Callable[[], object]]] = {}
        self._timer: asyncio.TimerHandle | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def __len__(self) -> int:
        return len(self._entries)

    def set(self, key: Hashable, deadline: float, on_expiry: Callable[[], object]) -> None:
        """Call ``on_expiry`` once ``deadline`` has passed, unless ``key`` is discarded first.
        Setting a key again replaces its deadline."""
        self._entries[key] = (deadline, on_expiry)
        if self._timer is None:
            self._timer = self._loop.call_later(self._resolution, self._check)

    def discard(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def close(self) -> None:
        """Forget every deadline and stop the timer."""
        self._entries.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        now = self._loop.time()
        expired = [key for key, (deadline, _) in self._entries.items() if deadline <= now]
        for key in expired:
            _deadline, on_expiry = self._entries.pop(key)
            try:
                on_expiry()
            except Exception:
                logger.exception("a deadline callback failed")
        if self._entries:
            self._timer = self._loop.call_later(self._resolution, self._check)


def deadlines_in_running_loop(existing: Deadlines | None, timeout_seconds: float) -> Deadlines:
    """``existing`` if it runs on the running loop; else a new table for bounds of about
    ``timeout_seconds`` (an app served again after its first loop closed gets a fresh one)."""
    loop = asyncio.get_running_loop()
    if existing is not None and existing.loop is loop:
        return existing
    return Deadlines(loop, resolution_for(timeout_seconds))
