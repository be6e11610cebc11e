"""``ssemcp.bridge.restart``: how soon and how often a dead child starts again. No clock."""

from __future__ import annotations

import pytest

from ssemcp.bridge.restart import RestartPolicy, Restarts


def test_delays_double_from_the_initial_delay_up_to_the_cap() -> None:
    restarts = Restarts(
        RestartPolicy(max_restarts=10, initial_delay_seconds=0.1, max_delay_seconds=0.5)
    )
    delays = []
    for _ in range(5):
        delay = restarts.delay(100.0)
        assert delay is not None
        delays.append(delay)
        restarts.record(100.0)
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


def test_gives_up_after_max_restarts_within_the_window() -> None:
    restarts = Restarts(RestartPolicy(max_restarts=2, window_seconds=60.0))
    for now in (0.0, 1.0):
        assert restarts.delay(now) is not None
        restarts.record(now)
    assert restarts.delay(2.0) is None
    assert restarts.retry_after(2.0) == pytest.approx(58.0)


def test_restarts_older_than_the_window_no_longer_count() -> None:
    restarts = Restarts(
        RestartPolicy(max_restarts=2, window_seconds=10.0, initial_delay_seconds=0.1)
    )
    restarts.record(0.0)
    restarts.record(5.0)
    assert restarts.delay(9.0) is None
    # The first restart has left the window: one counts, so the delay is the second one's.
    assert restarts.delay(10.0) == pytest.approx(0.2)
    assert restarts.retry_after(10.0) == 0.0


def test_zero_restarts_allowed_gives_up_at_once() -> None:
    restarts = Restarts(RestartPolicy(max_restarts=0))
    assert restarts.delay(0.0) is None


@pytest.mark.parametrize(
    "options",
    [
        {"max_restarts": -1},
        {"window_seconds": 0.0},
        {"initial_delay_seconds": -0.1},
        {"initial_delay_seconds": 2.0, "max_delay_seconds": 1.0},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RestartPolicy(**options)  # type: ignore[arg-type]
