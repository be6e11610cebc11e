"""The stdio transport of the client: a server run as a child process, one JSON-RPC message
per line on its stdin and stdout, its stderr passed through or logged (spec 2025-11-25
basic/transports, "stdio"; basic/lifecycle, "Shutdown")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal

from ssemcp.client._errors import ConnectError, TransportClosed
from ssemcp.client._transports import Sink, deliver, emit
from ssemcp.client._wire import StdioLine, WireObserver
from ssemcp.jsonrpc import Message, RequestId, serialize
from ssemcp.sse import DEFAULT_MAX_EVENT_BYTES

if TYPE_CHECKING:
    pass

__all__ = ["DEFAULT_MAX_LINE_BYTES", "StdioTransport"]

logger = logging.getLogger(__name__)

# The longest stdio line we read: a message as large as an SSE event may be.
DEFAULT_MAX_LINE_BYTES: Final = DEFAULT_MAX_EVENT_BYTES
# How long a child gets to exit after its stdin closes, then after SIGTERM (spec 2025-11-25
# basic/lifecycle, "Shutdown", stdio: close stdin, wait, SIGTERM, wait, SIGKILL).
CHILD_EXIT_SECONDS: Final = 2.0


class StdioTransport:
    """A server run as a child process: one JSON-RPC message per line on its stdin/stdout
    (spec 2025-11-25 basic/transports, "stdio").

    Args:
        command: the program and its arguments.
        sink: where messages go.
        stderr: ``"inherit"`` passes the child's stderr through to ours; ``"log"`` sends each
            line to this module's logger (and to the observer).
        env: extra environment variables for the child.
        observer: the wire observer.
        max_line_bytes: the longest line read from the child; a longer one ends the
            connection (the stream cannot be trusted past it).
    """

    name = "stdio"

    def __init__(
        self,
        command: Sequence[str],
        sink: Sink,
        *,
        stderr: Literal["inherit", "log"] = "inherit",
        env: Mapping[str, str] | None = None,
        observer: WireObserver | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        if not command:
            raise ValueError("a stdio target needs a command")
        self._max_line_bytes = max_line_bytes
        self._command = list(command)
        self._sink = sink
        self._stderr = stderr
        self._env = {**os.environ, **env} if env else None
        self._observer = observer
        self._process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE if self._stderr == "log" else None,
                env=self._env,
                limit=self._max_line_bytes,
            )
        except OSError as exc:
            raise ConnectError(f"cannot start {self._command[0]!r}: {exc.strerror}") from exc
        assert self._process.stdout is not None
        self._tasks.append(asyncio.create_task(self._read_stdout(self._process.stdout)))
        if self._process.stderr is not None:
            self._tasks.append(asyncio.create_task(self._read_stderr(self._process.stderr)))

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def _read_stdout(self, stdout: asyncio.StreamReader) -> None:
        reason = "the server closed its stdout"
        try:
            while True:
                try:
                    line = await stdout.readline()
                except ValueError:  # a line past the limit: the stream cannot be trusted
                    reason = f"the server wrote a line longer than {self._max_line_bytes} bytes"
                    break
                if not line:
                    break
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                emit(self._observer, StdioLine("stdout", text))
                if text.strip():
                    deliver(self._sink, line)
        finally:
            process = self._process
            if process is not None and process.returncode is not None:
                reason = f"{reason} (exit code {process.returncode})"
            self._sink.closed(TransportClosed(reason))

    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        with contextlib.suppress(ValueError):
            while line := await stderr.readline():
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                emit(self._observer, StdioLine("stderr", text))
                logger.info("server stderr: %s", text)

    async def send(self, message: Message, extra_headers: Mapping[str, str] | None = None) -> None:
        process = self._process
        if process is None or process.stdin is None:
            raise TransportClosed("the stdio transport is not started")
        line = serialize(message)
        emit(self._observer, StdioLine("stdin", line.decode()))
        try:
            process.stdin.write(line + b"\n")
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise TransportClosed("the server process closed its stdin") from exc
        return

    async def abandon(self, request_id: RequestId) -> None:
        return None  # a line cannot be unsent; notifications/cancelled tells the server

    async def close(self) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        if process.returncode is None:
            try:
                async with asyncio.timeout(CHILD_EXIT_SECONDS):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    async with asyncio.timeout(CHILD_EXIT_SECONDS):
                        await process.wait()
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
