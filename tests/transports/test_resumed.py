"""A coroutine whose first step the 2026-07-28 POST runs by hand, then awaits through
``_resumed``, behaves as if it had been awaited from the start: the same steps, results,
exceptions, and cancellations, whenever the cancellation comes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssemcp.transports.streamable import _resumed

Step = tuple[str, bool]  # (what the step does, whether a cancellation there is caught)

steps = st.lists(
    st.tuples(st.sampled_from(["sleep", "future", "raise", "return", "nothing"]), st.booleans()),
    max_size=6,
)


def resolve(future: asyncio.Future[int], value: int) -> None:
    if not future.done():  # a cancellation may have come first
        future.set_result(value)


async def scripted(script: list[Step], log: list[object]) -> object:
    loop = asyncio.get_running_loop()
    try:
        for index, (action, catches) in enumerate(script):
            try:
                if action == "sleep":
                    await asyncio.sleep(0)
                elif action == "future":
                    future: asyncio.Future[int] = loop.create_future()
                    loop.call_soon(resolve, future, index)
                    log.append(("got", await future))
                elif action == "raise":
                    raise ValueError(index)
                elif action == "return":
                    return index
            except asyncio.CancelledError:
                log.append(("cancelled at", index))
                if not catches:
                    raise
        return "end"
    finally:
        log.append("finally")


async def awaited_plainly(script: list[Step], log: list[object]) -> object:
    return await scripted(script, log)


async def first_step_by_hand(script: list[Step], log: list[object]) -> object:
    coroutine: Coroutine[Any, Any, object] = scripted(script, log)
    try:
        waiting_on = coroutine.send(None)
    except StopIteration as done:
        return done.value
    return await _resumed(coroutine, waiting_on)


async def run(
    way: Any, script: list[Step], cancel_after_ticks: int | None
) -> tuple[list[object], object]:
    log: list[object] = []
    task = asyncio.ensure_future(way(script, log))
    if cancel_after_ticks is not None:
        for _ in range(cancel_after_ticks):
            await asyncio.sleep(0)
        task.cancel()
    try:
        outcome: object = ("returned", await task)
    except asyncio.CancelledError:
        outcome = "cancelled"
    except ValueError as exc:
        outcome = ("raised", exc.args)
    return log, outcome


@settings(max_examples=300, deadline=None)
@given(steps, st.one_of(st.none(), st.integers(0, 8)))
def test_a_coroutine_resumed_after_its_first_step_behaves_as_awaited(
    script: list[Step], cancel_after_ticks: int | None
) -> None:
    plain = asyncio.run(run(awaited_plainly, script, cancel_after_ticks))
    by_hand = asyncio.run(run(first_step_by_hand, script, cancel_after_ticks))
    assert by_hand == plain


async def test_closing_a_resumed_coroutine_closes_the_one_it_carries() -> None:
    log: list[object] = []
    coroutine = scripted([("sleep", False), ("sleep", False)], log)
    waiting_on = coroutine.send(None)
    resumed = _resumed(coroutine, waiting_on)
    assert resumed.send(None) is waiting_on  # type: ignore[attr-defined]  # as a task would
    resumed.close()  # type: ignore[attr-defined]  # as a task's coroutine is when destroyed
    assert log == ["finally"]
    with pytest.raises(RuntimeError):
        coroutine.send(None)  # closed: it cannot be resumed
