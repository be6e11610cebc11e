"""One bounded SSE writer: how a stream the server pushes on is written, for every transport.

Owns writing one SSE response whose messages come from many producers (a session's replies
and requests, fan-out from the notification bus): the order they go out in, the bound on what
waits for a slow reader, keepalive comments, and ending the response after the last write.
Its users: the 2024-11-05 stream (``ssemcp.transports.legacy_sse``) and a 2026-07-28
``subscriptions/listen`` stream (``ssemcp.transports.streamable``). (A 2025 GET stream is
written from the session's event log instead, so that it can be resumed.)

A stream is written by whoever has something to say, as the ceiling app of our benchmarks
writes straight onto a stream from the POST's task: a producer that finds nobody writing
awaits the stream's ``send`` itself; one that finds a write under way queues its event, and
the queue goes out as one write from a :class:`Flusher`, so that a producer cancelled
mid-write never takes other producers' events down with it. The queue is bounded: when it is
full, producers that await wait (the client is slow, not gone) and a closed stream frees them;
a message posted without waiting (:meth:`SSEWriter.send_nowait`) finds a longer bound, past
which the stream is given up (``on_overflow``), since nothing else bounds how many of those a
reader that stopped reading would let pile up.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Final, TypeAlias

from ssemcp.asgi import ASGIMessage, ASGISend
from ssemcp.asgi.shortcuts import abort
from ssemcp.jsonrpc import Message
from ssemcp.sse import KEEPALIVE

__all__ = ["Encode", "Flusher", "FrameCache", "SSEWriter"]

logger = logging.getLogger(__name__)

# How a message (or a batch of replies) becomes one SSE event's bytes.
Encode: TypeAlias = Callable[["Message | Sequence[Message]"], bytes]
_NOT_YET: Final = object()
# Idle streams are found by one sweep of every stream this many times per keepalive period,
# not by a timer per stream (a uvloop timer handle is ~500 bytes, a twentieth of an idle
# stream's cost): a comment goes out after between 1 and 1.2 periods of silence, still well
# inside the proxy timeouts that DEFAULT_KEEPALIVE_SECONDS is chosen for.
_SWEEPS_PER_PERIOD: Final = 5


def _body(chunk: bytes) -> ASGIMessage:
    return {"type": "http.response.body", "body": chunk, "more_body": True}


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class FrameCache:
    """The event bytes of the message being fanned out, encoded once for every stream.

    A server-wide notification (``resources/updated`` to every subscriber, ``list_changed``)
    reaches each stream's :meth:`SSEWriter.send_nowait` as the same object, one call after
    another; encoding it once instead of once per stream is most of a fan-out's cost. The
    entry is dropped at the next turn of the loop, so a message object that is changed and
    sent again later is encoded afresh, and a large one is not kept alive. One cache per
    encoding: streams that frame events alike share it.
    """

    __slots__ = ("_event", "_message", "encode")

    def __init__(self, encode: Encode) -> None:
        self.encode: Encode = encode
        self._message: object = _NOT_YET
        self._event = b""

    def frame(self, message: Message) -> bytes:
        if message is self._message:
            return self._event
        event = self.encode(message)
        if self._message is _NOT_YET:
            asyncio.get_running_loop().call_soon(self._forget)
        self._message = message
        self._event = event
        return event

    def _forget(self) -> None:
        self._message = _NOT_YET
        self._event = b""


class Flusher:
    """Writes out the queues of streams that nobody is writing, many streams per task.

    A fan-out queues one event on each of a thousand idle streams at once; a task per stream
    to write it (about 3 µs each to create and run, on CPython 3.11) would cost more than the
    writes. One task writes them one after another instead, as the ceiling app of our
    benchmarks does. The catch is a slow reader: a ``send`` that waits for the socket to
    drain would hold up every stream behind it. So each run of the task arms a callback for
    the next turn of the loop; the task gives the loop a turn only when a write waits, so if
    the callback finds the run still going, a write is waiting, and a new run takes over the
    streams still to be written while the old one finishes its stream and stops.
    """

    __slots__ = ("_runner", "_writers")

    def __init__(self) -> None:
        self._writers: collections.deque[SSEWriter] = collections.deque()
        self._runner: asyncio.Task[None] | None = None

    def add(self, writer: SSEWriter) -> None:
        """Write ``writer``'s queue soon (the writer is marked as being written)."""
        self._writers.append(writer)
        if self._runner is None:
            self._start()

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        runner = self._runner = loop.create_task(self._run())
        loop.call_soon(self._take_over_if_waiting, runner)

    def _take_over_if_waiting(self, runner: asyncio.Task[None]) -> None:
        if self._runner is runner and not runner.done():
            self._start()

    async def _run(self) -> None:
        runner = asyncio.current_task()
        assert runner is not None
        writers = self._writers
        try:
            while writers and self._runner is runner:
                writer = writers.popleft()
                try:
                    await writer.write_queued(runner)
                except asyncio.CancelledError:
                    if not writer.is_closed:
                        raise
                    # close() interrupted the write that waited for its client: that stream
                    # is over, the others are not.
                    runner.uncancel()
                except Exception:
                    # A bug of ours or of the ASGI server's; the streams behind this one must
                    # still be written, or their ends would wait for them for ever.
                    logger.exception("%s: writing its stream failed", writer.label)
        finally:
            if self._runner is runner:
                self._runner = None


