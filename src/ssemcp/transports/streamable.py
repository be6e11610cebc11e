"""The Streamable HTTP transport (MCP 2025-03-26 to 2025-11-25): sessions over one endpoint.

Owns the wire of spec 2025-11-25 basic/transports, "Streamable HTTP": which method, header and
body earns which status; the ``Mcp-Session-Id`` sessions (created by ``initialize``, ended by
``DELETE``, by the idle sweep, or at shutdown) and the principal each is bound to; answering a
POST as one JSON body or, once a handler emits a message, as an SSE stream; the standalone
``GET`` stream; event ids, priming events and ``Last-Event-ID`` resumption ("Resumability and
Redelivery", SEP-1699); and the stateless and JSON-only modes. It does not interpret MCP:
messages go to a :class:`~ssemcp.server.connection.ServerConnection` (or another
``ssemcp.server.hosted`` session: the bridge's relay). Host and Origin checks,
authentication, routing and the ``Content-Length`` bound are the ASGI app's (``ssemcp.http``);
what an event log keeps is ``ssemcp.state.events``'.

The hot path (a POST holding a ``tools/call`` answered as JSON) runs the handler inline in the
ASGI task: no task group, no queue, no extra task. A POST whose reply became SSE gets one
helper task (it notices the client leaving and sends keepalive comments). A reader in another
task (a GET stream) follows the session's event log, woken by a ``_Signal``; the log is
the bounded buffer, so there is no queue at all.

Resumption (spec: "If the client wishes to resume after a disconnection ... it SHOULD issue an
HTTP GET to the MCP endpoint, and include the Last-Event-ID header"): every SSE event a session
sends carries an id naming its stream and is recorded in the session's log. A GET with
``Last-Event-ID`` replays what that stream sent after the id, then follows it live; for a POST
stream whose request has finished, it replays the rest and ends. A handler whose client left
keeps running and its messages go to the log. An id we cannot resume from (malformed, longer
than ``MAX_EVENT_ID_LENGTH``, issued to another session, or older than the log keeps) gets
**400**, not a fresh stream: a fresh stream would silently skip what was lost. The client
may open a fresh GET stream without the header. The id carries a random per-session tag, so
another session's id is never mistaken for one of ours.

Not yet here: a server-side close of a POST stream mid-call (SEP-1699 polling: it needs a
``Context`` method), the sessionless 2026-07-28 leg.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import functools
import logging
import secrets
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import orjson

from ssemcp._types import JSONObject
from ssemcp.asgi import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    JSON_CONTENT_TYPE,
    PRINCIPAL_KEY,
    SSE_HEADERS,
    ASGIReceive,
    ASGISend,
    Headers,
    HTTPError,
    Payload,
    Scope,
    media_types,
    receive_payload,
    short_id,
    uncancel_current_task,
)
from ssemcp.asgi.deadlines import Deadlines, deadlines_in_running_loop
from ssemcp.asgi.shortcuts import header_lines, on_disconnect, send_whole_response
from ssemcp.errors import InvalidRequest, RequestError, UnsupportedProtocolVersion
from ssemcp.jsonrpc import (
    JSONRPC_VERSION,
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    dumps,
    error_response,
    serialize,
)
from ssemcp.observe.calls import CANCELLED, CUT_OFF, OK, STOPPED
from ssemcp.observe.listens import ListenObservation
from ssemcp.observe.refused import answered_with_error, refused
from ssemcp.protocol.request_context import Principal
from ssemcp.protocol.revisions import SUPPORTED_VERSIONS, V2025_03_26, Revision, revision_for
from ssemcp.protocol.sessionless import META_SERVER_INFO, is_sessionless, routing_headers
from ssemcp.server.connection import ServerConnection
from ssemcp.server.hosted import HostedSession, SessionFactory, SessionRefused
from ssemcp.server.listen import DEFAULT_MAX_BACKLOG
from ssemcp.server.mrtr import InputRound
from ssemcp.server.registry import Server
from ssemcp.server.sessionless import (
    HTTP_STATUS,
    LISTEN,
    OpenListen,
    ServeSessionless,
    Subscription,
    completed_result,
    open_listen,
    prepare_sessionless,
    serve_sessionless,
    sessionless_completed,
    sessionless_failed,
    start_sessionless,
)
from ssemcp.sse import KEEPALIVE, encode_event
from ssemcp.state.events import (
    DEFAULT_MAX_LOGGED_BYTES,
    DEFAULT_MAX_LOGGED_EVENTS,
    EventLog,
    EventLogFactory,
    LoggedEvent,
    MemoryEventLog,
    Position,
)
from ssemcp.state.shared import SessionRecord, SharedSessions, StateUnavailable, random_id_base
from ssemcp.transports.drain import Drain, cut_error, cut_replies
from ssemcp.transports.memory import MemoryReclaimer
from ssemcp.transports.sse_writer import Flusher, FrameCache, KeepaliveSweep, SSEWriter

if TYPE_CHECKING:
    from ssemcp.transports.replicas import Replicas

__all__ = [
    "DEFAULT_KEEPALIVE_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_SESSIONS",
    "DEFAULT_RETRY_MILLISECONDS",
    "DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS",
    "ASGIReceive",
    "ASGISend",
    "HTTPError",
    "Scope",
    "StreamableHTTPTransport",
]

logger = logging.getLogger(__name__)

# Each session holds a ServerConnection (a few KiB) and its event log (bounded by
# ssemcp.state.events); 10 000 sessions fit in tens of MiB when idle, and a client that opens
# more without DELETE-ing any is misbehaving.
DEFAULT_MAX_SESSIONS: Final = 10_000
# The reconnection time a priming event asks for (WHATWG "retry" field, milliseconds). The
# pinned python-sdk client waits 1000 ms when a server names none; we name the same.
DEFAULT_RETRY_MILLISECONDS: Final = 1000
# Sessions with nothing in flight and no stream open for this long are closed. Clients do not
# always DELETE (the conformance suite abandons ~32 sessions per run); 30 minutes outlasts a
# person stepping away from a chat, and bounds what abandoned sessions hold.
DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS: Final = 30 * 60.0
# The idle sweep runs every quarter of the timeout (a session lives at most 1.25 times it),
# but at least once a minute.
_MAX_SWEEP_INTERVAL_SECONDS: Final = 60.0
# The standalone GET stream is stream 0 of its session; POST reply streams count from 1.
_STANDALONE_STREAM: Final = 0
# Messages for the GET stream held until the client opens it (they go out first on it); a
# session that never opens one holds no more than this.
_MAX_HELD_BEFORE_GET: Final = 16
MCP_SESSION_ID: Final = b"mcp-session-id"
MCP_PROTOCOL_VERSION: Final = b"mcp-protocol-version"
LAST_EVENT_ID: Final = b"last-event-id"
_SUPPORTED_VERSION_BYTES: Final = frozenset(version.encode() for version in SUPPORTED_VERSIONS)
# A peer's header value shown in a log line is cut to this many characters.
_MAX_LOGGED_HEADER: Final = 64
_END_OF_BODY: Final = {"type": "http.response.body", "body": b"", "more_body": False}


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
# "Servers that require a session ID SHOULD respond to requests without an Mcp-Session-Id
# header (other than initialization) with HTTP 400 Bad Request."
MISSING_SESSION: Final = HTTPError(
    400, InvalidRequest("Bad Request: Mcp-Session-Id header is required")
)
# "The server MAY terminate the session at any time, after which it MUST respond to requests
# containing that session ID with HTTP 404 Not Found." Also the answer to a session id
# presented by another principal: a session id is never a credential.
UNKNOWN_SESSION: Final = HTTPError(404, InvalidRequest("Not Found: no such session"))
TOO_MANY_SESSIONS: Final = HTTPError(
    503, InvalidRequest("Service Unavailable: too many sessions"), ((b"retry-after", b"5"),)
)
# "The server MUST either return Content-Type: text/event-stream in response to this HTTP GET,
# or else return HTTP 405"; a second stream for one session is a conflict, not an absence.
STREAM_ALREADY_OPEN: Final = HTTPError(
    409, InvalidRequest("Conflict: this session already has a GET stream open")
)
# "Resumability and Redelivery" leaves unknown ids to the server; see the module docstring.
CANNOT_RESUME: Final = HTTPError(
    400,
    InvalidRequest(
        "Bad Request: cannot resume from this Last-Event-ID (unknown or no longer kept); "
        "open a GET stream without it"
    ),
)
METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed"), ((b"allow", b"GET, POST, DELETE"),)
)
# Stateless: no session, so no stream to listen on and nothing to delete.
# spec 2026-07-28 basic/transports/streamable-http, "Backward Compatibility": a GET or DELETE
# "respond with 405 Method Not Allowed" (a request that stands alone has no stream or session).
SESSIONLESS_METHOD_NOT_ALLOWED: Final = HTTPError(
    405,
    InvalidRequest("Method Not Allowed: a 2026-07-28 request is a POST"),
    ((b"allow", b"POST"),),
)
# basic/transports/streamable-http: "The client MUST NOT send JSON-RPC responses", and a
# request that stands alone is one request, not a batch.
NOT_ONE_REQUEST: Final = HTTPError(
    400, InvalidRequest("Invalid Request: a 2026-07-28 POST carries one JSON-RPC request")
)
STATELESS_METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed: this server is stateless"), ((b"allow", b"POST"),)
)
_ACCEPTED_HEADERS: Final = [(b"content-length", b"0")]
# A request refused because the server is draining (ssemcp.transports.drain): RFC 9110
# section 15.6.4, and "Connection: close" so that the client's next request goes elsewhere.
_SHUTTING_DOWN_HEADERS: Final = ((b"retry-after", b"1"), (b"connection", b"close"))


def _carries_request(payload: Payload) -> bool:
    if type(payload) is Request:
        return True
    return type(payload) is list and any(type(item) is Request for item in payload)


def _request_ids(payload: Payload | None) -> list[RequestId]:
    """The ids of the requests ``payload`` carries."""
    if type(payload) is Request:
        return [payload.id]
    if type(payload) is list:
        return [item.id for item in payload if type(item) is Request]
    return []


def _shutting_down(payload: Payload) -> HTTPError:
    """The 503 that answers a request arriving while the server drains, by its id."""
    request_id = payload.id if type(payload) is Request else None
    return HTTPError(
        503,
        InvalidRequest("Service Unavailable: the server is shutting down"),
        _SHUTTING_DOWN_HEADERS,
        request_id,
    )


# Memoised: clients send the same Accept header on every request. A pure function of its
# argument, bounded, so a client cycling values only evicts entries.
@functools.lru_cache(maxsize=64)
def _accepts_json_and_sse(header: bytes) -> bool:
    types = media_types(header)
    return b"application/json" in types and b"text/event-stream" in types


_JSON_HEADER_LINES: Final = header_lines([JSON_CONTENT_TYPE])


async def _send_json(
    send: ASGISend, body: bytes, extra_headers: Sequence[tuple[bytes, bytes]], status: int = 200
) -> None:
    """Answer ``status`` with the JSON ``body``: in one step where the server allows it."""
    lines = (
        _JSON_HEADER_LINES
        if not extra_headers
        else header_lines([JSON_CONTENT_TYPE, *extra_headers])
    )
    if send_whole_response(send, status, lines, body):
        return
    headers = [JSON_CONTENT_TYPE, (b"content-length", str(len(body)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _frame(event: LoggedEvent) -> bytes:
    return encode_event(event.data.decode(), id=event.event_id)


def _data_event(message: Message | Sequence[Message]) -> bytes:
    # ``serialize`` writes compact JSON, which escapes every CR and LF, so the payload is one
    # data line as it is: the bytes ``encode_event`` would build, without decoding it again.
    return b"data: " + serialize(message) + b"\n\n"


class _Listening:
    """One open ``subscriptions/listen`` on HTTP: its subscription, the writer of its
    stream, and why the stream ends if not because its client left."""

    __slots__ = ("_task", "is_cut_off", "is_stopping", "stream", "writer")

    def __init__(self, stream: Subscription, frames: FrameCache, flusher: Flusher) -> None:
        self.stream = stream
        self.is_cut_off = False
        self.is_stopping = False
        self._task: asyncio.Task[object] | None = None
        # A subscriber DEFAULT_MAX_BACKLOG notifications behind is cut off, not buffered.
        self.writer = SSEWriter(
            f"subscription {stream.subscription_id!r}",
            frames,
            flusher,
            DEFAULT_MAX_BACKLOG,
            DEFAULT_MAX_BACKLOG,
            self._cut_off,
        )

    @property
    def is_over(self) -> bool:
        return self.is_cut_off or self.is_stopping

    def holding(self) -> asyncio.Task[object]:
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        return task

    def released(self) -> None:
        self._task = None

    def stop(self) -> None:
        """The server is stopping: the stream ends with the subscription's final result."""
        self.is_stopping = True
        self.stream.close()
        if self._task is not None:
            self._task.cancel()

    def _cut_off(self) -> None:
        self.is_cut_off = True
        self.stream.close()
        if self._task is not None:
            self._task.cancel()


