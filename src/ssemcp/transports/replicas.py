"""Streamable HTTP sessions shared by replicas (``ssemcp.state.shared``, on Redis).

Owns what :class:`~ssemcp.transports.streamable.StreamableHTTPTransport` does differently when
its sessions live in a shared store: a request's session is made ready first (a local copy
made from the session's record when another replica opened it, dropped when the record is
gone), a GET stream is claimed across replicas (a lease: a plain second GET gets 409, one
with ``Last-Event-ID`` takes it over, as in one process), what a request changed is saved
to the record, the client's answers and cancellations for requests another replica runs are
routed there, and what the other replicas say of a session (:class:`~ssemcp.state.shared.
SessionSignals`) reaches the local copy. A GET resuming a POST's reply stream whose request
runs on another replica follows that stream here, from the shared log, until that replica
marks it finished (or, when that replica died, until an error response stands in for each
answer it never gave): the client sees what one process would show it. The wire itself
(statuses, streams, resumption) stays the transport's; an unreachable store is a 503 here
(or, mid-stream, the stream's end).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Final

from ssemcp.asgi import (
    PRINCIPAL_KEY,
    SSE_HEADERS,
    ASGIReceive,
    ASGISend,
    Headers,
    HTTPError,
    Scope,
    media_types,
    short_id,
)
from ssemcp.jsonrpc import ErrorResponse, Invalid, Message, Notification, Response
from ssemcp.protocol.request_context import Principal
from ssemcp.protocol.revisions import revision_for
from ssemcp.server.connection import ServerConnection
from ssemcp.sse import KEEPALIVE
from ssemcp.state.events import Position
from ssemcp.state.shared import (
    RETRY_AFTER_SECONDS,
    SessionRecord,
    SharedSessions,
    StateUnavailable,
)
from ssemcp.transports.streamable import (
    _END_OF_BODY,
    _STANDALONE_STREAM,
    LAST_EVENT_ID,
    MCP_SESSION_ID,
    STREAM_ALREADY_OPEN,
    UNKNOWN_SESSION,
    _frame,
    _Session,
)

if TYPE_CHECKING:
    from ssemcp.transports.streamable import StreamableHTTPTransport

__all__ = ["STATE_UNAVAILABLE", "Replicas"]

logger = logging.getLogger(__name__)


async def _until_disconnect(receive: ASGIReceive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


# A GET following a reply stream run elsewhere waits for the log at most this long at a time
# (it then looks whether its session ended), and at least this long (XREAD BLOCK takes ms).
_MAX_FOLLOW_WAIT_SECONDS: Final = 1.0
_MIN_FOLLOW_WAIT_SECONDS: Final = 0.001

# Sessions shared by replicas, and the store cannot be reached: retry shortly.
STATE_UNAVAILABLE: Final = HTTPError(
    503,
    StateUnavailable("Service Unavailable: the shared session state is unreachable; retry"),
    ((b"retry-after", str(RETRY_AFTER_SECONDS).encode()),),
)


def _record_of(session: _Session) -> SessionRecord:
    connection = session.connection
    assert isinstance(connection, ServerConnection)
    served = connection.session
    principal = session.principal
    return SessionRecord(
        served.revision.version,
        served.client_capabilities,
        served.client_info,
        None if principal is None else principal.subject,
        None if principal is None else principal.issuer,
        served.log_level,
        tuple(sorted(served.subscriptions)),
    )


def _apply(session: _Session, record: SessionRecord) -> None:
    connection = session.connection
    assert isinstance(connection, ServerConnection)
    connection.update(record.log_level, record.subscriptions)
    session.saved_record = record


class _WatchedSend:
    """A request's ``send`` that remembers whether the response began (a failure of the
    shared state is then no longer a 503) and ended."""

    __slots__ = ("ended", "on_stream", "started", "wrapped_send")

    def __init__(self, send: ASGISend) -> None:
        # Named so, asgi.shortcuts.on_disconnect looks through it to the connection.
        self.wrapped_send = send
        self.started = False
        self.ended = False
        # Awaited when a 200 (a stream) begins, before it is sent.
        self.on_stream: Callable[[], Awaitable[None]] | None = None

    async def send(self, message: Mapping[str, object]) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self.on_stream is not None and message["status"] == 200:
                await self.on_stream()
        elif not message.get("more_body", False):
            self.ended = True
        await self.wrapped_send(message)  # type: ignore[arg-type]


class Replicas:
    """The sessions of one transport as several replicas share them: what it hears from the
    others (:class:`~ssemcp.state.shared.SessionSignals`), and what it does around each
    request so that any replica serves it."""

    __slots__ = ("_renewer", "_shared", "_tasks", "_transport")

    def __init__(self, transport: StreamableHTTPTransport, shared: SharedSessions) -> None:
        self._transport = transport
        self._shared = shared
        self._tasks: set[asyncio.Task[None]] = set()
        # Renews this replica's holds on GET streams (started by the first one).
        self._renewer: asyncio.Task[None] | None = None
        shared.listen(self)

    def _session(self, session_id: str) -> _Session | None:
        return self._transport._sessions.get(session_id)

    def woken(self, session_id: str) -> None:
        session = self._session(session_id)
        if session is not None and session.holds_standalone:
            session.standalone.changed.set()

    def stream_taken(self, session_id: str) -> None:
        session = self._session(session_id)
        if session is not None and session.holds_standalone:
            # As a local takeover does (_Stream.attach): the reader sees it is not the
            # stream's any more, and ends.
            logger.debug("session %s: GET stream taken by another replica", short_id(session_id))
            stream = session.standalone
            stream.reader = None
            stream.changed.set()

    def changed(self, session_id: str) -> None:
        if self._session(session_id) is not None:
            self._spawn(self._reload(session_id))

    async def _reload(self, session_id: str) -> None:
        try:
            record = await self._shared.load(session_id)
        except StateUnavailable:
            return  # the next request of the session loads it again
        session = self._session(session_id)
        if session is None:
            return
        if record is None:
            self.drop_copy(session)
        elif record != session.saved_record:
            _apply(session, record)

    def ended(self, session_id: str) -> None:
        session = self._session(session_id)
        if session is not None:
            logger.debug("session %s: deleted on another replica", short_id(session_id))
            self.drop_copy(session)

    def client_message(self, session_id: str, message: Message) -> None:
        session = self._session(session_id)
        if session is not None:
            self._spawn(self._receive(session, message))

    @staticmethod
    async def _receive(session: _Session, message: Message) -> None:
        # An answer or a cancellation: the connection acts on it at once, or ignores it.
        await session.connection.receive(message)

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def serve(
        self, method: str, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers
    ) -> None:
        """A request when sessions are shared by replicas: the session it names is made
        ready here first (from its record, if another replica opened it), then served as
        usual; an unreachable store gets 503 (or, mid-stream, ends the stream)."""
        # A GET's stream may fail once it has begun, so its send is watched. A POST and a
        # DELETE fail only before they answer (a POST's SSE reply ends itself on a failure:
        # _finish_stream), and keep the server's whole-response shortcut.
        watched = _WatchedSend(send) if method == "GET" else None
        if self._renewer is None:
            # This replica's liveness (and its GET streams' leases) from its first request on:
            # a follower elsewhere of a reply stream it runs tells alive from dead by it.
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())
        try:
            raw_session_id = headers.get(MCP_SESSION_ID)
            if raw_session_id is not None:
                session_id = raw_session_id.decode("latin-1")
                if method == "DELETE" and session_id not in self._transport._sessions:
                    # Nothing to serve here: no copy is made only to be deleted.
                    await self.delete_record(scope, send, session_id)
                    return
                await self.adopt(session_id, scope.get(PRINCIPAL_KEY))
                if watched is not None and not await self._claim(scope, headers, session_id):
                    await STREAM_ALREADY_OPEN.respond(send)
                    return
            if method == "POST":
                await self._transport._post(scope, receive, send, headers)
            elif watched is not None and await self._follows_elsewhere(
                scope, receive, watched.send, headers
            ):
                return
            elif watched is not None:
                if raw_session_id is not None and LAST_EVENT_ID not in headers:
                    # A fresh GET stream, its marker logged: what was held for the session's
                    # first one goes to the log now, after it (read next by this stream).
                    watched.on_stream = functools.partial(
                        self._shared.log_held, raw_session_id.decode("latin-1")
                    )
                try:
                    await self._transport._get(scope, receive, watched.send, headers)
                finally:
                    if raw_session_id is not None:
                        await self._release(raw_session_id.decode("latin-1"))
            else:
                await self._transport._delete(scope, send, headers)
        except StateUnavailable:
            if watched is None or not watched.started:
                await STATE_UNAVAILABLE.respond(send)
            elif not watched.ended:
                logger.warning("the shared state failed mid-stream; ending the stream")
                await send(_END_OF_BODY)

    async def _claim(self, scope: Scope, headers: Headers, session_id: str) -> bool:
        """One GET stream per session across replicas, as within one process: a plain GET
        while another replica holds it is refused (409); one with ``Last-Event-ID`` that
        this session can resume from takes it over (the holder's reader ends). A GET the
        transport refuses anyway (not acceptable, unknown session, another principal, an id
        it cannot resume from) claims nothing, and gets the transport's answer."""
        session = self._transport._sessions.get(session_id)
        if (
            session is None
            or session.principal != scope.get(PRINCIPAL_KEY)
            or b"text/event-stream" not in media_types(headers.get(b"accept", b""))
        ):
            return True
        raw_last_event_id = headers.get(LAST_EVENT_ID)
        if raw_last_event_id is not None:
            position = await session.event_log.position_of(raw_last_event_id.decode("latin-1"))
            if position is None or position.stream_id != _STANDALONE_STREAM:
                return True  # a POST's reply stream leaves the GET stream where it is
        return await self._shared.claim_stream(session_id, take_over=raw_last_event_id is not None)

    async def _follows_elsewhere(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers
    ) -> bool:
        """A GET resuming a POST's reply stream whose request runs on another replica: as
        in one process, replay what the log holds after ``Last-Event-ID``, then what that
        replica logs for the stream, until it finishes (its response). If that replica dies
        first, an error response stands in for each answer it never gave (logged once, by
        whichever follower sees it first: ``end_if_runner_gone``), and the stream ends.
        False: not such a GET (the transport answers it: a stream running here, finished,
        or none at all)."""
        raw_last_event_id = headers.get(LAST_EVENT_ID)
        raw_session_id = headers.get(MCP_SESSION_ID)
        if raw_last_event_id is None or raw_session_id is None:
            return False
        session = self._transport._sessions.get(raw_session_id.decode("latin-1"))
        if (
            session is None
            or session.principal != scope.get(PRINCIPAL_KEY)
            or b"text/event-stream" not in media_types(headers.get(b"accept", b""))
        ):
            return False
        event_log = session.event_log
        position = await event_log.position_of(raw_last_event_id.decode("latin-1"))
        if (
            position is None
            or position.stream_id == _STANDALONE_STREAM
            or position.stream_id in session.streams
            or await self._shared.is_stream_finished(session.session_id, position.stream_id)
        ):
            return False
        disconnected = asyncio.get_running_loop().create_task(_until_disconnect(receive))
        session.busy += 1
        try:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            keepalive_seconds = self._transport._keepalive_seconds
            # The newest event seen in the log, on any stream: what to wait beyond.
            seen = position.sequence
            keepalive_due = asyncio.get_running_loop().time() + keepalive_seconds
            # When next to ask whether the replica running the stream is alive: at the first
            # wait that ends with nothing new, then every renewal interval (its liveness is
            # renewed as often, and lapses after stream_lease_seconds).
            liveness_due = 0.0
            liveness_interval = self._shared.stream_lease_seconds / 3
            while not session.is_closed:
                # Whether it finished, asked before reading: its last event is logged by then.
                finished = await self._shared.is_stream_finished(
                    session.session_id, position.stream_id
                )
                events = await event_log.read_after(position)
                if events is None:
                    break  # fell behind what the log keeps: the client may resume again
                frames = [_frame(event) for event in events if event.data]
                if frames:
                    body = b"".join(frames)
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                if events:
                    position = Position(position.stream_id, events[-1].sequence)
                if finished:
                    break
                seen = max(seen, position.sequence)
                # Bounded, so that the session's end (here or elsewhere) or shutdown is seen
                # within a second: nothing else wakes a wait on Redis.
                loop = asyncio.get_running_loop()
                wait_seconds = min(keepalive_due - loop.time(), _MAX_FOLLOW_WAIT_SECONDS)
                waited = asyncio.ensure_future(
                    self._shared.wait_for_events(
                        session.session_id, seen, max(wait_seconds, _MIN_FOLLOW_WAIT_SECONDS)
                    )
                )
                done, _ = await asyncio.wait(
                    (waited, disconnected), return_when=asyncio.FIRST_COMPLETED
                )
                if disconnected in done:
                    waited.cancel()
                    await asyncio.gather(waited, return_exceptions=True)
                    return True
                newest = waited.result()
                if newest is not None:
                    seen = max(seen, newest)
                    continue
                if loop.time() >= liveness_due:
                    liveness_due = loop.time() + liveness_interval
                    if await self._shared.end_if_runner_gone(
                        session.session_id, position.stream_id
                    ):
                        logger.info(
                            "session %s: the replica running reply stream %d is gone; "
                            "answered for it",
                            short_id(session.session_id),
                            position.stream_id,
                        )
                        continue  # the next round reads the answers and the stream's end
                if loop.time() >= keepalive_due:
                    await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                    keepalive_due = loop.time() + keepalive_seconds
            await send(_END_OF_BODY)
        finally:
            disconnected.cancel()
            session.busy -= 1
            session.last_active = self._transport._clock()
        return True

    async def _release(self, session_id: str) -> None:
        """A GET ended: unless a later one holds the session's stream here, let it go."""
        session = self._transport._sessions.get(session_id)
        if session is None or not session.holds_standalone:
            await self._shared.release_stream(session_id)

    async def _renew_forever(self) -> None:
        """Say this replica is alive, and renew the holds on the GET streams open here,
        every third of their lease. It runs until :meth:`cancel`: through a drain, whose
        calls in flight still finish here."""
        interval = self._shared.stream_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            held = [
                session_id
                for session_id, session in self._transport._sessions.items()
                if session.holds_standalone
            ]
            try:
                await self._shared.renew_streams(held)
            except StateUnavailable:
                logger.warning("could not renew the hold on %d GET stream(s)", len(held))

    async def adopt(self, session_id: str, principal: Principal | None) -> None:
        """Make the local copy of ``session_id`` agree with its record: made from it if this
        replica has none, dropped if the record is gone. A record bound to another principal
        is left alone, so the request gets the 404 it gets today."""
        record = await self._shared.load(session_id)
        session = self._transport._sessions.get(session_id)
        if record is None:
            if session is not None:
                self.drop_copy(session)
            return
        if session is not None:
            if record != session.saved_record:
                _apply(session, record)
            return
        if not record.is_bound_to(principal):
            return
        revision = revision_for(record.version)
        if revision is None:
            return  # a record of a newer ssemcp: as if absent
        session = _Session(
            self._transport._server,
            session_id,
            principal,
            self._transport._event_logs,
            self._transport._max_logged_events,
            self._transport._clock(),
            None,
            self._shared,
        )
        connection = session.connection
        assert isinstance(connection, ServerConnection)
        connection.resume(
            revision,
            record.client_capabilities,
            record.client_info,
            record.log_level,
            record.subscriptions,
        )
        session.saved_record = record
        # Followed before it is served, so that nothing said of it from now on is missed.
        try:
            await self._shared.follow(session_id)
        except StateUnavailable:
            session.close()
            raise
        if session_id in self._transport._sessions:  # another request adopted it meanwhile
            session.close()
            return
        self._transport._sessions[session_id] = session
        self._transport._start_sweeper()

    async def delete_record(self, scope: Scope, send: ASGISend, session_id: str) -> None:
        """DELETE of a session this replica holds no copy of: its record, if the principal
        is the session's (else 404, as for a session that does not exist)."""
        record = await self._shared.load(session_id)
        if record is None or not record.is_bound_to(scope.get(PRINCIPAL_KEY)):
            await UNKNOWN_SESSION.respond(send)
            return
        await self._shared.delete(session_id)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def create(self, session: _Session) -> None:
        """A new session's record (its copy here is made when a request of it arrives)."""
        await self._shared.create(session.session_id, _record_of(session))

    async def save_if_changed(self, session: _Session) -> None:
        """After a request: what it changed (log level, subscriptions) goes to the record."""
        if session.is_closed:
            return
        record = _record_of(session)
        if record != session.saved_record:
            session.saved_record = record
            await self._shared.save(session.session_id, record)

    async def route_elsewhere(
        self, session: _Session, payload: Message | Invalid | list[Message | Invalid]
    ) -> None:
        """The client's answers to requests another replica sent, and its cancellations of
        requests another replica runs, go to that replica (through the session's channel)."""
        connection = session.connection
        assert isinstance(connection, ServerConnection)
        for message in payload if type(payload) is list else (payload,):
            if isinstance(message, Response | ErrorResponse):
                waited_here = message.id in connection.session.unanswered_request_ids
            elif type(message) is Notification and message.method == "notifications/cancelled":
                request_id = (message.params or {}).get("requestId")
                waited_here = connection.session.is_in_flight(request_id)  # type: ignore[arg-type]
            else:
                continue
            if not waited_here:
                await self._shared.route(session.session_id, message)

    async def touch_busy_sessions(self) -> None:
        """Keep the records of sessions busy here (a GET stream open) from expiring."""
        busy = [
            session.session_id for session in self._transport._sessions.values() if session.busy
        ]
        try:
            await self._shared.touch(busy)
        except StateUnavailable:
            logger.warning("could not renew %d session record(s)", len(busy))

    def drop_copy(self, session: _Session) -> None:
        """Forget this replica's copy of a session that ended elsewhere."""
        if self._transport._sessions.get(session.session_id) is session:
            del self._transport._sessions[session.session_id]
        session.close()
        self._shared.unfollow(session.session_id)

    def cancel(self) -> None:
        """At shutdown: what is under way here ends (before the store's connections close)."""
        for task in self._tasks:
            task.cancel()
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
