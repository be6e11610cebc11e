"""``ssemcp.toolsets._breaker``: the circuit breaker's states and transitions.

No I/O and no sleeps: the breaker runs on a clock the tests move by hand. What an open
breaker means for requests is ``test_upstream.py``'s; for the HN tools,
``test_hackernews_tools.py``'s.
"""

from __future__ import annotations

import pytest
from toolset_harness import FakeClock

from ssemcp.toolsets._breaker import (
    DEFAULT_BREAKER_COOLDOWN_SECONDS,
    DEFAULT_BREAKER_FAILURES,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
)


def opened(clock: FakeClock, failures: int = 3, cooldown_seconds: float = 30) -> CircuitBreaker:
    """A breaker just opened by ``failures`` timeouts in a row."""
    breaker = CircuitBreaker(failures, cooldown_seconds, clock)
    for _ in range(failures):
        breaker.admit()
        breaker.record_failure("timed out after 10 s")
    assert breaker.state is BreakerState.OPEN
    return breaker


def test_defaults_are_five_failures_and_thirty_seconds() -> None:
    breaker = CircuitBreaker()
    assert (breaker.failure_threshold, breaker.cooldown_seconds) == (5, 30)
    assert (DEFAULT_BREAKER_FAILURES, DEFAULT_BREAKER_COOLDOWN_SECONDS) == (5, 30)
    assert breaker.state is BreakerState.CLOSED


def test_closed_breaker_lets_requests_out_and_counts_failures_in_a_row() -> None:
    breaker = CircuitBreaker(3, 30, FakeClock())
    assert breaker.admit() is False  # not a probe
    assert breaker.record_failure("answered HTTP 500") is False
    assert breaker.record_failure("answered HTTP 500") is False
    assert breaker.state is BreakerState.CLOSED
    assert breaker.record_failure("timed out after 10 s") is True  # the third opens it
    assert breaker.state is BreakerState.OPEN


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = CircuitBreaker(2, 30, FakeClock())
    breaker.record_failure("answered HTTP 503")
    breaker.record_success()
    breaker.record_failure("answered HTTP 503")
    assert breaker.state is BreakerState.CLOSED


def test_open_breaker_refuses_saying_when_and_why() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(12)
    with pytest.raises(CircuitOpen) as refused:
        breaker.admit()
    assert refused.value.retry_in_seconds == 18
    assert refused.value.failures == 3
    assert refused.value.last_failure == "timed out after 10 s"


def test_after_the_cool_down_one_probe_goes_out_and_the_rest_wait_for_it() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(30)
    assert breaker.admit() is True  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    with pytest.raises(CircuitOpen) as refused:
        breaker.admit()
    assert refused.value.retry_in_seconds is None  # the probe is still out


def test_a_probe_that_succeeds_closes_the_breaker() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(30)
    breaker.admit()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admit() is False


def test_a_probe_that_fails_reopens_the_breaker_for_a_new_cool_down() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(45)
    breaker.admit()
    assert breaker.record_failure("could not be reached (ConnectError)") is False
    assert breaker.state is BreakerState.OPEN
    clock.advance(29)
    with pytest.raises(CircuitOpen) as refused:
        breaker.admit()
    assert refused.value.retry_in_seconds == 1
    assert refused.value.failures == 4
    assert refused.value.last_failure == "could not be reached (ConnectError)"
    clock.advance(1)
    assert breaker.admit() is True


def test_an_abandoned_probe_lets_the_next_request_probe_at_once() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(30)
    assert breaker.admit() is True
    breaker.abandon_probe()  # cancelled before it had an answer
    assert breaker.state is BreakerState.OPEN
    assert breaker.admit() is True


def test_abandoning_outside_a_probe_changes_nothing() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30, clock)
    breaker.abandon_probe()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure("answered HTTP 500")
    breaker.abandon_probe()
    with pytest.raises(CircuitOpen):
        breaker.admit()


def test_a_late_failure_keeps_the_cool_down_and_a_late_success_closes() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.advance(20)
    # Answers to requests sent before the breaker opened.
    assert breaker.record_failure("timed out after 10 s") is False
    with pytest.raises(CircuitOpen) as refused:
        breaker.admit()
    assert refused.value.retry_in_seconds == 10
    breaker.record_success()  # it answered after all
    assert breaker.state is BreakerState.CLOSED


def test_a_zero_cool_down_probes_with_the_next_request() -> None:
    breaker = opened(FakeClock(), cooldown_seconds=0)
    assert breaker.admit() is True


@pytest.mark.parametrize(
    ("failures", "cooldown_seconds", "message"),
    [(0, 30, "at least 1"), (1, -1, "negative"), (1, float("nan"), "negative")],
)
def test_breaker_refuses_bad_limits(failures: int, cooldown_seconds: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(failures, cooldown_seconds)