async def _drop(message: Message) -> None:
    """The session channel of a stateless request: there is no stream to put it on."""


class _Signal:
    """A flag that calls its wakers when set: ``asyncio.Event`` without the deque of waiters
    (~760 bytes per event; every idle GET stream holds one)."""

    __slots__ = ("_is_set", "_wakers")

    def __init__(self) -> None:
        self._is_set = False
        self._wakers: list[Callable[[], None]] | None = None

    def is_set(self) -> bool:
        return self._is_set

    def set(self) -> None:
        if self._is_set:
            return
        self._is_set = True
        if self._wakers:
            for wake in list(self._wakers):
                wake()

    def clear(self) -> None:
        self._is_set = False

    def add_waker(self, wake: Callable[[], None]) -> None:
        if self._wakers is None:
            self._wakers = []
        self._wakers.append(wake)

    def remove_waker(self, wake: Callable[[], None]) -> None:
        if self._wakers is not None and wake in self._wakers:
            self._wakers.remove(wake)


class _Reader:
    """A GET request's task following a stream, and the one wait it makes when idle.

    It waits in ``receive()`` alone, for the client to leave, as the ceiling's stream does,
    rather than keeping a second task for that: a change to the stream, or a keepalive
    falling due, wakes it by cancelling that ``receive()``. (uvicorn's ``receive`` keeps
    nothing across a cancelled wait.) That saves a task, its coroutine and a future per
    idle stream. A cancellation that is not ours (shutdown) goes on as usual.
    """

    __slots__ = ("_is_parked", "_receive", "_task", "_timed_out", "_woken", "disconnected")

    def __init__(self, receive: ASGIReceive) -> None:
        self._receive = receive
        self._task: asyncio.Task[object] | None = None
        self._is_parked = False
        self._woken = False
        self._timed_out = False
        self.disconnected = False

    def wake(self) -> None:
        """Called from anywhere: end the current wait, if there is one."""
        if self._is_parked and not self._woken:
            assert self._task is not None
            self._woken = True
            self._task.cancel()

    def _time_out(self) -> None:
        self._timed_out = True
        self.wake()

    async def wait(self, deadlines: Deadlines, timeout_seconds: float) -> bool:
        """Until woken, or the client leaves (``disconnected``): True; or until about
        ``timeout_seconds`` pass: False."""
        task = self._task = asyncio.current_task()
        assert task is not None
        self._timed_out = False
        self._is_parked = True
        deadlines.set(self, deadlines.loop.time() + timeout_seconds, self._time_out)
        try:
            while True:
                # The first one may still be the (empty) request body.
                if (await self._receive())["type"] == "http.disconnect":
                    self.disconnected = True
                    return True
        except asyncio.CancelledError:
            if not self._woken or task.uncancel() > 0:
                raise
            return not self._timed_out
        finally:
            self._is_parked = False
            self._woken = False
            deadlines.discard(self)


class _Stream:
    """One SSE stream of a session: a POST's reply (1, 2, ...) or the standalone GET one (0).

    What it sends is recorded in the session's log. At most one *reader* delivers it: the POST
    response while its client is connected, or the GET that resumed it. A new reader replaces
    the old one, which stops: spec basic/transports, "The server MUST send each of its JSON-RPC
    messages on only one of the connected streams".
    """

    __slots__ = ("changed", "is_finished", "reader", "stream_id")

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        self.is_finished = False
        self.reader: object | None = None
        # Set on every append, on finishing, on a new reader and when the session ends.
        self.changed = _Signal()

    def attach(self, reader: object) -> None:
        self.reader = reader
        self.changed.set()

    def detach(self, reader: object) -> None:
        if self.reader is reader:
            self.reader = None


