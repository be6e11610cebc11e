"""The server the drain tests run as a real ``ssemcp serve`` (or ``ssemcp stdio``) process.

Its slow tools wait on files, not on time: a call writes ``<name>.started`` in the directory
``$DRAIN_MARKERS`` names, then waits until the test writes ``<name>.release``. So a test knows
a call is in flight before it sends SIGTERM, and decides when (or whether) it ends.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ssemcp import Context, Server

server = Server("drain-test", "0.0.1")
# How often a waiting tool looks for its release file: short against every test deadline.
POLL_SECONDS = 0.01


def _markers() -> Path:
    return Path(os.environ["DRAIN_MARKERS"])


async def _wait_for_release(name: str) -> None:
    markers = _markers()
    (markers / f"{name}.started").touch()
    release = markers / f"{name}.release"
    # Another process (the test) writes the file: nothing in this loop could set an Event.
    while not release.exists():  # noqa: ASYNC110
        await asyncio.sleep(POLL_SECONDS)


@server.tool()
async def wait_for_release(name: str) -> str:
    """Mark the call started, then wait until the test releases it."""
    await _wait_for_release(name)
    return f"released {name}"


@server.tool()
async def progress_then_wait_for_release(name: str, ctx: Context) -> str:
    """Report progress first (an HTTP reply becomes an SSE stream), then wait as above."""
    await ctx.report_progress(1, 2)
    await _wait_for_release(name)
    return f"released {name}"


@server.resource("drain://note", mime_type="text/plain")
def note() -> str:
    return "a resource, so that listen streams have something to subscribe to"
