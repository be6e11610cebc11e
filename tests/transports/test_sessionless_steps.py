"""The Streamable HTTP transport takes ``serve_sessionless``'s steps one by one in its own frame
(``prepare_sessionless``, ``start_sessionless``, then ``sessionless_completed`` or
``sessionless_failed``), and skips the reply stream of a tool that cannot emit. Every request
here gets the same status, content type and body bytes from it as from the same app serving
through ``serve_sessionless`` whole (a ``sessionless=`` callable, which the transport awaits as
it is): tools that answer at once, wait, emit, fail, ask, or return what orjson cannot write."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from typing import Any, Final

import httpx
import orjson
import pytest

from ssemcp import Context, Server, ToolError, ToolResult
from ssemcp.http import create_app
from ssemcp.jsonrpc import ErrorResponse, Request, Response
from ssemcp.protocol.request_context import Principal
from ssemcp.server.context import Send
from ssemcp.server.dispatch import dispatch
from ssemcp.server.sessionless import serve_sessionless, start_sessionless

MODERN: Final = "2026-07-28"
BARE_META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}
RICH_META: Final = {
    **BARE_META,
    "io.modelcontextprotocol/clientInfo": {"name": "steps-test", "version": "1"},
    "io.modelcontextprotocol/logLevel": "debug",
}


def build_server() -> Server:
    server = Server("steps-test", "1.0.0", title="Steps")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    @server.tool()
    async def waits(text: str) -> str:
        await asyncio.sleep(0)
        return text

    @server.tool()
    def blocking(text: str) -> str:
        return text

    @server.tool()
    async def big() -> dict[str, int]:
        # Past 64 bits: orjson refuses it, the standard library's fallback writes it.
        return {"value": 2**70}

    @server.tool()
    async def with_meta() -> ToolResult:
        return ToolResult(["with meta"], meta={"k": 1})

    @server.tool()
    async def fails() -> str:
        raise ToolError("no")

    @server.tool()
    async def crashes() -> str:
        raise RuntimeError("bug")

    @server.tool()
    async def chatty(ctx: Context) -> str:
        await ctx.report_progress(1, 2)
        await ctx.info("halfway")
        return "done"

    @server.tool()
    async def quiet(ctx: Context) -> str:
        return "no messages"

    @server.tool()
    async def asks(ctx: Context) -> str:
        answer = await ctx.elicit("name?", {"type": "object", "properties": {}})
        return str(answer)

    @server.resource("note://one", mime_type="text/plain")
    def one() -> str:
        return "resource"

    return server


async def whole(
    server: Server,
    request: Request,
    headers: Mapping[bytes, bytes] | None,
    send: Send,
    principal: Principal | None = None,
) -> Response | ErrorResponse:
    """``serve_sessionless`` as another ``ServeSessionless``: the transport awaits it whole."""
    return await serve_sessionless(server, request, headers, send, principal)


_IDS = itertools.count(1)


def _call(method: str, params: dict[str, Any], meta: dict[str, Any] | None = None) -> bytes:
    if meta is not None:
        params = {**params, "_meta": meta}
    return orjson.dumps({"jsonrpc": "2.0", "id": next(_IDS), "method": method, "params": params})


CASES: Final = [
    ("tools/call", {"name": "echo", "arguments": {"text": "hi"}}, BARE_META),
    ("tools/call", {"name": "echo", "arguments": {"text": "hi"}}, RICH_META),
    ("tools/call", {"name": "echo", "arguments": {}}, BARE_META),
    ("tools/call", {"name": "echo"}, BARE_META),
    ("tools/call", {"name": "echo", "arguments": ["not", "an", "object"]}, BARE_META),
    ("tools/call", {"name": "echo", "arguments": None}, BARE_META),
    ("tools/call", {"name": 7, "arguments": {}}, BARE_META),
    ("tools/call", {"name": "nowhere", "arguments": {}}, BARE_META),
    ("tools/call", {"name": "waits", "arguments": {"text": "later"}}, BARE_META),
    ("tools/call", {"name": "blocking", "arguments": {"text": "thread"}}, BARE_META),
    ("tools/call", {"name": "big"}, BARE_META),
    ("tools/call", {"name": "with_meta"}, BARE_META),
    ("tools/call", {"name": "fails"}, BARE_META),
    ("tools/call", {"name": "crashes"}, BARE_META),
    ("tools/call", {"name": "chatty"}, RICH_META),
    ("tools/call", {"name": "chatty"}, BARE_META),
    ("tools/call", {"name": "quiet"}, BARE_META),
    ("tools/call", {"name": "asks"}, BARE_META),
    ("tools/call", {"name": "echo", "arguments": {"text": "hi"}, "requestState": "x"}, BARE_META),
    ("tools/list", {}, BARE_META),
    ("resources/read", {"uri": "note://one"}, BARE_META),
    ("resources/read", {"uri": "note://none"}, BARE_META),
    ("server/discover", {}, BARE_META),
    ("ping", {}, BARE_META),
    ("initialize", {}, BARE_META),
    ("tools/call", {"name": "echo", "arguments": {"text": "hi"}}, None),
    (
        "tools/call",
        {"name": "echo", "arguments": {"text": "hi"}},
        {**BARE_META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"},
    ),
]


async def _answer(app: Any, body: bytes, method: str, name: object) -> tuple[int, str, bytes]:
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if isinstance(name, str):
        headers["mcp-name"] = name
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post("/mcp", content=body, headers=headers)
    return response.status_code, response.headers.get("content-type", ""), response.content


@pytest.mark.parametrize(("method", "params", "meta"), CASES)
async def test_the_transports_steps_answer_as_serve_sessionless_does(
    method: str, params: dict[str, Any], meta: dict[str, Any] | None
) -> None:
    server = build_server()
    stepped = create_app(server)
    awaited = create_app(server, sessionless=whole)
    body = _call(method, params, meta)
    name = params.get("uri") if method == "resources/read" else params.get("name")
    got = await _answer(stepped, body, method, name)
    expected = await _answer(awaited, body, method, name)
    assert got == expected
    assert got[0] in (200, 400, 404)


async def test_every_awaitable_start_gives_is_a_coroutine() -> None:
    """The transport runs the first step by hand: what start_sessionless hands back has to
    be a coroutine, for a tool found, for any other method, and when observed."""
    from ssemcp.protocol.sessionless import context_for

    server = build_server()
    for method, params in (
        ("tools/call", {"name": "echo", "arguments": {"text": "hi"}}),
        ("tools/call", {"name": "nowhere"}),
        ("tools/list", {}),
    ):
        request = Request(1, method, {**params, "_meta": BARE_META})
        context = context_for(request, None)
        tool = server.tools.get(str(params.get("name")))
        started = start_sessionless(server, request, context, tool, None, _drop)
        assert asyncio.iscoroutine(started)
        started.close()
        dispatched = dispatch(server, request, context, _drop, None)
        assert asyncio.iscoroutine(dispatched)
        dispatched.close()  # type: ignore[attr-defined]


async def _drop(message: object) -> None:
    """Nothing is emitted here."""


async def test_a_reply_carries_the_server_info_as_it_is_now() -> None:
    """The serverInfo a JSON reply splices in, serialized once, follows a change in place."""
    server = build_server()
    app = create_app(server)
    params = {"name": "echo", "arguments": {"text": "hi"}}
    key = "io.modelcontextprotocol/serverInfo"
    _, _, first = await _answer(app, _call("tools/call", params, BARE_META), "tools/call", "echo")
    assert orjson.loads(first)["result"]["_meta"][key] == {
        "name": "steps-test",
        "version": "1.0.0",
        "title": "Steps",
    }
    server.server_info["title"] = "Renamed"
    _, _, second = await _answer(app, _call("tools/call", params, BARE_META), "tools/call", "echo")
    assert orjson.loads(second)["result"]["_meta"][key]["title"] == "Renamed"
    server.server_info = {"name": "replaced", "version": "2"}
    _, _, third = await _answer(app, _call("tools/call", params, BARE_META), "tools/call", "echo")
    assert orjson.loads(third)["result"]["_meta"][key] == {"name": "replaced", "version": "2"}
