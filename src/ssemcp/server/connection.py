"""``ServerConnection``: one session of a :class:`Server`, served.

Owns running the handlers for one session: it feeds parsed messages to the sans-I/O
:class:`~ssemcp.protocol.session.ServerSession`, carries out the actions it returns (run a
handler, resolve a waiting server-to-client request, cancel a running one), and returns the
reply for the transport to write. Transports own bytes and framing; this module never sees them.

The hot path (a ``tools/call`` over HTTP) runs inline in the caller's task: no task group, no
queue, no thread hop unless the tool is a sync function. A pending server-to-client request
is one ``asyncio.Future`` in a dict keyed by its id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import pydantic

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    PeerError,
    ProtocolError,
    RequestError,
    RequestTimeout,
    ResourceNotFound,
    SessionClosed,
    ToolError,
)
from ssemcp.jsonrpc import (
    ErrorResponse,
    Invalid,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    error_response,
)
from ssemcp.protocol.pagination import paginate
from ssemcp.protocol.session import (
    Cancel,
    ClientNotification,
    Reply,
    Resolve,
    ServerSession,
    SessionState,
)
from ssemcp.server.context import Context, Send
from ssemcp.server.registry import MAX_COMPLETION_VALUES, Prompt, ResourceTemplate, Server
from ssemcp.server.results import error_result, prompt_result, resource_result, tool_result
from ssemcp.server.schema import HandlerPlan

__all__ = ["ServerConnection"]

logger = logging.getLogger(__name__)

Reply_ = Response | ErrorResponse
Handler = Callable[["ServerConnection", Request, Send], Awaitable[JSONObject]]

# A handler's error message goes to the model; keep it readable, not a dump.
_MAX_ERROR_TEXT: Final = 2000


def _validation_message(what: str, exc: pydantic.ValidationError) -> str:
    """Name each failing field and why, e.g. ``expression: Field required``."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        problems.append(f"{location}: {error['msg']}")
    return f"Invalid arguments for {what}: " + "; ".join(problems)


async def _dropped(message: Message) -> None:
    """The session channel of an ended session: nothing reaches anyone any more."""
    logger.debug("the session has ended; dropped %s", type(message).__name__)


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


