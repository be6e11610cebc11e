"""Several ssemcp apps in one test process sharing one Redis: the replicas of the tests.

Owns building each replica's server (its own ``Server``, as each process of a deployment has
its own), serving them on free loopback ports with real uvicorn, and a small httpx client
that speaks Streamable HTTP to whichever replica a test names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx
from live_server import CLIENT_TIMEOUT_SECONDS, LiveServer, live_app

from ssemcp import Context, Server
from ssemcp.http import create_app
from ssemcp.sse import SSEParser

__all__ = ["HEADERS", "EventReader", "Replicas", "build_server", "replicas"]

HEADERS: Final = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
}
STEP_DEADLINE_SECONDS: Final = 5.0


def build_server() -> Server:
    server = Server("replica-test", "0.0.1")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def ask(ctx: Context) -> str:
        """Ask the client's model; answer with what it said."""
        result = await ctx.sample("hi", timeout_seconds=STEP_DEADLINE_SECONDS)
        return f"model said {result.text}"

    @server.tool()
    async def touch(uri: str) -> int:
        """Say that a resource changed; how many subscribers this replica told."""
        return server.notify_resource_updated(uri)

    @server.tool()
    async def wait_forever() -> str:
        """Run until cancelled."""
        await asyncio.Event().wait()
        return "never"

    @server.tool()
    async def progress_then_wait(ctx: Context) -> str:
        """Report progress once (the reply becomes a stream), then run until cancelled."""
        await ctx.report_progress(1, 1, "started")
        await asyncio.Event().wait()
        return "never"

    @server.resource("file:///watched.txt")
    async def watched() -> str:
        """A resource to subscribe to."""
        return "content"

    return server


class Replicas:
    """The running replicas and one httpx client for all of them."""

    def __init__(self, lives: list[LiveServer], client: httpx.AsyncClient) -> None:
        self.lives = lives
        self.client = client

    def url(self, index: int) -> str:
        return self.lives[index].mcp_url

    def app(self, index: int) -> Any:
        return self.lives[index].app

    async def post(
        self, index: int, body: Any, session_id: str | None = None, **headers: str
    ) -> httpx.Response:
        if session_id is not None:
            headers["mcp-session-id"] = session_id
        return await self.client.post(
            self.url(index), content=json.dumps(body).encode(), headers={**HEADERS, **headers}
        )

    async def initialize(
        self, index: int, capabilities: dict[str, Any] | None = None, **headers: str
    ) -> str:
        response = await self.post(
            index,
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": capabilities or {},
                    "clientInfo": {"name": "replica-test", "version": "1"},
                },
            },
            **headers,
        )
        assert response.status_code == 200, response.text
        session_id = response.headers["mcp-session-id"]
        notified = await self.post(
            (index + 1) % len(self.lives),
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            session_id,
            **headers,
        )
        assert notified.status_code == 202, notified.text
        return session_id

    async def call(
        self, index: int, session_id: str, request_id: int, name: str, **arguments: Any
    ) -> httpx.Response:
        return await self.post(
            index,
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {"name": name, "arguments": arguments},
            },
            session_id,
        )

    async def delete(self, index: int, session_id: str, **headers: str) -> httpx.Response:
        return await self.client.delete(
            self.url(index), headers={"mcp-session-id": session_id, **headers}
        )


@contextlib.asynccontextmanager
async def replicas(
    count: int, redis_url: str, prefix: str, **options: Any
) -> AsyncIterator[Replicas]:
    """``count`` apps on ``redis_url`` (keys under ``prefix``), each on its own port."""
    async with contextlib.AsyncExitStack() as stack:
        lives = []
        for _ in range(count):
            app = create_app(build_server(), state=redis_url, state_prefix=prefix, **options)
            lives.append(await stack.enter_async_context(live_app(app)))
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=CLIENT_TIMEOUT_SECONDS))
        yield Replicas(lives, client)


class EventReader:
    """Reads a streamed SSE response event by event, across calls."""

    def __init__(self, response: httpx.Response, *, raw: bool = False) -> None:
        self._chunks = response.aiter_bytes()
        self._parser = SSEParser()
        self._ready: list[Any] = []
        # raw: the parser's events as they are (legacy streams name their events).
        self._raw = raw

    async def next(self, count: int) -> list[Any]:
        """The next ``count`` events as (id, decoded data) pairs (data None: a priming
        event)."""
        async with asyncio.timeout(STEP_DEADLINE_SECONDS):
            while len(self._ready) < count:
                chunk = await anext(self._chunks)
                for event in self._parser.feed(chunk):
                    if self._raw:
                        self._ready.append(event)
                    else:
                        decoded = json.loads(event.data) if event.data else None
                        self._ready.append((event.id, decoded))
        events, self._ready = self._ready[:count], self._ready[count:]
        return events

    async def until_end(self) -> list[Any]:
        """What is left of the stream once it ends (the server closed it)."""
        async with asyncio.timeout(STEP_DEADLINE_SECONDS):
            async for chunk in self._chunks:
                for event in self._parser.feed(chunk):
                    self._ready.append(event)
        rest, self._ready = self._ready, []
        return rest
