"""The server each replica of the scale-out tests serves
(``ssemcp serve … tests/scaleout/replica_server.py:server``).

Every tool answers with the process id of the replica that ran it (``pid=…``), so a test sees
which replica served each call, and what a session did elsewhere: progress, sampling (a
request to the client, answered through whichever replica the answer's POST reaches), a
resource to subscribe to and a tool that announces it changed (on the bus every replica
shares), and a tool that sends progress and then waits, so that its replica can be killed
mid-stream.
"""

from __future__ import annotations

import asyncio
import os
from typing import Final

from ssemcp import Context, Server

WATCHED: Final = "scaleout://watched"
# How long ``progress_then_wait`` waits after its last progress: longer than any test, which
# kills its replica meanwhile.
WAIT_SECONDS: Final = 120.0

server = Server("scaleout-replica", "1.0.0")


def _served_by() -> str:
    return f"pid={os.getpid()}"


@server.tool()
async def whoami() -> str:
    """The process id of the replica that served this call."""
    return _served_by()


@server.tool()
async def count(steps: int, ctx: Context) -> str:
    """Report progress ``steps`` times (1 of steps, 2 of steps, …), then answer.

    Args:
        steps: how many progress notifications to send.
    """
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
    return f"{_served_by()} counted {steps}"


@server.tool()
async def ask_model(prompt: str, ctx: Context) -> str:
    """Ask the client's model (sampling); answers 'pid=…: model: text'.

    Args:
        prompt: what to ask.
    """
    result = await ctx.sample(prompt, max_tokens=20)
    return f"{_served_by()}: {result.model}: {result.text}"


@server.tool()
async def touch(uri: str = WATCHED) -> str:
    """Announce that a resource changed (``notifications/resources/updated`` to its
    subscribers, wherever their streams are held).

    Args:
        uri: the resource that changed.
    """
    server.notify_resource_updated(uri)
    return _served_by()


@server.tool()
async def progress_then_wait(steps: int, ctx: Context) -> str:
    """Report progress ``steps`` times, then wait (the test kills this replica meanwhile).

    Args:
        steps: how many progress notifications to send before waiting.
    """
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
    await asyncio.sleep(WAIT_SECONDS)
    return _served_by()


@server.tool()
async def progress_then_answer(seconds: float, ctx: Context) -> str:
    """Report progress once, then answer after ``seconds``: a call still in flight when the
    test tells its replica to stop.

    Args:
        seconds: how long to wait after the progress.
    """
    await ctx.report_progress(1, 1, "started")
    await asyncio.sleep(seconds)
    return _served_by()


@server.resource(WATCHED, name="watched", mime_type="text/plain")
def watched() -> str:
    """A resource the tests subscribe to."""
    return "watched"