class ServerConnection:
    """Serves one session of ``server``.

    Args:
        server: the registry to serve.
        send_nowait: optionally, the session channel's synchronous path: queue a message
            without waiting and say whether it could (False: use ``send``).
        send: writes a message on the session's own channel (stdout for stdio, the
            standalone GET stream for Streamable HTTP, the SSE stream for legacy SSE). Used for
            messages not tied to a request (list_changed, resources/updated) and as the
            default stream of requests whose transport gives none.
    """

    def __init__(
        self, server: Server, send: Send, *, send_nowait: Callable[[Message], bool] | None = None
    ) -> None:
        self.server = server
        self.session = ServerSession(
            server_info=server.server_info,
            capabilities=server.capabilities,
            instructions=server.instructions,
        )
        self._send = send
        self._send_nowait = send_nowait
        self._waiting: dict[int, asyncio.Future[Response | ErrorResponse]] = {}
        self._running: dict[RequestId, asyncio.Task[Any]] = {}
        # Dicts used as sets: an empty set takes 216 bytes, an empty dict 64, and every
        # session holds these.
        self._cancelling: dict[RequestId, None] = {}
        self._background: dict[asyncio.Task[None], None] = {}
        # The loop this session's requests run on, taken at the first one (a connection may be
        # built before its loop runs). asyncio.current_task() without it asks
        # get_running_loop(), which costs a getpid() system call on Python 3.11 (its fork
        # check): about 1.5 us on the bench machine under load, 3 % of a tools/call.
        self._loop: asyncio.AbstractEventLoop | None = None
        server.attach(self)

    @property
    def running_count(self) -> int:
        """Requests whose handlers are running now."""
        return len(self._running)

    # ------------------------------------------------------------------ inbound

    def receive(
        self, payload: Message | Invalid | list[Message | Invalid], send: Send | None = None
    ) -> Awaitable[Reply_ | list[Reply_] | None]:
        """Handle one parsed payload; return what to write back (None: nothing).

        Args:
            payload: what :func:`ssemcp.jsonrpc.parse` returned.
            send: the stream for messages related to these requests (progress, logs,
                server-to-client requests); defaults to the session's channel.
        """
        # A plain function handing back the coroutine to await: one coroutine frame fewer
        # on the path every request takes.
        if type(payload) is list:
            return self._receive_batch(payload, send)
        return self.receive_message(payload, send)  # type: ignore[arg-type]

    async def receive_message(
        self, message: Message | Invalid, send: Send | None = None
    ) -> Reply_ | None:
        """Handle one message; return the reply to write, if any."""
        action = self.session.receive(message)
        if type(action) is Request:
            # Running the handler, here rather than in a method of its own: this is the
            # frame every request passes through.
            request = action
            request_id = request.id
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            task = asyncio.current_task(loop)
            assert task is not None
            self._running[request_id] = task
            reply: Reply_ | None
            try:
                handler = _METHODS.get(request.method)
                if handler is None:
                    # A method of the revision that this server does not implement.
                    raise InvalidRequest(f"Method not supported: {request.method}")
                # No Context here: _call builds one only for a handler that declares it.
                reply = Response(request_id, await handler(self, request, send or self._send))
            except ProtocolError as exc:
                reply = error_response(request_id, exc)
            except asyncio.CancelledError:
                if request_id not in self._cancelling:
                    raise
                # Cancelled by notifications/cancelled, not by our own shutdown: swallow it.
                task.uncancel()
                reply = None
            except Exception:
                logger.exception("internal error handling %s", request.method)
                reply = error_response(request_id, InternalError("Internal error"))
            finally:
                self._running.pop(request_id, None)
                if self._cancelling:
                    self._cancelling.pop(request_id, None)
            if not self.session.finish(request_id):
                return None
            return reply
        if action is None:
            return None
        if isinstance(action, Reply):
            return action.message
        if isinstance(action, Resolve):
            waiter = self._waiting.get(action.request_id)  # type: ignore[arg-type]
            if waiter is not None and not waiter.done():
                waiter.set_result(action.message)
            return None
        if isinstance(action, Cancel):
            self._cancel(action.request_id, action.reason)
            return None
        assert isinstance(action, ClientNotification)
        logger.debug("client notification %s", action.notification.method)
        return None

    async def _receive_batch(
        self, items: list[Message | Invalid], send: Send | None
    ) -> Reply_ | list[Reply_] | None:
        try:
            self.session.check_batch(items)
        except InvalidRequest as exc:
            return error_response(None, exc)
        replies = await asyncio.gather(*(self.receive_message(item, send) for item in items))
        # JSON-RPC 2.0 section 6: with nothing to answer, "the server MUST NOT return an
        # empty Array and should return nothing at all".
        answered = [reply for reply in replies if reply is not None]
        return answered or None

    def _cancel(self, request_id: RequestId, reason: str | None) -> None:
        task = self._running.get(request_id)
        if task is None or task.done():
            return
        logger.info("request %r cancelled by the client: %s", request_id, reason or "no reason")
        self._cancelling[request_id] = None
        task.cancel()

    # ------------------------------------------------------------------ outbound

    async def send_request(
        self,
        method: str,
        params: JSONObject | None,
        *,
        send: Send | None = None,
        timeout_seconds: float | None = None,
    ) -> JSONValue:
        """Send a request to the client and await its result.

        The request's id is forgotten however this ends: answered, timed out, not sent, or
        cancelled (then the client is told, as on a timeout).

        Raises:
            CapabilityNotSupported: the client lacks the capability.
            RequestTimeout: no answer within ``timeout_seconds`` (the server's default when
                None); the client is told with ``notifications/cancelled``.
            PeerError: the client answered with an error.
            SessionClosed: the session ended first.
        """
        request = self.session.start_request(method, params)
        assert type(request.id) is int
        waiter: asyncio.Future[Response | ErrorResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[request.id] = waiter
        send = send or self._send
        timeout = (
            self.server.request_timeout_seconds if timeout_seconds is None else timeout_seconds
        )
        sent = False
        try:
            await send(request)
            sent = True
            async with asyncio.timeout(timeout):
                answer = await waiter
        except TimeoutError:
            # spec basic/lifecycle, "Timeouts": the sender "SHOULD issue a cancellation
            # notification for that request and stop waiting for a response".
            cancelled = Notification(
                "notifications/cancelled", {"requestId": request.id, "reason": "timeout"}
            )
            try:
                await send(cancelled)
            except Exception:
                logger.debug("could not send the cancellation of request %d", request.id)
            raise RequestTimeout(f"the client did not answer {method} in {timeout:g}s") from None
        except asyncio.CancelledError:
            if sent:
                # spec basic/utilities/cancellation: either side may cancel a request it sent.
                # This task cannot await any more, so the notice goes without waiting.
                self.post(
                    Notification(
                        "notifications/cancelled",
                        {"requestId": request.id, "reason": "the request that asked was cancelled"},
                    )
                )
            raise
        finally:
            self._waiting.pop(request.id, None)
            self.session.forget_request(request.id)
        if isinstance(answer, ErrorResponse):
            raise PeerError(answer.code, answer.message, answer.error.get("data"))
        return answer.result

    def post(self, notification: Notification) -> None:
        """Send a notification on the session's channel without waiting (from sync code)."""
        # Fan-out (resources/updated to every subscriber) calls this once per session: the
        # transport's synchronous path, when it has one and room, spares a task per session.
        if self._send_nowait is not None and self._send_nowait(notification):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: nobody is connected through this object right now
        task = loop.create_task(self._post(notification))
        self._background[task] = None
        task.add_done_callback(self._forget_background)

    def _forget_background(self, task: asyncio.Task[None]) -> None:
        self._background.pop(task, None)

    async def _post(self, notification: Notification) -> None:
        try:
            await self._send(notification)
        except Exception as exc:
            logger.debug("dropped %s: %s", notification.method, exc)

    def close(self) -> None:
        """End the session: waiting requests fail, running handlers are cancelled."""
        if self.session.state is SessionState.CLOSED:
            return
        self.session.close()
        for uri in self.session.drop_subscriptions():
            self.server.subscription_removed(uri, self)
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(SessionClosed("the session ended"))
        self._waiting.clear()
        for task in self._running.values():
            task.cancel()
        self.server.detach(self)
        # The transport's session object holds this connection, and these are its bound
        # methods: dropping them breaks that cycle, so an ended session is freed at once by
        # reference counting rather than left to the cyclic collector (a client that opens
        # a session per call would otherwise feed it several objects per call).
        self._send = _dropped
        self._send_nowait = None

    # ------------------------------------------------------------------ methods

    async def _call(
        self, plan: HandlerPlan, arguments: dict[str, Any], request: Request, send: Send
    ) -> Any:
        """Call a handler with arguments already validated by ``plan.arguments``."""
        if plan.context_parameter is not None:
            # A new dict: the arguments may be the request's own (HandlerPlan.arguments).
            arguments = {**arguments, plan.context_parameter: Context(self, request, send)}
        if plan.is_async:
            return await plan.function(**arguments)
        # A sync handler runs on a worker thread so that it never blocks other sessions.
        return await asyncio.to_thread(plan.function, **arguments)

    async def _run(
        self, plan: HandlerPlan, values: object, request: Request, send: Send, what: str
    ) -> Any:
        """Validate and call a resource or prompt handler. Unlike a tool's, its failures
        are protocol errors: bad arguments are -32602, a crash is -32603 (logged here)."""
        try:
            validated = plan.arguments(values)
        except pydantic.ValidationError as exc:
            raise InvalidParams(_validation_message(what, exc)) from None
        try:
            return await self._call(plan, validated, request, send)
        except ToolError as exc:
            raise InvalidParams(str(exc)[:_MAX_ERROR_TEXT]) from None
        except (ProtocolError, asyncio.CancelledError):
            raise
        except Exception:
            logger.exception("%s raised", what)
            raise InternalError("Internal error") from None

    def _page(self, kind: str, wire_key: str, request: Request) -> JSONObject:
        items = self.server.list_definitions(kind, self.session.revision)
        cursor = (request.params or {}).get("cursor")
        page, next_cursor = paginate(kind, items, cursor, self.server.page_size)
        result: JSONObject = {wire_key: list(page)}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return result

    async def _tools_list(self, request: Request, send: Send) -> JSONObject:
        return self._page("tools", "tools", request)

    async def _tools_call(self, request: Request, send: Send) -> JSONObject:
        name, arguments = _name_and_arguments(request)
        tool = self.server.tools.get(name)
        if tool is None:
            # spec 2025-11-25 server/tools, "Error Handling": unknown tools are a protocol
            # error, -32602.
            raise InvalidParams(f"Unknown tool: {name}")
        try:
            validated = tool.plan.arguments(arguments)
        except pydantic.ValidationError as exc:
            # spec server/tools, "Error Handling": invalid arguments are a tool execution
            # error, reported in the result so the model can correct itself.
            return error_result(_validation_message(f"tool {name!r}", exc))
        plan = tool.plan
        try:
            # self._call, inlined for the common case (an async tool without a Context).
            if plan.is_async and plan.context_parameter is None:
                value = await plan.function(**validated)
            else:
                value = await self._call(plan, validated, request, send)
            return tool_result(value, tool.output, self.session.revision)
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

    async def _resources_list(self, request: Request, send: Send) -> JSONObject:
        return self._page("resources", "resources", request)

    async def _templates_list(self, request: Request, send: Send) -> JSONObject:
        return self._page("templates", "resourceTemplates", request)

    def _uri(self, request: Request) -> str:
        uri = (request.params or {}).get("uri")
        if type(uri) is not str or not uri:
            raise InvalidParams('Invalid params: "uri" must be a non-empty string')
        return uri

    async def _resources_read(self, request: Request, send: Send) -> JSONObject:
        uri = self._uri(request)
        found = self.server.find_resource(uri)
        if found is None:
            raise ResourceNotFound(f"Resource not found: {uri}", data={"uri": uri})
        entry, values = found
        value = await self._run(entry.plan, values, request, send, f"resource {uri!r}")
        return resource_result(uri, value, entry.mime_type)

    async def _resources_subscribe(self, request: Request, send: Send) -> JSONObject:
        uri = self._uri(request)
        if self.server.find_resource(uri) is None:
            raise ResourceNotFound(f"Resource not found: {uri}", data={"uri": uri})
        if self.session.subscribe(uri):
            self.server.subscription_added(uri, self)
        return {}

    async def _resources_unsubscribe(self, request: Request, send: Send) -> JSONObject:
        uri = self._uri(request)
        if self.session.unsubscribe(uri):
            self.server.subscription_removed(uri, self)
        return {}

    async def _prompts_list(self, request: Request, send: Send) -> JSONObject:
        return self._page("prompts", "prompts", request)

    async def _prompts_get(self, request: Request, send: Send) -> JSONObject:
        name, arguments = _name_and_arguments(request)
        prompt = self.server.prompts.get(name)
        if prompt is None:
            raise InvalidParams(f"Unknown prompt: {name}")
        value = await self._run(prompt.plan, arguments, request, send, f"prompt {name!r}")
        return prompt_result(value, self.session.revision)

    async def _complete(self, request: Request, send: Send) -> JSONObject:
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
            target = self.server.prompts.get(str(ref.get("name")))
        elif ref.get("type") == "ref/resource":
            target = self.server.templates.get(str(ref.get("uri")))
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


# The method table, built once per process rather than as bound methods per session.
_METHODS: Final[dict[str, Handler]] = {
    "tools/list": ServerConnection._tools_list,
    "tools/call": ServerConnection._tools_call,
    "resources/list": ServerConnection._resources_list,
    "resources/templates/list": ServerConnection._templates_list,
    "resources/read": ServerConnection._resources_read,
    "resources/subscribe": ServerConnection._resources_subscribe,
    "resources/unsubscribe": ServerConnection._resources_unsubscribe,
    "prompts/list": ServerConnection._prompts_list,
    "prompts/get": ServerConnection._prompts_get,
    "completion/complete": ServerConnection._complete,
}
