"""The stdio transport: newline-delimited JSON-RPC on stdin and stdout.

Owns the line framing (spec basic/transports, "stdio": messages are "delimited by newlines,
and MUST NOT contain embedded newlines"; the server "MUST NOT write anything to its stdout
that is not a valid MCP message"), the bound on a line's length, and the lifetime of the one
session a process serves. It does not interpret MCP: lines go to a ``ServerConnection``.

Requests run in a task each, so a slow tool never stops the reading of the next line (which
may be the client's answer to that very tool's sampling request, or a cancellation). When the
input ends (or, under ``ssemcp stdio``, on SIGTERM), requests in flight get a grace to finish,
and those still running then get an error (``ssemcp.transports.drain``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import selectors
import signal
import sys
from collections.abc import AsyncIterator, Coroutine
from typing import Any, BinaryIO, Final

from ssemcp.errors import InternalError, InvalidRequest, ParseError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    error_response,
    parse,
    serialize,
)
from ssemcp.observe._hook import WATCHER, Watcher
from ssemcp.observe.calls import CUT_OFF, OK
from ssemcp.observe.listens import ListenObservation
from ssemcp.observe.refused import answered_with_error, refused
from ssemcp.protocol.sessionless import is_sessionless
from ssemcp.server.connection import ServerConnection
from ssemcp.server.listen import DEFAULT_MAX_BACKLOG, ListenStream
from ssemcp.server.registry import Server
from ssemcp.server.sessionless import LISTEN, open_listen, serve_sessionless
from ssemcp.transports.drain import DEFAULT_SHUTDOWN_GRACE_SECONDS, Drain, cut_replies

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_SHUTDOWN_GRACE_SECONDS",
    "LineReader",
    "serve_stdio",
]

logger = logging.getLogger(__name__)

# The same bound as the HTTP body limit (4 MiB): a message larger than that is either a
# mistake or an attack, and buffering it whole is what the bound is for.
DEFAULT_MAX_LINE_BYTES: Final = 4 * 1024 * 1024
_READ_CHUNK_BYTES: Final = 64 * 1024
# Once the drain is over: how long the last writes (cut calls' errors, listens' final results,
# notifications being handled) may take before what is left is cancelled.
_AFTER_DRAIN_SECONDS: Final = 1.0
# The signals that end the input as its end would (ssemcp stdio, under a supervisor).
_STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)


class LineReader:
    """Splits a byte stream into lines, bounded. No I/O: feed bytes, take lines.

    A line longer than ``max_line_bytes`` is dropped up to its newline and reported once as
    ``None``, so the caller can answer it with an error and carry on with the next line.
    """

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        # Bytes of the buffer already known to hold no newline (keeps scanning O(n)).
        self._scanned = 0
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes | None]:
        """Take bytes; return complete lines (without the newline), None for an overlong one."""
        lines: list[bytes | None] = []
        self._buffer += data
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline < 0:
                self._scanned = len(self._buffer)
                if self._scanned > self._max_line_bytes:
                    if not self._discarding:
                        lines.append(None)
                        self._discarding = True
                    self._buffer.clear()
                    self._scanned = 0
                return lines
            if self._discarding:
                self._discarding = False
            elif newline > self._max_line_bytes:
                lines.append(None)
            else:
                line = bytes(self._buffer[:newline])
                # CRLF from a Windows peer: the CR is framing, not content.
                lines.append(line[:-1] if line.endswith(b"\r") else line)
            del self._buffer[: newline + 1]
            self._scanned = 0

    def close(self) -> bytes | None:
        """End of input: a last line without its newline (empty bytes if none)."""
        if self._discarding:
            return b""
        if len(self._buffer) > self._max_line_bytes:
            return None
        return bytes(self._buffer)


class _Listening:
    """One open ``subscriptions/listen`` on stdio: what its subscription heard, waiting for
    stdout, in order. A reader this far behind is cut off rather than buffered without end
    (the stdout counterpart of the SSE writer's bound, ``ssemcp.transports.sse_writer``)."""

    __slots__ = ("_backlog", "_ready", "is_closed", "is_cut_off", "stream")

    def __init__(self, stream: ListenStream) -> None:
        self.stream = stream
        self._backlog: collections.deque[Notification] = collections.deque()
        self._ready = asyncio.Event()
        self.is_closed = False
        self.is_cut_off = False

    def deliver(self, notification: Notification) -> None:
        if len(self._backlog) >= DEFAULT_MAX_BACKLOG:
            logger.warning(
                "subscription %r: cut off, its reader fell behind", self.stream.subscription_id
            )
            self.is_cut_off = True
            self.close()
            return
        self._backlog.append(notification)
        self._ready.set()

    async def next_batch(self) -> list[Notification]:
        """What has come since the last batch; waits until something has. Empty once the
        subscription is closed."""
        while not self._backlog and not self.is_closed:
            self._ready.clear()
            await self._ready.wait()
        if self.is_closed:
            return []
        batch = list(self._backlog)
        self._backlog.clear()
        return batch

    def close(self) -> None:
        self.is_closed = True
        self.stream.close()
        self._ready.set()


class _StdioSession:
    """One process, one session: reads stdin, writes stdout."""

    def __init__(self, server: Server, writer: asyncio.StreamWriter | _BlockingWriter) -> None:
        self._writer = writer
        self.connection = ServerConnection(server, self.send)
        self._tasks: set[asyncio.Task[None]] = set()
        # Open subscriptions/listen requests (2026-07-28), by id: a notifications/cancelled
        # for one of them ends it.
        self._listens: dict[RequestId, _Listening] = {}
        # Other 2026-07-28 requests being served, by id, for the same reason. Apart from the
        # session's: ids of the two eras may collide.
        self._serving: dict[RequestId, asyncio.Task[None]] = {}
        # The requests in flight, drained when the input ends (ssemcp.transports.drain).
        self.drain = Drain()

    async def send(self, message: Message) -> None:
        await self.write(serialize(message))

    async def write(self, line: bytes) -> None:
        # One write call per message: it lands in the transport's buffer whole, so messages
        # from concurrent tasks never interleave.
        self._writer.write(line + b"\n")
        await self._writer.drain()

    def handle_line(self, line: bytes | None) -> None:
        if line is None:
            self._spawn(self._answer_error(InvalidRequest("Invalid Request: the line is too long")))
            return
        if not line.strip():
            return  # blank lines carry nothing; tolerate them
        try:
            payload = parse(line)
        except ParseError as exc:
            self._spawn(self._answer_error(exc))
            return
        self._spawn(self._handle(payload))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_error(self, error: ParseError | InvalidRequest) -> None:
        # ssemcp.observe: input that was no request is logged and counted with its code.
        refused(self.connection.server, None, error.code, error.message)
        await self.send(error_response(None, error))

    async def _handle(self, payload: Any) -> None:
        reply: Response | ErrorResponse | list[Response | ErrorResponse] | None
        # A listen is a stream, not a call: it ends when the input does (end_listens).
        carries_request = (type(payload) is Request and payload.method != LISTEN) or (
            type(payload) is list and any(type(item) is Request for item in payload)
        )
        tracked = self.drain.start(payload) if carries_request else None
        try:
            if type(payload) is Notification and self._cancels_a_sessionless(payload):
                return
            if type(payload) is Request and is_sessionless(payload):
                # spec 2026-07-28 basic/versioning: a request carrying its own _meta is
                # served statelessly, beside (not inside) the session an initialize opens.
                if payload.method == LISTEN:
                    await self._listen(payload)
                    return
                task = asyncio.current_task()
                assert task is not None
                self._serving[payload.id] = task
                try:
                    reply = await serve_sessionless(
                        self.connection.server, payload, None, self.send
                    )
                finally:
                    self._serving.pop(payload.id, None)
                if type(reply) is ErrorResponse:
                    # ssemcp.observe: a request refused before its handler.
                    answered_with_error(self.connection.server, payload, reply, None)
            else:
                reply = await self.connection.receive(payload)
            if reply is not None:
                await self.write(serialize(reply))
        except asyncio.CancelledError:
            if not self.drain.was_cut(tracked):
                raise
            # Cut once the grace was over: its client gets an error, not silence.
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
            replies = cut_replies(payload, self.drain.grace_seconds)
            if replies:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    await self.write(serialize(replies))
        except (BrokenPipeError, ConnectionResetError):
            logger.info("stdout closed; dropping a reply")
        except Exception:
            logger.exception("internal error on stdio")
            if isinstance(payload, Request):
                await self.send(error_response(payload.id, InternalError("Internal error")))
        finally:
            if tracked is not None:
                self.drain.end(tracked)

    async def _listen(self, request: Request) -> None:
        """Write a subscription's acknowledgement and notifications to stdout until the client
        cancels it or the input ends (spec 2026-07-28 basic/patterns/subscriptions)."""
        opened = open_listen(self.connection.server, request, None, None)
        if type(opened) is ErrorResponse:
            # ssemcp.observe: refused before it opened.
            refused(self.connection.server, request, opened.code, opened.message)
            await self.send(opened)
            return
        assert isinstance(opened, ListenStream)
        listening = self._listens[request.id] = _Listening(opened)
        # ssemcp.observe: the listen's line and span when it ends (None: nothing observes).
        observed = ListenObservation.begin(self.connection.server, request, None)
        try:
            await self.send(opened.open(listening.deliver))
            while batch := await listening.next_batch():
                for notification in batch:
                    await self.send(notification)
                if observed is not None:
                    observed.notifications += len(batch)
        finally:
            listening.close()
            if observed is not None:
                observed.end(CUT_OFF if listening.is_cut_off else OK)
        # Cancelled by the client, or the input ended: "MUST NOT send any further messages".
        if self._listens.pop(request.id, None) is not None and not listening.is_cut_off:
            await self.send(Response(request.id, opened.final_result()))

    def _cancels_a_sessionless(self, notification: Notification) -> bool:
        """Whether ``notification`` cancels a 2026-07-28 request of ours, and if so, do it:
        a listen ends; another request's handler is cancelled and sends no reply (spec
        2026-07-28 basic/patterns/cancellation: the receiver "MUST NOT send any further
        messages for it")."""
        if notification.method != "notifications/cancelled":
            return False
        request_id = (notification.params or {}).get("requestId")
        if type(request_id) not in (int, str):
            return False
        listening = self._listens.pop(request_id, None)  # type: ignore[arg-type]
        if listening is not None:
            listening.close()
            return True
        task = self._serving.pop(request_id, None)  # type: ignore[arg-type]
        if task is None:
            return False
        logger.info("request %r cancelled by the client", request_id)
        task.cancel()
        return True

    def end_listens(self) -> None:
        """The input ended: nobody is there to read what subscriptions would send."""
        listens = list(self._listens.values())
        self._listens.clear()
        for listening in listens:
            listening.close()

    async def drain_tasks(self, grace_seconds: float) -> None:
        """The input is over: requests in flight get ``grace_seconds`` to finish, then are
        cut (each answered with an error); logs how many finished and how many were cut."""
        drain = self.drain
        drain.grace_seconds = grace_seconds
        drain.begin()
        if not await drain.wait_for_grace() and drain.cut():
            await drain.wait(_AFTER_DRAIN_SECONDS)
        if self._tasks:
            # What is not a call: a listen's final result, a notification being handled.
            _done, pending = await asyncio.wait(set(self._tasks), timeout=_AFTER_DRAIN_SECONDS)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        # Quiet when nothing was in flight: the input's end is how every session ends.
        logger.log(
            logging.INFO if drain.in_flight_at_start else logging.DEBUG, "%s", drain.summary()
        )


class _BlockingWriter:
    """Writes synchronously to a file the loop cannot watch (a regular file, /dev/null)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, data: bytes) -> None:
        self._stream.write(data)
        self._stream.flush()

    async def drain(self) -> None:
        return None


async def serve_stdio(
    server: Server,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    shutdown_grace_seconds: float = DEFAULT_SHUTDOWN_GRACE_SECONDS,
    stop_on_signals: bool = False,
    watcher: Watcher | None = None,
) -> None:
    """Serve ``server`` on stdin/stdout until stdin closes.

    Args:
        stdin, stdout: binary streams (default: the process's own). While serving,
            ``sys.stdout`` points at stderr, so a stray ``print`` in a tool cannot corrupt
            the protocol stream.
        max_line_bytes: the longest message accepted; longer lines get an error.
        shutdown_grace_seconds: once the input ends, how long requests in flight may
            finish before they are cut (each answered with a JSON-RPC error).
        stop_on_signals: SIGTERM and SIGINT end the input as its end would (the process's
            own loop only: ``ssemcp stdio``); a second one cuts the requests at once.
        watcher: watches every request served (``ssemcp.observe``: the access log).
    """
    if watcher is not None:
        # The request tasks started below copy this context, and with it the watcher.
        token = WATCHER.set(watcher)
        try:
            await serve_stdio(
                server,
                stdin=stdin,
                stdout=stdout,
                max_line_bytes=max_line_bytes,
                shutdown_grace_seconds=shutdown_grace_seconds,
                stop_on_signals=stop_on_signals,
            )
        finally:
            WATCHER.reset(token)
        return
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    writer = await _open_writer(stdout)
    session = _StdioSession(server, writer)
    lines = LineReader(max_line_bytes)
    saved_stdout = sys.stdout
    sys.stdout = sys.stderr
    loop = asyncio.get_running_loop()
    reading = loop.create_task(_serve_lines(session, stdin, lines))
    handled = _stop_on_signals(loop, reading, session.drain) if stop_on_signals else ()
    try:
        try:
            await asyncio.wait([reading])
        finally:
            reading.cancel()
        if not reading.cancelled():
            reading.result()  # a failure of the reading itself
        session.end_listens()
        await session.drain_tasks(shutdown_grace_seconds)
    finally:
        # Only now: a second signal during the drain must hurry it, not kill the process.
        for stop_signal in handled:
            loop.remove_signal_handler(stop_signal)
        sys.stdout = saved_stdout
        session.connection.close()
        await server.aclose()
        if isinstance(writer, asyncio.StreamWriter):
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()


async def _serve_lines(session: _StdioSession, stdin: BinaryIO, lines: LineReader) -> None:
    """Hand each line of ``stdin`` to ``session`` until its end."""
    async for chunk in _read_chunks(stdin):
        for line in lines.feed(chunk):
            session.handle_line(line)
    last = lines.close()
    if last is None or last.strip():
        session.handle_line(last)


def _stop_on_signals(
    loop: asyncio.AbstractEventLoop, reading: asyncio.Task[None], drain: Drain
) -> tuple[signal.Signals, ...]:
    """SIGTERM and SIGINT stop the reading (the drain follows, as at the input's end); a
    second one ends the drain's wait. Returns the signals handled (none off the main
    thread, or where the loop cannot watch signals)."""

    def stop(stop_signal: signal.Signals) -> None:
        if reading.done():
            drain.hurry()
            return
        logger.info("%s: reading no more input", stop_signal.name)
        reading.cancel()

    handled: list[signal.Signals] = []
    for stop_signal in _STOP_SIGNALS:
        try:
            loop.add_signal_handler(stop_signal, stop, stop_signal)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        handled.append(stop_signal)
    return tuple(handled)


def _is_pollable(stream: BinaryIO, events: int) -> bool:
    """Whether the event loop can watch ``stream``'s file: a pipe, a socket or a tty can be.

    epoll_ctl(2): EPERM "The target file fd does not support epoll. This error can occur if
    fd refers to, for example, a regular file or a directory." /dev/null is such a file too,
    and asyncio's pipe transports accept it (a character device) only to fail later, in a
    loop callback, with a traceback and a reader that never fires. So ask a selector first.
    """
    try:
        file_descriptor = stream.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(file_descriptor, events)
    except (OSError, ValueError, AttributeError):
        return False
    return True


async def _open_writer(stdout: BinaryIO) -> asyncio.StreamWriter | _BlockingWriter:
    """A writer for ``stdout``: the loop's pipe transport if it can watch the file, else
    plain blocking writes (a regular file or /dev/null never makes a write wait)."""
    if not _is_pollable(stdout, selectors.EVENT_WRITE):
        return _BlockingWriter(stdout)
    loop = asyncio.get_running_loop()
    try:
        write_transport, write_protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(os.dup(stdout.fileno()), "wb", 0)
        )
    except (ValueError, OSError):
        return _BlockingWriter(stdout)
    return asyncio.StreamWriter(write_transport, write_protocol, None, loop)


async def _open_reader(stdin: BinaryIO) -> asyncio.StreamReader | None:
    """A reader the loop fills from ``stdin``, or None if the loop cannot watch the file."""
    if not _is_pollable(stdin, selectors.EVENT_READ):
        return None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_READ_CHUNK_BYTES, loop=loop)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    except (ValueError, OSError):
        return None  # a selector that accepts regular files (kqueue) gets here with one
    return reader


async def _read_chunks(stdin: BinaryIO) -> AsyncIterator[bytes]:
    """Yield what stdin gives, without blocking the loop."""
    reader = await _open_reader(stdin)
    if reader is None:
        # A regular file or /dev/null: a read never waits for a peer, so a worker thread
        # reads it to its end.
        read = getattr(stdin, "read1", stdin.read)
        while chunk := await asyncio.to_thread(read, _READ_CHUNK_BYTES):
            yield chunk
        return
    while chunk := await reader.read(_READ_CHUNK_BYTES):
        yield chunk
