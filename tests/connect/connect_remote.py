"""The remote server ``ssemcp connect`` relays to in these tests, and a recorder of the HTTP
requests it gets.

Owns what a relay must carry both ways: progress and log notifications of a call, the server's
own requests (elicitation, sampling, roots), a subscribable resource and a tool that changes
it, a slow tool to be caught in flight, and tools whose arguments travel in ``Mcp-Param-*``
headers (``x-mcp-header``), one of them added while the client is connected. ``Recorder``
wraps the ASGI app and notes each request's method, path and session id, so a test can see a
DELETE or end a session itself; ``Only2026`` makes the app a server that speaks only
2026-07-28.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from pydantic import Field

from ssemcp.server import Context, Server

NAME_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}
COUNTER_URI = "connect://counter"
# server/tools, "x-mcp-header": the argument is mirrored in an Mcp-Param-{name} header.
Region = Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]
Days = Annotated[int, Field(json_schema_extra={"x-mcp-header": "Days"})]
Word = Annotated[str, Field(json_schema_extra={"x-mcp-header": "Word"})]


def build_server(cancelled: list[str] | None = None) -> Server:
    """A fresh remote server (each test gets its own); ``cancelled`` collects the request ids
    of the slow calls cancelled on it."""
    server = Server("connect-remote", "1.0.0", instructions="the remote")
    counter = [0]

    @server.tool()
    async def add(a: int, b: int) -> str:
        """Add two integers."""
        return str(a + b)

    @server.tool()
    async def steps(count: int, ctx: Context) -> str:
        """Report progress and log one message per step."""
        for step in range(1, count + 1):
            await ctx.report_progress(step, count, f"step {step}")
            await ctx.info(f"did step {step}")
        return f"{count} steps"

    @server.tool()
    async def greet(ctx: Context) -> str:
        """Ask the user's name (elicitation), then greet them."""
        answer = await ctx.elicit("Your name?", NAME_SCHEMA, key="user_name")
        if answer.action != "accept" or not answer.content:
            return f"no name ({answer.action})"
        return f"hello {answer.content['name']}"

    @server.tool()
    async def ask_model(ctx: Context) -> str:
        """Ask the model (sampling) and the roots."""
        sampled = await ctx.sample("Capital of France?", max_tokens=5)
        roots = await ctx.list_roots()
        return f"{sampled.text}, {len(roots)} roots"

    @server.tool()
    async def bump() -> str:
        """Change the counter resource (its subscribers get resources/updated)."""
        counter[0] += 1
        server.notify_resource_updated(COUNTER_URI)
        return str(counter[0])

    @server.tool()
    async def slow(seconds: float, ctx: Context) -> str:
        """Sleep; a first progress report makes the reply an SSE stream at once."""
        await ctx.report_progress(0, seconds)
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if cancelled is not None:
                cancelled.append(str(ctx.request_id))
            raise
        return "done"

    @server.tool()
    async def forecast(region: Region, days: Days = 1) -> str:
        """A forecast whose region and days a gateway may route by (their headers)."""
        return f"{days} days in {region}"

    async def shout(word: Word) -> str:
        """The word in capitals."""
        return word.upper()

    @server.tool()
    async def add_shout() -> str:
        """Add the ``shout`` tool, whose argument has a header (tools/list_changed goes out)."""
        server.add_tool(shout)
        return "added"

    @server.resource(COUNTER_URI, mime_type="text/plain")
    def count() -> str:
        """A counter that ``bump`` changes."""
        return str(counter[0])

    return server


@dataclass
class Recorder:
    """An ASGI app that notes each HTTP request (method, path, Mcp-Session-Id) of ``app``."""

    app: Any
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            session_id = headers.get(b"mcp-session-id")
            self.requests.append(
                (scope["method"], scope["path"], session_id.decode() if session_id else None)
            )
        await self.app(scope, receive, send)

    def sessions(self) -> list[str]:
        """The session ids seen, in order of first use."""
        seen: list[str] = []
        for _, _, session_id in self.requests:
            if session_id is not None and session_id not in seen:
                seen.append(session_id)
        return seen

    def count(self, method: str) -> int:
        return sum(1 for request_method, _, _ in self.requests if request_method == method)


_ONLY_2026: Final = ["2026-07-28"]


@dataclass
class Only2026:
    """``app`` as a server that speaks only 2026-07-28: ``initialize`` (a POST without the
    2026-07-28 ``MCP-Protocol-Version``) gets 400 with -32022 listing only 2026-07-28, as spec
    2026-07-28 basic/versioning asks of a server without the requested version; GET and
    DELETE get 405; ``server/discover`` names only 2026-07-28."""

    app: Any
    refused: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/mcp":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            self.refused.append(scope["method"])
            await _json_reply(send, 405, {"error": "2026-07-28: no GET stream, no DELETE"})
            return
        headers = dict(scope["headers"])
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        parsed = json.loads(body)
        if headers.get(b"mcp-protocol-version") != b"2026-07-28":
            self.refused.append(str(parsed.get("method")))
            error = {
                "code": -32022,
                "message": "Unsupported protocol version: this server speaks 2026-07-28 only",
                "data": {"supported": _ONLY_2026},
            }
            reply = {"jsonrpc": "2.0", "id": parsed.get("id"), "error": error}
            await _json_reply(send, 400, reply)
            return
        delivered = False

        async def replay() -> Any:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        if parsed.get("method") != "server/discover":
            await self.app(scope, replay, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewriting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            reply = json.loads(b"".join(chunks))
            reply["result"]["supportedVersions"] = _ONLY_2026
            await _json_reply(send, start["status"], reply)

        await self.app(scope, replay, rewriting_send)


async def _json_reply(send: Any, status: int, body: Any) -> None:
    content = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
