"""Handing memory back to the operating system once a burst of sessions has ended.

CPython keeps what it frees: small objects stay in its own arenas, larger ones in the C
allocator's heap, and an ended session's cyclic garbage waits for a full collection. So after
thousands of streams close, a server's RSS stays near its peak (bench scenario d: +115 % of
an idle server's, the raw-ASGI ceiling's alike), and a container sized for the usual load
keeps paying for the burst.

A :class:`MemoryReclaimer` watches one transport's count of open sessions. When it falls to
half its peak or lower, and by at least ``min_drop`` sessions, it schedules one reclamation:
a full collection, then glibc's ``malloc_trim(0)``, which returns the free pages of the heap.
It runs once per burst, when sessions have stopped ending for a moment (a burst ends over many
requests); without ``malloc_trim`` (musl, macOS) it only collects. It stalls the event loop
once per burst, for a full collection: about 10 ms for the bench server's whole heap, and 2 ms
more per thousand sessions still open (19 ms with 5 000).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import gc
import logging
from collections.abc import Callable
from typing import Final

__all__ = ["DEFAULT_MIN_DROP", "MemoryReclaimer", "reclaim_memory"]

logger = logging.getLogger(__name__)

# An ended session leaves 10 to 20 KiB behind; below a few MiB, reclaiming is not worth a
# full collection.
DEFAULT_MIN_DROP: Final = 256
# A burst's sessions end over many requests: reclaim once none has ended for this long, or
# at most this long after the first of them.
DEFAULT_DELAY_SECONDS: Final = 0.25
DEFAULT_MAX_DELAY_SECONDS: Final = 2.0


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim(3)``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def reclaim_memory() -> None:
    """Collect cyclic garbage, then hand the C heap's free pages back to the OS."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class MemoryReclaimer:
    """Reclaims memory after the open-session count it observes falls far below its peak.

    Args:
        min_drop: the fall from the peak, in sessions, worth a reclamation.
        delay_seconds: the reclamation runs once no session has ended for this long...
        max_delay_seconds: ... or this long after the drop was first seen, if sooner.
        reclaim: what reclaiming is (tests pass their own).
    """

    __slots__ = (
        "_delay_seconds",
        "_first_due",
        "_last",
        "_last_drop",
        "_loop",
        "_max_delay_seconds",
        "_min_drop",
        "_peak",
        "_reclaim",
        "_scheduled",
    )

    def __init__(
        self,
        *,
        min_drop: int = DEFAULT_MIN_DROP,
        delay_seconds: float = DEFAULT_DELAY_SECONDS,
        max_delay_seconds: float = DEFAULT_MAX_DELAY_SECONDS,
        reclaim: Callable[[], None] = reclaim_memory,
    ) -> None:
        if min_drop < 1 or not 0 <= delay_seconds <= max_delay_seconds:
            raise ValueError("min_drop must be positive, and 0 <= delay <= max delay")
        self._min_drop = min_drop
        self._delay_seconds = delay_seconds
        self._max_delay_seconds = max_delay_seconds
        self._first_due = 0.0
        self._last_drop = 0.0
        self._reclaim = reclaim
        self._peak = 0
        self._last = 0
        self._scheduled: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def observe(self, open_count: int) -> None:
        """Note the count of open sessions after one ended (a call per ended session)."""
        self._last = open_count
        if open_count > self._peak:
            # Sampled when sessions end, not when they open: the count right after the first
            # of a burst ends is within one of its peak.
            self._peak = open_count
        elif self._peak - open_count >= self._min_drop and open_count <= self._peak // 2:
            loop = asyncio.get_running_loop()
            self._last_drop = loop.time()
            # (Scheduled on another loop: an app served again after its first loop closed.)
            if self._scheduled is None or self._loop is not loop:
                self._loop = loop
                self._first_due = self._last_drop + self._max_delay_seconds
                self._scheduled = loop.call_later(self._delay_seconds, self._run)

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        quiet_at = self._last_drop + self._delay_seconds
        if now < quiet_at and now < self._first_due:
            # Sessions are still ending: look again when they may have stopped. (One timer
            # per look, not one per ended session.)
            self._scheduled = loop.call_at(min(quiet_at, self._first_due), self._run)
            return
        self._scheduled = None
        dropped = self._peak - self._last
        # The next burst is measured from what is open now.
        self._peak = self._last
        try:
            self._reclaim()
        except Exception:
            logger.exception("reclaiming memory failed")
            return
        logger.debug("reclaimed memory after %d sessions ended", dropped)

    def cancel(self) -> None:
        """Drop a scheduled reclamation (the server is stopping)."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
