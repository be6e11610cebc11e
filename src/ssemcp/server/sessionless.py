"""Serving a request that stands alone (MCP 2026-07-28), whatever brought it.

Owns the one path such a request takes on every transport: its context from its ``_meta``
(and HTTP headers), the method check of its revision, :func:`~ssemcp.server.dispatch.dispatch`
with no session, the completed result or the error reply. The rules are
``ssemcp.protocol.sessionless``'s; which HTTP status an error travels under is the
transport's (:data:`HTTP_STATUS`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Final, Protocol

from ssemcp._types import JSONObject
from ssemcp.errors import InternalError, MethodNotFound, ProtocolError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    error_response,
)
from ssemcp.protocol.request_context import Principal, RequestContext
from ssemcp.protocol.revisions import MODERN
from ssemcp.protocol.sessionless import (
    CACHEABLE_METHODS,
    META_SERVER_INFO,
    check_param_headers,
    complete_result,
    context_for,
)
from ssemcp.server.context import InputRequired, Send
from ssemcp.server.dispatch import dispatch, dispatch_tool, has_method
from ssemcp.server.listen import ListenStream
from ssemcp.server.mrtr import InputRound
from ssemcp.server.registry import Server, Tool

__all__ = [
    "HTTP_STATUS",
    "LISTEN",
    "OpenListen",
    "ServeSessionless",
    "Subscription",
    "completed_result",
    "open_listen",
    "prepare_sessionless",
    "serve_sessionless",
    "sessionless_completed",
    "sessionless_failed",
    "start_sessionless",
]

logger = logging.getLogger(__name__)

# The HTTP status of an error reply to a request that stands alone. basic/index and
# basic/transports/streamable-http fix -32602 for bad _meta, -32020, -32021 and -32022 at 400,
# and -32601 at 404; the rest follows the official Python SDK (parse and request errors 400,
# others 200 with the error in the body).
HTTP_STATUS: Final = {
    -32700: 400,
    -32600: 400,
    -32601: 404,
    -32602: 400,
    -32020: 400,
    -32021: 400,
    -32022: 400,
}
# The method whose response is a stream of the notifications its client asked for.
LISTEN: Final = "subscriptions/listen"
# What dispatch serves of the 2026-07-28 methods (has_method, asked once).
_DISPATCHED: Final = frozenset(filter(has_method, MODERN.client_methods))
# The params of a request that has none (read, never written).
_NO_PARAMS: Final[JSONObject] = {}


class ServeSessionless(Protocol):
    """What serves a request that stands alone on a transport: :func:`serve_sessionless`, or
    another path with its signature (``ssemcp bridge`` runs them on child processes)."""

    def __call__(
        self,
        server: Server,
        request: Request,
        headers: Mapping[bytes, bytes] | None,
        send: Send,
        principal: Principal | None = None,
    ) -> Coroutine[Any, Any, Response | ErrorResponse]: ...


class Subscription(Protocol):
    """One ``subscriptions/listen`` as its transport drives it: a ``ListenStream`` on the
    registry's bus, or another source of notifications (``ssemcp bridge``: a child's)."""

    @property
    def subscription_id(self) -> RequestId: ...

    def open(self, deliver: Callable[[Notification], object]) -> Notification:
        """Start delivering (``deliver`` must not wait); the acknowledgement, sent first."""
        ...

    def close(self) -> None:
        """Stop delivering (idempotent; also for one never opened)."""
        ...

    def final_result(self) -> JSONObject:
        """The result that ends the subscription when the server closes it."""
        ...


class OpenListen(Protocol):
    """What opens a ``subscriptions/listen`` in place of :func:`open_listen` (``ssemcp
    bridge``: on a child), with its signature but awaitable."""

    def __call__(
        self,
        server: Server,
        request: Request,
        headers: Mapping[bytes, bytes] | None,
        principal: Principal | None,
    ) -> Awaitable[Subscription | ErrorResponse]: ...


def open_listen(
    server: Server,
    request: Request,
    headers: Mapping[bytes, bytes] | None,
    principal: Principal | None,
) -> ListenStream | ErrorResponse:
    """A ``subscriptions/listen`` request's subscription, not yet opened; or the error reply
    that refuses it (its context, as for every request that stands alone)."""
    try:
        context_for(request, headers, principal)
        return ListenStream(server, request)
    except ProtocolError as exc:
        return error_response(request.id, exc)


async def serve_sessionless(
    server: Server,
    request: Request,
    headers: Mapping[bytes, bytes] | None,
    send: Send,
    principal: Principal | None = None,
) -> Response | ErrorResponse:
    """Serve ``request``, which carries its own revision and client in ``_meta``.

    Args:
        server: the registry.
        request: the request (:func:`ssemcp.protocol.sessionless.is_sessionless`, or any
            request an HTTP client sent with a 2026-07-28 ``MCP-Protocol-Version``).
        headers: its HTTP header mapping (names lowercased, as ASGI gives them); None on
            stdio.
        send: where its progress and log notifications go (its own SSE stream, or stdout).
        principal: who sent it.

    Returns:
        The reply; an error reply for anything the request got wrong, and an internal error
        (the details in our log) for anything we did.
    """
    # The steps a transport may also take one by one (the Streamable HTTP one does, in its
    # own frame): prepare, start, then completed or failed.
    channel = None
    try:
        context, tool, channel, serving = prepare_sessionless(server, request, headers, principal)
        if serving is None:
            serving = start_sessionless(server, request, context, tool, channel, send)
        return sessionless_completed(server, request, await serving)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return sessionless_failed(server, request, channel, exc)


def prepare_sessionless(
    server: Server,
    request: Request,
    headers: Mapping[bytes, bytes] | None,
    principal: Principal | None,
) -> tuple[RequestContext, Tool | None, InputRound | None, Coroutine[Any, Any, JSONObject] | None]:
    """The first step of :func:`serve_sessionless`: what ``request`` is served under, the
    tool it calls (``tools/call`` of a tool that exists; else None), the round that carries
    its questions to the client (None when it can ask none), and, for a request that cannot
    emit (a call of a tool without a ``Context``), its dispatch, made (not yet run): the
    rest need :func:`start_sessionless` with a ``send``.

    Raises:
        ProtocolError: what :func:`serve_sessionless` answers with an error reply.
    """
    method = request.method
    context = context_for(request, headers, principal)
    tool = None
    params = request.params or _NO_PARAMS
    if method == "tools/call":
        name = params.get("name")
        tool = server.tools.get(name) if type(name) is str else None
        if headers is not None and tool is not None and tool.header_params:
            # The Mcp-Param-* headers of a tool that declares them (server/tools,
            # "x-mcp-header"), checked before the tool runs.
            check_param_headers(tool.header_params, params.get("arguments"), headers)
    if method not in context.revision.client_methods or (
        method not in _DISPATCHED and not has_method(method)
    ):
        # basic/transports/streamable-http: an unimplemented method "MUST" get -32601
        # (initialize, ping, logging/setLevel and resources/subscribe are gone).
        raise MethodNotFound(f"Method not found: {method}")
    if tool is None or tool.plan.context_parameter is not None:
        return context, tool, InputRound(request, context, server.request_state_keys), None
    channel = None
    if "requestState" in params or "inputResponses" in params:
        # A tool without a Context cannot ask the client anything, so the round of a first
        # call to one has nothing to keep; a retry's state is checked all the same.
        channel = InputRound(request, context, server.request_state_keys)
    return context, tool, channel, start_sessionless(server, request, context, tool, channel, _drop)


async def _drop(message: Message) -> None:
    """The ``send`` of a request that cannot emit."""


def start_sessionless(
    server: Server,
    request: Request,
    context: RequestContext,
    tool: Tool | None,
    channel: InputRound | None,
    send: Send,
) -> Coroutine[Any, Any, JSONObject]:
    """The second step of :func:`serve_sessionless`, after :func:`prepare_sessionless`:
    the dispatcher's coroutine of ``request``'s result (``send`` is unused for a tool
    without a ``Context``: it cannot emit). A coroutine, so that a transport can run its
    first step by hand: every handler, and what observes or traces one, is ``async def``
    (tests/transports/test_sessionless_steps.py).

    Raises:
        ProtocolError: the request is wrong, found before anything runs.
    """
    if tool is not None:
        arguments = (request.params or _NO_PARAMS).get("arguments")
        if arguments is None:
            return dispatch_tool(server, tool, {}, request, context, send, channel)  # type: ignore[return-value]
        if type(arguments) is dict:
            return dispatch_tool(server, tool, arguments, request, context, send, channel)  # type: ignore[return-value]
    return dispatch(server, request, context, send, channel)  # type: ignore[return-value]


def sessionless_completed(server: Server, request: Request, result: JSONObject) -> Response:
    """The reply that carries ``result``, the dispatcher's own for ``request``, completed as
    2026-07-28 sends it (:func:`completed_result`)."""
    return Response(request.id, completed_result(server, request, result))


def completed_result(
    server: Server, request: Request, result: JSONObject, meta: object = None
) -> JSONObject:
    """``result``, the dispatcher's own for ``request``, completed in place as 2026-07-28
    sends it (:func:`~ssemcp.protocol.sessionless.complete_result`).

    ``meta``, when given, is the ``_meta`` a result without one of its own gets in place of a
    new ``{serverInfo: ...}``: the same made once (a transport that writes the reply at once
    may pass it serialized, as an ``orjson.Fragment``)."""
    method = request.method
    if method in CACHEABLE_METHODS or "_meta" in result:
        cache = (
            server.cache_hint_for(method, request.params)
            if method in CACHEABLE_METHODS
            else server.cache
        )
        return complete_result(method, result, server.server_info, cache)
    # complete_result's commonest case, inlined: the same keys in the same order.
    result["resultType"] = "complete"
    result["_meta"] = {META_SERVER_INFO: server.server_info} if meta is None else meta  # type: ignore[assignment]
    return result


def sessionless_failed(
    server: Server, request: Request, channel: InputRound | None, exc: Exception
) -> Response | ErrorResponse:
    """The reply to ``request`` when a step of :func:`serve_sessionless` raised ``exc``
    (anything but a cancellation): the questions of its round, the error the request
    caused, or an internal error (logged here)."""
    if isinstance(exc, InputRequired):
        # basic/patterns/mrtr: the handler asked what this round cannot answer.
        assert channel is not None  # only a Context asks, and it has the round
        try:
            asked = channel.input_required_result()
        except Exception as sealing:
            return sessionless_failed(server, request, None, sealing)
        asked["_meta"] = {META_SERVER_INFO: server.server_info}
        return Response(request.id, asked)
    if isinstance(exc, ProtocolError):
        return error_response(request.id, exc)
    logger.error("internal error handling %s", request.method, exc_info=exc)
    return error_response(request.id, InternalError("Internal error"))
