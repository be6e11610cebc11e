"""The legacy HTTP+SSE transport (MCP 2024-11-05): ``GET /sse`` and ``POST /messages/``.

Owns the wire of spec 2024-11-05 basic/transports, "HTTP with SSE": each ``GET /sse`` opens
one session and its event stream, whose first event (``endpoint``) names the URL to POST to;
each ``POST /messages/?session_id=…`` hands one message to that session and is answered
``202 Accepted``, while every reply and every server message travels on the stream as a
``message`` event. It does not interpret MCP: messages go to a
:class:`~ssemcp.server.connection.ServerConnection` (or another ``ssemcp.server.hosted``
session: the bridge's relay). Host and Origin checks, routing and the
``Content-Length`` bound are the ASGI app's (``ssemcp.http``); who the peer is (the principal)
is ``ssemcp.http.auth``'s, and whether a proxy's ``X-Forwarded-Prefix`` is believed is
``ssemcp.http.proxy``'s: both leave their verdict in the scope, and a session is bound to the
principal of the GET that opened it.

Producers (a request's task, a handler's progress report, a server-wide list_changed) write
onto the stream themselves, one at a time; events that arrive while a write is under way wait
in a bounded queue. When it is full, producers that await (replies, progress, logs) wait, as
many as the session's requests in flight; a notification posted without waiting, past a
longer bound, drops the session instead, whose reader is then that queue and a full socket
behind. The GET's own task only watches for the disconnect.

There is no shared transport object per client: every GET builds its own session, so one
client's replies can never reach another's stream (modelcontextprotocol/typescript-sdk #204).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Sequence
from typing import Final
from urllib.parse import parse_qsl

from ssemcp.asgi import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    PRINCIPAL_KEY,
    SSE_HEADERS,
    ASGIMessage,
    ASGIReceive,
    ASGISend,
    Headers,
    HTTPError,
    Scope,
    client_path_prefix,
    receive_payload,
    short_id,
    uncancel_current_task,
)
from ssemcp.asgi.shortcuts import header_lines, send_whole_response
from ssemcp.errors import InvalidRequest, ParseError
from ssemcp.jsonrpc import Invalid, Message, Request, error_response, parse, serialize
from ssemcp.protocol.request_context import Principal
from ssemcp.server.connection import ServerConnection
from ssemcp.server.hosted import HostedSession, SessionFactory, SessionRefused
from ssemcp.server.registry import Server
from ssemcp.sse import encode_event
from ssemcp.state.shared import RETRY_AFTER_SECONDS, LegacyStreams, StateUnavailable
from ssemcp.transports.memory import MemoryReclaimer
from ssemcp.transports.sse_writer import Flusher, FrameCache, KeepaliveSweep, SSEWriter
from ssemcp.transports.streamable import DEFAULT_MAX_SESSIONS

__all__ = [
    "DEFAULT_MAX_PENDING_REQUESTS",
    "DEFAULT_MAX_QUEUED_MESSAGES",
    "DEFAULT_MAX_QUEUED_NOTIFICATIONS",
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
# Events a stream may hold before a notification posted without waiting closes the session:
# a fan-out queues one per subscribed resource in a single turn of the loop, to be written
# together at its end, so a burst is not a slow reader; a queue this long (a MiB of
# notifications of a few hundred bytes) with the write under way still waiting is.
DEFAULT_MAX_QUEUED_NOTIFICATIONS: Final = 16 * DEFAULT_MAX_QUEUED_MESSAGES
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

# token_urlsafe's alphabet (RFC 4648 section 5, "base64url"). A query that is our parameter
# alone with such a value means to parse_qsl exactly what it says (nothing to split, nothing
# to unquote), so the usual POST skips parse_qsl's work.
_PLAIN_SESSION_QUERY: Final = re.compile(rb"session_id=([A-Za-z0-9_-]+)")
_MESSAGE_EVENT_START: Final = b"event: message\ndata: "
_EVENT_END: Final = b"\n\n"

_ACCEPTED_BODY: Final = b"Accepted"
_ACCEPTED_CONTENT_TYPE: Final = (b"content-type", b"text/plain; charset=utf-8")
_ACCEPTED_HEADERS: Final = [
    _ACCEPTED_CONTENT_TYPE,
    (b"content-length", str(len(_ACCEPTED_BODY)).encode()),
]
_ACCEPTED_HEADER_LINES: Final = header_lines([_ACCEPTED_CONTENT_TYPE])

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
# With replicas (ssemcp.state.redis), the store that finds a session's stream is unreachable.
STATE_UNAVAILABLE: Final = HTTPError(
    503,
    StateUnavailable("Service Unavailable: the shared session state is unreachable; retry"),
    ((b"retry-after", str(RETRY_AFTER_SECONDS).encode()),),
)
TOO_MANY_IN_FLIGHT: Final = InvalidRequest(
    "Service Unavailable: too many requests in flight on this session"
)
MESSAGE_METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed"), ((b"allow", b"POST"),)
)


def _message_event(message: Message | Sequence[Message]) -> bytes:
    # spec 2024-11-05 basic/transports, "HTTP with SSE": "Server messages are sent as SSE
    # message events, with the message content encoded as JSON in the event data."
    # ``serialize`` writes compact JSON, which escapes every CR and LF, so the payload is one
    # data line as it is: the bytes ``encode_event(..., event="message")`` would build,
    # without decoding and encoding the payload again.
    return _MESSAGE_EVENT_START + serialize(message) + _EVENT_END


async def _accept(send: ASGISend) -> None:
    """Answer a POST 202: its message is the session's now (the reply goes on the stream)."""
    # Every POST gets this answer: in one step where the server allows it.
    if not send_whole_response(send, 202, _ACCEPTED_HEADER_LINES, _ACCEPTED_BODY):
        await send({"type": "http.response.start", "status": 202, "headers": _ACCEPTED_HEADERS})
        await send({"type": "http.response.body", "body": _ACCEPTED_BODY})


