"""``Deadlines``: many bounds watched by one timer; never early, at most a resolution late."""

from __future__ import annotations

import asyncio

import pytest

from ssemcp.asgi.deadlines import Deadlines, deadlines_in_running_loop, resolution_for

RESOLUTION = 0.02


async def test_a_deadline_fires_once_not_early_and_at_most_a_resolution_late() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    fired: list[float] = []
    due = loop.time() + 0.05
    deadlines.set("a", due, lambda: fired.append(loop.time()))
    await asyncio.sleep(0.05 + 4 * RESOLUTION)
    assert len(fired) == 1
    # Late by at most one resolution, plus scheduling slack on a busy machine.
    assert due <= fired[0] < due + RESOLUTION + 0.05
    assert len(deadlines) == 0


async def test_a_discarded_deadline_never_fires_and_the_timer_stops() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    fired: list[str] = []
    deadlines.set("a", loop.time() + RESOLUTION, lambda: fired.append("a"))
    deadlines.discard("a")
    deadlines.discard("never set")
    await asyncio.sleep(4 * RESOLUTION)
    assert fired == []
    assert deadlines._timer is None


async def test_setting_a_key_again_replaces_its_deadline() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    fired: list[str] = []
    deadlines.set("a", loop.time() + RESOLUTION, lambda: fired.append("first"))
    deadlines.set("a", loop.time() + 10, lambda: fired.append("second"))
    await asyncio.sleep(4 * RESOLUTION)
    assert fired == []
    deadlines.close()
    assert len(deadlines) == 0


async def test_only_the_expired_fire_and_a_callback_may_set_its_key_again() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    fired: list[str] = []

    def again() -> None:
        fired.append("a")
        if fired.count("a") < 2:
            deadlines.set("a", loop.time(), again)

    deadlines.set("a", loop.time(), again)
    deadlines.set("later", loop.time() + 10, lambda: fired.append("later"))
    await asyncio.sleep(6 * RESOLUTION)
    assert fired == ["a", "a"]
    assert len(deadlines) == 1
    deadlines.close()


async def test_a_failing_callback_is_logged_and_the_others_still_fire(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop, RESOLUTION)
    fired: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    deadlines.set("broken", loop.time(), broken)
    deadlines.set("fine", loop.time(), lambda: fired.append("fine"))
    await asyncio.sleep(4 * RESOLUTION)
    assert fired == ["fine"]
    assert "a deadline callback failed" in caplog.text


def test_resolution_is_a_tenth_of_the_bound_and_at_most_a_second() -> None:
    assert resolution_for(0.5) == pytest.approx(0.05)
    assert resolution_for(30.0) == 1.0
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="positive"):
            Deadlines(loop, 0)
    finally:
        loop.close()


async def test_a_table_is_kept_on_its_loop_and_made_anew_on_another() -> None:
    kept = deadlines_in_running_loop(None, 0.5)
    assert kept.loop is asyncio.get_running_loop()
    assert deadlines_in_running_loop(kept, 0.5) is kept
    other_loop = asyncio.new_event_loop()
    try:
        stale = Deadlines(other_loop, RESOLUTION)
        assert deadlines_in_running_loop(stale, 0.5) is not stale
    finally:
        other_loop.close()
