"""uvicorn's httptools protocol with the bounds it lacks: time and size of request heads, and
time of request bodies.

Owns the per-connection request deadlines and the header size limit. uvicorn (0.54) arms no
timer until a first response is complete (``timeout_keep_alive`` only covers idle time
*between* requests), and httptools sets no limit on the size of a request head, so a client
that opens a connection and sends a request line one byte a minute (Slowloris) holds that
connection, and the memory of whatever it sent, for ever; ``limit_concurrency`` would only turn
that into a denial of service for everybody. ``h11_max_incomplete_event_size`` bounds the size
of a head for the h11 protocol only, and no uvicorn setting bounds the time.

This protocol closes a connection whose request line and headers are not complete within
``header_timeout_seconds`` of the connection opening or of the request's first byte (408 if
part of a request arrived, a silent close for an idle connection), one whose request body is
not complete within ``body_timeout_seconds`` of its head (408 if no response has started,
else a close), and answers 431 to a head larger than ``max_header_bytes``. Run it with
``uvicorn.run(app, http=http_protocol(...))``. An app served some other way bounds bodies
itself (``ssemcp.http.timeouts.BodyDeadline``).

Why here and not in the app: nearly every request arrives whole in one read, and the
protocol sees that. A deadline is set only when a read ends with a head or a body still
incomplete, so the common request costs two flag updates, not a timer (uvloop's ``call_at`` and
``cancel`` cost ~2 µs) or a wrapper around every ``receive()``.

The keep-alive bound is uvicorn's (``timeout_keep_alive``: a connection idle that long after a
response is closed), but kept in the same table of deadlines: uvicorn arms a timer of its own
after every response and cancels it at the next request, and that pair cost 2 to 5 % of a
``tools/call`` (bench/README.md). ``on_response_complete`` repeats uvicorn's steps (0.54) but
that timer, so a uvicorn upgrade is checked against it: the keep-alive and pipelining tests
in tests/http/test_security.py.

Each request cycle writes through the connection's :class:`~ssemcp.http.response_writer.
ResponseWriter` rather than the transport itself: what a turn of the loop writes leaves at its
end, every connection's together, each in one write.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ssemcp.asgi import HTTPError
from ssemcp.asgi.deadlines import Deadlines, deadlines_in_running_loop
from ssemcp.errors import InvalidRequest
from ssemcp.http import whole_response  # noqa: F401  (imported for its registration)
from ssemcp.http.response_writer import HeldWrites, ResponseWriter
from ssemcp.http.timeouts import DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_HEADER_TIMEOUT_SECONDS

__all__ = [
    "DEFAULT_LINGER_SECONDS",
    "DEFAULT_MAX_HEADER_BYTES",
    "BoundedProtocol",
    "http_protocol",
]

logger = logging.getLogger(__name__)

# How long a connection refused or closed mid-request stays half-closed, its input discarded,
# waiting for the client's EOF (nginx's lingering_time is 30 s, its lingering_timeout 5 s: the
# wait between reads). A client still sending its request reads our answer in well under a
# second; one that goes on sending past this bound loses it, as it would on nginx.
DEFAULT_LINGER_SECONDS: Final = 2.0

# h11's DEFAULT_MAX_INCOMPLETE_EVENT_SIZE is 16 KiB; nginx's large_client_header_buffers is
# 4 x 8 KiB, Node's --max-http-header-size 16 KiB. A bearer token and the MCP headers need well
# under 4 KiB; 64 KiB leaves room for proxies that add their own.
DEFAULT_MAX_HEADER_BYTES: Final = 64 * 1024


def _raw_response(error: HTTPError) -> bytes:
    lines = [b"HTTP/1.1 %d %s\r\n" % (error.status, _REASONS[error.status])]
    lines.extend(name + b": " + value + b"\r\n" for name, value in error.headers)
    lines.append(b"connection: close\r\n\r\n")
    return b"".join(lines) + error.body


_REASONS: Final = {
    400: b"Bad Request",
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
}
# RFC 9110 section 15.5.9 (408) and RFC 6585 section 5 (431: "the server is unwilling to
# process the request because its header fields are too large"). Both close the connection:
# the rest of the stalled or oversized request would otherwise be read as a new one.
_TIMEOUT_RESPONSE: Final = _raw_response(HTTPError(408, InvalidRequest("Request Timeout")))
_HEADERS_TOO_LARGE_RESPONSE: Final = _raw_response(
    HTTPError(431, InvalidRequest("Request Header Fields Too Large"))
)


class _HeadTooLarge(Exception):
    """Raised in a parser callback to stop httptools; uvicorn then calls send_400_response."""


class BoundedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines on each request's head and body and a size
    limit on its head.

    Subclass attributes, set by :func:`http_protocol`: ``header_timeout_seconds``,
    ``body_timeout_seconds`` (None: bodies unbounded) and ``max_header_bytes``. The deadlines
    of all of a server's connections are watched by one
    :class:`~ssemcp.http.timeouts.Deadlines`; a bound fires up to a tenth of itself late.
    """

    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: float | None = DEFAULT_BODY_TIMEOUT_SECONDS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    linger_seconds: float = DEFAULT_LINGER_SECONDS

    # Per-connection state (uvicorn builds one protocol object per connection), in slots: an
    # instance dict of uvicorn's 28 attributes and ours would pass the 30 that CPython's
    # shared-key dicts hold, and become a dict of its own, 1.3 KiB more per connection (every
    # idle stream has one).
    __slots__ = (
        "_chunk_bytes",
        "_deadlines",
        "_head_bytes",
        "_head_too_large",
        "_in_body",
        "_in_head",
        "_is_lingering",
        "_timing",
        "_writer",
    )
    _deadlines: Deadlines
    _writer: ResponseWriter
    # Bytes received since the current head began, an over-count when the chunk that began
    # it also ended an earlier request (None: not reading a head).
    _head_bytes: int | None
    _chunk_bytes: int
    # A request's head has begun and is not complete.
    _in_head: bool
    # A request's head is complete and its body is not.
    _in_body: bool
    # What the deadline set in self._deadlines is for: None, "head", "body", "idle" or
    # "linger".
    _timing: str | None
    _head_too_large: bool
    # Half-closed after a response, discarding input until the client's EOF (_close).
    _is_lingering: bool

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._chunk_bytes = 0
        self._in_head = self._in_body = self._head_too_large = self._is_lingering = False
        self._timing = None
        super().connection_made(transport)
        held_writes = _HELD_WRITES.get(self.server_state)
        if held_writes is None or held_writes.loop is not self.loop:
            held_writes = _HELD_WRITES[self.server_state] = HeldWrites(self.loop)
        self._writer = ResponseWriter(transport, held_writes, self._close)
        shortest = min(self.header_timeout_seconds, self.timeout_keep_alive)
        if self.body_timeout_seconds is not None:
            shortest = min(shortest, self.body_timeout_seconds)
        self._deadlines = _DEADLINES[self.server_state] = deadlines_in_running_loop(
            _DEADLINES.get(self.server_state), shortest
        )
        # The first request's head must arrive within the bound too, its first byte included:
        # an idle new connection is a Slowloris that has not started yet. (Between requests
        # the keep-alive deadline bounds an idle connection: on_response_complete.)
        self._head_bytes = 0
        self._time("head", self.header_timeout_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._untime()
        super().connection_lost(exc)
        on_lost, self._writer.on_lost = self._writer.on_lost, None
        if on_lost is not None and self.cycle is not None and self.cycle.disconnected:
            try:
                on_lost()
            except Exception:
                logger.exception("a disconnect callback failed")

    # uvicorn writes to, or closes, the transport itself in these three: what a cycle wrote in
    # this turn goes first (the close writes out the transport's buffer, not the writer's).

    def eof_received(self) -> None:
        self._writer.flush()
        if self._is_lingering:
            # The client has read our answer and closed its side: now the close loses nothing.
            self.transport.close()
            return
        super().eof_received()

    def shutdown(self) -> None:
        self._writer.flush()
        super().shutdown()

    def handle_websocket_upgrade(self) -> None:
        self._writer.flush()
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._is_lingering:
            return  # the rest of a request that was answered and closed: discarded
        self._chunk_bytes = len(data)
        if self._head_bytes is not None:
            self._head_bytes += self._chunk_bytes
        # The base class named, not super(): these callbacks run several times per request.
        HttpToolsProtocol.data_received(self, data)
        # Measured after parsing: bytes of a head that completed in this chunk do not count.
        if (
            self._head_bytes is not None
            and self._head_bytes > self.max_header_bytes
            and not self.transport.is_closing()
        ):
            logger.warning("closed a connection: request head over %d bytes", self.max_header_bytes)
            self._refuse(_HEADERS_TOO_LARGE_RESPONSE)
            return
        if self._in_body:
            # Whether the body is complete, read from uvicorn's cycle (on_message_complete
            # clears more_body) rather than in a callback of our own per request.
            cycle = self.cycle
            if cycle is None or not cycle.more_body:
                self._in_body = False
                if self._timing == "body":
                    self._untime()
        # Only a read that leaves a request incomplete starts a deadline; the next one that
        # completes it ends it (here, or on_headers_complete for a head).
        if self._in_head:
            if self._timing != "head":
                self._time("head", self.header_timeout_seconds)
        elif self._in_body and self._timing is None and self.body_timeout_seconds is not None:
            self._time("body", self.body_timeout_seconds)

    def on_message_begin(self) -> None:
        HttpToolsProtocol.on_message_begin(self)
        self._in_head = True
        if self._head_bytes is None:
            # A later request on a kept-alive (or pipelined) connection: a fresh bound,
            # counting the whole chunk it began in (which may also hold the end of an earlier
            # body: that only errs towards measuring exactly, below).
            self._head_bytes = self._chunk_bytes

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            # uvicorn has logged "Invalid HTTP request received."; the reason is the size.
            logger.warning("closed a connection: request head over %d bytes", self.max_header_bytes)
            self._refuse(_HEADERS_TOO_LARGE_RESPONSE)
        else:
            # uvicorn's own answer would close at once, losing itself to a client still
            # sending the rest of its malformed request; this one lingers.
            self._refuse(_raw_response(HTTPError(400, InvalidRequest(msg))))

    def on_headers_complete(self) -> None:
        if self._timing is not None:
            self._untime()
        head_bytes = self._head_bytes
        self._head_bytes = None
        self._in_head = False
        # The head is within what arrived since it began; only when that is over the bound
        # is its exact size measured, from what uvicorn collected (the URL and the header
        # pairs) rather than in a Python callback per header.
        if head_bytes is not None and head_bytes > self.max_header_bytes:
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > self.max_header_bytes:
                self._head_too_large = True
                raise _HeadTooLarge
        self._in_body = True
        cycle = self.cycle
        HttpToolsProtocol.on_headers_complete(self)
        if self.cycle is not cycle:
            # A new request cycle (none for an upgrade): its task has not run yet. The cycle
            # only calls write, close and is_closing on its transport.
            self.cycle.transport = self._writer  # type: ignore[assignment]
            self._writer.on_lost = None

    def on_response_complete(self) -> None:
        if self._is_lingering:
            # The response closed the connection (connection: close, or refused): no
            # pipelined request is started and no keep-alive bound replaces the linger.
            self.server_state.total_requests += 1
            return
        if self.pipeline:
            # A pipelined request is waiting: uvicorn starts it, and arms no keep-alive timer.
            HttpToolsProtocol.on_response_complete(self)
            return
        # uvicorn's own steps, but for its keep-alive timer (so its timer is never armed): the
        # connection is idle now, and its deadline goes in our table (a head or body deadline
        # under way stays). The next request's bytes replace it with a head deadline
        # (data_received) or end it (on_headers_complete).
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self._timing is None:
            self._time("idle", self.timeout_keep_alive)

    # ------------------------------------------------------------------ helpers

    def _time(self, what: str, seconds: float) -> None:
        self._timing = what
        self._deadlines.set(self, self.loop.time() + seconds, self._timed_out)

    def _untime(self) -> None:
        if self._timing is not None:
            self._timing = None
            self._deadlines.discard(self)

    def _timed_out(self) -> None:
        what = self._timing
        self._timing = None
        if self.transport.is_closing():
            return
        # What a cycle wrote in this turn goes before anything written here, and before the close.
        self._writer.flush()
        if what == "idle" or what == "linger":
            # uvicorn's keep-alive timeout: a quiet close, as uvicorn's own is. Or a client
            # that went on sending past the linger bound: it may lose our answer now.
            self.transport.close()
            return
        if logger.isEnabledFor(logging.INFO):
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
            seconds = self.header_timeout_seconds if what == "head" else self.body_timeout_seconds
            logger.info(
                "closed a connection from %s: no complete request %s in %.1f s",
                client,
                what,
                seconds,
            )
        if what == "body":
            # The request whose body is late is the one in progress: answer it, unless its
            # response has begun (an app may answer before reading the body).
            cycle = self.cycle
            if cycle is None or not cycle.response_started:
                self.transport.write(_TIMEOUT_RESPONSE)
            self._refuse(b"")
        elif self._in_head or self._head_bytes:
            self._refuse(_TIMEOUT_RESPONSE)
        else:
            self.transport.close()

    def _refuse(self, response: bytes) -> None:
        self._untime()
        self._head_bytes = None
        self._writer.flush()
        # Only when no response is in progress on this connection: otherwise a pipelined
        # request's refusal would land in the middle of the previous response.
        if response and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(response)
        self._linger()

    def _close(self) -> None:
        """How a request cycle closes the connection: at once, or lingering (:meth:`_linger`)
        while its request is still incomplete (answered before its body was read)."""
        if self._in_head or self._in_body or self._head_bytes:
            self._linger()
        else:
            self._writer.flush()
            self.transport.close()

    def _linger(self) -> None:
        """Close the connection without losing what was written to it.

        A close with the client's bytes unread, or with more of them on the way, makes the
        kernel answer with a reset, and a client still sending its request (refused with 400,
        408, 413 or 431, or answered before its body was read) may then never read the
        answer: its next write fails and takes the received response with it. So this
        half-closes instead (the FIN follows the answer), discards what still comes, and
        closes at the client's EOF or after ``linger_seconds``, as nginx's
        ``lingering_close`` does.
        """
        self._writer.end()
        transport = self.transport
        if transport.is_closing() or self._is_lingering:
            return
        if not transport.can_write_eof():
            transport.close()
            return
        self._is_lingering = True
        self._untime()
        self._head_bytes = None
        self._in_head = self._in_body = False
        transport.write_eof()
        # Reading may be paused by flow control (a body past uvicorn's high-water mark): the
        # discarded input must still be read, or the client's EOF would never arrive.
        self.flow.resume_reading()
        self._time("linger", self.linger_seconds)


# One Deadlines per uvicorn server (its ServerState is shared by all its connections),
# forgotten with the server.
_DEADLINES: Final[weakref.WeakKeyDictionary[ServerState, Deadlines]] = weakref.WeakKeyDictionary()
# And one list of the connections with response bytes held in the loop's current turn.
_HELD_WRITES: Final[weakref.WeakKeyDictionary[ServerState, HeldWrites]] = (
    weakref.WeakKeyDictionary()
)


def http_protocol(
    *,
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS,
    body_timeout_seconds: float | None = DEFAULT_BODY_TIMEOUT_SECONDS,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    linger_seconds: float = DEFAULT_LINGER_SECONDS,
) -> type[BoundedProtocol]:
    """A :class:`BoundedProtocol` class with these bounds, for ``uvicorn.run(http=...)``.

    uvicorn builds the protocol itself (one per connection), so the bounds travel as class
    attributes of a subclass made here, not as constructor arguments.

    Args:
        header_timeout_seconds: time for a request's line and headers.
        body_timeout_seconds: time for a request's body, from the end of its head (None:
            unbounded).
        max_header_bytes: the largest request head.
        linger_seconds: how long a connection closed mid-request waits for the client's EOF.

    Raises:
        ValueError: a bound is not positive.
    """
    if header_timeout_seconds <= 0 or max_header_bytes <= 0 or linger_seconds <= 0:
        raise ValueError(
            "header_timeout_seconds, max_header_bytes and linger_seconds must be positive"
        )
    if body_timeout_seconds is not None and body_timeout_seconds <= 0:
        raise ValueError("body_timeout_seconds must be positive (or None for no bound)")
    return type(
        "BoundedProtocol",
        (BoundedProtocol,),
        {
            "header_timeout_seconds": header_timeout_seconds,
            "body_timeout_seconds": body_timeout_seconds,
            "max_header_bytes": max_header_bytes,
            "linger_seconds": linger_seconds,
        },
    )