class _Session:
    """One ``GET /sse``: its connection, its stream's writer, its running requests.

    The stream's own task only waits for the disconnect, so an idle stream costs that one
    task, this object, its writer and its connection.
    """

    __slots__ = ("_stream_task", "connection", "is_closed", "principal", "session_id", "writer")

    def __init__(
        self,
        server: Server,
        session_id: str,
        principal: Principal | None,
        max_queued_messages: int,
        frames: FrameCache,
        flusher: Flusher,
        max_queued_notifications: int = DEFAULT_MAX_QUEUED_NOTIFICATIONS,
        connect: SessionFactory | None = None,
    ) -> None:
        self.session_id = session_id
        self.principal = principal
        self.is_closed = False
        self._stream_task: asyncio.Task[object] | None = None
        # A notification past max_queued_notifications closes the session: its reader is too
        # far behind.
        self.writer = SSEWriter(
            f"session {short_id(session_id)}",
            frames,
            flusher,
            max_queued_messages,
            max_queued_notifications,
            self.close,
        )
        self.connection: HostedSession = (
            ServerConnection(
                server, self.writer.send, send_nowait=self.writer.send_nowait, principal=principal
            )
            if connect is None
            else connect(
                self.writer.send,
                send_nowait=self.writer.send_nowait,
                principal=principal,
                session_id=session_id,
            )
        )

    def holding(self) -> asyncio.Task[object]:
        """Called by the stream's task as it starts waiting for the disconnect: from then on
        :meth:`close` ends that wait by cancelling it."""
        task = asyncio.current_task()
        assert task is not None
        self._stream_task = task
        return task

    def released(self) -> None:
        """The stream's task no longer waits: :meth:`close` must not cancel it."""
        self._stream_task = None

    def close(self) -> None:
        """End the session: the stream stops, running requests and waiting producers too."""
        if self.is_closed:
            return
        self.is_closed = True
        self.writer.close()
        if self._stream_task is not None:
            self._stream_task.cancel()
        self.connection.close()


def _has_request(payload: Message | Invalid | list[Message | Invalid]) -> bool:
    if type(payload) is list:
        return any(type(item) is Request for item in payload)
    return type(payload) is Request


