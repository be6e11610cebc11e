"""``Child``'s stdout, as its pipe protocol hands it over: answers in the SDKs' layout routed
at once, every other line delivered in order by a task, the two never reordered, the pipe
paused behind a slow consumer and resumed, what the child wrote first and last delivered.

Real child processes (this Python, a few lines of script), on asyncio's loop and uvloop's;
no HTTP.
"""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from ssemcp._types import JSONValue
from ssemcp.bridge.child import Child
from ssemcp.jsonrpc import Message, Notification


def script(code: str) -> list[str]:
    return [sys.executable, "-c", code]


class Seen:
    """Both callbacks, in the order they were called; a consumer as slow as asked."""

    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.order: list[str] = []
        self.delay_seconds = delay_seconds

    async def on_message(self, message: Message) -> None:
        assert isinstance(message, Notification)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        self.order.append(f"n{(message.params or {})['n']}")

    def on_result(self, child_id: int, result: JSONValue, raw: bytes) -> None:
        assert isinstance(result, dict)
        assert raw == b'{"n":%d}' % child_id
        self.order.append(f"r{child_id}")


async def start(code: str, seen: Seen) -> Child:
    return await Child.start(
        script(code),
        env=os.environ,
        label="test",
        on_message=seen.on_message,
        on_result=seen.on_result,
    )


# Lines 1..count: every third an answer in the SDKs' layout, the rest notifications, written
# in chunks of various sizes.
MIXED = """
import os, sys
lines = []
for n in range(1, {count} + 1):
    if n % 3 == 0:
        lines.append('{{"jsonrpc":"2.0","id":%d,"result":{{"n":%d}}}}' % (n, n))
    else:
        lines.append('{{"jsonrpc":"2.0","method":"m","params":{{"n":%d}}}}' % n)
data = ("\\n".join(lines) + "\\n").encode()
step = 1
while data:
    os.write(1, data[:step])
    data = data[step:]
    step = step * 3 % 4099 + 1
"""


def expected(count: int) -> list[str]:
    return [f"r{n}" if n % 3 == 0 else f"n{n}" for n in range(1, count + 1)]


async def test_answers_and_other_lines_keep_the_order_the_child_wrote_them_in() -> None:
    seen = Seen()
    child = await start(MIXED.format(count=600), seen)
    assert await asyncio.wait_for(child.exited, 30) == 0
    assert seen.order == expected(600)


async def test_a_slow_consumer_pauses_the_pipe_and_everything_still_arrives_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pauses: list[bool] = []
    pause_stdout = Child._pause_stdout

    def recorded(child: Child, pause: bool) -> None:
        pauses.append(pause)
        pause_stdout(child, pause)

    monkeypatch.setattr(Child, "_pause_stdout", recorded)
    seen = Seen(delay_seconds=0.001)
    child = await start(MIXED.format(count=400), seen)
    assert await asyncio.wait_for(child.exited, 30) == 0
    assert seen.order == expected(400)
    assert pauses[:2] == [True, False]
    assert pauses[-1] is False


async def test_only_answers_are_routed_at_once_without_a_task() -> None:
    seen = Seen()
    code = """
import sys, time
for n in (3, 6, 9):
    sys.stdout.write('{"jsonrpc":"2.0","id":%d,"result":{"n":%d}}\\n' % (n, n))
    sys.stdout.flush()
    time.sleep(0.05)
"""
    child = await start(code, seen)
    assert await asyncio.wait_for(child.exited, 30) == 0
    assert seen.order == ["r3", "r6", "r9"]
    assert child._delivering is None


async def test_what_the_child_writes_at_once_and_last_before_exiting_is_delivered() -> None:
    seen = Seen()
    code = """
import os
os.write(1, b'{"jsonrpc":"2.0","method":"m","params":{"n":1}}\\n')
os.write(1, b'{"jsonrpc":"2.0","id":2,"result":{"n":2}}\\n')
os._exit(3)
"""
    child = await start(code, seen)
    assert await asyncio.wait_for(child.exited, 30) == 3
    assert seen.order == ["n1", "r2"]


def test_the_same_under_uvloop_as_ssemcp_bridge_runs() -> None:
    import uvloop

    async def run() -> None:
        await test_answers_and_other_lines_keep_the_order_the_child_wrote_them_in()
        await test_what_the_child_writes_at_once_and_last_before_exiting_is_delivered()

    uvloop.run(run())
