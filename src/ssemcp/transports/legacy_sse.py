"""The legacy HTTP+SSE transport (MCP 2024-11-05): ``GET /sse`` and ``POST /messages/``.

Owns the wire of spec 2024-11-05 basic/transports, "HTTP with SSE": each ``GET /sse`` opens
one session and its event stream, whose first event (``endpoint``) names the URL to POST to;
each ``POST /messages/?session_id=…`` hands one message to that session and is answered
``202 Accepted``, while every reply and every server message travels on the stream as a
``message`` event. It does not interpret MCP: messages go to a
:class:`~ssemcp.server.connection.ServerConnection`. Host and Origin checks, routing and the
``Content-Length`` bound are the ASGI app's (``ssemcp.http``); who the peer is (the principal)
is ``ssemcp.http.auth``'s, and whether a proxy's ``X-Forwarded-Prefix`` is believed is
``ssemcp.http.proxy``'s: both leave their verdict in the scope, and a session is bound to the
principal of the GET that opened it.

Producers (a request's task, a handler's progress report, a server-wide list_changed) and the
consumer (the GET's task) really are apart here, so the stream is fed by a bounded outbox. When
it is full, producers wait (the client is slow, not gone); a closed session frees them.

There is no shared transport object per client: every GET builds its own session, so one
client's replies can never reach another's stream (modelcontextprotocol/typescript-sdk #204).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
from collections.abc import Sequence
from typing import Final
from urllib.parse import parse_qsl, quote

from ssemcp.errors import InvalidRequest
from ssemcp.http.asgi import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    SSE_HEADERS,
    ASGIReceive,
    ASGISend,
    Headers,
    HTTPError,
    Scope,
    receive_payload,
    short_id,
)
from ssemcp.http.auth import PRINCIPAL_KEY
from ssemcp.http.proxy import FORWARDED_PREFIX_KEY
from ssemcp.jsonrpc import Invalid, Message, Request, serialize
from ssemcp.server.connection import ServerConnection
from ssemcp.server.registry import Server
from ssemcp.sse import KEEPALIVE, encode_event
from ssemcp.transports.streamable import DEFAULT_MAX_SESSIONS

__all__ = [
    "DEFAULT_MAX_PENDING_REQUESTS",
    "DEFAULT_MAX_QUEUED_MESSAGES",
    "DEFAULT_MAX_SESSIONS",
    "MESSAGES_PATH",
    "SSE_PATH",
    "LegacySSETransport",
]

logger = logging.getLogger(__name__)

# Events waiting for a slow stream before producers have to wait. Replies ride here too (not
# only server-initiated messages), so it must absorb a burst of answers: 256 events of a few
# hundred bytes each keep the socket busy while bounding memory per session.
DEFAULT_MAX_QUEUED_MESSAGES: Final = 256
# Requests of one session running at once. A client that keeps more than 1 000 tool calls in
# flight on one stream is flooding us; past it a POST gets 503 and may retry.
DEFAULT_MAX_PENDING_REQUESTS: Final = 1_000
# The two endpoints (spec 2024-11-05 names none; these are the official SDKs' paths). The
# ASGI app routes them here; POSTs go to the one the endpoint event names.
SSE_PATH: Final = "/sse"
MESSAGES_PATH: Final = "/messages/"
SESSION_ID_PARAMETER: Final = "session_id"
# A query of ours has one field; a few more (a cache buster) are tolerated, not thousands.
_MAX_QUERY_FIELDS: Final = 8
# RFC 3986 section 3.3: a path is "/"-separated segments of pchar (unreserved, pct-encoded,
# sub-delims, ":" and "@"); ``quote`` escapes anything else in root_path.
_PATH_SAFE: Final = "/-._~!$&'()*+,;=:@"

_ACCEPTED_BODY: Final = b"Accepted"
_ACCEPTED_HEADERS: Final = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_ACCEPTED_BODY)).encode()),
]

# Our own rule, not the 2024-11-05 spec's (it names no status): a POST must say which session
# it belongs to, in the query of the endpoint URL we gave out.
MISSING_SESSION_ID: Final = HTTPError(
    400, InvalidRequest("Bad Request: the session_id query parameter is required")
)
BAD_QUERY: Final = HTTPError(400, InvalidRequest("Bad Request: malformed query string"))
# Unknown, closed, or opened by another principal: all three are answered alike, so that a
# session id never works as a credential and never tells whether it exists (the official
# SDK's server/sse.py does the same for the wrong principal).
UNKNOWN_SESSION: Final = HTTPError(404, InvalidRequest("Not Found: no such session"))
TOO_MANY_SESSIONS: Final = HTTPError(
    503, InvalidRequest("Service Unavailable: too many sessions"), ((b"retry-after", b"5"),)
)
TOO_MANY_PENDING_REQUESTS: Final = HTTPError(
    503,
    InvalidRequest("Service Unavailable: too many requests in flight on this session"),
    ((b"retry-after", b"1"),),
)
STREAM_METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed"), ((b"allow", b"GET"),)
)
MESSAGE_METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed"), ((b"allow", b"POST"),)
)


class _Outbox:
    """A stream's events waiting to be written: bounded, one reader, waiting writers.

    Not an ``asyncio.Queue``: the stream's loop would need a task per ``get()`` to wait for
    an event *or* its keepalive *or* the end. Here the reader waits on one future that a
    writer, the keepalive timer or :meth:`close` resolves, and takes everything queued as
    one write.
    """

    __slots__ = ("_events", "_limit", "_reader", "_writers", "is_closed")

    def __init__(self, limit: int) -> None:
        self._events: collections.deque[bytes] = collections.deque()
        self._limit = limit
        self._reader: asyncio.Future[None] | None = None
        self._writers: collections.deque[asyncio.Future[None]] = collections.deque()
        self.is_closed = False

    def __len__(self) -> int:
        return len(self._events)

    def offer(self, event: bytes) -> bool:
        """Queue ``event`` if there is room (or drop it if closed); False when full."""
        if self.is_closed:
            return True
        if len(self._events) >= self._limit:
            return False
        self._events.append(event)
        _wake(self._reader)
        return True

    async def put(self, event: bytes) -> None:
        """Queue ``event``, waiting while the outbox is full (backpressure) until it closes."""
        loop = asyncio.get_running_loop()
        while not self.offer(event):
            room = loop.create_future()
            self._writers.append(room)
            try:
                await room
            finally:
                if room in self._writers:
                    self._writers.remove(room)

    def take(self) -> bytes:
        """Everything queued, as one write; wakes writers waiting for room."""
        events = self._events
        body = events.popleft() if len(events) == 1 else b"".join(events)
        events.clear()
        while self._writers:
            _wake(self._writers.popleft())
        return body

    async def wait(self, timeout_seconds: float) -> None:
        """Return when an event is queued, the outbox closes, or ``timeout_seconds`` pass."""
        if self._events or self.is_closed:
            return
        loop = asyncio.get_running_loop()
        reader = self._reader = loop.create_future()
        timer = loop.call_later(timeout_seconds, _wake, reader)
        try:
            await reader
        finally:
            timer.cancel()
            self._reader = None

    def close(self) -> None:
        self.is_closed = True
        _wake(self._reader)
        while self._writers:
            _wake(self._writers.popleft())


def _message_event(message: Message | Sequence[Message]) -> bytes:
    # spec 2024-11-05 basic/transports, "HTTP with SSE": "Server messages are sent as SSE
    # message events, with the message content encoded as JSON in the event data."
    return encode_event(serialize(message).decode(), event="message")


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _Session:
    """One ``GET /sse``: its connection, its stream's outbox, its running requests."""

    __slots__ = (
        "connection",
        "is_closed",
        "outbox",
        "principal",
        "request_tasks",
        "session_id",
    )

    def __init__(
        self, server: Server, session_id: str, principal: str | None, max_queued_messages: int
    ) -> None:
        self.session_id = session_id
        self.principal = principal
        self.outbox = _Outbox(max_queued_messages)
        self.is_closed = False
        self.request_tasks: set[asyncio.Task[None]] = set()
        self.connection = ServerConnection(server, self.send, send_nowait=self.send_nowait)

    async def send(self, message: Message | Sequence[Message]) -> None:
        """Queue ``message`` for the stream; wait while the queue is full, until it closes.

        spec 2024-11-05 basic/transports, "HTTP with SSE": "Server messages are sent as SSE
        ``message`` events, with the message content encoded as JSON in the event data."
        """
        if self.is_closed:
            # As uvicorn drops writes after a disconnect: a handler never fails because its
            # client left; the session's end cancels it soon enough.
            logger.debug("session %s: closed, dropped a message", short_id(self.session_id))
            return
        # Backpressure: a full outbox means a slow reader, so wait rather than drop a reply.
        await self.outbox.put(_message_event(message))

    def send_nowait(self, message: Message) -> bool:
        """:meth:`send` if the outbox has room (or the session is closed); else False."""
        return self.is_closed or self.outbox.offer(_message_event(message))

    def close(self) -> None:
        """End the session: the stream stops, running requests and waiting producers too."""
        if self.is_closed:
            return
        self.is_closed = True
        self.outbox.close()
        for task in self.request_tasks:
            task.cancel()
        self.connection.close()


