"""``ssemcp.toolsets._singleflight``: concurrent calls for one key share one call.

No I/O: a call is a coroutine that waits for an ``asyncio.Event`` the test sets, and counts
how often it was started, so every claim (one call, its outcome shared, a caller's
cancellation kept to itself, the key forgotten at the end) is checked without timing. What
this buys the upstream client is ``test_upstream.py``'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from ssemcp.toolsets._singleflight import SingleFlight

DEADLINE_SECONDS = 5.0


class Call:
    """A call the test finishes by hand: it waits for ``release`` and then answers."""

    def __init__(self, answer: str = "value", error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.release = asyncio.Event()
        self.started = 0
        self.cancelled = 0

    async def __call__(self) -> str:
        self.started += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.error is not None:
            raise self.error
        return self.answer


async def until(predicate: Callable[[], bool]) -> None:
    """Let other tasks run until ``predicate`` holds; fail after a deadline."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0)


async def test_concurrent_callers_for_one_key_share_one_call() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    call = Call()
    callers = [asyncio.create_task(flights.run("k", call)) for _ in range(5)]
    await until(lambda: flights.waiters("k") == 5)
    call.release.set()
    assert await asyncio.gather(*callers) == ["value"] * 5
    assert call.started == 1


async def test_callers_for_different_keys_make_their_own_calls() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    first, second = Call("one"), Call("two")
    callers = [
        asyncio.create_task(flights.run("a", first)),
        asyncio.create_task(flights.run("b", second)),
    ]
    await until(lambda: len(flights) == 2)
    first.release.set()
    second.release.set()
    assert await asyncio.gather(*callers) == ["one", "two"]


async def test_a_cancelled_caller_does_not_cancel_the_call_for_the_others() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    call = Call()
    leaving = asyncio.create_task(flights.run("k", call))
    staying = asyncio.create_task(flights.run("k", call))
    await until(lambda: flights.waiters("k") == 2)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert flights.waiters("k") == 1
    call.release.set()
    assert await staying == "value"
    assert (call.started, call.cancelled) == (1, 0)


async def test_the_call_is_cancelled_and_forgotten_when_every_caller_is_cancelled() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    call = Call()
    callers = [asyncio.create_task(flights.run("k", call)) for _ in range(2)]
    await until(lambda: flights.waiters("k") == 2)
    for caller in callers:
        caller.cancel()
    for caller in callers:
        with pytest.raises(asyncio.CancelledError):
            await caller
    assert len(flights) == 0
    await until(lambda: call.cancelled == 1)
    again = Call("again")
    again.release.set()
    assert await flights.run("k", again) == "again"  # a new call, not the cancelled one
    assert again.started == 1


async def test_the_key_is_forgotten_when_the_call_succeeds() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    call = Call()
    call.release.set()
    assert await flights.run("k", call) == "value"
    assert len(flights) == 0
    assert await flights.run("k", call) == "value"
    assert call.started == 2  # nothing kept: that is a cache's job


async def test_every_caller_gets_the_error_and_the_key_is_forgotten() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    failing = Call(error=LookupError("upstream said no"))
    callers = [asyncio.create_task(flights.run("k", failing)) for _ in range(3)]
    await until(lambda: flights.waiters("k") == 3)
    failing.release.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert [str(outcome) for outcome in outcomes] == ["upstream said no"] * 3
    assert all(isinstance(outcome, LookupError) for outcome in outcomes)
    assert len(flights) == 0
    working = Call()
    working.release.set()
    assert await flights.run("k", working) == "value"
    assert (failing.started, working.started) == (1, 1)
