"""Request spans over a real uvicorn on 127.0.0.1: Streamable HTTP (a 2025-11-25 session),
2026-07-28 requests that stand alone, and the legacy HTTP+SSE transport. Their names and
attributes (the OpenTelemetry semantic conventions for MCP), their status on errors and tool
errors, and their parent: the ``traceparent`` header, ``_meta.traceparent`` over it, and a
new root when either is malformed (the client never sees an error for it)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import httpx
import pytest
from live_server import INITIALIZE, live_app
from opentelemetry.trace import SpanKind, StatusCode
from tracing_support import (
    MALFORMED_TRACEPARENTS,
    META_SPAN_ID,
    META_TRACE_ID,
    META_TRACEPARENT,
    PARENT_SPAN_ID,
    TRACE_ID,
    TRACEPARENT,
    Tracing,
    build_server,
    parent_ids,
    span_id_hex,
    trace_id_hex,
)

from ssemcp.http import create_app
from ssemcp.sse import SSEParser

SESSION_REVISION: Final = "2025-11-25"
MODERN: Final = "2026-07-28"
ACCEPT: Final = {"accept": "application/json, text/event-stream"}
MODERN_META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}


@dataclass
class Session:
    """A 2025-11-25 Streamable HTTP session, driven with httpx."""

    client: httpx.AsyncClient
    session_id: str
    next_id: int = 10

    async def request(self, method: str, params: dict[str, Any], **headers: str) -> Any:
        self.next_id += 1
        response = await self.client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params},
            headers={
                **ACCEPT,
                "mcp-session-id": self.session_id,
                "mcp-protocol-version": SESSION_REVISION,
                **headers,
            },
        )
        assert response.status_code == 200, response.text
        return response.json()


@asynccontextmanager
async def session(tracing: Tracing) -> AsyncIterator[Session]:
    async with live_app(create_app(build_server(tracing))) as live, live.client() as client:
        opened = await client.post("/mcp", json=INITIALIZE, headers=ACCEPT)
        assert opened.status_code == 200, opened.text
        session_id = opened.headers["mcp-session-id"]
        initialized = await client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={**ACCEPT, "mcp-session-id": session_id},
        )
        assert initialized.status_code == 202
        if tracing is not None:
            # initialize is answered by the session itself, and has its span all the same.
            hello = tracing.only_span()
            assert hello.name == "initialize"
            assert hello.attributes is not None
            assert hello.attributes["mcp.method.name"] == "initialize"
            tracing.exporter.clear()
        yield Session(client, session_id)


@asynccontextmanager
async def modern_client(tracing: Tracing | None) -> AsyncIterator[httpx.AsyncClient]:
    async with live_app(create_app(build_server(tracing))) as live, live.client() as client:
        yield client


async def modern_call(
    client: httpx.AsyncClient,
    name: str,
    arguments: dict[str, Any],
    meta: dict[str, Any] | None = None,
    **headers: str,
) -> Any:
    response = await client.post(
        "/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {
                "name": name,
                "arguments": arguments,
                "_meta": {**MODERN_META, **(meta or {})},
            },
        },
        headers={
            **ACCEPT,
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
            "mcp-name": name,
            **headers,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------- names and attributes


async def test_a_tool_call_span_is_named_for_the_tool_and_has_the_mcp_attributes(
    tracing: Tracing,
) -> None:
    async with session(tracing) as mcp:
        reply = await mcp.request("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
        assert reply["result"]["content"] == [{"type": "text", "text": "hi"}]
        span = tracing.only_span()
    assert span.name == "tools/call echo"
    assert span.kind is SpanKind.SERVER
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "ssemcp"
    attributes = dict(span.attributes or {})
    client_port = attributes.pop("client.port")
    assert type(client_port) is int
    assert attributes == {
        "mcp.method.name": "tools/call",
        "mcp.protocol.version": SESSION_REVISION,
        "jsonrpc.request.id": "11",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "echo",
        "mcp.session.id": mcp.session_id,
        "network.transport": "tcp",
        "network.protocol.name": "http",
        "network.protocol.version": "1.1",
        "client.address": "127.0.0.1",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is None  # no traceparent: a new trace


async def test_resources_read_and_prompts_get_spans_name_their_target(tracing: Tracing) -> None:
    async with session(tracing) as mcp:
        await mcp.request("resources/read", {"uri": "notes://setup"})
        await mcp.request("prompts/get", {"name": "review", "arguments": {"code": "x = 1"}})
        await mcp.request("tools/list", {})
        read, prompt, listed = tracing.spans()
    # semconv: a resource's URI is an attribute, not part of the name (high cardinality).
    assert read.name == "resources/read"
    assert read.attributes is not None
    assert read.attributes["mcp.resource.uri"] == "notes://setup"
    assert "gen_ai.operation.name" not in read.attributes
    assert prompt.name == "prompts/get review"
    assert prompt.attributes is not None
    assert prompt.attributes["gen_ai.prompt.name"] == "review"
    assert "gen_ai.tool.name" not in prompt.attributes
    assert listed.name == "tools/list"
    assert listed.attributes is not None
    assert listed.attributes["mcp.method.name"] == "tools/list"
    assert all(span.status.status_code is StatusCode.UNSET for span in (read, prompt, listed))


async def test_requests_the_session_answers_itself_have_spans(tracing: Tracing) -> None:
    async with session(tracing) as mcp:
        assert "result" in await mcp.request("ping", {})
        refused = await mcp.request("logging/setLevel", {"level": "loud"})
        assert refused["error"]["code"] == -32602
        ping, set_level = tracing.spans()
    assert ping.name == "ping"
    assert ping.kind is SpanKind.SERVER
    assert ping.status.status_code is StatusCode.UNSET
    # A caller's mistake: its code, but not a server error (semconv).
    assert set_level.name == "logging/setLevel"
    assert set_level.attributes is not None
    assert set_level.attributes["rpc.response.status_code"] == "-32602"
    assert "error.type" not in set_level.attributes
    assert set_level.status.status_code is StatusCode.UNSET


# ---------------------------------------------------------------------- errors


async def test_a_tool_error_result_marks_the_span_as_a_tool_error(tracing: Tracing) -> None:
    async with session(tracing) as mcp:
        reply = await mcp.request("tools/call", {"name": "refuse", "arguments": {}})
        assert reply["result"]["isError"] is True
        span = tracing.only_span()
    assert span.name == "tools/call refuse"
    assert span.attributes is not None
    assert span.attributes["error.type"] == "tool_error"
    assert "rpc.response.status_code" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR


async def test_an_internal_error_marks_the_span_with_its_code(tracing: Tracing) -> None:
    async with session(tracing) as mcp:
        reply = await mcp.request("resources/read", {"uri": "broken://always"})
        assert reply["error"]["code"] == -32603
        assert "fire" not in json.dumps(reply)
        span = tracing.only_span()
    assert span.attributes is not None
    assert span.attributes["rpc.response.status_code"] == "-32603"
    assert span.attributes["error.type"] == "-32603"
    assert span.status.status_code is StatusCode.ERROR
    # semconv: the description "SHOULD match the JSONRPCError.message".
    assert span.status.description == "Internal error"


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("tools/call", {"name": "nope", "arguments": {}}, "-32602"),
        ("resources/read", {"uri": "nothing://here"}, "-32002"),
        ("prompts/get", {"name": "nope"}, "-32602"),
    ],
)
async def test_a_callers_mistake_has_its_code_but_is_not_a_server_error(
    tracing: Tracing, method: str, params: dict[str, Any], code: str
) -> None:
    async with session(tracing) as mcp:
        reply = await mcp.request(method, params)
        assert str(reply["error"]["code"]) == code
        span = tracing.only_span()
    # semconv mcp.server.status.attributes: -32602, -32002 ... "SHOULD NOT be considered errors".
    assert span.attributes is not None
    assert span.attributes["rpc.response.status_code"] == code
    assert "error.type" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET


# ---------------------------------------------------------------------- parents


async def test_the_traceparent_header_is_the_spans_parent(tracing: Tracing) -> None:
    async with session(tracing) as mcp:
        await mcp.request(
            "tools/call",
            {"name": "echo", "arguments": {"text": "hi"}},
            traceparent=TRACEPARENT,
            tracestate="rojo=00f067aa0ba902b7",
        )
        span = tracing.only_span()
    assert parent_ids(span) == (TRACE_ID, PARENT_SPAN_ID)
    assert span.parent is not None
    assert span.parent.is_remote
    assert span.context is not None
    assert span.context.trace_state.get("rojo") == "00f067aa0ba902b7"


@pytest.mark.parametrize("malformed", MALFORMED_TRACEPARENTS)
async def test_a_malformed_traceparent_header_starts_a_new_trace_and_the_call_succeeds(
    tracing: Tracing, malformed: str
) -> None:
    async with session(tracing) as mcp:
        reply = await mcp.request(
            "tools/call", {"name": "echo", "arguments": {"text": "hi"}}, traceparent=malformed
        )
        assert reply["result"]["content"] == [{"type": "text", "text": "hi"}]
        span = tracing.only_span()
    assert span.parent is None


async def test_a_2026_request_joins_the_trace_in_its_meta(tracing: Tracing) -> None:
    async with modern_client(tracing) as client:
        reply = await modern_call(client, "echo", {"text": "hi"}, {"traceparent": META_TRACEPARENT})
        assert reply["result"]["content"] == [{"type": "text", "text": "hi"}]
        span = tracing.only_span()
    assert span.name == "tools/call echo"
    assert parent_ids(span) == (META_TRACE_ID, META_SPAN_ID)
    assert span.attributes is not None
    assert span.attributes["mcp.protocol.version"] == MODERN
    assert span.attributes["jsonrpc.request.id"] == "7"
    # semconv registry: mcp.session.id "MUST NOT be set" on 2026-07-28.
    assert "mcp.session.id" not in span.attributes


async def test_meta_traceparent_takes_precedence_over_the_header(tracing: Tracing) -> None:
    async with modern_client(tracing) as client:
        await modern_call(
            client,
            "echo",
            {"text": "hi"},
            {"traceparent": META_TRACEPARENT},
            traceparent=TRACEPARENT,
        )
        span = tracing.only_span()
    assert parent_ids(span) == (META_TRACE_ID, META_SPAN_ID)


async def test_a_malformed_meta_traceparent_falls_back_to_the_header(tracing: Tracing) -> None:
    async with modern_client(tracing) as client:
        await modern_call(
            client, "echo", {"text": "hi"}, {"traceparent": "garbage"}, traceparent=TRACEPARENT
        )
        span = tracing.only_span()
    assert parent_ids(span) == (TRACE_ID, PARENT_SPAN_ID)


@pytest.mark.parametrize("malformed", [*MALFORMED_TRACEPARENTS, 42, None, ["00-..."], {"a": 1}])
async def test_a_malformed_meta_traceparent_alone_starts_a_new_trace(
    tracing: Tracing, malformed: object
) -> None:
    async with modern_client(tracing) as client:
        reply = await modern_call(
            client, "echo", {"text": "hi"}, {"traceparent": malformed, "tracestate": 7}
        )
        assert reply["result"]["content"] == [{"type": "text", "text": "hi"}]
        span = tracing.only_span()
    assert span.parent is None


async def test_meta_traceparent_in_a_2025_session_is_honoured_too(tracing: Tracing) -> None:
    # SEP-414 documents the _meta keys for every revision; the official SDKs read them so.
    async with session(tracing) as mcp:
        await mcp.request(
            "tools/call",
            {
                "name": "echo",
                "arguments": {"text": "hi"},
                "_meta": {"traceparent": META_TRACEPARENT},
            },
        )
        span = tracing.only_span()
    assert parent_ids(span) == (META_TRACE_ID, META_SPAN_ID)


async def test_a_legacy_sse_request_joins_the_trace_of_its_post(tracing: Tracing) -> None:
    async with (
        live_app(create_app(build_server(tracing))) as live,
        live.client() as client,
        client.stream("GET", "/sse") as stream,
    ):
        chunks = stream.aiter_bytes()
        parser = SSEParser()
        pending: list[Any] = []

        async def next_event() -> Any:
            while not pending:
                pending.extend(parser.feed(await anext(chunks)))
            return pending.pop(0)

        endpoint = (await next_event()).data
        post_url = endpoint  # /messages/?session_id=...

        async def post(body: dict[str, Any], **headers: str) -> None:
            response = await client.post(post_url, json=body, headers=headers)
            assert response.status_code == 202, response.text

        await post(
            {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "2024-11-05"}}
        )
        assert json.loads((await next_event()).data)["id"] == 1
        assert tracing.only_span().name == "initialize"
        tracing.exporter.clear()
        await post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        await post(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "hi"}},
            },
            traceparent=TRACEPARENT,
        )
        reply = json.loads((await next_event()).data)
        assert reply["id"] == 2
        span = tracing.only_span()
    assert span.name == "tools/call echo"
    assert parent_ids(span) == (TRACE_ID, PARENT_SPAN_ID)
    assert span.attributes is not None
    assert span.attributes["mcp.protocol.version"] == "2024-11-05"
    assert span.attributes["network.transport"] == "tcp"


@pytest.mark.parametrize(
    ("tool", "work"), [("chatty_work", "async work"), ("blocking_work", "sync work")]
)
async def test_spans_a_tool_starts_are_children_of_its_request_span(
    tracing: Tracing, tool: str, work: str
) -> None:
    async with session(tracing) as mcp:
        response = await mcp.client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": tool}},
            headers={
                **ACCEPT,
                "mcp-session-id": mcp.session_id,
                "mcp-protocol-version": SESSION_REVISION,
                "traceparent": TRACEPARENT,
            },
        )
        assert response.status_code == 200
        assert '"done"' in response.text
        inner, request_span = tracing.spans()
    assert inner.name == work
    assert request_span.name == f"tools/call {tool}"
    assert parent_ids(request_span) == (TRACE_ID, PARENT_SPAN_ID)
    assert parent_ids(inner) == (trace_id_hex(request_span), span_id_hex(request_span))


# ---------------------------------------------------------------------- off


async def test_without_a_tracer_provider_no_span_is_made(tracing: Tracing) -> None:
    # The provider exists (and would record), but the server was not given it.
    async with modern_client(None) as client:
        await modern_call(client, "echo", {"text": "hi"}, {"traceparent": META_TRACEPARENT})
    assert tracing.spans() == ()


async def test_tracing_can_be_turned_on_and_off_on_a_live_server(tracing: Tracing) -> None:
    server = build_server(None)
    async with live_app(create_app(server)) as live, live.client() as client:
        await modern_call(client, "echo", {"text": "off"})
        server.tracer_provider = tracing.provider
        assert server.tracer_provider is tracing.provider
        await modern_call(client, "echo", {"text": "on"}, traceparent=TRACEPARENT)
        server.tracer_provider = None
        await modern_call(client, "echo", {"text": "off again"})
    span = tracing.only_span()
    assert parent_ids(span) == (TRACE_ID, PARENT_SPAN_ID)
