"""``serve_sessionless`` completes a result inline for the commonest case (no ``_meta`` of its
own, a method without cache hints): the same bytes, key order included, as
``complete_result`` writes for the dispatcher's result. And it calls a tool without a
``Context`` through ``dispatch_tool`` with the tool it found: the same result, or the same
error, as ``dispatch`` gives."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import orjson
import pytest

from ssemcp import Server, ToolResult
from ssemcp.errors import ProtocolError
from ssemcp.jsonrpc import ErrorResponse, Message, Request, Response
from ssemcp.protocol.sessionless import complete_result, context_for
from ssemcp.server.dispatch import dispatch
from ssemcp.server.sessionless import serve_sessionless

META: Final = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def build() -> Server:
    server = Server("completion-test", "1.0.0", title="Completion")

    @server.tool()
    async def text() -> str:
        return "plain"

    @server.tool()
    async def meta() -> ToolResult:
        return ToolResult(["with meta"], meta={"k": 1})

    @server.tool()
    async def structured() -> dict[str, int]:
        return {"a": 1}

    @server.tool()
    async def echo(text: str = "none") -> str:
        return text

    @server.tool()
    def blocking(text: str) -> str:
        return text

    @server.resource("test://one", name="one")
    async def one() -> str:
        return "resource"

    return server


async def _drop(message: Message) -> None:
    """Nothing is emitted in these tests."""


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("tools/call", {"name": "text"}),
        ("tools/call", {"name": "meta"}),
        ("tools/call", {"name": "structured"}),
        ("tools/call", {"name": "structured", "arguments": {"unexpected": 1}}),
        ("tools/call", {"name": "echo", "arguments": {"text": "hi"}}),
        ("tools/call", {"name": "echo", "arguments": None}),
        ("tools/call", {"name": "echo"}),
        ("tools/call", {"name": "echo", "arguments": {"text": 5}}),
        ("tools/call", {"name": "blocking", "arguments": {"text": "thread"}}),
        ("tools/list", {}),
        ("resources/read", {"uri": "test://one"}),
        ("server/discover", {}),
    ],
)
def test_inline_completion_writes_what_complete_result_writes(
    method: str, params: dict[str, Any]
) -> None:
    server = build()
    request = Request(1, method, {**params, "_meta": META})
    reply = asyncio.run(serve_sessionless(server, request, None, _drop))
    assert type(reply) is Response

    async def by_complete_result() -> Any:
        result = await dispatch(server, request, context_for(request, None), _drop, None)
        cache = (
            server.cache_hint_for(method, request.params)
            if method in ("tools/list", "resources/read", "server/discover")
            else server.cache
        )
        return complete_result(method, result, server.server_info, cache)

    expected = asyncio.run(by_complete_result())
    assert orjson.dumps(reply.result) == orjson.dumps(expected)


@pytest.mark.parametrize(
    "params",
    [
        {"name": "echo", "arguments": ["not", "an", "object"]},
        {"name": "echo", "arguments": "text"},
        {"name": "nowhere", "arguments": {}},
        {"name": 7},
        {},
    ],
)
def test_a_bad_tool_call_gets_the_error_dispatch_raises(params: dict[str, Any]) -> None:
    server = build()
    request = Request(1, "tools/call", {**params, "_meta": META})
    reply = asyncio.run(serve_sessionless(server, request, None, _drop))
    assert type(reply) is ErrorResponse

    async def by_dispatch() -> ProtocolError:
        try:
            await dispatch(server, request, context_for(request, None), _drop, None)
        except ProtocolError as exc:
            return exc
        raise AssertionError("dispatch served it")

    expected = asyncio.run(by_dispatch())
    assert reply.error == expected.to_error_object()
