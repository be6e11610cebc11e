"""The OpenTelemetry span of each request :func:`ssemcp.server.dispatch.dispatch` serves.

Owns the span's name, kind, attributes and status, after the OpenTelemetry semantic conventions
for MCP (``gen-ai/mcp.md``; the names the official Python SDK sets: ``mcp.method.name``,
``gen_ai.tool.name``, ...), and the parent it joins: the request's ``params._meta``
``traceparent`` (SEP-414), else the HTTP request's ``traceparent`` header, else the span that
is current. ``dispatch`` opens the span when the registry has a tracer provider
(``Server.tracer_provider``); ``ssemcp.http.app`` runs each MCP HTTP request under
:meth:`RequestTracing.within_http_request`, which reads the header with the process's
propagators. Which transport brought a request, this module learns only from that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context as OTelContext
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind, StatusCode, TracerProvider, get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from ssemcp._types import JSONObject
from ssemcp._version import __version__
from ssemcp.asgi import Scope
from ssemcp.errors import ProtocolError
from ssemcp.jsonrpc import Request
from ssemcp.protocol.request_context import RequestContext
from ssemcp.server.context import InputRequired

__all__ = ["TRACER_NAME", "RequestTracing"]

# The instrumentation scope of every span (a pipeline filters on it).
TRACER_NAME: Final = "ssemcp"

# Where within_http_request leaves the HTTP request's attributes for the spans under it.
_HTTP_ATTRIBUTES: Final = otel_context.create_key("ssemcp.otel.http-attributes")

# semconv model/mcp/common.yaml, mcp.server.status.attributes: these codes mean "the caller
# sent a request the receiver could not serve" and "SHOULD NOT be considered errors"; "any
# other error code SHOULD be considered an error".
_CALLER_ERROR_CODES: Final = frozenset({-32700, -32600, -32601, -32602, -32002})
# What connection and sessionless answer an exception that is not a ProtocolError with.
_INTERNAL_ERROR: Final = "-32603"

# SEP-414: in _meta, "traceparent", "tracestate" and "baggage" follow the W3C Trace Context
# and Baggage formats, whatever propagators the process uses for its HTTP headers.
_META_PROPAGATOR: Final = CompositePropagator(
    [TraceContextTextMapPropagator(), W3CBaggagePropagator()]
)
_META_KEYS: Final = ("traceparent", "tracestate", "baggage")

# The methods whose params name a resource (semconv: mcp.resource.uri).
_RESOURCE_METHODS: Final = frozenset(
    {"resources/read", "resources/subscribe", "resources/unsubscribe"}
)


class _HeaderGetter(Getter[Mapping[bytes, bytes]]):
    """Reads ASGI headers (lowercased byte names, the app's dict) for a propagator."""

    def get(self, carrier: Mapping[bytes, bytes], key: str) -> list[str] | None:
        value = carrier.get(key.lower().encode("latin-1"))
        return None if value is None else [value.decode("latin-1")]

    def keys(self, carrier: Mapping[bytes, bytes]) -> list[str]:
        return [name.decode("latin-1") for name in carrier]


_HEADERS: Final = _HeaderGetter()


class RequestTracing:
    """Spans for the requests of one registry, from ``provider``'s ``ssemcp`` tracer."""

    __slots__ = ("_tracer", "last_served", "provider")

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer(TRACER_NAME, __version__)
        # The request whose span ended last: an error reply to any other was a refusal
        # before dispatch (ssemcp.observe.refused), which answered() gives its span.
        self.last_served: Request | None = None

    async def within_http_request(
        self, scope: Scope, headers: Mapping[bytes, bytes], served: Awaitable[None]
    ) -> None:
        """Await ``served`` (a transport serving one HTTP request) under the trace context of
        its ``traceparent`` header, noting what the spans under it say of the HTTP request.

        A span already current (an outer HTTP instrumentation made one for this request)
        stays the parent: it was made from the same header.
        """
        current = otel_context.get_current()
        if not get_current_span(current).get_span_context().is_valid:
            current = propagate.extract(headers, context=current, getter=_HEADERS)
        current = otel_context.set_value(
            _HTTP_ATTRIBUTES, _http_attributes(scope, headers), current
        )
        token = otel_context.attach(current)
        try:
            await served
        finally:
            otel_context.detach(token)

    async def serve(
        self, request: Request, context: RequestContext, served: Awaitable[JSONObject]
    ) -> JSONObject:
        """Await ``served`` (the handler of ``request``) inside the request's span.

        Raises:
            whatever ``served`` raises, after noting it on the span.
        """
        span_name, attributes, parent = _span_of(request, context)
        with self._tracer.start_as_current_span(
            span_name,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                result = await served
            except ProtocolError as exc:
                self.last_served = request
                code = str(exc.code)
                span.set_attribute("rpc.response.status_code", code)
                if exc.code not in _CALLER_ERROR_CODES:
                    span.set_attribute("error.type", code)
                    # semconv: the description "SHOULD match the JSONRPCError.message".
                    span.set_status(StatusCode.ERROR, exc.message)
                raise
            except InputRequired:
                raise  # a round of a multi round-trip request ends: a result, not an error
            except Exception as exc:
                self.last_served = request
                span.set_attributes(
                    {"rpc.response.status_code": _INTERNAL_ERROR, "error.type": _INTERNAL_ERROR}
                )
                span.record_exception(exc)
                span.set_status(StatusCode.ERROR, "Internal error")
                raise
            if request.method == "tools/call" and result.get("isError") is True:
                # semconv common.yaml, error.type: a CallToolResult with isError "SHOULD" be
                # "tool_error".
                span.set_attribute("error.type", "tool_error")
                span.set_status(StatusCode.ERROR)
            return result

    def answered(
        self, request: Request, context: RequestContext, code: int | None, message: str
    ) -> None:
        """The span of a request the session answered itself, with no handler
        (``initialize``, ``ping``, ``logging/setLevel``, a refusal): begun and ended at once,
        marked as :meth:`serve` marks a JSON-RPC error ``code`` (None: a result)."""
        span_name, attributes, parent = _span_of(request, context)
        span = self._tracer.start_span(
            span_name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        if code is not None:
            span.set_attribute("rpc.response.status_code", str(code))
            if code not in _CALLER_ERROR_CODES:
                span.set_attribute("error.type", str(code))
                span.set_status(StatusCode.ERROR, message)
        span.end()

    def listen_started(self, request: Request, context: RequestContext) -> Span:
        """The span of a ``subscriptions/listen`` whose stream opens now, ended by
        :meth:`listen_ended` when the stream ends. Not made current: nothing runs under it."""
        span_name, attributes, parent = _span_of(request, context)
        return self._tracer.start_span(
            span_name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        )

    def listen_ended(self, span: Span, outcome: str, notifications: int) -> None:
        """End a listen's span: how its stream ended (``ssemcp.observe.calls``' outcomes) and
        how many notifications it carried."""
        span.set_attributes(
            {"ssemcp.listen.outcome": outcome, "ssemcp.listen.notifications": notifications}
        )
        span.end()


def _span_of(
    request: Request, context: RequestContext
) -> tuple[str, dict[str, AttributeValue], OTelContext]:
    """The name, attributes and parent of ``request``'s span (semconv for MCP)."""
    method = request.method
    params = request.params or {}
    attributes: dict[str, AttributeValue] = {
        "mcp.method.name": method,
        "mcp.protocol.version": context.revision.version,
        "jsonrpc.request.id": str(request.id),
    }
    # semconv: the span is named "{mcp.method.name} {target}", the target being the tool
    # or prompt; a resource's URI is left out of the name (high cardinality).
    span_name = method
    target = params.get("name")
    if method == "tools/call":
        attributes["gen_ai.operation.name"] = "execute_tool"
        if type(target) is str:
            attributes["gen_ai.tool.name"] = target
            span_name = f"{method} {target}"
    elif method == "prompts/get" and type(target) is str:
        attributes["gen_ai.prompt.name"] = target
        span_name = f"{method} {target}"
    elif method in _RESOURCE_METHODS and type(params.get("uri")) is str:
        attributes["mcp.resource.uri"] = params["uri"]
    parent = otel_context.get_current()
    http = otel_context.get_value(_HTTP_ATTRIBUTES, parent)
    if isinstance(http, dict):
        attributes.update(http)
        if context.revision.sessionless:
            # semconv registry: mcp.session.id "MUST NOT be set" from 2026-07-28 on.
            attributes.pop("mcp.session.id", None)
    else:
        # semconv: network.transport is "pipe" for stdio, the one transport without HTTP.
        attributes["network.transport"] = "pipe"
    meta = params.get("_meta")
    if type(meta) is dict:
        parent = _parent_from_meta(meta, parent)
    return span_name, attributes, parent


def _http_attributes(scope: Scope, headers: Mapping[bytes, bytes]) -> dict[str, AttributeValue]:
    """What a span says of the HTTP request its MCP request came in (semconv:
    ``mcp.network.protocol.attributes``, ``client.address``, ``mcp.session.id``)."""
    attributes: dict[str, AttributeValue] = {
        "network.transport": "tcp",
        "network.protocol.name": "http",
    }
    http_version = scope.get("http_version")
    if type(http_version) is str:
        attributes["network.protocol.version"] = http_version
    client = scope.get("client")
    if client:
        attributes["client.address"] = str(client[0])
        if type(client[1]) is int:
            attributes["client.port"] = client[1]
    session_id = headers.get(b"mcp-session-id")
    if session_id is not None:
        attributes["mcp.session.id"] = session_id.decode("latin-1")
    return attributes


def _parent_from_meta(meta: JSONObject, parent: OTelContext) -> OTelContext:
    """The trace context in a request's ``_meta``, or ``parent`` when it has none that parses.

    W3C Trace Context, "Processing Model": a ``traceparent`` that does not parse is ignored,
    as if absent; so is one that is not a string.
    """
    carrier = {key: value for key in _META_KEYS if type(value := meta.get(key)) is str}
    if "traceparent" not in carrier:
        return parent
    extracted = _META_PROPAGATOR.extract(carrier)
    if not get_current_span(extracted).get_span_context().is_valid:
        return parent
    return extracted
