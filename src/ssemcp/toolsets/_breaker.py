"""``CircuitBreaker``: remembering that an upstream is down, so that calls fail at once.

Owns the breaker's three states and its transitions, with no I/O and the clock injected:
the upstream client asks it before each attempt (:meth:`CircuitBreaker.admit`) and tells it
each outcome; sending requests and wording errors is :mod:`._upstream`'s.

    CLOSED     failure_threshold failures in a row  -> OPEN (for cooldown_seconds)
    OPEN       a request after the cool-down         -> HALF_OPEN (that request is the probe)
    HALF_OPEN  the probe fails                        -> OPEN (a new cool-down)
    HALF_OPEN  the probe is abandoned (cancelled)     -> OPEN (the next request probes)
    any        a success                              -> CLOSED

A failure is a request the upstream did not answer (a timeout, a refused connection) or
answered with a 5xx; any other answer, a 404 included, shows it is up and counts as success.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Final

__all__ = [
    "DEFAULT_BREAKER_COOLDOWN_SECONDS",
    "DEFAULT_BREAKER_FAILURES",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
]

# Five failures in a row: what Sony's gobreaker trips on by default (more than 5) and
# pybreaker's fail_max; with three attempts per request, two requests that time out through
# all their retries leave the upstream one more chance before calls stop waiting on it.
DEFAULT_BREAKER_FAILURES: Final = 5
# 30 s before a probe: gobreaker and pybreaker wait 60 s, Hystrix 5 s. A tool call is
# interactive, and HN's own feeds change every 30 s (the feed cache lifetime).
DEFAULT_BREAKER_COOLDOWN_SECONDS: Final = 30.0


class BreakerState(enum.Enum):
    CLOSED = "closed"  # requests go out; failures in a row are counted
    OPEN = "open"  # requests are refused until the cool-down is over
    HALF_OPEN = "half-open"  # one request (the probe) is out; the others are refused


class CircuitOpen(Exception):
    """The breaker refused a request; nothing was sent.

    Attributes:
        retry_in_seconds: when a request will be let through again; None while the probe
            sent after the cool-down is still out.
        failures: the failures in a row that opened the breaker (or kept it open).
        last_failure: what the last of them was, in words ("timed out after 10 s").
    """

    def __init__(self, retry_in_seconds: float | None, failures: int, last_failure: str) -> None:
        super().__init__(retry_in_seconds, failures, last_failure)
        self.retry_in_seconds = retry_in_seconds
        self.failures = failures
        self.last_failure = last_failure


class CircuitBreaker:
    """One upstream's breaker. Not thread-safe: one event loop owns it.

    Args:
        failure_threshold: failures in a row that open it (at least 1).
        cooldown_seconds: how long it stays open before a probe is let through.
        now: the clock, in seconds (``time.monotonic`` unless a test injects one).
    """

    def __init__(
        self,
        failure_threshold: int = DEFAULT_BREAKER_FAILURES,
        cooldown_seconds: float = DEFAULT_BREAKER_COOLDOWN_SECONDS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("a breaker's failure threshold must be at least 1")
        if not cooldown_seconds >= 0:  # also refuses NaN
            raise ValueError("a breaker's cool-down cannot be negative")
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._now = now
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._last_failure = ""
        # While OPEN: when the next request may go out, as the probe.
        self._retry_at = 0.0

    def __repr__(self) -> str:
        return f"CircuitBreaker({self._state.value}, failures={self._failures})"

    @property
    def state(self) -> BreakerState:
        return self._state

    def admit(self) -> bool:
        """Let a request go out, or refuse it.

        Returns:
            True when the request is the probe: its outcome closes or reopens the breaker,
            and if it is given up without one, :meth:`abandon_probe` must be called.

        Raises:
            CircuitOpen: the breaker is open, or its probe is still out.
        """
        if self._state is BreakerState.CLOSED:
            return False
        if self._state is BreakerState.OPEN:
            now = self._now()
            if now >= self._retry_at:
                self._state = BreakerState.HALF_OPEN
                return True
            raise CircuitOpen(self._retry_at - now, self._failures, self._last_failure)
        raise CircuitOpen(None, self._failures, self._last_failure)

    def record_success(self) -> None:
        """The upstream answered: whatever the state, it is up."""
        self._state = BreakerState.CLOSED
        self._failures = 0

    def record_failure(self, reason: str) -> bool:
        """The upstream did not answer, or failed (``reason`` says how).

        Returns:
            True when this failure opened a closed breaker (a failed probe reopens it, and a
            late failure leaves it open: both return False).
        """
        self._failures += 1
        self._last_failure = reason
        if self._state is BreakerState.OPEN:
            return False  # a request sent before it opened; the cool-down stands
        if self._state is BreakerState.CLOSED and self._failures < self.failure_threshold:
            return False
        was_closed = self._state is BreakerState.CLOSED
        self._state = BreakerState.OPEN
        self._retry_at = self._now() + self.cooldown_seconds
        return was_closed

    def abandon_probe(self) -> None:
        """The probe ended with no outcome (cancelled, or never sent): let the next request
        be the probe, at once."""
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.OPEN
            self._retry_at = self._now()
