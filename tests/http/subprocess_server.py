"""A small server for tests that run the real ``ssemcp serve`` command in a subprocess.

``test_concurrency.py`` churns sessions through it and reads the process's memory from
outside; ``live_state`` reports, from inside, what is still alive once the churn is over.
``test_robustness.py`` holds streams open on it (``progress_then_wait``) and stops it.
Run as ``python -m ssemcp serve tests/http/subprocess_server.py:server``.
"""

from __future__ import annotations

import asyncio
import gc
import json

from ssemcp import Context, Server
from ssemcp.http import MCPApp
from ssemcp.server import ServerConnection
from ssemcp.state.bus import LIST_CHANGED
from ssemcp.transports import legacy_sse, streamable

server = Server("subprocess-test", "0.0.1")
# Longer than any test waits: the call ends when the server does.
HOLD_SECONDS = 600.0


@server.tool()
async def echo(text: str) -> str:
    """Return the text."""
    return text


@server.tool()
async def progress_then_wait(ctx: Context) -> str:
    """Report progress (the reply becomes an SSE stream), then wait past any test."""
    await ctx.report_progress(1, 2)
    await asyncio.sleep(HOLD_SECONDS)
    return "late"


@server.tool()
async def live_state() -> str:
    """Sessions the transports still hold, and session objects still alive after a full
    collection (a session dropped from its transport's table but still referenced leaks
    just the same), as JSON."""
    gc.collect()
    objects = gc.get_objects()
    apps = [item for item in objects if type(item) is MCPApp]
    assert len(apps) == 1, f"{len(apps)} apps in this process"
    app = apps[0]
    assert app.legacy_sse is not None
    return json.dumps(
        {
            "streamable_sessions": app.transport.session_count,
            "legacy_sessions": app.legacy_sse.session_count,
            "attached_connections": server.bus.subscriber_count(LIST_CHANGED),
            "streamable_session_objects": sum(
                1 for item in objects if type(item) is streamable._Session
            ),
            "legacy_session_objects": sum(
                1 for item in objects if type(item) is legacy_sse._Session
            ),
            "connection_objects": sum(1 for item in objects if type(item) is ServerConnection),
        }
    )
