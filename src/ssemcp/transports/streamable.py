"""The Streamable HTTP transport (MCP 2025-03-26 to 2025-11-25): sessions over one endpoint.

Owns the wire of spec 2025-11-25 basic/transports, "Streamable HTTP": which method, header and
body earns which status; the ``Mcp-Session-Id`` sessions (created by ``initialize``, ended by
``DELETE``); answering a POST as one JSON body or, once a handler emits a message, as an SSE
stream; and the standalone ``GET`` stream for messages not tied to a request. It does not
interpret MCP: messages go to a :class:`~ssemcp.server.connection.ServerConnection`. Host and
Origin checks, routing and the ``Content-Length`` bound are the ASGI app's (``ssemcp.http``).

The hot path (a POST holding a ``tools/call``) runs the handler inline in the ASGI task: no
task group, no queue. Only the GET stream, whose producer (any task of the session) and
consumer (the stream's task) really are apart, has a queue, and it is bounded.

Not yet here: resumability (event ids, ``Last-Event-ID``), idle-session expiry, the
sessionless 2026-07-28 leg.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Final

from ssemcp.errors import InvalidRequest, ParseError
from ssemcp.http.asgi import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    JSON_CONTENT_TYPE,
    PAYLOAD_TOO_LARGE,
    SSE_HEADERS,
    ASGIReceive,
    ASGISend,
    ClientDisconnected,
    Headers,
    HTTPError,
    Scope,
    media_types,
    read_body,
    short_id,
)
from ssemcp.jsonrpc import (
    ErrorResponse,
    Invalid,
    Message,
    Request,
    Response,
    parse,
    serialize,
)
from ssemcp.protocol.revisions import SUPPORTED_VERSIONS
from ssemcp.server.connection import ServerConnection
from ssemcp.server.registry import Server
from ssemcp.sse import KEEPALIVE, encode_event

__all__ = [
    "DEFAULT_KEEPALIVE_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_QUEUED_EVENTS",
    "DEFAULT_MAX_SESSIONS",
    "ASGIReceive",
    "ASGISend",
    "HTTPError",
    "Scope",
    "StreamableHTTPTransport",
]

logger = logging.getLogger(__name__)

# Each session holds a ServerConnection (a few KiB); 10 000 of them fit in tens of MiB, and
# a client that opens more without DELETE-ing any is misbehaving.
DEFAULT_MAX_SESSIONS: Final = 10_000
# Messages waiting for a slow GET stream. Server-initiated messages are rare (list_changed,
# resources/updated); a client that lets 256 pile up is not reading, and we drop the rest.
DEFAULT_MAX_QUEUED_EVENTS: Final = 256
MCP_SESSION_ID: Final = b"mcp-session-id"
MCP_PROTOCOL_VERSION: Final = b"mcp-protocol-version"
_SUPPORTED_VERSION_BYTES: Final = frozenset(version.encode() for version in SUPPORTED_VERSIONS)
# A peer's header value shown in a log line is cut to this many characters.
_MAX_LOGGED_HEADER: Final = 64


# spec 2025-11-25 basic/transports, "Sending Messages to the Server": "The client MUST include
# an Accept header, listing both application/json and text/event-stream".
NOT_ACCEPTABLE: Final = HTTPError(
    406,
    InvalidRequest(
        "Not Acceptable: the Accept header must list application/json and text/event-stream"
    ),
)
NOT_ACCEPTABLE_GET: Final = HTTPError(
    406, InvalidRequest("Not Acceptable: the Accept header must list text/event-stream")
)
# "The body of the POST request MUST be a single JSON-RPC request, notification, or response."
UNSUPPORTED_MEDIA_TYPE: Final = HTTPError(
    415, InvalidRequest("Unsupported Media Type: the body must be application/json")
)
PARSE_ERROR: Final = HTTPError(400, ParseError("Parse error: the body is not valid JSON"))
# "Servers that require a session ID SHOULD respond to requests without an Mcp-Session-Id
# header (other than initialization) with HTTP 400 Bad Request."
MISSING_SESSION: Final = HTTPError(
    400, InvalidRequest("Bad Request: Mcp-Session-Id header is required")
)
# "The server MAY terminate the session at any time, after which it MUST respond to requests
# containing that session ID with HTTP 404 Not Found."
UNKNOWN_SESSION: Final = HTTPError(404, InvalidRequest("Not Found: no such session"))
# basic/transports, "Protocol Version Header": "If the server receives a request with an
# invalid or unsupported MCP-Protocol-Version, it MUST respond with 400 Bad Request."
UNSUPPORTED_VERSION: Final = HTTPError(
    400,
    InvalidRequest(
        "Bad Request: unsupported MCP-Protocol-Version (supported: "
        + ", ".join(SUPPORTED_VERSIONS)
        + ")"
    ),
)
TOO_MANY_SESSIONS: Final = HTTPError(
    503, InvalidRequest("Service Unavailable: too many sessions"), ((b"retry-after", b"5"),)
)
# "The server MUST either return Content-Type: text/event-stream in response to this HTTP GET,
# or else return HTTP 405"; a second stream for one session is a conflict, not an absence.
STREAM_ALREADY_OPEN: Final = HTTPError(
    409, InvalidRequest("Conflict: this session already has a GET stream open")
)
METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed"), ((b"allow", b"GET, POST, DELETE"),)
)


def _accepts_json_and_sse(header: bytes) -> bool:
    types = media_types(header)
    return b"application/json" in types and b"text/event-stream" in types


class _EventStream:
    """The standalone GET stream of one session: a bounded queue and a way to stop it."""

    __slots__ = ("queue", "stopped")

    def __init__(self, max_queued_events: int) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(max_queued_events)
        self.stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def stop(self) -> None:
        if not self.stopped.done():
            self.stopped.set_result(None)


class _Session:
    """One ``Mcp-Session-Id``: its connection and its GET stream, if one is open."""

    __slots__ = ("connection", "event_stream", "is_closed", "session_id")

    def __init__(self, server: Server, session_id: str) -> None:
        self.session_id = session_id
        self.event_stream: _EventStream | None = None
        self.is_closed = False
        self.connection = ServerConnection(server, self.send)

    async def send(self, message: Message) -> None:
        """The session's own channel: messages not tied to a request go to the GET stream."""
        event_stream = self.event_stream
        if event_stream is None:
            # spec basic/transports: with no stream open, the server has nowhere to put it.
            logger.debug("session %s: no GET stream, dropped a message", short_id(self.session_id))
            return
        try:
            event_stream.queue.put_nowait(encode_event(serialize(message).decode()))
        except asyncio.QueueFull:
            logger.debug(
                "session %s: GET stream full, dropped a message", short_id(self.session_id)
            )

    def close(self) -> None:
        self.is_closed = True
        if self.event_stream is not None:
            self.event_stream.stop()
        self.connection.close()