class _Session:
    """One ``Mcp-Session-Id``: its connection, its streams and event log, who may use it."""

    __slots__ = (
        "_drain_lock",
        "_drainer",
        "_event_log",
        "_lost_pending",
        "_max_pending",
        "_new_event_log",
        "_pending",
        "_standalone",
        "busy",
        "connection",
        "is_closed",
        "last_active",
        "next_stream_id",
        "principal",
        "saved_record",
        "session_id",
        "shared",
        "standalone_opened",
        "standalone_resumable_from",
        "streams",
    )

    def __init__(
        self,
        server: Server,
        session_id: str,
        principal: Principal | None,
        new_event_log: EventLogFactory,
        max_pending: int,
        now: float,
        connect: SessionFactory | None = None,
        shared: SharedSessions | None = None,
    ) -> None:
        self.session_id = session_id
        self.principal = principal
        # With replicas (ssemcp.state.redis): where the session's record lives, and the record
        # as last saved or loaded here. Stream and request ids start at a random place per
        # replica's copy, so that two copies never issue the same one.
        self.shared = shared
        self.saved_record: SessionRecord | None = None
        first_request_id = 1 if shared is None else random_id_base()
        # The log and the GET stream's record are made when first needed: most sessions
        # never send an SSE event, and a session per request is a common client pattern.
        self._new_event_log = new_event_log
        self._event_log: EventLog | None = None
        self._standalone: _Stream | None = None
        self.is_closed = False
        # Until a GET stream opens, messages for it are dropped rather than logged.
        self.standalone_opened = False
        # Messages for the GET stream not yet in the log: they are posted without waiting
        # (fan-out), and the log may wait. Bounded like the log itself; when the oldest had to
        # go, a position before the next logged event cannot be resumed (it would skip them).
        # Made when first needed: an empty deque takes ~600 bytes, and most sessions (and
        # most idle GET streams, bench scenario d) are never sent anything.
        self._pending: collections.deque[bytes] | None = None
        self._max_pending = max_pending
        self._lost_pending = False
        self._drainer: asyncio.Task[None] | None = None
        self._drain_lock: asyncio.Lock | None = None
        self.standalone_resumable_from = 0
        # POST reply streams still running, by stream number.
        self.streams: dict[int, _Stream] = {}
        self.next_stream_id = first_request_id
        # Requests being handled plus GET streams open: the idle sweep spares a busy session.
        self.busy = 0
        self.last_active = now
        self.connection: HostedSession = (
            ServerConnection(
                server,
                self.send,
                send_nowait=self.send_nowait,
                principal=principal,
                first_request_id=first_request_id,
            )
            if connect is None
            else connect(
                self.send,
                send_nowait=self.send_nowait,
                principal=principal,
                session_id=session_id,
            )
        )

    @property
    def revision(self) -> Revision:
        return self.connection.revision

    @property
    def event_log(self) -> EventLog:
        event_log = self._event_log
        if event_log is None:
            event_log = self._event_log = self._new_event_log(self.session_id)
        return event_log

    @property
    def standalone(self) -> _Stream:
        """The record of the standalone GET stream (stream 0)."""
        stream = self._standalone
        if stream is None:
            stream = self._standalone = _Stream(_STANDALONE_STREAM)
        return stream

    def open_stream(self) -> _Stream:
        stream = _Stream(self.next_stream_id)
        self.next_stream_id += 1
        self.streams[stream.stream_id] = stream
        return stream

    def finish_stream(self, stream: _Stream) -> None:
        stream.is_finished = True
        self.streams.pop(stream.stream_id, None)
        stream.changed.set()
        if self.shared is not None:
            # A replica following it for a resuming GET ends it there too.
            self.shared.stream_finished(self.session_id, stream.stream_id)

    async def send(self, message: Message) -> None:
        """The session's own channel: messages not tied to a request go to the GET stream."""
        if self.shared is not None and not self.holds_standalone:
            # Its GET stream, if any, is on another replica: log it there and say so.
            await self.event_log.append(_STANDALONE_STREAM, serialize(message))
            await self.shared.wake(self.session_id)
            return
        self.send_nowait(message)

    @property
    def holds_standalone(self) -> bool:
        """Whether this process is serving the session's GET stream now."""
        return self._standalone is not None and self._standalone.reader is not None

    def send_nowait(self, message: Message) -> bool:
        """:meth:`send` without waiting (it never has to): always True.

        The message waits in a bounded queue for the log; the GET stream's reader moves it
        there (and out to its client), or, with no reader connected, a task does.

        With replicas, it goes to the shared log (once, however many replicas serving the
        session post it: each hears the bus), whether or not a replica holds the GET stream;
        the holder, wherever it is, is woken to read it from there.
        """
        if self.shared is not None:
            self.shared.post_to_stream(self.session_id, serialize(message))
            return True
        pending = self._pending
        if pending is None:
            pending = self._pending = collections.deque(maxlen=self._max_pending)
        if not self.standalone_opened:
            # spec basic/transports: with no stream open, the server has nowhere to put it.
            # Clients open it just after `initialized`, and a server (a bridged child) may ask
            # something at once: the first few wait for it, the rest are dropped.
            if len(pending) < min(_MAX_HELD_BEFORE_GET, pending.maxlen or 0):
                pending.append(serialize(message))
            else:
                logger.debug(
                    "session %s: no GET stream, dropped a message", short_id(self.session_id)
                )
            return True
        if len(pending) == pending.maxlen:
            self._lost_pending = True
        pending.append(serialize(message))
        stream = self.standalone
        if stream.reader is None:
            self.log_pending_soon()
        stream.changed.set()
        return True

    def log_pending_soon(self) -> None:
        """With no reader to do it: log what is queued in a task of its own."""
        if self._pending and self._drainer is None:
            self._drainer = asyncio.ensure_future(self._drain_in_background())

    async def log_pending(self) -> None:
        """Move the GET stream's queued messages into the log, in order."""
        if not self._pending:
            return
        lock = self._drain_lock
        if lock is None:
            lock = self._drain_lock = asyncio.Lock()
        async with lock:
            pending, event_log = self._pending, self.event_log
            while pending:
                lost, self._lost_pending = self._lost_pending, False
                event = await event_log.append(_STANDALONE_STREAM, pending.popleft())
                if lost:
                    self.standalone_resumable_from = event.sequence

    async def _drain_in_background(self) -> None:
        try:
            await self.log_pending()
        except Exception:
            logger.exception("session %s: the event log failed", short_id(self.session_id))
        finally:
            self._drainer = None

    async def send_related_on_get_stream(self, message: Message) -> None:
        """JSON-response mode: a handler's messages go to the GET stream, if one is open.

        A request to the client (sampling, elicitation) fails at once when no GET stream is
        connected: its answer could never come, and the tool gets an error result instead
        of waiting for the request timeout.
        """
        if (
            type(message) is Request
            and self.shared is None
            and (self._standalone is None or self._standalone.reader is None)
        ):
            raise RequestError(f"{message.method} needs a GET stream open to reach the client")
        await self.send(message)

    def close(self) -> None:
        self.is_closed = True
        if self._drainer is not None:
            self._drainer.cancel()
        if self._standalone is not None:
            self._standalone.changed.set()
        for stream in self.streams.values():
            stream.changed.set()
        self.connection.close()