class LegacySSETransport:
    """Serves ``server`` over 2024-11-05 HTTP+SSE; the ASGI app routes both paths here.

    Args:
        server: the registry every session serves.
        max_body_bytes: the largest POST body read; larger gets 413.
        max_sessions: open streams at most; a ``GET`` past it gets 503. The same default as
            Streamable HTTP's, counted apart: a legacy session is a ServerConnection (a few
            KiB) plus one open socket, like theirs.
        max_queued_messages: events a stream holds behind the write under way before
            producers that await (replies, progress, logs) have to wait.
        max_queued_notifications: events a stream holds before a notification posted
            without waiting (list_changed, resources/updated) closes the session: its
            reader is too far behind.
        max_pending_requests: requests of one session running at once; past it a POST gets
            503.
        keepalive_seconds: how often an idle stream gets a comment.
        sessions: makes each session's :class:`~ssemcp.server.hosted.HostedSession`
            (default: a ``ServerConnection`` serving ``server``); may refuse (503).
        shared: where replicas find each other's streams (``ssemcp.state.redis``): a POST
            for a session whose stream another replica holds is forwarded there, and
            answered 202 here; an unreachable store gets 503.
    """

    def __init__(
        self,
        server: Server,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        max_queued_messages: int = DEFAULT_MAX_QUEUED_MESSAGES,
        max_queued_notifications: int = DEFAULT_MAX_QUEUED_NOTIFICATIONS,
        max_pending_requests: int = DEFAULT_MAX_PENDING_REQUESTS,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
        sessions: SessionFactory | None = None,
        shared: LegacyStreams | None = None,
    ) -> None:
        self._server = server
        self._connect = sessions
        self._shared = shared
        # Forwarded requests being served (their replies go on the stream held here).
        self._forwarded_tasks: set[asyncio.Task[None]] = set()
        self._max_body_bytes = max_body_bytes
        self._max_sessions = max_sessions
        self._max_queued_messages = max_queued_messages
        self._max_queued_notifications = max_queued_notifications
        self._max_pending_requests = max_pending_requests
        self._endpoint_suffix = f"{MESSAGES_PATH}?{SESSION_ID_PARAMETER}="
        self._sessions: dict[str, _Session] = {}
        self._frames = FrameCache(_message_event)
        self._flusher = Flusher()
        self._keepalives = KeepaliveSweep(
            keepalive_seconds, lambda: (session.writer for session in self._sessions.values())
        )
        # Hands memory back to the OS once a burst of sessions has ended.
        self._reclaimer = MemoryReclaimer()

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
        try:
            session = _Session(
                self._server,
                session_id,
                scope.get(PRINCIPAL_KEY),
                self._max_queued_messages,
                self._frames,
                self._flusher,
                self._max_queued_notifications,
                self._connect,
            )
        except SessionRefused as exc:
            logger.warning("refused an SSE stream: %s", exc)
            refused = HTTPError(
                503, InvalidRequest(f"Service Unavailable: {exc}"), ((b"retry-after", b"5"),)
            )
            await refused.respond(send)
            return
        self._sessions[session_id] = session
        if self._shared is not None:
            try:
                await self._shared.open(session_id, scope.get(PRINCIPAL_KEY), self._forwarded)
            except StateUnavailable:
                self._sessions.pop(session_id, None)
                session.close()
                await STATE_UNAVAILABLE.respond(send)
                return
        # Per-session lines are DEBUG, like access logs (off by default).
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "session %s: SSE stream opened (%d open)", short_id(session_id), len(self._sessions)
            )
        # spec 2024-11-05 basic/transports: "When a client connects, the server MUST send an
        # endpoint event containing a URI for the client to use for sending messages."
        endpoint = encode_event(
            client_path_prefix(scope) + self._endpoint_suffix + session_id, event="endpoint"
        )
        try:
            await session.writer.start(send, SSE_HEADERS, endpoint)
            # This frame lives as long as the stream: keep only what it still needs.
            del endpoint
            self._keepalives.start()
            if not session.is_closed:
                # Wait here, not in a coroutine of the session's: an idle stream keeps this
                # task's frames alive, and one frame fewer is memory saved per stream.
                task = session.holding()
                try:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                except asyncio.CancelledError:
                    if not session.is_closed:
                        raise
                    # close() cancelled the wait to end the stream: its normal end.
                    task.uncancel()
                finally:
                    session.released()
            # spec 2024-11-05 basic/transports ends the exchange with "Close SSE connection":
            # the session goes with its stream, and a POST to it afterwards gets 404.
            self._sessions.pop(session_id, None)
            session.close()
            if session.writer.is_stalled:
                # Its write may never end: an unfinished response makes the server close the
                # connection (uvicorn says so in its log), which ends that write too.
                return
            # A write under way (a reply awaiting the socket) must end before the response
            # does: a body after the last one is an ASGI error.
            await session.writer.finish_writing()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self._sessions.pop(session_id, None)
            session.close()
            if self._shared is not None:
                self._shared.close(session_id)
            self._reclaimer.observe(len(self._sessions))
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "session %s: SSE stream closed (%d open)",
                    short_id(session_id),
                    len(self._sessions),
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
        if found is UNKNOWN_SESSION and self._shared is not None:
            await self._forward(scope, receive, send, headers)
            return
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

        # (A single request, the common case, is told without a call.)
        if type(payload) is not Request and not _has_request(payload):
            # Notifications and the client's responses (to sampling, elicitation) are cheap,
            # and their order matters (notifications/initialized before the next request):
            # hand them over before answering.
            reply = await session.connection.receive(payload)
            if reply is not None:
                # An Invalid message: its error response goes where replies go.
                await session.writer.send(reply)
            await _accept(send)
            return
        # The connection knows the requests it is running (and cancels them when the session
        # ends): no set of tasks of our own to keep.
        if session.connection.running_count >= self._max_pending_requests:
            await TOO_MANY_PENDING_REQUESTS.respond(send)
            return
        # The reply goes on the stream, so the POST is answered before the handler runs. The
        # handler then runs on in this task (the ASGI server lets an app go on after its
        # response, as background work does): no task of its own to start and to track.
        await _accept(send)
        if session.is_closed:
            return
        try:
            reply = await session.connection.receive(payload)
            if reply is not None:
                await session.writer.send(reply)
        except asyncio.CancelledError:
            if not session.is_closed:
                raise
            # The session's end cancelled the request (ServerConnection.close): the request
            # is over, and the server must not see an error.
            uncancel_current_task()
        except Exception:
            # ServerConnection turns handler failures into error replies; this is our bug.
            logger.exception("session %s: answering a request failed", short_id(session.session_id))

    # ------------------------------------------------------------------ replicas

    async def _forward(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers
    ) -> None:
        """A POST for a session whose stream another replica may hold: checked as a local
        one is (the body must be JSON-RPC), then handed over; 404 if nobody holds it."""
        assert self._shared is not None
        session_id = _query_session_id(scope)
        assert isinstance(session_id, str)  # _find_session answered UNKNOWN_SESSION for it
        chunks: list[bytes] = []

        async def receive_keeping_body() -> ASGIMessage:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        payload = await receive_payload(receive_keeping_body, send, headers, self._max_body_bytes)
        if payload is None:
            return
        try:
            delivered = await self._shared.forward(
                session_id, scope.get(PRINCIPAL_KEY), b"".join(chunks)
            )
        except StateUnavailable:
            await STATE_UNAVAILABLE.respond(send)
            return
        if not delivered:
            await UNKNOWN_SESSION.respond(send)
            return
        await _accept(send)

    def _forwarded(self, session_id: str, body: bytes) -> None:
        """Another replica took a POST for a stream held here: serve it as if posted here."""
        session = self._sessions.get(session_id)
        if session is None or session.is_closed:
            return
        try:
            payload = parse(body)
        except ParseError:
            return  # the replica that took it checked it: not ours
        task = asyncio.get_running_loop().create_task(self._serve_forwarded(session, payload))
        self._forwarded_tasks.add(task)
        task.add_done_callback(self._forwarded_tasks.discard)

    async def _serve_forwarded(
        self, session: _Session, payload: Message | Invalid | list[Message | Invalid]
    ) -> None:
        if (
            type(payload) is Request
            and session.connection.running_count >= self._max_pending_requests
        ):
            # Its POST was answered 202 elsewhere: the refusal goes where its reply would.
            await session.writer.send(error_response(payload.id, TOO_MANY_IN_FLIGHT))
            return
        try:
            reply = await session.connection.receive(payload)
            if reply is not None:
                await session.writer.send(reply)
        except asyncio.CancelledError:
            if not session.is_closed:
                raise
            uncancel_current_task()
        except Exception:
            logger.exception("session %s: a forwarded message failed", short_id(session.session_id))

    def _find_session(self, scope: Scope) -> _Session | HTTPError:
        session_id = _query_session_id(scope)
        if isinstance(session_id, HTTPError):
            return session_id
        session = self._sessions.get(session_id)
        if session is None or session.is_closed:
            return UNKNOWN_SESSION
        if session.principal != scope.get(PRINCIPAL_KEY):
            logger.info(
                "session %s: refused a POST from another principal", short_id(session.session_id)
            )
            return UNKNOWN_SESSION
        principal = scope.get(PRINCIPAL_KEY)
        if principal is not session.principal:
            # The same subject with a fresh token (ssemcp.auth): its scopes serve from now on.
            session.principal = principal
            session.connection.rebind(principal)
        return session

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """End every session (at server shutdown); their streams end with them."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        self._keepalives.cancel()
        self._reclaimer.cancel()
        for session in sessions:
            session.close()
        if sessions:
            logger.info("closed %d SSE session(s)", len(sessions))


def _query_session_id(scope: Scope) -> str | HTTPError:
    query_string: bytes = scope.get("query_string", b"")
    plain = _PLAIN_SESSION_QUERY.fullmatch(query_string)
    return plain[1].decode("ascii") if plain is not None else _session_id(query_string)


def _session_id(query_string: bytes) -> str | HTTPError:
    """The one session id a query names, or the error to answer with."""
    try:
        fields = parse_qsl(
            query_string.decode("latin-1"),
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
    return session_ids[0]
