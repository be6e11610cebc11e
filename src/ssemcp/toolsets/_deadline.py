"""A call's deadline: how long all the upstream requests of one tool call may take together.

Owns :class:`Deadline` and :func:`call_deadline`, which sets one for the code it wraps and for
every task started inside it; :func:`current_deadline` reads it. How requests honour it (an
attempt's timeout cut to the time left, no retry that cannot finish in time) is
:mod:`._upstream`'s; which calls get one, and how long, is each tool set's.

The deadline travels in a ``ContextVar`` rather than as an argument through every fetching
function: asyncio copies the context into each task a call starts (``gather``, a shared
request), so every request of one call sees that call's deadline, and no other call's.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_CALL_DEADLINE_SECONDS", "Deadline", "call_deadline", "current_deadline"]

# 20 s for a whole call: two attempts at the default 10 s timeout, and well inside the 60 s
# that MCP clients commonly wait for a request (the TypeScript SDK's default).
DEFAULT_CALL_DEADLINE_SECONDS: Final = 20.0

# Not mutable module state: each context (each task) holds its own value.
_CURRENT: Final[contextvars.ContextVar[Deadline | None]] = contextvars.ContextVar(
    "ssemcp_call_deadline", default=None
)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A moment on ``now``'s clock after which a call's requests are given up.

    Attributes:
        expires_at: the moment, in ``now``'s seconds.
        limit_seconds: how long the call was given, for messages.
        now: the clock.
    """

    expires_at: float
    limit_seconds: float
    now: Callable[[], float]

    def remaining_seconds(self) -> float:
        """Seconds left; 0 or less once the deadline has passed."""
        return self.expires_at - self.now()


def current_deadline() -> Deadline | None:
    """The deadline of the call this code runs for; None outside :func:`call_deadline`."""
    return _CURRENT.get()


@contextlib.contextmanager
def call_deadline(seconds: float, now: Callable[[], float] = time.monotonic) -> Iterator[Deadline]:
    """Give the requests made inside, and in tasks started inside, ``seconds`` in all.

    Inside another deadline the earlier of the two holds: a part of a call can be given less
    time than the call, never more.

    Yields:
        The deadline in force inside.
    """
    deadline = Deadline(now() + seconds, seconds, now)
    outer = _CURRENT.get()
    if outer is not None and outer.remaining_seconds() <= deadline.remaining_seconds():
        deadline = outer
    token = _CURRENT.set(deadline)
    try:
        yield deadline
    finally:
        _CURRENT.reset(token)