class _ReplyStream:
    """The per-request ``send`` of a POST: upgrades the response to SSE on its first message.

    spec 2025-11-25 basic/transports: the server "MUST either return Content-Type:
    text/event-stream, to initiate an SSE stream, or Content-Type: application/json, to return
    one JSON object". We answer JSON unless the handler emits something before its result.

    With a session, each event gets an id and goes to the session's log; after the client
    disconnects (or resumes the stream on a GET), events still go to the log but no longer to
    this response. Without one (stateless), events carry no id.
    """

    __slots__ = (
        "_headers",
        "_keepalive_seconds",
        "_on_disconnect",
        "_receive",
        "_send",
        "_session",
        "_stream",
        "_watcher",
        "answers",
        "is_connected",
        "started",
    )

    def __init__(
        self,
        send: ASGISend,
        receive: ASGIReceive,
        headers: Sequence[tuple[bytes, bytes]],
        session: _Session | None,
        keepalive_seconds: float,
        on_disconnect: Callable[[], object] | None = None,
    ) -> None:
        self._on_disconnect = on_disconnect
        self._send = send
        self._receive = receive
        self._headers = headers
        self._session = session
        self._keepalive_seconds = keepalive_seconds
        self._stream: _Stream | None = None
        self._watcher: asyncio.Future[None] | None = None
        self.is_connected = True
        self.started = False
        # With replicas: what the POST carried, whose requests the stream's record names.
        self.answers: Payload | None = None

    @property
    def _is_reader(self) -> bool:
        return self.is_connected and (self._stream is None or self._stream.reader is self)

    async def __call__(self, message: Message) -> None:
        if not self.started:
            await self._start()
        await self.write(message)

    async def _start(self) -> None:
        self.started = True
        # The header list is built here, not per POST: most replies never upgrade to SSE.
        headers = [*SSE_HEADERS, *self._headers]
        await self._send({"type": "http.response.start", "status": 200, "headers": headers})
        session = self._session
        if session is not None:
            stream = self._stream = session.open_stream()
            stream.attach(self)
            # spec 2025-11-25 basic/transports (SEP-1699): the server "SHOULD immediately send
            # an SSE event consisting of an event ID and an empty data field in order to prime
            # the client to reconnect". Decided by the revision the session negotiated, not the
            # request's header (the conformance suite sends 2025-03-26 there).
            priming: LoggedEvent | None = None
            if session.shared is not None:
                # With it, the record of which replica runs it (ssemcp.transports.replicas).
                priming = await session.shared.open_reply_stream(
                    session.session_id,
                    stream.stream_id,
                    _request_ids(self.answers),
                    primed=session.revision.sse_priming,
                )
            elif session.revision.sse_priming:
                priming = await session.event_log.append(stream.stream_id, b"")
            if priming is not None:
                await self._send_body(
                    encode_event("", id=priming.event_id, retry=DEFAULT_RETRY_MILLISECONDS)
                )
        # Only now that the reply is a stream: a JSON reply never needs to watch.
        self._watcher = asyncio.ensure_future(self._watch())

    async def write(self, message: Message) -> None:
        data = serialize(message)
        stream = self._stream
        if stream is None:
            frame = encode_event(data.decode())
        else:
            assert self._session is not None
            event = await self._session.event_log.append(stream.stream_id, data)
            stream.changed.set()
            frame = _frame(event)
        if self._is_reader:
            # uvicorn drops writes after a disconnect, so a handler's progress report never
            # fails because its client left; the log keeps it for a resuming GET.
            await self._send_body(frame)

    async def _send_body(self, body: bytes) -> None:
        await self._send({"type": "http.response.body", "body": body, "more_body": True})

    async def _watch(self) -> None:
        """Notice the client leaving; keep a long-running reply alive with comments."""
        while True:
            try:
                async with asyncio.timeout(self._keepalive_seconds):
                    message = await self._receive()
            except TimeoutError:
                if self._is_reader:
                    await self._send_body(KEEPALIVE)
                continue
            if message["type"] == "http.disconnect":
                self.lost()
                return

    def cancels(self, task: asyncio.Task[object]) -> None:
        """From now on the client's leaving cancels ``task`` (a request that stands alone)."""
        self._on_disconnect = task.cancel

    def served(self) -> None:
        """The request is answered: from now on the client's leaving cancels nothing."""
        self._on_disconnect = None

    def lost(self) -> None:
        """The client went away (its ``receive`` said so, or the server did)."""
        if not self.is_connected:
            return
        self.is_connected = False
        if self._stream is not None:
            self._stream.detach(self)
            logger.debug("stream %d: the client left", self._stream.stream_id)
        if self._on_disconnect is not None:
            self._on_disconnect()

    async def end(self) -> None:
        watcher = self._watcher
        if watcher is not None and not watcher.done():
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        is_reader = self._is_reader
        if self._stream is not None:
            assert self._session is not None
            self._session.finish_stream(self._stream)
            self._stream.detach(self)
        if is_reader:
            await self._send(_END_OF_BODY)


def _refused(exc: SessionRefused, payload: Payload) -> HTTPError:
    request_id = payload.id if type(payload) is Request else None
    return HTTPError(
        503,
        InvalidRequest(f"Service Unavailable: {exc}"),
        ((b"retry-after", b"5"),),
        request_id,
    )


_T = TypeVar("_T")


@types.coroutine
def _resumed(coroutine: Coroutine[Any, Any, _T], yielded: object) -> Generator[Any, None, _T]:
    """Await the rest of ``coroutine``, run by hand until it yielded ``yielded``: what the
    task sends or throws in reaches it, as if it had been awaited from the start
    (tests/transports/test_resumed.py)."""
    while True:
        try:
            # An asyncio task resumes a coroutine with None; only a throw needs passing on.
            yield yielded
        except BaseException as exc:
            try:
                yielded = coroutine.throw(exc)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
        else:
            return (yield from coroutine)  # type: ignore[no-any-return]


# What a ServeSessionless returns.
_Serving = Coroutine[Any, Any, Response | ErrorResponse]


async def _completed(
    server: Server,
    request: Request,
    channel: InputRound | None,
    serving: Coroutine[Any, Any, Any],
    yielded: object,
) -> Response | ErrorResponse:
    """The rest of serve_sessionless's steps for a request whose dispatch, run by hand until
    it yielded ``yielded``, waits: its completed result, or what a failure answers."""
    try:
        return sessionless_completed(server, request, await _resumed(serving, yielded))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return sessionless_failed(server, request, channel, exc)


async def _refuse_sessionless(send: ASGISend, payload: Payload, headers: Headers) -> None:
    """spec 2026-07-28 basic/versioning: a server that "does not implement the requested
    version ... MUST respond with an UnsupportedProtocolVersionError listing the versions it
    does support" (here the session revisions: the client falls back to ``initialize``)."""
    version = headers.get(MCP_PROTOCOL_VERSION)
    requested = version.decode("latin-1")[:_MAX_LOGGED_HEADER] if version else "2026-07-28"
    error = UnsupportedProtocolVersion(
        f"Unsupported protocol version: {requested}; this endpoint speaks "
        f"{', '.join(reversed(SUPPORTED_VERSIONS))} (initialize first)",
        data={"supported": list(reversed(SUPPORTED_VERSIONS)), "requested": requested},
    )
    request_id = payload.id if type(payload) is Request else None
    await HTTPError(400, error, (), request_id).respond(send)


def _is_initialize(payload: Payload) -> bool:
    return type(payload) is Request and payload.method == "initialize"


