"""Serving one request against a :class:`~ssemcp.server.registry.Server`, whatever brought it.

Owns the method table and the handlers of the requests a client sends (tools, resources,
prompts, completion): validating arguments, calling the registered function (sync ones on a
worker thread), and turning what it returned, or raised, into a result or a protocol error.
:func:`dispatch` needs the request, the
:class:`~ssemcp.protocol.request_context.RequestContext` it is served under, the ``send`` for
messages related to it (progress, logs, requests to the client) and, when it arrived in a
session, that session's :class:`SessionChannel`: the same function serves stdio, legacy SSE
and Streamable HTTP, and will serve requests that stand alone (2026-07-28). The session's own
methods (``initialize``, ``ping``, ``logging/setLevel``) and its bookkeeping are
:class:`~ssemcp.server.connection.ServerConnection`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import pydantic

from ssemcp._types import JSONObject, JSONValue
from ssemcp.auth.scopes import check_scopes, visible_definitions
from ssemcp.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ProtocolError,
    RequestError,
    ResourceNotFound,
    ToolError,
)
from ssemcp.jsonrpc import Request
from ssemcp.observe._hook import WATCHER
from ssemcp.protocol.pagination import paginate
from ssemcp.protocol.request_context import RequestContext
from ssemcp.protocol.sessionless import discover_result
from ssemcp.server.context import Context, InputRequired, Send
from ssemcp.server.registry import MAX_COMPLETION_VALUES, Prompt, ResourceTemplate, Server, Tool
from ssemcp.server.results import error_result, prompt_result, resource_result, tool_result
from ssemcp.server.schema import HandlerPlan

__all__ = ["SessionChannel", "call_tool", "dispatch", "dispatch_tool", "has_method"]

logger = logging.getLogger(__name__)

# A handler's error message goes to the model; keep it readable, not a dump.
_MAX_ERROR_TEXT: Final = 2000


class SessionChannel(Protocol):
    """What a request can reach of the client: the session it arrived in (2025 revisions), or
    the round of a request that stands alone (``ssemcp.server.mrtr``)."""

    async def send_request(
        self,
        method: str,
        params: JSONObject | None,
        *,
        send: Send | None = None,
        timeout_seconds: float | None = None,
        key: str | None = None,
    ) -> JSONValue:
        """Ask the client and await its answer (``key`` names the question in a
        multi round-trip request, where the answer comes with a retry)."""
        ...

    def subscribe(self, uri: str) -> None:
        """Send ``notifications/resources/updated`` for ``uri`` to this session from now on."""
        ...

    def unsubscribe(self, uri: str) -> None: ...


Handler = Callable[
    [Server, Request, RequestContext, Send, "SessionChannel | None"], Awaitable[JSONObject]
]


def dispatch(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None = None,
) -> Awaitable[JSONObject]:
    """Serve ``request``; await what this returns for its result.

    Args:
        server: the registry to serve from.
        request: a request the session (or the request's own checks) let through.
        context: what it is served under.
        send: where messages related to it go (progress, logs, requests to the client).
        channel: the session it arrived in; None for a request that stands alone, which
            then cannot subscribe, nor ask the client anything by pushing a request.

    Raises:
        ProtocolError: the request is wrong (unknown tool, bad params, ...); a tool's own
            failure is a result with ``isError``, never an exception.
    """
    # A plain function handing back the handler's coroutine: one frame fewer on the path
    # every request takes.
    handler = _METHODS.get(request.method)
    if handler is None:
        # A method of the revision that this server does not implement.
        raise InvalidRequest(f"Method not supported: {request.method}")
    served = handler(server, request, context, send, channel)
    if server.tracing is not None:
        # OpenTelemetry (ssemcp.otel), when the registry has a tracer provider: the request's
        # span around its handler.
        served = server.tracing.serve(request, context, served)
    # ssemcp.observe: the access log and metrics of whoever serves this request, when on.
    watcher = WATCHER.get()
    if watcher is not None:
        return watcher.observe(served, server, request, context)
    return served


def dispatch_tool(
    server: Server,
    tool: Tool,
    arguments: JSONObject,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None = None,
) -> Awaitable[JSONObject]:
    """:func:`dispatch` of a ``tools/call`` whose tool the caller already found (the one its
    ``name`` names) and whose ``arguments`` are an object (``{}`` when it has none): what
    ``dispatch`` would await for it, observed as ``dispatch`` observes it."""
    served = call_tool(tool, arguments, request, context, send, channel)
    if server.tracing is not None:
        served = server.tracing.serve(request, context, served)
    watcher = WATCHER.get()
    if watcher is not None:
        return watcher.observe(served, server, request, context)
    return served


def has_method(method: str) -> bool:
    """Whether :func:`dispatch` serves ``method``."""
    return method in _METHODS


def _validation_message(what: str, exc: pydantic.ValidationError) -> str:
    """Name each failing field and why, e.g. ``expression: Field required``."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        problems.append(f"{location}: {error['msg']}")
    return f"Invalid arguments for {what}: " + "; ".join(problems)


def _name_and_arguments(request: Request) -> tuple[str, JSONObject]:
    """The ``name`` and ``arguments`` of a tools/call or prompts/get."""
    params = request.params or {}
    name = params.get("name")
    if type(name) is not str:
        raise InvalidParams('Invalid params: "name" must be a string')
    arguments = params.get("arguments")
    if arguments is None:
        return name, {}
    if type(arguments) is not dict:
        raise InvalidParams('Invalid params: "arguments" must be an object')
    return name, arguments


def _not_found(uri: str, context: RequestContext) -> ProtocolError:
    if context.revision.sessionless:
        # spec 2026-07-28 server/resources: a server "MUST return" -32602 (-32002 is retired).
        return InvalidParams(f"Resource not found: {uri}", data={"uri": uri})
    return ResourceNotFound(f"Resource not found: {uri}", data={"uri": uri})


def _session_of(request: Request, channel: SessionChannel | None) -> SessionChannel:
    if channel is None:
        raise MethodNotFound(f"Method not found: {request.method} needs a session")
    return channel


async def _call(
    plan: HandlerPlan,
    arguments: dict[str, Any],
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> Any:
    """Call a handler with arguments already validated by ``plan.arguments``."""
    if plan.context_parameter is not None:
        # A new dict: the arguments may be the request's own (HandlerPlan.arguments).
        arguments = {**arguments, plan.context_parameter: Context(request, context, send, channel)}
    if plan.is_async:
        return await plan.function(**arguments)
    # A sync handler runs on a worker thread so that it never blocks other sessions.
    return await asyncio.to_thread(plan.function, **arguments)


async def _run(
    plan: HandlerPlan,
    values: object,
    what: str,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> Any:
    """Validate and call a resource or prompt handler. Unlike a tool's, its failures
    are protocol errors: bad arguments are -32602, a crash is -32603 (logged here)."""
    try:
        validated = plan.arguments(values)
    except pydantic.ValidationError as exc:
        raise InvalidParams(_validation_message(what, exc)) from None
    try:
        return await _call(plan, validated, request, context, send, channel)
    except ToolError as exc:
        raise InvalidParams(str(exc)[:_MAX_ERROR_TEXT]) from None
    except (ProtocolError, InputRequired, asyncio.CancelledError):
        raise
    except Exception:
        logger.exception("%s raised", what)
        raise InternalError("Internal error") from None


def _page(
    server: Server, kind: str, wire_key: str, request: Request, context: RequestContext
) -> JSONObject:
    items = visible_definitions(
        server, kind, server.list_definitions(kind, context.revision), context.principal
    )
    cursor = (request.params or {}).get("cursor")
    page, next_cursor = paginate(kind, items, cursor, server.page_size)
    result: JSONObject = {wire_key: list(page)}
    if next_cursor is not None:
        result["nextCursor"] = next_cursor
    return result


async def _tools_list(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    return _page(server, "tools", "tools", request, context)


def _tools_call(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> Awaitable[JSONObject]:
    # A plain function handing back call_tool's coroutine, which a request that stands alone
    # reaches directly with the tool it already found (dispatch_tool).
    params = request.params or {}
    name = params.get("name")
    arguments = params.get("arguments")
    if arguments is None:
        arguments = {}
    tool = server.tools.get(name) if type(name) is str else None
    if tool is None or type(arguments) is not dict:
        # Raised when awaited, as from the other handlers, so that what observes the
        # request (ssemcp.observe) sees the error.
        return _tool_refused(request)
    return call_tool(tool, arguments, request, context, send, channel)


async def _tool_refused(request: Request) -> JSONObject:
    """The error of a ``tools/call`` with a bad name or arguments, or of an unknown tool."""
    name, _ = _name_and_arguments(request)
    # spec 2025-11-25 server/tools, "Error Handling": unknown tools are a protocol error,
    # -32602.
    raise InvalidParams(f"Unknown tool: {name}")


async def call_tool(
    tool: Tool,
    arguments: JSONObject,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    """Call ``tool`` (the one ``request`` names) with ``arguments`` (the request's, an
    object); its result, or its failure as a result with ``isError``."""
    name = tool.name
    if tool.scopes:  # most tools have none: no call on the hot path
        check_scopes(tool.scopes, context.principal, f"tool {name!r}")
    try:
        validated = tool.plan.arguments(arguments)
    except pydantic.ValidationError as exc:
        # spec server/tools, "Error Handling": invalid arguments are a tool execution
        # error, reported in the result so the model can correct itself.
        return error_result(_validation_message(f"tool {name!r}", exc))
    plan = tool.plan
    try:
        # _call, inlined for the common case (an async tool without a Context).
        if plan.is_async and plan.context_parameter is None:
            value = await plan.function(**validated)
        else:
            value = await _call(plan, validated, request, context, send, channel)
        return tool_result(value, tool.output, context.revision)
    except InputRequired:
        raise
    except pydantic.ValidationError:
        logger.exception("tool %r: a result that does not match its schema", name)
        return error_result(f"Tool {name!r} returned a malformed result")
    except ToolError as exc:
        return error_result(str(exc)[:_MAX_ERROR_TEXT])
    except RequestError as exc:
        return error_result(f"Tool {name!r} could not complete: {exc}"[:_MAX_ERROR_TEXT])
    except ProtocolError:
        raise
    except Exception:
        # The details (and any file path in them) stay in our log.
        logger.exception("tool %r raised", name)
        return error_result(f"Tool {name!r} failed with an internal error")


async def _resources_list(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    return _page(server, "resources", "resources", request, context)


async def _templates_list(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    return _page(server, "templates", "resourceTemplates", request, context)


def _uri(request: Request) -> str:
    uri = (request.params or {}).get("uri")
    if type(uri) is not str or not uri:
        raise InvalidParams('Invalid params: "uri" must be a non-empty string')
    return uri


async def _resources_read(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    uri = _uri(request)
    found = server.find_resource(uri)
    if found is None:
        raise _not_found(uri, context)
    entry, values = found
    check_scopes(entry.scopes, context.principal, f"resource {uri!r}")
    value = await _run(entry.plan, values, f"resource {uri!r}", request, context, send, channel)
    return resource_result(uri, value, entry.mime_type)


async def _resources_subscribe(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    uri = _uri(request)
    found = server.find_resource(uri)
    if found is None:
        raise _not_found(uri, context)
    check_scopes(found[0].scopes, context.principal, f"resource {uri!r}")
    _session_of(request, channel).subscribe(uri)
    return {}


async def _resources_unsubscribe(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    _session_of(request, channel).unsubscribe(_uri(request))
    return {}


async def _prompts_list(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    return _page(server, "prompts", "prompts", request, context)


async def _prompts_get(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    name, arguments = _name_and_arguments(request)
    prompt = server.prompts.get(name)
    if prompt is None:
        raise InvalidParams(f"Unknown prompt: {name}")
    check_scopes(prompt.scopes, context.principal, f"prompt {name!r}")
    value = await _run(prompt.plan, arguments, f"prompt {name!r}", request, context, send, channel)
    return prompt_result(value, context.revision)


async def _complete(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    params = request.params or {}
    ref = params.get("ref")
    argument = params.get("argument")
    if type(ref) is not dict or type(argument) is not dict:
        raise InvalidParams('Invalid params: "ref" and "argument" must be objects')
    argument_name = argument.get("name")
    value = argument.get("value", "")
    if type(argument_name) is not str or type(value) is not str:
        raise InvalidParams('Invalid params: "argument" needs a string name and value')
    target: Prompt | ResourceTemplate | None
    if ref.get("type") == "ref/prompt":
        target = server.prompts.get(str(ref.get("name")))
    elif ref.get("type") == "ref/resource":
        target = server.templates.get(str(ref.get("uri")))
    else:
        raise InvalidParams('Invalid params: "ref.type" must be ref/prompt or ref/resource')
    if target is None:
        raise InvalidParams("Invalid params: no such prompt or resource template")
    if argument_name not in target.plan.annotations:
        raise InvalidParams(f"Invalid params: no argument named {argument_name!r}")
    context_arguments = params.get("context")
    known: dict[str, str] = {}
    if type(context_arguments) is dict and type(context_arguments.get("arguments")) is dict:
        known = {
            str(key): str(item)
            for key, item in context_arguments["arguments"].items()  # type: ignore[union-attr]
        }
    completer = target.completers.get(argument_name)
    if completer is not None:
        try:
            produced = completer(value, known)
            if asyncio.iscoroutine(produced):
                produced = await produced
            values = [str(item) for item in produced]  # type: ignore[union-attr]
        except (ProtocolError, asyncio.CancelledError):
            raise
        except Exception:
            logger.exception("completer of %r raised", argument_name)
            raise InternalError("Internal error") from None
    else:
        prefix = value.casefold()
        values = [
            choice
            for choice in Server.default_choices(target.plan, argument_name)
            if choice.casefold().startswith(prefix)
        ]
    completion: JSONObject = {
        "values": values[:MAX_COMPLETION_VALUES],  # type: ignore[dict-item]
        "total": len(values),
        "hasMore": len(values) > MAX_COMPLETION_VALUES,
    }
    return {"completion": completion}


async def _server_discover(
    server: Server,
    request: Request,
    context: RequestContext,
    send: Send,
    channel: SessionChannel | None,
) -> JSONObject:
    return discover_result(server.capabilities, server.instructions)


# What each method runs (subscriptions need the session; the rest need only the request).
_METHODS: Final[dict[str, Handler]] = {
    "server/discover": _server_discover,
    "tools/list": _tools_list,
    "tools/call": _tools_call,
    "resources/list": _resources_list,
    "resources/templates/list": _templates_list,
    "resources/read": _resources_read,
    "resources/subscribe": _resources_subscribe,
    "resources/unsubscribe": _resources_unsubscribe,
    "prompts/list": _prompts_list,
    "prompts/get": _prompts_get,
    "completion/complete": _complete,
}
