"""One child process speaking MCP over stdio: started, read, written, and ended.

Owns the process side of the bridge: starting the command in a process group of its own with
an environment that holds none of the bridge's secrets, the line framing of its stdout
(``ssemcp.transports.stdio.LineReader``: newline-delimited, bounded), its stderr into our log
(each line tagged with the session it serves), and its end: ``SIGTERM`` to the whole group,
``SIGKILL`` after a grace period, and the wait that reaps it, so that no zombie is left. What
the messages mean is the relay's (``ssemcp.bridge.relay``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import re
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final, Protocol

import orjson

from ssemcp._types import JSONValue
from ssemcp.errors import ParseError
from ssemcp.jsonrpc import Invalid, Message, parse, serialize
from ssemcp.transports.stdio import DEFAULT_MAX_LINE_BYTES, LineReader

__all__ = [
    "DEFAULT_TERMINATE_GRACE_SECONDS",
    "SCRUBBED_ENVIRONMENT",
    "SCRUBBED_PREFIX",
    "Child",
    "child_environment",
]

logger = logging.getLogger(__name__)

# The bridge's own secrets and authorization settings (ssemcp.cli, ssemcp.auth.settings): a
# bridged server has no business with the tokens clients present, the OAuth client secret the
# bridge introspects with, or the key that seals 2026-07-28 request state.
SCRUBBED_ENVIRONMENT: Final = frozenset(
    {"SSEMCP_TOKEN", "SSEMCP_TOKEN_FILE", "SSEMCP_API_KEY_HEADER", "SSEMCP_STATE_KEY"}
)
SCRUBBED_PREFIX: Final = "SSEMCP_AUTH_"
# After SIGTERM, how long a child may take to exit before SIGKILL: servers that flush or
# close a database on SIGTERM need a moment; an HTTP shutdown waits 5 s in all.
DEFAULT_TERMINATE_GRACE_SECONDS: Final = 2.0
_READ_CHUNK_BYTES: Final = 64 * 1024
# Once the child has exited, how long its pipes may take to yield what it wrote last.
_DRAIN_SECONDS: Final = 2.0
# Lines held for one write at the end of a turn at most: past it they leave at once, so that
# the transport's buffer limit (and drain's back-pressure) still sees them.
_MAX_HELD_LINES: Final = 64
# The start of a child's answer to one of the bridge's requests as the MCP SDKs write it
# (Python's pydantic, ssemcp's orjson: these members in this order, no spaces), with the id
# the bridge gave it (a positive integer, ssemcp.bridge.ids). What follows, up to the line's
# closing brace, is the result alone: it is checked as JSON and its bytes relayed as they came.
_RESULT_START: Final = re.compile(rb'\{"jsonrpc":"2\.0","id":([1-9][0-9]{0,17}),"result":')
# Stdout lines waiting for delivery (behind a slow consumer) before the pipe is paused.
_MAX_QUEUED_LINES: Final = 64
# A stderr line shown in our log is cut to this many characters.
_MAX_LOGGED_STDERR: Final = 1000


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class OnResult(Protocol):
    """Where a child's answer that came as :data:`_RESULT_START` goes: the bridge's id for
    it, its result, and the result's bytes as the child wrote them (one JSON value)."""

    def __call__(self, child_id: int, result: JSONValue, raw: bytes) -> None: ...


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without :data:`SCRUBBED_ENVIRONMENT` and any ``SSEMCP_AUTH_*``."""
    return {
        name: value
        for name, value in environ.items()
        if name not in SCRUBBED_ENVIRONMENT and not name.startswith(SCRUBBED_PREFIX)
    }


class _Pipes(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's protocol for a child's pipes, its stdout handed to the child's callbacks as
    it arrives rather than to a ``StreamReader`` that a task reads: that cost a future, a
    buffer copy and a task step per read, one read per answer from a child that answers one
    call at a time (bench/BRIDGE.md). What arrives before the callbacks are set is kept."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=_READ_CHUNK_BYTES, loop=loop)
        self._on_data: Callable[[bytes], None] | None = None
        self._on_closed: Callable[[], None] | None = None
        self._early: list[bytes] = []
        self._closed_early = False
        self.stdout_pipe: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # (uvloop's subprocess transport is no asyncio.SubprocessTransport subclass.)
        self.stdout_pipe = transport.get_pipe_transport(1)  # type: ignore[attr-defined]

    def deliver_stdout(
        self, on_data: Callable[[bytes], None], on_closed: Callable[[], None]
    ) -> None:
        """From now on, stdout's bytes go to ``on_data`` and its end to ``on_closed``."""
        self._on_data = on_data
        self._on_closed = on_closed
        early, self._early = self._early, []
        for data in early:
            on_data(data)
        if self._closed_early:
            on_closed()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        if fd != 1 or type(data) is not bytes:  # (pipes bring bytes)
            super().pipe_data_received(fd, data)
        elif self._on_data is not None:
            self._on_data(data)
        else:
            self._early.append(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            if self._on_closed is not None:
                self._on_closed()
            else:
                self._closed_early = True
        super().pipe_connection_lost(fd, exc)


class Child:
    """A started child. Messages it writes are awaited through ``on_message`` one after
    another, in order (a slow consumer slows the reading: bounded); ``exited`` resolves
    with its exit code once it has exited and been reaped.

    Use :meth:`start`, not the constructor.
    """

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        label: str,
        on_message: Callable[[Message], Awaitable[None]],
        max_line_bytes: int,
        on_result: OnResult | None,
        pipes: _Pipes,
    ) -> None:
        self.process = process
        self.label = label
        self._on_message = on_message
        self._on_result = on_result
        self._max_line_bytes = max_line_bytes
        loop = asyncio.get_running_loop()
        # The loop it runs on: kept, since asyncio.get_running_loop() outside a task's fast
        # path makes a getpid() system call, and the relay needs it per call.
        self.loop = loop
        self._loop = loop
        # Loop time of the last line on stdout: a child that says nothing for long is hung.
        self.last_output = loop.time()
        # Whether it has written anything to stdout yet (starting is allowed to take longer).
        self.has_spoken = False
        self.exited: asyncio.Future[int] = loop.create_future()
        self.stopping = False
        self._write_lock = asyncio.Lock()
        # Lines for the child's stdin held until the end of the loop's turn (_write_held).
        self._held: list[bytes] = []
        # Stdout: its lines, and those waiting for the ones before them to be delivered.
        self._lines = LineReader(max_line_bytes)
        self._queued: collections.deque[bytes] = collections.deque()
        self._delivering: asyncio.Task[None] | None = None
        self._stdout_closed = loop.create_future()
        self._stdout_paused = False
        self._stdout_ignored = False
        self._stdout_pipe = pipes.stdout_pipe
        pipes.deliver_stdout(self._on_stdout, functools.partial(_resolve, self._stdout_closed))
        self._readers = (
            loop.create_task(self._stdout_drained()),
            loop.create_task(self._read_stderr()),
        )
        self._waiter = loop.create_task(self._wait())

    @classmethod
    async def start(
        cls,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        label: str,
        on_message: Callable[[Message], Awaitable[None]],
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        on_result: OnResult | None = None,
    ) -> Child:
        """Start ``command`` (no shell) in a new session and process group. Its messages go
        to ``on_message``, in order; with ``on_result``, an answer to one of the bridge's
        requests in the SDKs' layout goes there instead, its result's bytes with it.

        Raises:
            OSError: the command cannot be started (not found, not executable).
        """
        # asyncio.create_subprocess_exec, with the protocol that hands stdout over itself.
        loop = asyncio.get_running_loop()
        transport, pipes = await loop.subprocess_exec(
            lambda: _Pipes(loop),
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            # Its own process group: ending it ends what it started too (an npx wrapper's
            # node, a shell script's children).
            start_new_session=True,
        )
        process = asyncio.subprocess.Process(transport, pipes, loop)
        child = cls(process, label, on_message, max_line_bytes, on_result, pipes)
        logger.info("session %s: started %s (pid %d)", label, command[0], process.pid)
        return child

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def is_running(self) -> bool:
        return not self.exited.done() and not self.stopping

    async def send(self, message: Message) -> None:
        """Write one message as a line on the child's stdin.

        Raises:
            ConnectionError: the child's stdin is closed (it has exited, or is exiting).
        """
        stdin = self.process.stdin
        assert stdin is not None
        if not self._write_lock.locked() and not stdin.transport.get_write_buffer_size():
            # The common case, without the lock and drain()'s coroutine: nobody waits to
            # write, and the pipe took all that was written (so it is not paused).
            if stdin.is_closing():
                raise ConnectionResetError("the child's stdin is closed")
            self._hold(serialize(message) + b"\n")
            return
        async with self._write_lock:
            if stdin.is_closing():
                raise ConnectionResetError("the child's stdin is closed")
            self._hold(serialize(message) + b"\n")
            await stdin.drain()

    def _hold(self, line: bytes) -> None:
        held = self._held
        held.append(line)
        if len(held) == 1:
            self._loop.call_soon(self._write_held)
        elif len(held) >= _MAX_HELD_LINES:
            self._write_held()

    def _write_held(self) -> None:
        """Write the lines held in this turn of the loop, in one system call.

        One write per message wakes the child once per message, and a child on the same CPU
        preempts the bridge at each: under 32 calls in flight, the writes were a third of the
        bridge's time (bench/BRIDGE.md). Held to the end of the turn, as the HTTP responses
        are (``ssemcp.http.response_writer``), they leave together and the child reads them
        in one go.
        """
        held = self._held
        if not held:
            return
        self._held = []
        stdin = self.process.stdin
        assert stdin is not None
        if not stdin.is_closing():  # else the child is exiting, which its requests hear
            stdin.writelines(held)

    def _on_stdout(self, data: bytes) -> None:
        """Stdout's bytes as they arrive. When they hold nothing but answers in the SDKs'
        layout and no line before them waits, the answers are routed at once; else every
        line waits its turn, in order, delivered by a task (as they were by a reading task:
        an answer's caller resumes only after what came with it is delivered), and the pipe
        is paused while too many wait (a slow consumer slows the reading: bounded)."""
        if self._stdout_ignored:
            return
        self.last_output = self._loop.time()
        self.has_spoken = True
        lines: list[bytes] = []
        for line in self._lines.feed(data):
            if line is None:
                logger.warning(
                    "session %s: the child wrote a line over %d bytes; dropped",
                    self.label,
                    self._max_line_bytes,
                )
            elif line.strip():
                lines.append(line)
        queued = self._queued
        if self._on_result is not None and self._delivering is None and not queued:
            starts = [_RESULT_START.match(line) if line[-1:] == b"}" else None for line in lines]
            if None not in starts:
                for index, line in enumerate(lines):
                    if not self._route_result(line, starts[index]):
                        queued.extend(lines[index:])  # (not JSON: parse() says what it is)
                        break
                lines = []
        queued.extend(lines)
        if queued:
            if self._delivering is None:
                self._delivering = self._loop.create_task(self._deliver_queued())
            if len(queued) >= _MAX_QUEUED_LINES and not self._stdout_paused:
                self._pause_stdout(True)

    async def _deliver_queued(self) -> None:
        queued = self._queued
        try:
            while queued:
                await self._deliver(queued.popleft())
                if self._stdout_paused and len(queued) < _MAX_QUEUED_LINES // 2:
                    self._pause_stdout(False)
        finally:
            self._delivering = None

    def _pause_stdout(self, pause: bool) -> None:
        stdout = self._stdout_pipe
        if not isinstance(stdout, asyncio.ReadTransport) or stdout.is_closing():
            return
        self._stdout_paused = pause
        if pause:
            stdout.pause_reading()
        else:
            stdout.resume_reading()

    async def _stdout_drained(self) -> None:
        """Until stdout has closed and every line it brought has been delivered."""
        await self._stdout_closed
        while (delivering := self._delivering) is not None:
            await delivering

    def _route_result(self, line: bytes, start: re.Match[bytes] | None) -> bool:
        """Route ``line`` to ``on_result`` if it is an answer in the SDKs' layout (``start``:
        where it matched :data:`_RESULT_START`); whether it was."""
        on_result = self._on_result
        if on_result is None or start is None:
            return False
        raw = line[start.end() : -1]
        try:
            result = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return False  # not one JSON value (more members, or garbage): parse() says which
        try:
            on_result(int(start[1]), result, raw)
        except Exception:
            logger.exception("session %s: routing a child's answer failed", self.label)
        return True

    async def _deliver(self, line: bytes) -> None:
        start = _RESULT_START.match(line) if line[-1:] == b"}" else None
        if self._route_result(line, start):
            return
        try:
            payload = parse(line)
        except ParseError:
            # spec basic/transports, "stdio": the server "MUST NOT write anything to its stdout
            # that is not a valid MCP message". Its client cannot be told which request it
            # spoiled; the line goes to our log.
            logger.warning("session %s: the child wrote a non-JSON line: %.200r", self.label, line)
            return
        for item in payload if isinstance(payload, list) else (payload,):
            if isinstance(item, Invalid):
                logger.warning(
                    "session %s: the child wrote an invalid message: %s", self.label, item.error
                )
                continue
            try:
                await self._on_message(item)
            except Exception:
                logger.exception("session %s: routing a child's message failed", self.label)

    async def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        lines = LineReader(self._max_line_bytes)
        while chunk := await stderr.read(_READ_CHUNK_BYTES):
            for line in lines.feed(chunk):
                if line is None:
                    logger.info("session %s: stderr: (a line too long to show)", self.label)
                    continue
                text = line.decode("utf-8", "replace").rstrip("\r")
                logger.info("session %s: stderr: %s", self.label, text[:_MAX_LOGGED_STDERR])

    async def _wait(self) -> None:
        await self._leader_exited()
        # What the leader started dies with it: a grandchild left holding the pipes would
        # keep them open (and us reading) for ever. The leader is not reaped yet (a zombie
        # still names its group), so the group cannot be another's.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        # asyncio's wait() ends only once the pipes have closed too (uvloop's at the exit).
        returncode = await self.process.wait()
        # Whatever it wrote before it died is read before it is declared gone: a reply on its
        # last line must still reach its client.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_SECONDS):
                await asyncio.gather(*self._readers, return_exceptions=True)
        for reader in self._readers:
            reader.cancel()
        # What a grandchild still holding the pipe writes after that is nobody's.
        self._stdout_ignored = True
        if self._delivering is not None:
            self._delivering.cancel()
        if self.process.stdin is not None:
            self.process.stdin.close()
        if not self.stopping:
            logger.warning(
                "session %s: the child (pid %d) exited with code %d",
                self.label,
                self.pid,
                returncode,
            )
        self.exited.set_result(returncode)

    async def _leader_exited(self) -> None:
        """Until the child itself has exited, whoever still holds its pipes (Linux: a pidfd
        turns readable at the exit, before the reaping)."""
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            # No pidfd (not Linux 5.3+), or the child is gone already: its exit is all we get.
            await self.process.wait()
            return
        exited = self._loop.create_future()
        try:
            self._loop.add_reader(pidfd, _resolve, exited)
            await exited
        finally:
            self._loop.remove_reader(pidfd)
            os.close(pidfd)

    def _signal_group(self, signal_number: int) -> None:
        if self.process.returncode is not None:
            return
        # The group is the child's own (start_new_session); its pid names it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal_number)

    async def terminate(self, grace_seconds: float = DEFAULT_TERMINATE_GRACE_SECONDS) -> int:
        """End the child's process group (``SIGTERM``, then ``SIGKILL`` after
        ``grace_seconds``) and reap the child. Idempotent; returns its exit code."""
        self.stopping = True
        if not self.exited.done():
            if self.process.stdin is not None:
                self.process.stdin.close()
            self._signal_group(signal.SIGTERM)
            try:
                async with asyncio.timeout(grace_seconds):
                    await asyncio.shield(self.exited)
            except TimeoutError:
                logger.warning(
                    "session %s: the child (pid %d) ignored SIGTERM; killed",
                    self.label,
                    self.pid,
                )
                self._signal_group(signal.SIGKILL)
        return await asyncio.shield(self.exited)