class StreamableHTTPTransport:
    """Serves ``server`` at one MCP endpoint; the ASGI app routes requests for it here.

    Args:
        server: the registry every session serves.
        max_body_bytes: the largest POST body read; larger gets 413.
        max_sessions: live sessions at most; an ``initialize`` past it gets 503.
        keepalive_seconds: how often an idle SSE stream (GET, or a long POST reply) gets a
            comment.
        stateless: no sessions. Each POST gets a fresh connection that takes the request as
            already initialized (at the ``MCP-Protocol-Version`` it names, else 2025-03-26 as
            spec basic/transports says to assume); no ``Mcp-Session-Id`` is issued; GET and
            DELETE get 405. Requests to the client (sampling, elicitation, roots) cannot work:
            the client's answer would arrive on another POST with nothing to route it to, so
            they fail at once and the tool gets an error result.
        json_response: every POST reply is one ``application/json`` body. Messages a handler
            emits during the call (progress, logs) go to the session's GET stream when one is
            open and are dropped otherwise; a request to the client goes there too, and fails
            at once (an error result for the tool) when no GET stream is connected.
        session_idle_timeout_seconds: a session with nothing in flight and no GET stream
            open for this long is closed (later requests get 404). None: never.
        max_logged_events: events each session's log keeps for resumption.
        max_logged_bytes: bytes of data each session's log keeps.
        event_logs: makes a session's event log, given its id; in memory, bounded by the two
            above, unless given (replicas share a log in Redis).
        clock: monotonic seconds (tests inject a fake).
        sessions: makes each session's :class:`~ssemcp.server.hosted.HostedSession`
            (default: a ``ServerConnection`` serving ``server``); may refuse (503).
        sessionless: serve 2026-07-28 requests that stand alone (on ``server``). False: answer
            them 400 with -32022 listing the session revisions, as a server of 2025 and
            earlier only (spec 2026-07-28 basic/versioning), so that a client falls back to
            ``initialize``. A callable: serve them with it instead (``ssemcp bridge``).
        listen: opens a ``subscriptions/listen`` instead of ``open_listen`` on ``server``
            (``ssemcp bridge``: on a child).
        shared: keep session records and event logs there (``ssemcp.state.redis``), so that
            any replica serves any request of any session; an unreachable store gets 503.
    """

    def __init__(
        self,
        server: Server,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
        stateless: bool = False,
        json_response: bool = False,
        session_idle_timeout_seconds: float | None = DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS,
        max_logged_events: int = DEFAULT_MAX_LOGGED_EVENTS,
        max_logged_bytes: int = DEFAULT_MAX_LOGGED_BYTES,
        event_logs: EventLogFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        sessions: SessionFactory | None = None,
        sessionless: bool | ServeSessionless = True,
        listen: OpenListen | None = None,
        drain: Drain | None = None,
        shared: SharedSessions | None = None,
    ) -> None:
        if keepalive_seconds <= 0:
            raise ValueError("keepalive_seconds must be positive")
        if session_idle_timeout_seconds is not None and session_idle_timeout_seconds <= 0:
            raise ValueError("session_idle_timeout_seconds must be positive (or None)")
        self._server = server
        self._max_body_bytes = max_body_bytes
        self._max_sessions = max_sessions
        self._keepalive_seconds = keepalive_seconds
        self._stateless = stateless
        self._json_response = json_response
        self._idle_timeout_seconds = session_idle_timeout_seconds
        self._max_logged_events = max_logged_events
        self._max_logged_bytes = max_logged_bytes
        self._event_logs: EventLogFactory = event_logs or self._memory_event_log
        # Sessions valid on every replica (ssemcp.state.redis); None: this process's alone.
        self._shared = shared
        self._replicas: Replicas | None = None
        if shared is not None:
            if sessions is not None:
                raise ValueError("sessions shared by replicas are ServerConnections: no factory")
            self._event_logs = shared.event_log
            # Imported here: a transport of one process never loads it.
            from ssemcp.transports.replicas import Replicas

            self._replicas = Replicas(self, shared)
        self._clock = clock
        self._connect = sessions
        self._serves_sessionless = sessionless is not False
        # The serverInfo _meta of 2026-07-28 results, serialized once (_new_server_meta).
        self._server_info: JSONObject | None = None
        self._server_meta: orjson.Fragment | None = None
        self._serve_sessionless: ServeSessionless = (
            serve_sessionless if isinstance(sessionless, bool) else sessionless
        )
        self._open_listen = listen
        self._sessions: dict[str, _Session] = {}
        # The calls in flight, drained at shutdown (shared with the app's other transport).
        self._drain = drain or Drain()
        # Shutdown is ending the streams: a GET stream ends with a reconnection hint.
        self._is_stopping = False
        # Open subscriptions/listen streams (2026-07-28), bounded by max_sessions too.
        self._listens: set[_Listening] = set()
        self._flusher = Flusher()
        self._listen_frames = FrameCache(_data_event)
        self._listen_keepalives = KeepaliveSweep(
            keepalive_seconds, lambda: (listening.writer for listening in self._listens)
        )
        # The loop requests run on, taken at the first request that stands alone.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        # When each idle GET stream is due a keepalive comment; made in the serving loop.
        self._keepalive_deadlines: Deadlines | None = None
        # Hands memory back to the OS once a burst of sessions has ended.
        self._reclaimer = MemoryReclaimer()

    def _keepalives(self) -> Deadlines:
        deadlines = self._keepalive_deadlines = deadlines_in_running_loop(
            self._keepalive_deadlines, self._keepalive_seconds
        )
        return deadlines

    def _memory_event_log(self, session_id: str) -> EventLog:
        return MemoryEventLog(self._max_logged_events, self._max_logged_bytes)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def handle(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers
    ) -> Awaitable[None]:
        """Answer one HTTP request to the MCP endpoint; Host and Origin are already checked.

        Returns the awaitable that answers it (a plain function: one frame fewer per request).
        """
        method = scope["method"]
        if method not in ("POST", "GET", "DELETE"):
            return METHOD_NOT_ALLOWED.respond(send)
        version = headers.get(MCP_PROTOCOL_VERSION)
        # Any session revision passes, even one other than the session's: clients (and the
        # conformance suite) are not consistent about which one they send. Any other version
        # is a request that stands alone (2026-07-28), whose path answers an unknown one with
        # -32022 (spec 2026-07-28 basic/versioning).
        if version is not None and version not in _SUPPORTED_VERSION_BYTES:
            if method == "POST":
                return self._post_sessionless(scope, receive, send, headers, None)
            return SESSIONLESS_METHOD_NOT_ALLOWED.respond(send)
        if self._replicas is not None and not self._stateless:
            return self._replicas.serve(method, scope, receive, send, headers)
        if method == "POST":
            return self._post(scope, receive, send, headers)
        if self._stateless:
            return STATELESS_METHOD_NOT_ALLOWED.respond(send)
        if method == "GET":
            return self._get(scope, receive, send, headers)
        return self._delete(scope, send, headers)

    def _find_session(self, scope: Scope, headers: Headers) -> _Session | HTTPError:
        raw_session_id = headers.get(MCP_SESSION_ID)
        if raw_session_id is None:
            return MISSING_SESSION
        session = self._sessions.get(raw_session_id.decode("latin-1"))
        if session is None:
            return UNKNOWN_SESSION
        if session.principal != scope.get(PRINCIPAL_KEY):
            # As if it did not exist: whoever holds a session id is not thereby its owner.
            logger.info(
                "session %s: refused a request from another principal",
                short_id(session.session_id),
            )
            return UNKNOWN_SESSION
        principal = scope.get(PRINCIPAL_KEY)
        if principal is not session.principal:
            # The same subject with a fresh token (ssemcp.auth): its scopes serve from now on.
            session.principal = principal
            session.connection.rebind(principal)
        return session

    # ------------------------------------------------------------------ POST

    async def _post(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers
    ) -> None:
        if not _accepts_json_and_sse(headers.get(b"accept", b"")):
            await NOT_ACCEPTABLE.respond(send)
            return
        payload = await receive_payload(receive, send, headers, self._max_body_bytes)
        if payload is None:
            return
        if self._drain.is_draining and _carries_request(payload):
            await _shutting_down(payload).respond(send)
            return
        if (
            type(payload) is Request
            and MCP_PROTOCOL_VERSION not in headers
            and is_sessionless(payload)
        ):
            # A 2026-07-28 request without its header: that path says what is missing.
            await self._post_sessionless(scope, receive, send, headers, payload)
            return
        if self._stateless:
            await self._post_stateless(scope, receive, send, headers, payload)
            return

        # Only a new session's answer names it.
        session_header: Sequence[tuple[bytes, bytes]] = ()
        if MCP_SESSION_ID not in headers and _is_initialize(payload):
            if len(self._sessions) >= self._max_sessions:
                logger.warning("refused a session: %d sessions open", len(self._sessions))
                await TOO_MANY_SESSIONS.respond(send)
                return
            # spec basic/transports, "Session Management": the session ID "SHOULD be globally
            # unique and cryptographically secure" and "MUST only contain visible ASCII".
            try:
                session = _Session(
                    self._server,
                    secrets.token_urlsafe(24),
                    scope.get(PRINCIPAL_KEY),
                    self._event_logs,
                    self._max_logged_events,
                    self._clock(),
                    self._connect,
                    self._shared,
                )
            except SessionRefused as exc:
                logger.warning("refused a session: %s", exc)
                await _refused(exc, payload).respond(send)
                return
            session_header = [(MCP_SESSION_ID, session.session_id.encode())]
            is_new = True
        else:
            found = self._find_session(scope, headers)
            if isinstance(found, HTTPError):
                await found.respond(send)
                return
            session = found
            is_new = False
            if self._replicas is not None and type(payload) is not Request:
                await self._replicas.route_elsewhere(session, payload)

        # What used to be three methods (answer, finish, send the reply) is one frame here:
        # this is the path of every call.
        session.busy += 1
        reply_stream = _ReplyStream(send, receive, session_header, session, self._keepalive_seconds)
        if self._replicas is not None:
            reply_stream.answers = payload
        # The drain's record of calls in flight (ssemcp.transports.drain), kept inline.
        task: asyncio.Task[Any] | None = None
        if type(payload) is Request or _carries_request(payload):
            loop = self._loop
            if loop is None or loop.is_closed():
                loop = self._loop = asyncio.get_running_loop()
            task = asyncio.current_task(loop)
            assert task is not None
            self._drain.calls[task] = payload
        try:
            reply = await session.connection.receive(
                payload,
                (session.send_related_on_get_stream if self._json_response else reply_stream),
            )
        except asyncio.CancelledError:
            if not self._drain.was_cut(task):
                # The session ended (DELETE, idle sweep, shutdown) while its handler ran here;
                # anything else is ours.
                if not session.is_closed:
                    raise
                uncancel_current_task()
                if reply_stream.started:
                    await reply_stream.end()
                else:
                    await UNKNOWN_SESSION.respond(send)
                return
            # Cut at shutdown (ssemcp.transports.drain): answered with an error, written
            # before the call ends (finally), so that the drain waits for it.
            uncancel_current_task()
            replies = cut_replies(payload, self._drain.grace_seconds)
            if is_new:
                session.close()  # a cut initialize leaves no session behind
            if reply_stream.started:
                await self._finish_stream(reply_stream, replies)
            else:
                await self._send_reply(send, replies, () if is_new else session_header)
            return
        finally:
            if task is not None:
                drain = self._drain
                drain.calls.pop(task, None)
                if drain.is_draining:
                    drain.ended(task)
            session.busy -= 1
            session.last_active = self._clock()

        if is_new:
            if type(reply) is Response and self._replicas is not None:
                # Only the record: a replica makes its copy (and follows the session's
                # channel) when a request of the session reaches it, this one included.
                session.close()
                await self._replicas.create(session)
            elif type(reply) is Response:
                self._sessions[session.session_id] = session
                self._start_sweeper()
                # Per-session lines are DEBUG, like access logs (off by default): at INFO, a
                # client that opens a session per call would write two lines per call.
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "session %s: initialized (%d open)",
                        short_id(session.session_id),
                        len(self._sessions),
                    )
            else:
                # A failed initialize leaves no session behind, and names none.
                session.close()
                session_header = ()

        if self._replicas is not None and not is_new:
            await self._replicas.save_if_changed(session)
        if reply_stream.started:
            await self._finish_stream(reply_stream, reply)
        elif type(reply) is Response:
            # _send_reply's commonest case, inlined, and serialize()'s with it.
            body = dumps({"jsonrpc": JSONRPC_VERSION, "id": reply.id, "result": reply.result})
            await _send_json(send, body, session_header)
        else:
            await self._send_reply(send, reply, session_header)

    async def _post_sessionless(
        self,
        scope: Scope,
        receive: ASGIReceive,
        send: ASGISend,
        headers: Headers,
        payload: Payload | None,
    ) -> None:
        """Answer a POST that stands alone (2026-07-28): no session is made, named or looked
        up (``Mcp-Session-Id`` is ignored), and the reply is JSON unless the handler emits."""
        if payload is None:
            if not _accepts_json_and_sse(headers.get(b"accept", b"")):
                await NOT_ACCEPTABLE.respond(send)
                return
            payload = await receive_payload(receive, send, headers, self._max_body_bytes)
            if payload is None:
                return
            if self._drain.is_draining and _carries_request(payload):
                await _shutting_down(payload).respond(send)
                return
        if not self._serves_sessionless:
            # ssemcp.observe: refusals before any handler are logged, counted and traced.
            if type(payload) is Request:
                refused(
                    self._server,
                    payload,
                    UnsupportedProtocolVersion.code,
                    "Unsupported protocol version",
                    scope.get(PRINCIPAL_KEY),
                )
            await _refuse_sessionless(send, payload, headers)
            return
        if type(payload) is not Request:
            if type(payload) is Notification:
                # No client notification is defined on HTTP in 2026-07-28; accepted, as every
                # notification POST is ("MUST return HTTP status code 202 Accepted").
                await self._send_reply(send, None, ())
            else:
                refused(self._server, None, InvalidRequest.code, "", scope.get(PRINCIPAL_KEY))
                await NOT_ONE_REQUEST.respond(send)
            return
        if payload.method == LISTEN:
            await self._listen(scope, receive, send, headers, payload)
            return
        server = self._server
        principal = scope.get(PRINCIPAL_KEY)
        # serve_sessionless is taken step by step here, in this frame: the path of every call.
        # Another ServeSessionless (ssemcp bridge) is a coroutine that answers by itself.
        split = self._serve_sessionless is serve_sessionless
        reply_stream: _ReplyStream | None = None
        channel: InputRound | None = None
        reply: Response | ErrorResponse
        # The result of a call answered at once with one JSON body, written below.
        result: JSONObject | None = None
        # Whether the first step waited (the rest is awaited below).
        waits = False
        try:
            try:
                serving: Coroutine[Any, Any, Any]
                if not split:
                    reply_stream = _ReplyStream(send, receive, (), None, self._keepalive_seconds)
                    serving = self._serve_sessionless(
                        server,
                        payload,
                        headers,
                        _drop if self._json_response else reply_stream,
                        principal,
                    )
                else:
                    context, tool, channel, made = prepare_sessionless(
                        server, payload, headers, principal
                    )
                    if made is not None:
                        # A tool without a Context cannot emit: its reply is one JSON body,
                        # and needs no reply stream unless it waits (_sessionless_waits).
                        serving = made
                    else:
                        reply_stream = _ReplyStream(
                            send, receive, (), None, self._keepalive_seconds
                        )
                        serving = start_sessionless(
                            server,
                            payload,
                            context,
                            tool,
                            channel,
                            _drop if self._json_response else reply_stream,
                        )
                # Its first step, by hand: most requests are served without waiting, and until
                # one waits no client can be seen leaving (the loop runs nothing else
                # meanwhile), nor can a shutdown begin.
                waiting_on = serving.send(None)
            except StopIteration as served:
                if not split:
                    reply = served.value
                elif reply_stream is None:
                    # Written at once, below: serverInfo spliced in as serialized once.
                    server_meta = self._server_meta
                    if server.server_info != self._server_info:
                        server_meta = self._new_server_meta()
                    result = completed_result(server, payload, served.value, server_meta)
                else:
                    reply = sessionless_completed(server, payload, served.value)
            else:
                waits = True
        except Exception as exc:
            if not split:
                raise
            # What serve_sessionless answers for a step that failed.
            reply = sessionless_failed(server, payload, channel, exc)
        if waits:
            if reply_stream is None:
                reply_stream = _ReplyStream(send, receive, (), None, self._keepalive_seconds)
            waited = await self._sessionless_waits(
                send,
                payload,
                reply_stream,
                _completed(server, payload, channel, serving, waiting_on)
                if split
                else _resumed(cast(_Serving, serving), waiting_on),
            )
            if waited is None:
                return
            reply = waited
        if result is None and type(reply) is ErrorResponse:
            # ssemcp.observe: a request refused before its handler, logged, counted, traced.
            answered_with_error(server, payload, reply, principal)
        if result is not None:
            # serialize()'s commonest case, inlined, and jsonrpc.dumps's with it.
            try:
                body = orjson.dumps(
                    {"jsonrpc": JSONRPC_VERSION, "id": payload.id, "result": result}
                )
            except TypeError:
                # What orjson cannot write (an integer past 64 bits) is the standard library's
                # (jsonrpc.dumps), which cannot write a Fragment: the serverInfo written out.
                spliced: object = self._server_meta
                if result.get("_meta") is spliced:
                    result["_meta"] = {META_SERVER_INFO: server.server_info}
                body = dumps({"jsonrpc": JSONRPC_VERSION, "id": payload.id, "result": result})
            await _send_json(send, body, ())
        elif reply_stream is not None and reply_stream.started:
            await self._finish_stream(reply_stream, reply)
        elif type(reply) is Response:
            # serialize()'s commonest case, inlined as _post does.
            body = dumps({"jsonrpc": JSONRPC_VERSION, "id": reply.id, "result": reply.result})
            await _send_json(send, body, ())
        else:
            assert type(reply) is ErrorResponse
            await _send_json(send, serialize(reply), (), HTTP_STATUS.get(reply.code, 200))

    def _new_server_meta(self) -> orjson.Fragment:
        """The ``_meta`` of a completed 2026-07-28 result (``serverInfo``), serialized once
        and spliced into each JSON reply; made again when the server's info has changed."""
        info = self._server.server_info
        self._server_info = copy.deepcopy(info)
        self._server_meta = orjson.Fragment(dumps({META_SERVER_INFO: info}))
        return self._server_meta

    async def _sessionless_waits(
        self,
        send: ASGISend,
        payload: Request,
        reply_stream: _ReplyStream,
        rest: Awaitable[Response | ErrorResponse],
    ) -> Response | ErrorResponse | None:
        """Await the ``rest`` of a request that stands alone, whose first step waited:
        cancelled if its client leaves, recorded in flight for a shutdown. Its reply; None
        when it has been answered here (cut at shutdown) or needs none (its client left)."""
        # spec 2026-07-28 basic/transports/streamable-http: "Closing the SSE response
        # stream MUST be treated by the server as cancellation"; a client that gives up
        # before the reply has begun closes its connection alike. An SSE reply watches
        # ``receive``; until then the server says when the connection is lost.
        loop = self._loop
        if loop is None or loop.is_closed():
            # Taken once: without it asyncio.current_task() asks get_running_loop(), a
            # getpid() system call on CPython 3.11 (its fork check).
            loop = self._loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None
        reply_stream.cancels(task)
        on_disconnect(send, reply_stream.lost)
        # In flight: a shutdown lets it finish within the grace, or cuts it.
        drain = self._drain
        drain.calls[task] = payload
        try:
            reply = await rest
        except asyncio.CancelledError:
            if not drain.was_cut(task):
                if reply_stream.is_connected:
                    raise
                uncancel_current_task()
                logger.debug("request %r: the client closed its stream", payload.id)
                await reply_stream.end()
                return None
            # Cut at shutdown (ssemcp.transports.drain): answered with an error, written
            # before the call ends (finally), so that the drain waits for it.
            uncancel_current_task()
            reply_stream.served()
            error = error_response(payload.id, cut_error(drain.grace_seconds))
            if reply_stream.started:
                await self._finish_stream(reply_stream, error)
            else:
                await _send_json(send, serialize(error), (), HTTP_STATUS.get(error.code, 200))
            return None
        finally:
            drain.calls.pop(task, None)
            if drain.is_draining:
                drain.ended(task)
        # Served: a client leaving now cancels nothing (its reply is being written).
        reply_stream.served()
        return reply

    async def _listen(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers, request: Request
    ) -> None:
        """Answer ``subscriptions/listen``: an SSE stream that opens with its acknowledgement
        and carries the notifications asked for, until the client goes away (the stream is
        the subscription: spec 2026-07-28 basic/patterns/subscriptions), its reader falls
        too far behind (cut off), or the server stops (then its final result ends it)."""
        opened: Subscription | ErrorResponse
        if self._open_listen is None:
            opened = open_listen(
                self._server, request, routing_headers(headers), scope.get(PRINCIPAL_KEY)
            )
        else:
            opened = await self._open_listen(
                self._server, request, routing_headers(headers), scope.get(PRINCIPAL_KEY)
            )
        if type(opened) is ErrorResponse:
            # ssemcp.observe: refused before its stream opened (its _meta, its headers).
            refused(self._server, request, opened.code, opened.message, scope.get(PRINCIPAL_KEY))
            await _send_json(send, serialize(opened), (), HTTP_STATUS.get(opened.code, 200))
            return
        assert not isinstance(opened, ErrorResponse)
        stream = opened
        if len(self._listens) >= self._max_sessions:
            logger.warning("refused a subscription: %d open", len(self._listens))
            stream.close()
            await TOO_MANY_SESSIONS.respond(send)
            return
        listening = _Listening(stream, self._listen_frames, self._flusher)
        writer = listening.writer
        self._listens.add(listening)
        # ssemcp.observe: the listen's line and span when it ends (None: nothing observes).
        observed = ListenObservation.begin(self._server, request, scope.get(PRINCIPAL_KEY))
        outcome = CANCELLED
        acknowledgement = stream.open(
            writer.send_nowait if observed is None else observed.counting(writer.send_nowait)
        )
        try:
            await writer.start(send, SSE_HEADERS, _data_event(acknowledgement))
            self._listen_keepalives.start()
            if not listening.is_over:
                # Wait here, as a legacy stream's task does: its writer writes.
                task = listening.holding()
                try:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                except asyncio.CancelledError:
                    if not listening.is_over:
                        raise
                    task.uncancel()  # cut off, or the server is stopping: its normal end
                finally:
                    listening.released()
            stream.close()
            if listening.is_stopping and not writer.is_closed:
                final = Response(stream.subscription_id, stream.final_result())
                await writer.send(final)
            writer.close()
            outcome = CUT_OFF if listening.is_cut_off else STOPPED if listening.is_stopping else OK
            if writer.is_stalled:
                return  # its write may never end: the server closes the unfinished response
            await writer.finish_writing()
            await send(_END_OF_BODY)
        finally:
            stream.close()
            writer.close()
            self._listens.discard(listening)
            if observed is not None:
                observed.end(outcome)

    async def _post_stateless(
        self,
        scope: Scope,
        receive: ASGIReceive,
        send: ASGISend,
        headers: Headers,
        payload: Payload,
    ) -> None:
        connection = ServerConnection(self._server, _drop, principal=scope.get(PRINCIPAL_KEY))
        if not _is_initialize(payload):
            # spec basic/transports, "Protocol Version Header": without the header, "the
            # server SHOULD assume protocol version 2025-03-26".
            version = headers.get(MCP_PROTOCOL_VERSION)
            revision = revision_for(version.decode()) if version is not None else None
            connection.session.assume_initialized(revision or V2025_03_26)
        reply_stream = _ReplyStream(send, receive, [], None, self._keepalive_seconds)
        task = self._drain.start(payload) if _carries_request(payload) else None
        try:
            reply = await connection.receive(
                payload, send=_drop if self._json_response else reply_stream
            )
        except asyncio.CancelledError:
            if not self._drain.was_cut(task):
                raise
            # Cut at shutdown (ssemcp.transports.drain): answered with an error, written
            # before the call ends (finally), so that the drain waits for it.
            uncancel_current_task()
            replies = cut_replies(payload, self._drain.grace_seconds)
            if reply_stream.started:
                await self._finish_stream(reply_stream, replies)
            else:
                await self._send_reply(send, replies, [])
            return
        finally:
            if task is not None:
                self._drain.end(task)
            connection.close()
        if reply_stream.started:
            await self._finish_stream(reply_stream, reply)
        else:
            await self._send_reply(send, reply, [])

    @staticmethod
    async def _finish_stream(
        reply_stream: _ReplyStream,
        reply: Response | ErrorResponse | list[Response | ErrorResponse] | None,
    ) -> None:
        """Write the reply as the last events of an SSE reply that started, and end it."""
        try:
            if isinstance(reply, list):
                for item in reply:
                    await reply_stream.write(item)
            elif reply is not None:
                await reply_stream.write(reply)
        except StateUnavailable:
            # The session's log is shared, and unreachable: the reply cannot be logged, so the
            # stream ends without it (the client may resume once the state is back).
            logger.warning("the shared state failed mid-stream; ending the stream")
        await reply_stream.end()

    @staticmethod
    async def _send_reply(
        send: ASGISend,
        reply: Response | ErrorResponse | list[Response | ErrorResponse] | None,
        extra_headers: Sequence[tuple[bytes, bytes]],
    ) -> None:
        if reply is None:
            # spec basic/transports: for a POST of notifications or responses the server
            # "MUST return HTTP status code 202 Accepted with no body".
            if not send_whole_response(send, 202, b"", b""):
                await send(
                    {"type": "http.response.start", "status": 202, "headers": _ACCEPTED_HEADERS}
                )
                await send({"type": "http.response.body", "body": b""})
            return
        await _send_json(send, serialize(reply), extra_headers)

    # ------------------------------------------------------------------ GET

    def _get(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers
    ) -> Awaitable[None]:
        """Decide a GET: an error to answer, or the stream to follow (``_follow``).

        A plain function handing back the awaitable: the stream's coroutine is all an idle
        stream keeps, so one frame fewer is memory saved per stream.
        """
        # spec basic/transports, "Listening for Messages from the Server": "The client MUST
        # include an Accept header, listing text/event-stream as a supported content type."
        if b"text/event-stream" not in media_types(headers.get(b"accept", b"")):
            return NOT_ACCEPTABLE_GET.respond(send)
        found = self._find_session(scope, headers)
        if isinstance(found, HTTPError):
            return found.respond(send)
        session = found
        raw_last_event_id = headers.get(LAST_EVENT_ID)
        if raw_last_event_id is None and session.standalone.reader is not None:
            return STREAM_ALREADY_OPEN.respond(send)
        return self._follow(session, raw_last_event_id, _Reader(receive), send)

    async def _start_following(
        self, session: _Session, raw_last_event_id: bytes | None, reader: _Reader
    ) -> tuple[_Stream | None, Position, LoggedEvent | None] | None:
        """Where a GET starts: the stream it follows (None: a finished reply, whose rest it
        replays), the position after which it reads, and the priming event to send first.
        None when ``Last-Event-ID`` names nothing this session can resume from."""
        event_log = session.event_log
        stream: _Stream | None
        if raw_last_event_id is None:
            stream = session.standalone
            # Claimed before the log is awaited, so a second GET meanwhile gets 409; and open,
            # so what is sent from here on is kept for it.
            stream.attach(reader)
            session.standalone_opened = True
            # SEP-1699 primes every SSE stream the server starts, this one included; without
            # it the event only marks where "from now on" starts, and is never sent.
            marker = await event_log.append(_STANDALONE_STREAM, b"")
            priming = marker if session.revision.sse_priming else None
            return stream, Position(_STANDALONE_STREAM, marker.sequence), priming
        position = await event_log.position_of(raw_last_event_id.decode("latin-1"))
        if position is None or (
            position.stream_id == _STANDALONE_STREAM
            and position.sequence < session.standalone_resumable_from
        ):
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "session %s: cannot resume from Last-Event-ID %r",
                    short_id(session.session_id),
                    raw_last_event_id[:_MAX_LOGGED_HEADER],
                )
            return None
        if position.stream_id == _STANDALONE_STREAM:
            stream = session.standalone
            session.standalone_opened = True
        else:
            # None: the request has finished; replay what is left and end.
            stream = session.streams.get(position.stream_id)
        if stream is not None:
            # A resuming GET takes the stream over from a reader we have not yet seen leave.
            stream.attach(reader)
        return stream, position, None

    async def _follow(
        self,
        session: _Session,
        raw_last_event_id: bytes | None,
        reader: _Reader,
        send: ASGISend,
    ) -> None:
        """Answer a GET with an SSE stream: what the log holds for the stream after where
        it starts (``Last-Event-ID``, or now), then the stream live.

        Ends when the stream finishes, another reader takes it over, the client leaves, the
        session ends, or the reader falls behind what the log keeps (the client may resume
        from its last id, and learns with a 400 if that is gone too).
        """
        session.busy += 1
        stream: _Stream | None = None
        try:
            start = await self._start_following(session, raw_last_event_id, reader)
            if start is None:
                await CANNOT_RESUME.respond(send)
                return
            stream, position, priming = start
            logger.debug("session %s: GET stream opened", short_id(session.session_id))
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            if priming is not None:
                await send(
                    {
                        "type": "http.response.body",
                        "body": encode_event(
                            "", id=priming.event_id, retry=DEFAULT_RETRY_MILLISECONDS
                        ),
                        "more_body": True,
                    }
                )
                # This frame lives as long as the stream: keep nothing it no longer needs.
                priming = start = None
            is_standalone = stream is not None and stream.stream_id == _STANDALONE_STREAM
            while True:
                if stream is not None:
                    stream.changed.clear()
                if is_standalone:
                    await session.log_pending()
                    if position.sequence < session.standalone_resumable_from:
                        events = None  # some of what was queued for it had to go
                    else:
                        events = await session.event_log.read_after(position)
                else:
                    events = await session.event_log.read_after(position)
                if events is None:
                    logger.info(
                        "session %s: a GET stream fell behind the event log; ending it",
                        short_id(session.session_id),
                    )
                    break
                frames = [_frame(event) for event in events if event.data]
                if events:
                    position = Position(position.stream_id, events[-1].sequence)
                if frames and not reader.disconnected:
                    await send(
                        {"type": "http.response.body", "body": b"".join(frames), "more_body": True}
                    )
                if reader.disconnected:
                    return
                if stream is None or stream.reader is not reader or session.is_closed:
                    break
                if stream.is_finished:
                    if stream.changed.is_set():
                        continue  # it sent more while we wrote: one more read takes the rest
                    break
                if stream.changed.is_set():
                    continue  # changed while we wrote
                stream.changed.add_waker(reader.wake)
                try:
                    woken = await reader.wait(self._keepalives(), self._keepalive_seconds)
                finally:
                    stream.changed.remove_waker(reader.wake)
                if reader.disconnected:
                    return
                if not woken:
                    await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
            if not reader.disconnected:
                if self._is_stopping and is_standalone:
                    await send(
                        {
                            "type": "http.response.body",
                            "body": await self._reconnect_hint(session),
                            "more_body": True,
                        }
                    )
                await send(_END_OF_BODY)
        finally:
            if stream is not None:
                stream.detach(reader)
                if stream.stream_id == _STANDALONE_STREAM and not session.is_closed:
                    session.log_pending_soon()
            session.busy -= 1
            session.last_active = self._clock()
            logger.debug("session %s: GET stream closed", short_id(session.session_id))

    @staticmethod
    async def _reconnect_hint(session: _Session) -> bytes:
        """The last event of a GET stream that shutdown ends: when to reconnect.

        spec 2025-11-25 basic/transports, "Listening for Messages from the Server": "If the
        server does close the connection prior to terminating the SSE stream, it SHOULD send
        an SSE event with a standard `retry` field before closing the connection. The client
        MUST respect the `retry` field", then resumes with ``Last-Event-ID``. That revision
        gets an event shaped as its priming event, whose id (logged, with nothing after it)
        is where a resumption starts; older ones, whose clients may not expect an empty
        event, get the ``retry`` field alone (WHATWG: it dispatches nothing).
        """
        if session.revision.sse_priming:
            marker = await session.event_log.append(_STANDALONE_STREAM, b"")
            return encode_event("", id=marker.event_id, retry=DEFAULT_RETRY_MILLISECONDS)
        return encode_event(None, retry=DEFAULT_RETRY_MILLISECONDS)

    # ------------------------------------------------------------------ DELETE

    async def _delete(self, scope: Scope, send: ASGISend, headers: Headers) -> None:
        found = self._find_session(scope, headers)
        if isinstance(found, HTTPError):
            await found.respond(send)
            return
        # spec basic/transports, "Session Management": clients "SHOULD send an HTTP DELETE to
        # the MCP endpoint with the Mcp-Session-Id header, to explicitly terminate the session".
        if self._shared is not None:
            # Everywhere: the replicas serving it hear `ended`; the rest find no record.
            await self._shared.delete(found.session_id)
            self._shared.unfollow(found.session_id)
        # (Popped: with replicas, this one may have heard its own `ended` meanwhile.)
        self._sessions.pop(found.session_id, None)
        found.close()
        self._reclaimer.observe(len(self._sessions))
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "session %s: deleted (%d open)", short_id(found.session_id), len(self._sessions)
            )
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    # ------------------------------------------------------------------ lifetime

    def close_idle_sessions(self, now: float) -> int:
        """Close the sessions idle since before ``now - session_idle_timeout_seconds``.

        A session is idle when no request of it is being handled and no GET stream of it is
        open; a busy one is never closed, however old. Returns how many were closed.
        """
        timeout = self._idle_timeout_seconds
        if timeout is None:
            return 0
        idle = [
            session
            for session in self._sessions.values()
            if session.busy == 0 and now - session.last_active >= timeout
        ]
        for session in idle:
            # spec basic/transports: "The server MAY terminate the session at any time".
            del self._sessions[session.session_id]
            session.close()
            if self._shared is not None:
                # Only this replica's copy: the record lives on until its time to live ends.
                self._shared.unfollow(session.session_id)
            self._reclaimer.observe(len(self._sessions))
        if idle:
            logger.info("closed %d idle session(s) (%d open)", len(idle), len(self._sessions))
        return len(idle)

    def _start_sweeper(self) -> None:
        """Start the idle sweep with the first session (one task per transport)."""
        if self._sweeper is None and self._idle_timeout_seconds is not None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        assert self._idle_timeout_seconds is not None
        interval = min(self._idle_timeout_seconds / 4, _MAX_SWEEP_INTERVAL_SECONDS)
        while True:
            await asyncio.sleep(interval)
            self.close_idle_sessions(self._clock())
            if self._replicas is not None:
                await self._replicas.touch_busy_sessions()

    def end_streams(self) -> int:
        """Shutdown, once calls are done: end every stream, each with its last event (a
        listen stream's final result, a GET stream's reconnection hint), and every session.
        Returns how many streams were open."""
        self._is_stopping = True
        open_streams = len(self._listens) + sum(
            1
            for session in self._sessions.values()
            if session._standalone is not None and session._standalone.reader is not None
        )
        self.close()
        return open_streams

    def close(self) -> None:
        """End every session, subscription and the idle sweep (at server shutdown)."""
        for listening in list(self._listens):
            listening.stop()
        self._listen_keepalives.cancel()
        if self._keepalive_deadlines is not None:
            self._keepalive_deadlines.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self._reclaimer.cancel()
        if self._replicas is not None:
            self._replicas.cancel()
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            session.close()
        if sessions:
            logger.info("closed %d session(s)", len(sessions))
