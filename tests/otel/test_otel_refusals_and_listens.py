"""Spans over a real uvicorn on 127.0.0.1 for what no handler answers: 2026-07-28 requests
refused before their handler (one span each, with their code, joined to the caller's trace),
and a ``subscriptions/listen`` (one span from its opening to its end, with how it ended and
how many notifications it carried)."""

from __future__ import annotations

import json
from typing import Any, Final

import pytest
from live_server import live_app, wait_until
from opentelemetry.trace import SpanKind, StatusCode
from tracing_support import TRACE_ID, TRACEPARENT, Tracing, build_server, trace_id_hex

from ssemcp.http import create_app

MODERN: Final = "2026-07-28"
META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}
ACCEPT: Final = "application/json, text/event-stream"


def _request(method: str, params: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {"_meta": META, **params}}
    headers = {
        "accept": ACCEPT,
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
        "traceparent": TRACEPARENT,
    }
    return body, headers


@pytest.mark.parametrize(
    ("method", "params", "headers", "code", "is_error"),
    [
        ("tools/frobnicate", {}, {}, -32601, False),
        ("ping", {}, {}, -32601, False),
        (
            "tools/call",
            {"name": "echo", "arguments": {"text": "hi"}},
            {"mcp-name": "x"},
            -32020,
            True,
        ),
    ],
    ids=["unknown method", "removed method", "header mismatch"],
)
async def test_a_refused_request_has_one_span_with_its_code(
    tracing: Tracing,
    method: str,
    params: dict[str, Any],
    headers: dict[str, str],
    code: int,
    is_error: bool,
) -> None:
    body, sent = _request(method, params)
    async with live_app(create_app(build_server(tracing))) as live, live.client() as http:
        response = await http.post("/mcp", json=body, headers={**sent, **headers})
        assert response.json()["error"]["code"] == code
    span = tracing.only_span()
    assert span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["mcp.method.name"] == method
    assert span.attributes["rpc.response.status_code"] == str(code)
    assert trace_id_hex(span) == TRACE_ID
    # semconv: -32601 is the caller's mistake, not an error of the server's; -32020 is not
    # among those codes.
    assert (span.status.status_code is StatusCode.ERROR) is is_error


async def test_an_error_from_a_handler_has_one_span(tracing: Tracing) -> None:
    body, sent = _request("tools/call", {"name": "missing", "arguments": {}})
    async with live_app(create_app(build_server(tracing))) as live, live.client() as http:
        response = await http.post("/mcp", json=body, headers={**sent, "mcp-name": "missing"})
        assert response.json()["error"]["code"] == -32602
    assert tracing.only_span().attributes["rpc.response.status_code"] == "-32602"  # type: ignore[index]


async def test_a_listen_has_one_span_from_its_opening_to_its_end(tracing: Tracing) -> None:
    server = build_server(tracing)
    body, sent = _request("subscriptions/listen", {"notifications": {"toolsListChanged": True}})
    async with live_app(create_app(server)) as live, live.client() as http:
        async with http.stream("POST", "/mcp", json=body, headers=sent) as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            events: list[Any] = []
            async for text in lines:
                if text.startswith("data: "):
                    events.append(json.loads(text.removeprefix("data: ")))
                    if len(events) == 1:
                        assert not tracing.spans()  # open: not ended yet
                        server.remove_tool("refuse")
                    else:
                        break
            assert events[1]["method"] == "notifications/tools/list_changed"

        async def ended() -> bool:
            return bool(tracing.spans())

        await wait_until(ended, message="the listen's span did not end")
    span = tracing.only_span()
    assert span.name == "subscriptions/listen"
    assert span.attributes is not None
    assert span.attributes["ssemcp.listen.outcome"] == "ok"
    assert span.attributes["ssemcp.listen.notifications"] == 1
    assert trace_id_hex(span) == TRACE_ID