class _ReplyStream:
    """The per-request ``send`` of a POST: upgrades the response to SSE on its first message.

    spec 2025-11-25 basic/transports: the server "MUST either return Content-Type:
    text/event-stream, to initiate an SSE stream, or Content-Type: application/json, to return
    one JSON object". We answer JSON unless the handler emits something before its result.
    """

    __slots__ = ("_headers", "_send", "started")

    def __init__(self, send: ASGISend, headers: list[tuple[bytes, bytes]]) -> None:
        self._send = send
        self._headers = headers
        self.started = False

    async def __call__(self, message: Message) -> None:
        if not self.started:
            self.started = True
            await self._send(
                {"type": "http.response.start", "status": 200, "headers": self._headers}
            )
        await self.write(message)

    async def write(self, message: Message) -> None:
        # uvicorn drops writes after a disconnect, so a handler's progress report never fails
        # because its client left.
        await self._send(
            {
                "type": "http.response.body",
                "body": encode_event(serialize(message).decode()),
                "more_body": True,
            }
        )

    async def end(self) -> None:
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})


def _is_initialize(payload: Message | Invalid | list[Message | Invalid]) -> bool:
    return type(payload) is Request and payload.method == "initialize"


class StreamableHTTPTransport:
    """Serves ``server`` at one MCP endpoint; the ASGI app routes requests for it here.

    Args:
        server: the registry every session serves.
        max_body_bytes: the largest POST body read; larger gets 413.
        max_sessions: live sessions at most; an ``initialize`` past it gets 503.
        max_queued_events: messages a GET stream may hold before we drop.
        keepalive_seconds: how often an idle GET stream gets a comment.
    """

    def __init__(
        self,
        server: Server,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        max_queued_events: int = DEFAULT_MAX_QUEUED_EVENTS,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
    ) -> None:
        self._server = server
        self._max_body_bytes = max_body_bytes
        self._max_sessions = max_sessions
        self._max_queued_events = max_queued_events
        self._keepalive_seconds = keepalive_seconds
        self._sessions: dict[str, _Session] = {}

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def handle(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers
    ) -> None:
        """Answer one HTTP request to the MCP endpoint; Host and Origin are already checked."""
        method = scope["method"]
        if method not in ("POST", "GET", "DELETE"):
            await METHOD_NOT_ALLOWED.respond(send)
            return
        version = headers.get(MCP_PROTOCOL_VERSION)
        # Any revision we speak passes, even one other than the session's: clients (and the
        # conformance suite) are not consistent about which one they send.
        if version is not None and version not in _SUPPORTED_VERSION_BYTES:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("unsupported MCP-Protocol-Version %r", version[:_MAX_LOGGED_HEADER])
            await UNSUPPORTED_VERSION.respond(send)
            return
        if method == "POST":
            await self._post(receive, send, headers)
        elif method == "GET":
            await self._get(receive, send, headers)
        else:
            await self._delete(send, headers)

    def _find_session(self, headers: Headers) -> _Session | HTTPError:
        raw_session_id = headers.get(MCP_SESSION_ID)
        if raw_session_id is None:
            return MISSING_SESSION
        session = self._sessions.get(raw_session_id.decode("latin-1"))
        if session is None:
            return UNKNOWN_SESSION
        return session

    # ------------------------------------------------------------------ POST

    async def _post(self, receive: ASGIReceive, send: ASGISend, headers: Headers) -> None:
        if not _accepts_json_and_sse(headers.get(b"accept", b"")):
            await NOT_ACCEPTABLE.respond(send)
            return
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if content_type != b"application/json":
            await UNSUPPORTED_MEDIA_TYPE.respond(send)
            return
        try:
            body = await read_body(receive, self._max_body_bytes)
        except ClientDisconnected:
            return
        if body is None:
            await PAYLOAD_TOO_LARGE.respond(send)
            return
        try:
            payload = parse(body)
        except ParseError:
            await PARSE_ERROR.respond(send)
            return

        session_header: list[tuple[bytes, bytes]] = []
        if MCP_SESSION_ID not in headers and _is_initialize(payload):
            if len(self._sessions) >= self._max_sessions:
                logger.warning("refused a session: %d sessions open", len(self._sessions))
                await TOO_MANY_SESSIONS.respond(send)
                return
            # spec basic/transports, "Session Management": the session ID "SHOULD be globally
            # unique and cryptographically secure" and "MUST only contain visible ASCII".
            session = _Session(self._server, secrets.token_urlsafe(24))
            session_header.append((MCP_SESSION_ID, session.session_id.encode()))
            is_new = True
        else:
            found = self._find_session(headers)
            if isinstance(found, HTTPError):
                await found.respond(send)
                return
            session = found
            is_new = False

        reply_stream = _ReplyStream(send, [*SSE_HEADERS, *session_header])
        try:
            reply = await session.connection.receive(payload, send=reply_stream)
        except asyncio.CancelledError:
            # DELETE closed the session while its handler ran here; anything else is ours.
            if not session.is_closed:
                raise
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
            if reply_stream.started:
                await reply_stream.end()
            else:
                await UNKNOWN_SESSION.respond(send)
            return

        if is_new:
            if type(reply) is Response:
                self._sessions[session.session_id] = session
                logger.info(
                    "session %s: initialized (%d open)",
                    short_id(session.session_id),
                    len(self._sessions),
                )
            else:
                # A failed initialize leaves no session behind, and names none.
                session.close()
                session_header.clear()

        if reply_stream.started:
            if isinstance(reply, list):
                for item in reply:
                    await reply_stream.write(item)
            elif reply is not None:
                await reply_stream.write(reply)
            await reply_stream.end()
            return
        if reply is None:
            # spec basic/transports: for a POST of notifications or responses the server
            # "MUST return HTTP status code 202 Accepted with no body".
            await send(
                {
                    "type": "http.response.start",
                    "status": 202,
                    "headers": [(b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self._send_json(send, reply, session_header)

    @staticmethod
    async def _send_json(
        send: ASGISend,
        reply: Response | ErrorResponse | list[Response | ErrorResponse],
        extra_headers: list[tuple[bytes, bytes]],
    ) -> None:
        body = serialize(reply)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    JSON_CONTENT_TYPE,
                    (b"content-length", str(len(body)).encode()),
                    *extra_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # ------------------------------------------------------------------ GET

    async def _get(self, receive: ASGIReceive, send: ASGISend, headers: Headers) -> None:
        # spec basic/transports, "Listening for Messages from the Server": "The client MUST
        # include an Accept header, listing text/event-stream as a supported content type."
        if b"text/event-stream" not in media_types(headers.get(b"accept", b"")):
            await NOT_ACCEPTABLE_GET.respond(send)
            return
        found = self._find_session(headers)
        if isinstance(found, HTTPError):
            await found.respond(send)
            return
        session = found
        if session.event_stream is not None:
            await STREAM_ALREADY_OPEN.respond(send)
            return
        event_stream = _EventStream(self._max_queued_events)
        session.event_stream = event_stream
        watcher = asyncio.ensure_future(_wait_for_disconnect(receive, event_stream))
        getter: asyncio.Future[bytes] | None = None
        logger.debug("session %s: GET stream opened", short_id(session.session_id))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(event_stream.queue.get())
                done, _ = await asyncio.wait(
                    (getter, event_stream.stopped),
                    timeout=self._keepalive_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if event_stream.stopped.done():
                    break
                if getter in done:
                    event = getter.result()
                    getter = None
                else:
                    event = KEEPALIVE
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if session.event_stream is event_stream:
                session.event_stream = None
            event_stream.stop()
            for task in (watcher, getter):
                if task is not None and not task.done():
                    task.cancel()
            await asyncio.gather(
                *(task for task in (watcher, getter) if task is not None), return_exceptions=True
            )
            logger.debug("session %s: GET stream closed", short_id(session.session_id))

    # ------------------------------------------------------------------ DELETE

    async def _delete(self, send: ASGISend, headers: Headers) -> None:
        found = self._find_session(headers)
        if isinstance(found, HTTPError):
            await found.respond(send)
            return
        # spec basic/transports, "Session Management": clients "SHOULD send an HTTP DELETE to
        # the MCP endpoint with the Mcp-Session-Id header, to explicitly terminate the session".
        del self._sessions[found.session_id]
        found.close()
        logger.info(
            "session %s: deleted (%d open)", short_id(found.session_id), len(self._sessions)
        )
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """End every session (at server shutdown)."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            session.close()
        if sessions:
            logger.info("closed %d session(s)", len(sessions))


async def _wait_for_disconnect(receive: ASGIReceive, event_stream: _EventStream) -> None:
    """Stop ``event_stream`` when the client disconnects (ASGI ``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    event_stream.stop()
