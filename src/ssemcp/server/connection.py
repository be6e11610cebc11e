"""``ServerConnection``: one session of a :class:`Server`, served.

Owns serving one session: it feeds parsed messages to the sans-I/O
:class:`~ssemcp.protocol.session.ServerSession`, carries out the actions it returns (dispatch
a request, resolve a waiting server-to-client request, cancel a running one), and returns the
reply for the transport to write. What a request runs is :func:`ssemcp.server.dispatch.
dispatch`'s, under the session's request context; this object is the session's
:class:`~ssemcp.server.dispatch.SessionChannel` (requests to the client, subscriptions).
Transports own bytes and framing; this module never sees them.

The hot path (a ``tools/call`` over HTTP) runs inline in the caller's task: no task group, no
queue, no thread hop unless the tool is a sync function. A pending server-to-client request
is one ``asyncio.Future`` in a dict keyed by its id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import (
    InternalError,
    InvalidRequest,
    PeerError,
    ProtocolError,
    RequestTimeout,
    SessionClosed,
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
from ssemcp.observe._hook import WATCHER
from ssemcp.observe.refused import refused
from ssemcp.protocol.request_context import Principal
from ssemcp.protocol.revisions import Revision
from ssemcp.protocol.session import (
    Cancel,
    ClientNotification,
    Reply,
    Resolve,
    ServerSession,
    SessionState,
)
from ssemcp.server.context import Send
from ssemcp.server.dispatch import dispatch
from ssemcp.server.registry import Server
from ssemcp.state.bus import LIST_CHANGED

__all__ = ["MAX_POSTING", "ServerConnection"]

logger = logging.getLogger(__name__)

Reply_ = Response | ErrorResponse
# Notifications posted without waiting and not yet written, on a channel with no synchronous
# path (stdio; the HTTP transports bound their own queues): past it, more are dropped.
MAX_POSTING: Final = 1024


async def _dropped(message: Message) -> None:
    """The session channel of an ended session: nothing reaches anyone any more."""
    logger.debug("the session has ended; dropped %s", type(message).__name__)


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
        principal: who opened the session (``ssemcp.http.auth``); handlers see it.
        first_request_id: the id of this side's first request to the client (see
            ``ServerSession``).
    """

    def __init__(
        self,
        server: Server,
        send: Send,
        *,
        send_nowait: Callable[[Message], bool] | None = None,
        principal: Principal | None = None,
        first_request_id: int = 1,
    ) -> None:
        self.server = server
        self.session = ServerSession(
            server_info=server.server_info,
            capabilities=server.capabilities,
            instructions=server.instructions,
            principal=principal,
            first_request_id=first_request_id,
        )
        self._send = send
        self._send_nowait = send_nowait
        self._waiting: dict[int, asyncio.Future[Response | ErrorResponse]] = {}
        self._running: dict[RequestId, asyncio.Task[Any]] = {}
        # Dicts used as sets: an empty set takes 216 bytes, an empty dict 64, and every
        # session holds these.
        self._cancelling: dict[RequestId, None] = {}
        self._background: dict[asyncio.Task[None], None] = {}
        # Whether posts are being dropped (post), so the warning is said once per episode.
        self._dropping = False
        # The loop this session's requests run on, taken at the first one (a connection may be
        # built before its loop runs). asyncio.current_task() without it asks
        # get_running_loop(), which costs a getpid() system call on Python 3.11 (its fork
        # check): about 1.5 us on the bench machine under load, 3 % of a tools/call.
        self._loop: asyncio.AbstractEventLoop | None = None
        server.bus.subscribe(LIST_CHANGED, self)

    @property
    def revision(self) -> Revision:
        """The revision the session negotiated (the latest until ``initialize``)."""
        return self.session.revision

    def resume(
        self,
        revision: Revision,
        client_capabilities: JSONObject,
        client_info: JSONObject,
        log_level: str | None,
        subscriptions: Iterable[str],
    ) -> None:
        """Serve a session another replica opened (``ssemcp.state.redis``): initialized at
        ``revision`` with the client it recorded; then :meth:`update` as its record changes."""
        self.session.assume_initialized(revision)
        self.session.context = dataclasses.replace(
            self.session.context,
            client_capabilities=client_capabilities,
            client_info=client_info,
        )
        self.update(log_level, subscriptions)

    def update(self, log_level: str | None, subscriptions: Iterable[str]) -> None:
        """Take the log level and subscriptions a session's record holds now (another
        replica served ``logging/setLevel`` or ``resources/subscribe``)."""
        if self.session.log_level != log_level:
            self.session.context = dataclasses.replace(self.session.context, log_level=log_level)
        wanted = frozenset(subscriptions)
        held = frozenset(self.session.subscriptions)
        for uri in wanted - held:
            self.subscribe(uri)
        for uri in held - wanted:
            self.unsubscribe(uri)

    def rebind(self, principal: Principal | None) -> None:
        """The session's subject came back with a fresh credential (``ServerSession.rebind``)."""
        self.session.rebind(principal)

    @property
    def posting_count(self) -> int:
        """Notifications posted and not yet written (see :data:`MAX_POSTING`)."""
        return len(self._background)

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
                reply = Response(
                    request_id,
                    await dispatch(
                        self.server, request, self.session.context, send or self._send, self
                    ),
                )
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
            if type(message) is Request:
                self._observe_answered(message, action.message)
            elif type(action.message) is ErrorResponse:
                # Input that is no request: a batch's item, or a line on stdio (HTTP refuses
                # a lone one before it reaches a session, and observes it there).
                context = self.session.context
                reply = action.message
                refused(
                    self.server,
                    None,
                    reply.code,
                    reply.message,
                    context.principal,
                    context.revision,
                )
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

    def _observe_answered(self, request: Request, reply: Reply_) -> None:
        """A request the session answered itself (initialize, ping, logging/setLevel, a
        refusal) is logged, counted (ssemcp.observe) and traced (ssemcp.otel) as dispatched
        ones are."""
        watcher = WATCHER.get()
        tracing = self.server.tracing
        if watcher is None and tracing is None:
            return
        code = reply.code if type(reply) is ErrorResponse else None
        if watcher is not None:
            watcher.answered(self.server, request, self.session.context, code)
        if tracing is not None:
            message = reply.message if type(reply) is ErrorResponse else ""
            tracing.answered(request, self.session.context, code, message)

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
        key: str | None = None,
    ) -> JSONValue:
        """Send a request to the client and await its result (``key``, which names a question
        of a request that stands alone, means nothing in a session).

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

    def subscribe(self, uri: str) -> None:
        """Tell this session when ``uri`` changes (``resources/subscribe``)."""
        if self.session.subscribe(uri):
            self.server.subscription_added(uri, self)

    def unsubscribe(self, uri: str) -> None:
        if self.session.unsubscribe(uri):
            self.server.subscription_removed(uri, self)

    def post(self, notification: Notification) -> None:
        """Send a notification on the session's channel without waiting (from sync code);
        dropped before ``initialize``: a channel nobody opened a session on (a stdio process
        serving only 2026-07-28 requests) is not the client's to hear list changes on."""
        if self.session.state is SessionState.NEW:
            return
        # Fan-out (resources/updated to every subscriber) calls this once per session: the
        # transport's synchronous path, when it has one and room, spares a task per session.
        if self._send_nowait is not None and self._send_nowait(notification):
            return
        if len(self._background) >= MAX_POSTING:
            # The channel is not taking what was posted (a stdout nobody reads): each more
            # would park one more task, without end.
            if not self._dropping:
                self._dropping = True
                logger.warning(
                    "a session's channel is %d notifications behind; dropping more", MAX_POSTING
                )
            return
        self._dropping = False
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
        self.server.bus.unsubscribe(LIST_CHANGED, self)
        # The transport's session object holds this connection, and these are its bound
        # methods: dropping them breaks that cycle, so an ended session is freed at once by
        # reference counting rather than left to the cyclic collector (a client that opens
        # a session per call would otherwise feed it several objects per call).
        self._send = _dropped
        self._send_nowait = None
