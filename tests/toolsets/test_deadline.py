"""``ssemcp.toolsets._deadline``: a call's deadline, where it is seen and which one holds.

No I/O and no sleeps: deadlines run on a clock the tests move by hand. How requests honour
a deadline is ``test_upstream.py``'s; the HN tools' time limit, ``test_hackernews_tools.py``'s.
"""

from __future__ import annotations

import asyncio

from toolset_harness import FakeClock

from ssemcp.toolsets._deadline import (
    DEFAULT_CALL_DEADLINE_SECONDS,
    call_deadline,
    current_deadline,
)


def test_no_deadline_outside_a_call() -> None:
    assert current_deadline() is None
    assert DEFAULT_CALL_DEADLINE_SECONDS == 20


def test_a_deadline_holds_inside_and_counts_down_on_its_clock() -> None:
    clock = FakeClock()
    with call_deadline(20, clock) as deadline:
        assert current_deadline() is deadline
        assert deadline.limit_seconds == 20
        clock.advance(15)
        assert deadline.remaining_seconds() == 5
        clock.advance(6)
        assert deadline.remaining_seconds() == -1
    assert current_deadline() is None


def test_inside_a_deadline_the_earlier_one_holds() -> None:
    clock = FakeClock()
    with call_deadline(20, clock) as call:
        with call_deadline(3, clock) as shorter:
            assert current_deadline() is shorter
            assert shorter.remaining_seconds() == 3
        clock.advance(18)
        with call_deadline(3, clock) as part:
            assert part is call  # 2 s are left of the call: a part cannot have 3
        assert current_deadline() is call


async def test_tasks_started_inside_a_call_see_its_deadline_and_no_other() -> None:
    clock = FakeClock()

    async def seen() -> float | None:
        await asyncio.sleep(0)
        deadline = current_deadline()
        return deadline.limit_seconds if deadline else None

    with call_deadline(20, clock):
        first = asyncio.create_task(seen())
    with call_deadline(5, clock):
        second = asyncio.gather(seen(), seen())
    outside = asyncio.create_task(seen())
    assert await first == 20
    assert await second == [5, 5]
    assert await outside is None
