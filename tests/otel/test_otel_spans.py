"""``RequestTracing`` without sockets: what a span records for each way a handler ends
(a server error, an exception that is not a protocol error, a round of a multi round-trip
request, a cancellation), and the parent it takes when an outer HTTP instrumentation already
made a span for the request."""

from __future__ import annotations

import asyncio
from typing import Final

import pytest
from opentelemetry.trace import StatusCode
from tracing_support import TRACEPARENT, Tracing, parent_ids, span_id_hex, trace_id_hex

from ssemcp._types import JSONObject
from ssemcp.errors import InsufficientScope
from ssemcp.jsonrpc import Request
from ssemcp.otel.spans import RequestTracing
from ssemcp.protocol.request_context import RequestContext
from ssemcp.server.context import InputRequired

REQUEST: Final = Request(5, "tools/call", {"name": "echo", "arguments": {}})
SCOPE: Final = {"type": "http", "http_version": "1.1", "client": ("10.0.0.7", 4711)}


async def fails_with(exception: BaseException) -> JSONObject:
    raise exception


async def test_a_server_error_code_marks_the_span_with_the_errors_message(
    tracing: Tracing,
) -> None:
    request_tracing = RequestTracing(tracing.provider)
    with pytest.raises(InsufficientScope):
        await request_tracing.serve(
            REQUEST, RequestContext(), fails_with(InsufficientScope("needs scope 'admin'"))
        )
    span = tracing.only_span()
    assert span.attributes is not None
    assert span.attributes["rpc.response.status_code"] == "-32003"
    assert span.attributes["error.type"] == "-32003"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "needs scope 'admin'"


async def test_an_exception_is_recorded_as_the_internal_error_the_client_gets(
    tracing: Tracing,
) -> None:
    request_tracing = RequestTracing(tracing.provider)
    with pytest.raises(KeyError):
        await request_tracing.serve(REQUEST, RequestContext(), fails_with(KeyError("oops")))
    span = tracing.only_span()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "-32603"
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


@pytest.mark.parametrize("ending", [InputRequired(), asyncio.CancelledError()])
async def test_a_round_that_ends_for_input_or_a_cancellation_is_not_an_error(
    tracing: Tracing, ending: BaseException
) -> None:
    request_tracing = RequestTracing(tracing.provider)
    with pytest.raises(type(ending)):
        await request_tracing.serve(REQUEST, RequestContext(), fails_with(ending))
    span = tracing.only_span()
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes is not None
    assert "error.type" not in span.attributes


async def test_an_outer_http_span_stays_the_parent_over_the_header(tracing: Tracing) -> None:
    # What opentelemetry-instrumentation-asgi around the app would do: its span is current,
    # and was made from the same traceparent header.
    request_tracing = RequestTracing(tracing.provider)
    headers = {b"traceparent": TRACEPARENT.encode(), b"mcp-session-id": b"abc"}

    async def served() -> None:
        await request_tracing.serve(REQUEST, RequestContext(), answer())

    async def answer() -> JSONObject:
        return {"content": []}

    with tracing.provider.get_tracer("outer").start_as_current_span("POST /mcp") as outer:
        await request_tracing.within_http_request(SCOPE, headers, served())
    request_span, outer_span = tracing.spans()
    assert outer_span.name == "POST /mcp"
    assert parent_ids(request_span) == (trace_id_hex(outer_span), span_id_hex(outer_span))
    assert outer.is_recording() is False  # ended
    attributes = dict(request_span.attributes or {})
    assert attributes["client.address"] == "10.0.0.7"
    assert attributes["client.port"] == 4711
    assert attributes["mcp.session.id"] == "abc"