class SSEWriter:
    """The writer of one SSE response.

    Args:
        label: names the stream in log lines ("session 1a2b3c4d").
        frames: encodes messages (shared by the streams a fan-out reaches).
        flusher: writes queues nobody is writing (shared by a transport's streams).
        max_queued_messages: events queued behind the write under way before producers
            that await have to wait.
        max_queued_notifications: events queued before a message posted without waiting
            gives the stream up (at least ``max_queued_messages``).
        on_overflow: called when the stream is given up: its owner closes the session or
            subscription (which closes this writer).
    """

    __slots__ = (
        "_flusher",
        "_flushing_task",
        "_frames",
        "_is_writing",
        "_last_write_time",
        "_loop",
        "_max_queued_messages",
        "_max_queued_notifications",
        "_on_overflow",
        "_queued",
        "_room_waiters",
        "_send",
        "_writer_idle",
        "is_closed",
        "is_stalled",
        "label",
    )

    def __init__(
        self,
        label: str,
        frames: FrameCache,
        flusher: Flusher,
        max_queued_messages: int,
        max_queued_notifications: int,
        on_overflow: Callable[[], object],
    ) -> None:
        self.label = label
        self.is_closed = False
        # Given up with a write that waits on a reader who stopped reading and whose
        # connection could not be aborted: that write may never end.
        self.is_stalled = False
        self._frames = frames
        self._flusher = flusher
        self._max_queued_messages = max_queued_messages
        self._max_queued_notifications = max(max_queued_notifications, max_queued_messages)
        self._on_overflow = on_overflow
        self._send: ASGISend | None = None
        # Events waiting for the write under way to end, oldest first.
        self._queued: list[bytes] = []
        self._room_waiters: list[asyncio.Future[None]] | None = None
        # True from the start: until the first event is out (start), the caller is the
        # writer, so nothing can overtake the event that must come first.
        self._is_writing = True
        # The flusher's task while it writes this stream's queue, for close() to interrupt.
        self._flushing_task: asyncio.Task[None] | None = None
        self._writer_idle: asyncio.Future[None] | None = None
        self._last_write_time = 0.0
        # Taken once: asyncio.get_running_loop() costs a getpid() system call on CPython 3.11
        # (its fork check), and every write reads the loop's clock.
        self._loop = asyncio.get_running_loop()

    @property
    def queued_count(self) -> int:
        """Events queued behind the write under way."""
        return len(self._queued)

    # ------------------------------------------------------------------ the response

    async def start(
        self, send: ASGISend, headers: Sequence[tuple[bytes, bytes]], first: bytes
    ) -> None:
        """Start the response with the event ``first``, then send what came meanwhile."""
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(_body(first))
        self._send = send
        self._writer_done()

    async def finish_writing(self) -> None:
        """Wait until no write is under way, so that the response can end after it."""
        loop = asyncio.get_running_loop()
        while self._is_writing:
            waiter = self._writer_idle = loop.create_future()
            await waiter

    def ping_if_idle(self, idle_since: float) -> None:
        """Send a keepalive comment if nothing was written since ``idle_since`` (loop time)."""
        if not self._is_writing and self._last_write_time <= idle_since and not self.is_closed:
            self._queued.append(KEEPALIVE)
            self._is_writing = True
            self._flusher.add(self)

    # ------------------------------------------------------------------ producers

    async def send(self, message: Message | Sequence[Message]) -> None:
        """Write ``message`` on the stream, or queue it behind the write under way; wait while
        the queue is full, until the stream closes."""
        if self.is_closed:
            # As uvicorn drops writes after a disconnect: a handler never fails because its
            # client left; the stream's end cancels it soon enough.
            logger.debug("%s: closed, dropped a message", self.label)
            return
        event = self._frames.encode(message)
        while self._is_writing:
            if len(self._queued) < self._max_queued_messages:
                self._queued.append(event)
                return
            # Backpressure: a full queue means a slow reader, so wait rather than drop.
            await self._room()
            if self.is_closed:
                return
        # Nobody is writing, so nothing is queued either: this event is next on the wire.
        send = self._send
        assert send is not None  # start() sets it before anyone else may write
        self._is_writing = True
        try:
            await send(_body(event))
        finally:
            self._writer_done()

    def send_nowait(self, message: Message) -> bool:
        """:meth:`send` without waiting: queued, or the stream given up when the queue holds
        ``max_queued_notifications``. Always True: nobody is left to wait."""
        if self.is_closed:
            return True
        if len(self._queued) >= self._max_queued_notifications:
            self._give_up()
            return True
        self._queued.append(self._frames.frame(message))
        if not self._is_writing:
            self._is_writing = True
            self._flusher.add(self)
        return True

    async def _room(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        if self._room_waiters is None:
            self._room_waiters = []
        self._room_waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._room_waiters:
                self._room_waiters.remove(waiter)

    def _writer_done(self) -> None:
        """The write under way has ended: hand what was queued meanwhile to the flusher."""
        self._last_write_time = self._loop.time()
        if self._queued and not self.is_closed:
            self._flusher.add(self)
            return
        self._is_writing = False
        if self._writer_idle is not None:
            _wake(self._writer_idle)

    async def write_queued(self, flushing_task: asyncio.Task[None]) -> None:
        """Write out the queue, as :class:`Flusher`'s ``flushing_task``; then stop writing."""
        send = self._send
        assert send is not None
        self._flushing_task = flushing_task
        try:
            while self._queued and not self.is_closed:
                queued = self._queued
                chunk = queued[0] if len(queued) == 1 else b"".join(queued)
                queued.clear()
                if self._room_waiters:
                    for waiter in self._room_waiters:
                        _wake(waiter)
                await send(_body(chunk))
            self._last_write_time = self._loop.time()
        finally:
            self._flushing_task = None
            self._is_writing = False
            _wake(self._writer_idle)

    # ------------------------------------------------------------------ lifetime

    def _give_up(self) -> None:
        """Give up a stream whose reader has fallen a long queue behind the write under way,
        and its connection with it: that write waits on the reader, and may never end."""
        logger.warning("%s: closed, its reader is %d events behind", self.label, len(self._queued))
        self._queued.clear()
        send = self._send
        self._on_overflow()
        self.close()
        self.is_stalled = send is None or not abort(send)

    def close(self) -> None:
        """Stop writing: waiting producers are freed, a write under way is interrupted."""
        if self.is_closed:
            return
        self.is_closed = True
        if self._room_waiters:
            for waiter in self._room_waiters:
                _wake(waiter)
        if self._flushing_task is not None:
            self._flushing_task.cancel()


class KeepaliveSweep:
    """A keepalive comment on every stream silent for ``keepalive_seconds``: one timer for
    all of a transport's streams, running while any is open.

    Args:
        keepalive_seconds: the silence after which a stream gets a comment.
        writers: the writers of the streams open now.
    """

    __slots__ = ("_keepalive_seconds", "_loop", "_timer", "_writers")

    def __init__(
        self, keepalive_seconds: float, writers: Callable[[], Iterable[SSEWriter]]
    ) -> None:
        self._keepalive_seconds = keepalive_seconds
        self._writers = writers
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Sweep from now on, until no stream is open (called as a stream opens)."""
        loop = asyncio.get_running_loop()
        # (A new loop: an app served again after its first loop closed.)
        if self._timer is None or self._loop is not loop:
            self._loop = loop
            self._schedule()

    def _schedule(self) -> None:
        assert self._loop is not None
        self._timer = self._loop.call_later(
            self._keepalive_seconds / _SWEEPS_PER_PERIOD, self._sweep
        )

    def _sweep(self) -> None:
        self._timer = None
        assert self._loop is not None
        idle_since = self._loop.time() - self._keepalive_seconds
        swept = False
        for writer in self._writers():
            swept = True
            writer.ping_if_idle(idle_since)
        if swept:
            self._schedule()
        # else: stopped while no stream is open; the next stream starts it again.

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