def _has_request(payload: Message | Invalid | list[Message | Invalid]) -> bool:
    if isinstance(payload, list):
        return any(type(item) is Request for item in payload)
    return type(payload) is Request


def _endpoint_prefix(scope: Scope) -> str:
    """The path the client sees in front of ours: a trusted proxy's prefix, then root_path.

    ASGI "HTTP Connection Scope": ``root_path`` is "the root path this application is mounted
    at", the operator's configuration (uvicorn ``--root-path``), not the peer's. The forwarded
    prefix is what a trusted proxy strips before us; ``ssemcp.http.proxy`` sets it only for a
    trusted peer and only when it is a plain absolute path (never ``//host``), else ``""``.
    """
    root_path = quote(scope.get("root_path", ""), safe=_PATH_SAFE)
    forwarded_prefix: str = scope.get(FORWARDED_PREFIX_KEY) or ""
    return (forwarded_prefix.rstrip("/") + root_path).rstrip("/")


class LegacySSETransport:
    """Serves ``server`` over 2024-11-05 HTTP+SSE; the ASGI app routes both paths here.

    Args:
        server: the registry every session serves.
        max_body_bytes: the largest POST body read; larger gets 413.
        max_sessions: open streams at most; a ``GET`` past it gets 503. The same default as
            Streamable HTTP's, counted apart: a legacy session is a ServerConnection (a few
            KiB) plus one open socket, like theirs.
        max_queued_messages: events a stream holds before producers have to wait.
        max_pending_requests: requests of one session running at once; past it a POST gets
            503.
        keepalive_seconds: how often an idle stream gets a comment.
    """

    def __init__(
        self,
        server: Server,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        max_queued_messages: int = DEFAULT_MAX_QUEUED_MESSAGES,
        max_pending_requests: int = DEFAULT_MAX_PENDING_REQUESTS,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
    ) -> None:
        self._server = server
        self._max_body_bytes = max_body_bytes
        self._max_sessions = max_sessions
        self._max_queued_messages = max_queued_messages
        self._max_pending_requests = max_pending_requests
        self._keepalive_seconds = keepalive_seconds
        self._endpoint_suffix = f"{MESSAGES_PATH}?{SESSION_ID_PARAMETER}="
        self._sessions: dict[str, _Session] = {}

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    # ------------------------------------------------------------------ GET /sse

    async def handle_stream(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        """Answer ``GET /sse``: open a session and stream its messages until it ends."""
        if scope["method"] != "GET":
            await STREAM_METHOD_NOT_ALLOWED.respond(send)
            return
        if len(self._sessions) >= self._max_sessions:
            logger.warning("refused an SSE stream: %d sessions open", len(self._sessions))
            await TOO_MANY_SESSIONS.respond(send)
            return
        # Like Streamable HTTP's Mcp-Session-Id (spec 2025-11-25 basic/transports, "Session
        # Management"): "globally unique and cryptographically secure"; 24 bytes, URL-safe.
        session_id = secrets.token_urlsafe(24)
        session = _Session(
            self._server, session_id, scope.get(PRINCIPAL_KEY), self._max_queued_messages
        )
        self._sessions[session_id] = session
        logger.info(
            "session %s: SSE stream opened (%d open)", short_id(session_id), len(self._sessions)
        )
        # spec 2024-11-05 basic/transports: "When a client connects, the server MUST send an
        # endpoint event containing a URI for the client to use for sending messages."
        endpoint = encode_event(
            _endpoint_prefix(scope) + self._endpoint_suffix + session_id, event="endpoint"
        )
        watcher = asyncio.ensure_future(_close_on_disconnect(receive, session))
        outbox = session.outbox
        try:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            await send({"type": "http.response.body", "body": endpoint, "more_body": True})
            while True:
                await outbox.wait(self._keepalive_seconds)
                if session.is_closed:
                    break
                body = outbox.take() if outbox else KEEPALIVE
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            # spec 2024-11-05 basic/transports ends the exchange with "Close SSE connection":
            # the session goes with its stream, and a POST to it afterwards gets 404.
            self._sessions.pop(session_id, None)
            session.close()
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            logger.info(
                "session %s: SSE stream closed (%d open)", short_id(session_id), len(self._sessions)
            )

    # ------------------------------------------------------------------ POST /messages/

    async def handle_message(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers
    ) -> None:
        """Answer ``POST /messages/?session_id=…``: hand one message to its session."""
        if scope["method"] != "POST":
            await MESSAGE_METHOD_NOT_ALLOWED.respond(send)
            return
        found = self._find_session(scope)
        if isinstance(found, HTTPError):
            await found.respond(send)
            return
        session = found
        # Nothing reaches the session unless the body is JSON: a bad one leaves it as it was.
        payload = await receive_payload(receive, send, headers, self._max_body_bytes)
        if payload is None:
            return
        if session.is_closed:
            # The stream closed while we read the body.
            await UNKNOWN_SESSION.respond(send)
            return

        if _has_request(payload):
            if len(session.request_tasks) >= self._max_pending_requests:
                await TOO_MANY_PENDING_REQUESTS.respond(send)
                return
            # The reply goes on the stream, so the POST need not wait for the handler.
            task = asyncio.create_task(self._answer(session, payload))
            session.request_tasks.add(task)
            task.add_done_callback(session.request_tasks.discard)
        else:
            # Notifications and the client's responses (to sampling, elicitation) are cheap,
            # and their order matters (notifications/initialized before the next request):
            # hand them over before answering.
            reply = await session.connection.receive(payload)
            if reply is not None:
                # An Invalid message: its error response goes where replies go.
                await session.send(reply)
        await send({"type": "http.response.start", "status": 202, "headers": _ACCEPTED_HEADERS})
        await send({"type": "http.response.body", "body": _ACCEPTED_BODY})

    def _find_session(self, scope: Scope) -> _Session | HTTPError:
        try:
            fields = parse_qsl(
                scope.get("query_string", b"").decode("latin-1"),
                keep_blank_values=True,
                strict_parsing=True,
                errors="strict",
                max_num_fields=_MAX_QUERY_FIELDS,
            )
        except ValueError:
            return BAD_QUERY
        session_ids = [value for name, value in fields if name == SESSION_ID_PARAMETER]
        if not session_ids:
            return MISSING_SESSION_ID
        if len(session_ids) > 1:
            return BAD_QUERY
        session = self._sessions.get(session_ids[0])
        if session is None or session.is_closed:
            return UNKNOWN_SESSION
        if session.principal != scope.get(PRINCIPAL_KEY):
            logger.info(
                "session %s: refused a POST from another principal", short_id(session.session_id)
            )
            return UNKNOWN_SESSION
        return session

    @staticmethod
    async def _answer(
        session: _Session, payload: Message | Invalid | list[Message | Invalid]
    ) -> None:
        """Run a request (or a batch holding one) and put its reply on the stream."""
        try:
            reply = await session.connection.receive(payload)
            if reply is not None:
                await session.send(reply)
        except Exception:
            # ServerConnection turns handler failures into error replies; this is our bug.
            logger.exception("session %s: answering a request failed", short_id(session.session_id))

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """End every session (at server shutdown); their streams end with them."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            session.close()
        if sessions:
            logger.info("closed %d SSE session(s)", len(sessions))


async def _close_on_disconnect(receive: ASGIReceive, session: _Session) -> None:
    """End ``session`` as soon as the client disconnects (ASGI ``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    session.close()
