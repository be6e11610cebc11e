"""Request spans over stdio (``ssemcp.transports.stdio.serve_stdio`` on files, in this
process, so that an in-memory exporter sees them): a 2025 session's requests and a 2026-07-28
request whose ``_meta`` carries the caller's trace. stdio has no HTTP: ``network.transport``
is ``pipe``, and neither a session id nor a client address is set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from opentelemetry.trace import StatusCode
from tracing_support import (
    META_SPAN_ID,
    META_TRACE_ID,
    META_TRACEPARENT,
    Tracing,
    build_server,
    parent_ids,
)

from ssemcp.transports.stdio import serve_stdio

MODERN_META: Final = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


async def exchange(
    tracing: Tracing, messages: list[dict[str, Any]], tmp_path: Path
) -> dict[Any, Any]:
    """Serve ``messages`` as stdin lines until its end; the replies, by id."""
    stdin_path, stdout_path = tmp_path / "stdin", tmp_path / "stdout"
    stdin_path.write_bytes(b"".join(json.dumps(message).encode() + b"\n" for message in messages))
    with stdin_path.open("rb") as stdin, stdout_path.open("wb") as stdout:
        await serve_stdio(build_server(tracing), stdin=stdin, stdout=stdout)
    replies = [json.loads(line) for line in stdout_path.read_bytes().splitlines()]
    return {reply["id"]: reply for reply in replies}


async def test_session_requests_over_stdio_get_spans_with_the_pipe_transport(
    tracing: Tracing, tmp_path: Path
) -> None:
    replies = await exchange(
        tracing,
        [
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            },
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "hi"}},
            },
            {
                "jsonrpc": "2.0",
                "id": "three",
                "method": "tools/call",
                "params": {"name": "refuse", "arguments": {}},
            },
        ],
        tmp_path,
    )
    assert set(replies) == {1, 2, "three"}, replies
    spans = {span.name: span for span in tracing.spans()}
    # initialize is answered by the session itself, with no handler: a span all the same.
    assert set(spans) == {"initialize", "tools/call echo", "tools/call refuse"}
    assert (spans["initialize"].attributes or {})["network.transport"] == "pipe"
    echo = spans["tools/call echo"]
    assert dict(echo.attributes or {}) == {
        "mcp.method.name": "tools/call",
        "mcp.protocol.version": "2025-11-25",
        "jsonrpc.request.id": "2",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "echo",
        "network.transport": "pipe",
    }
    assert echo.parent is None
    refused = spans["tools/call refuse"]
    assert refused.attributes is not None
    assert refused.attributes["jsonrpc.request.id"] == "three"
    assert refused.attributes["error.type"] == "tool_error"
    assert refused.status.status_code is StatusCode.ERROR


async def test_a_2026_request_over_stdio_joins_the_trace_in_its_meta(
    tracing: Tracing, tmp_path: Path
) -> None:
    replies = await exchange(
        tracing,
        [
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "prompts/get",
                "params": {
                    "name": "review",
                    "arguments": {"code": "x"},
                    "_meta": {**MODERN_META, "traceparent": META_TRACEPARENT},
                },
            },
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "resources/read",
                "params": {
                    "uri": "notes://setup",
                    "_meta": {**MODERN_META, "traceparent": "00-zz-zz-01"},
                },
            },
        ],
        tmp_path,
    )
    assert "result" in replies[1] and "result" in replies[2], replies
    spans = {span.name: span for span in tracing.spans()}
    prompt = spans["prompts/get review"]
    assert parent_ids(prompt) == (META_TRACE_ID, META_SPAN_ID)
    assert prompt.attributes is not None
    assert prompt.attributes["mcp.protocol.version"] == "2026-07-28"
    assert prompt.attributes["network.transport"] == "pipe"
    read = spans["resources/read"]
    assert read.parent is None  # the malformed traceparent is ignored
    assert read.attributes is not None
    assert read.attributes["mcp.resource.uri"] == "notes://setup"
