"""When a child that died may be started again. No I/O, no clock: time is an argument.

Owns the bridge's restart rule: a child that exits (or hangs and is killed) is started again
when next needed, after a delay that doubles with each restart in a row, and at most
``max_restarts`` times within ``window_seconds``; past that the bridge stops trying until the
window has passed, so a command that dies at once costs a few processes, not a fork loop.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_INITIAL_DELAY_SECONDS",
    "DEFAULT_MAX_DELAY_SECONDS",
    "DEFAULT_MAX_RESTARTS",
    "DEFAULT_RESTART_WINDOW_SECONDS",
    "RestartPolicy",
    "Restarts",
]

# Five restarts a minute: enough to ride out a crash a client can trigger now and then, few
# enough that a command that always crashes is given up on within seconds (the delays sum to
# 0.1 + 0.2 + 0.4 + 0.8 + 1.6 = 3.1 s). systemd's default StartLimitBurst is 5 too.
DEFAULT_MAX_RESTARTS: Final = 5
DEFAULT_RESTART_WINDOW_SECONDS: Final = 60.0
DEFAULT_INITIAL_DELAY_SECONDS: Final = 0.1
DEFAULT_MAX_DELAY_SECONDS: Final = 5.0


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How often, and how soon, a dead child is started again."""

    max_restarts: int = DEFAULT_MAX_RESTARTS
    window_seconds: float = DEFAULT_RESTART_WINDOW_SECONDS
    initial_delay_seconds: float = DEFAULT_INITIAL_DELAY_SECONDS
    max_delay_seconds: float = DEFAULT_MAX_DELAY_SECONDS

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError("max_restarts must be 0 or more")
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if self.initial_delay_seconds < 0 or self.max_delay_seconds < self.initial_delay_seconds:
            raise ValueError("delays must satisfy 0 <= initial_delay_seconds <= max_delay_seconds")


class Restarts:
    """The restarts of one child slot under a :class:`RestartPolicy`."""

    __slots__ = ("_policy", "_recent")

    def __init__(self, policy: RestartPolicy) -> None:
        self._policy = policy
        # When each restart within the window happened, oldest first.
        self._recent: collections.deque[float] = collections.deque()

    def _forget_before(self, now: float) -> None:
        horizon = now - self._policy.window_seconds
        while self._recent and self._recent[0] <= horizon:
            self._recent.popleft()

    def delay(self, now: float) -> float | None:
        """Seconds to wait before restarting at ``now``; None: give up for now.

        The first restart in a window waits ``initial_delay_seconds``; each further one twice
        the one before, up to ``max_delay_seconds``.
        """
        self._forget_before(now)
        count = len(self._recent)
        if count >= self._policy.max_restarts:
            return None
        return min(self._policy.initial_delay_seconds * 2.0**count, self._policy.max_delay_seconds)

    def record(self, now: float) -> None:
        """A restart happened at ``now``."""
        self._recent.append(now)

    def retry_after(self, now: float) -> float:
        """Seconds until :meth:`delay` stops giving up (0 if it does not now)."""
        self._forget_before(now)
        if len(self._recent) < self._policy.max_restarts:
            return 0.0
        return self._recent[0] + self._policy.window_seconds - now
