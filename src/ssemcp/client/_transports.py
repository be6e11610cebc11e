"""The client's transports: thin adapters that move JSON-RPC messages and report the wire.

Owns the bytes and statuses of each wire: a child process's stdin/stdout lines
(:class:`StdioTransport`), Streamable HTTP POSTs with JSON or SSE replies, sessions and the
2026-07-28 routing headers (:class:`HTTPTransport`), and the 2024-11-05 ``GET /sse`` stream with
its ``endpoint`` (:class:`LegacySSETransport`). Each hands what it receives to a :class:`Sink`
and maps its failures to ``ssemcp.client`` errors; what a message means is ``Client``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, Protocol
from urllib.parse import urljoin, urlsplit

from ssemcp.client._errors import (
    AuthError,
    ClientError,
    ClientTimeout,
    ConnectError,
    HTTPError,
    SessionExpired,
    TransportClosed,
)
from ssemcp.client._protocol import modern_headers
from ssemcp.client._wire import (
    FrameAssembler,
    HTTPRequestSent,
    HTTPResponseEnded,
    HTTPResponseStarted,
    StdioLine,
    WireEvent,
    WireObserver,
)
from ssemcp.errors import ParseError, StreamError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Invalid,
    Message,
    Request,
    RequestId,
    Response,
    parse,
    serialize,
)
from ssemcp.sse import DEFAULT_MAX_EVENT_BYTES, SSEParser

if TYPE_CHECKING:
    import httpx

__all__ = ["HTTPTransport", "LegacySSETransport", "Sink", "StdioTransport", "Transport"]

logger = logging.getLogger(__name__)

# The longest stdio line we read: a message as large as an SSE event may be.
DEFAULT_MAX_LINE_BYTES: Final = DEFAULT_MAX_EVENT_BYTES
# How long a child gets to exit after its stdin closes, then after SIGTERM (spec 2025-11-25
# basic/lifecycle, "Shutdown", stdio: close stdin, wait, SIGTERM, wait, SIGKILL).
CHILD_EXIT_SECONDS: Final = 2.0
# Header values from the peer, cut to this length before they go into an error message.
MAX_SHOWN_HEADER_CHARS: Final = 500
ACCEPT_BOTH: Final = "application/json, text/event-stream"
# Resuming a reply stream that ended before its answer (2025-11-25 "Resumability and
# Redelivery"): how often at most, and how long to wait when the stream named no retry (or
# named an unreasonable one).
MAX_STREAM_RESUMES: Final = 5
DEFAULT_RESUME_MILLISECONDS: Final = 1000
MAX_RESUME_MILLISECONDS: Final = 10_000


class Sink(Protocol):
    """Where a transport hands what it receives."""

    def receive(self, message: Message) -> None:
        """A message from the server."""

    def fail(self, request_id: RequestId, error: ClientError) -> None:
        """The answer to ``request_id`` will not come."""

    def closed(self, error: ClientError) -> None:
        """The connection ended: no answer will come."""


class Transport(Protocol):
    """One connection to a server: ``start``, ``send`` messages, ``abandon`` a request's
    reply, ``close``."""

    name: str

    async def start(self) -> None: ...

    async def send(
        self, message: Message, extra_headers: Mapping[str, str] | None = None
    ) -> int | None:
        """Send ``message`` (with ``extra_headers`` on HTTP); returns the HTTP status it
        got, None on stdio."""

    async def abandon(self, request_id: RequestId) -> None: ...

    async def close(self) -> None: ...


def _emit(observer: WireObserver | None, event: WireEvent) -> None:
    if observer is not None:
        observer.on_wire(event)


def _deliver(sink: Sink, data: bytes | str) -> list[Message]:
    """Parse a payload and hand each message to ``sink``; returns them."""
    try:
        parsed = parse(data)
    except ParseError:
        logger.warning("server sent a payload that is not JSON; ignored")
        return []
    messages = parsed if isinstance(parsed, list) else [parsed]
    delivered: list[Message] = []
    for message in messages:
        if isinstance(message, Invalid):
            logger.warning("server sent an invalid JSON-RPC message: %s", message.error.message)
            continue
        sink.receive(message)
        delivered.append(message)
    return delivered


def _answers(messages: list[Message], request_id: RequestId) -> bool:
    return any(
        isinstance(message, Response | ErrorResponse)
        and type(message.id) is type(request_id)
        and message.id == request_id
        for message in messages
    )


# ---------------------------------------------------------------------- stdio


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
                _emit(self._observer, StdioLine("stdout", text))
                if text.strip():
                    _deliver(self._sink, line)
        finally:
            process = self._process
            if process is not None and process.returncode is not None:
                reason = f"{reason} (exit code {process.returncode})"
            self._sink.closed(TransportClosed(reason))

    async def _read_stderr(self, stderr: asyncio.StreamReader) -> None:
        with contextlib.suppress(ValueError):
            while line := await stderr.readline():
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                _emit(self._observer, StdioLine("stderr", text))
                logger.info("server stderr: %s", text)

    async def send(self, message: Message, extra_headers: Mapping[str, str] | None = None) -> None:
        process = self._process
        if process is None or process.stdin is None:
            raise TransportClosed("the stdio transport is not started")
        line = serialize(message)
        _emit(self._observer, StdioLine("stdin", line.decode()))
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


# ---------------------------------------------------------------------- HTTP


def _http_client(timeout_seconds: float) -> httpx.AsyncClient:
    import httpx

    # Reading an SSE stream may legitimately be silent for long: only connecting, writing and
    # waiting for the headers are bounded here; a request's answer is bounded by Client.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, read=None), follow_redirects=False
    )


def _header_pairs(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in headers.multi_items())


def _transport_error(exc: Exception, url: str) -> ClientError:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return ClientTimeout(f"{url}: timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(f"cannot connect to {url}: {exc}")
    return TransportClosed(f"{url}: {type(exc).__name__}: {exc}")


def _status_error(
    status: int, response: httpx.Response, body: str, with_session: bool
) -> HTTPError:
    if status in (401, 403):
        challenge = response.headers.get("www-authenticate", "")[:MAX_SHOWN_HEADER_CHARS]
        return AuthError(status, challenge, body)
    if status == 404 and with_session:
        return SessionExpired(404, "HTTP 404: the session is gone (start a new one)", body)
    return HTTPError(status, f"HTTP {status} {response.reason_phrase}".rstrip(), body)


class _Exchanges:
    """Numbers the HTTP exchanges of one client, and reports each to the observer."""

    def __init__(self, observer: WireObserver | None) -> None:
        self.observer = observer
        self._count = 0

    def request(self, request: httpx.Request, body: bytes) -> tuple[int, float]:
        self._count += 1
        started = time.monotonic()
        _emit(
            self.observer,
            HTTPRequestSent(
                self._count,
                request.method,
                str(request.url),
                _header_pairs(request.headers),
                body.decode("utf-8", "replace"),
                time.time(),
            ),
        )
        return self._count, started

    def response(self, exchange: int, response: httpx.Response, started: float) -> None:
        _emit(
            self.observer,
            HTTPResponseStarted(
                exchange,
                response.status_code,
                response.reason_phrase,
                response.http_version,
                _header_pairs(response.headers),
                time.monotonic() - started,
            ),
        )

    def ended(self, exchange: int, body: str, started: float, error: str | None = None) -> None:
        _emit(self.observer, HTTPResponseEnded(exchange, body, time.monotonic() - started, error))


@dataclass(frozen=True, slots=True)
class _StreamEnd:
    """How an SSE response ended: why, if it broke, and what a reconnection would resume
    from (the stream's last event ID and reconnection time)."""

    error: str | None
    last_event_id: str
    retry_milliseconds: int | None


async def _read_event_stream(
    response: httpx.Response,
    exchange: int,
    started: float,
    exchanges: _Exchanges,
    on_event: Callable[[str, str], None],
) -> _StreamEnd:
    """Read an SSE response to its end, calling ``on_event(type, data)`` per event."""
    observer = exchanges.observer
    assembler = FrameAssembler(exchange) if observer is not None else None

    def on_line(line: bytes) -> None:
        assert assembler is not None and observer is not None
        frame = assembler.line(line)
        if frame is not None:
            observer.on_wire(frame)

    parser = SSEParser(on_line=on_line if assembler is not None else None)
    body: list[str] = []
    error: str | None = None
    try:
        async for chunk in response.aiter_bytes():
            if observer is not None:
                body.append(chunk.decode("utf-8", "replace"))
            for event in parser.feed(chunk):
                on_event(event.event, event.data)
    except StreamError as exc:
        error = str(exc)
    except Exception as exc:  # httpx's errors: the stream broke
        error = f"{type(exc).__name__}: {exc}"
    finally:
        await response.aclose()
        if assembler is not None and observer is not None:
            unterminated = assembler.end()
            if unterminated is not None:
                observer.on_wire(unterminated)
        exchanges.ended(exchange, "".join(body), started, error)
    return _StreamEnd(error, parser.last_event_id, parser.retry_milliseconds)


class HTTPTransport:
    """Streamable HTTP (2025-03-26 to 2025-11-25 sessions) and 2026-07-28 requests.

    Each message is one POST. The answer is a JSON body, or an SSE stream read in a task of
    its own (so that a server's request on it can be answered while it lasts); ``abandon``
    closes that stream, which on 2026-07-28 is how a request is cancelled.

    Attributes:
        modern: send 2026-07-28 routing headers, and no session.
        session_id: the ``Mcp-Session-Id`` the server assigned, if any.
        protocol_version: the ``MCP-Protocol-Version`` header of a 2025-06-18+ session.
    """

    name = "streamable"

    def __init__(
        self,
        url: str,
        sink: Sink,
        *,
        headers: Mapping[str, str],
        timeout_seconds: float,
        observer: WireObserver | None = None,
    ) -> None:
        self.url = url
        self.modern = False
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._sink = sink
        self._headers = dict(headers)
        self._http = _http_client(timeout_seconds)
        self._exchanges = _Exchanges(observer)
        self._streams: dict[tuple[type, RequestId], asyncio.Task[None]] = {}
        self._get_stream_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        return None

    def _request_headers(self, message: Message) -> dict[str, str]:
        headers = {
            **self._headers,
            "Accept": ACCEPT_BOTH,
            "Content-Type": "application/json",
        }
        if self.modern:
            if isinstance(message, Request):
                headers.update(modern_headers(message))
        else:
            if self.session_id is not None:
                headers["Mcp-Session-Id"] = self.session_id
            if self.protocol_version is not None:
                headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    async def send(self, message: Message, extra_headers: Mapping[str, str] | None = None) -> int:
        body = serialize(message)
        headers = self._request_headers(message)
        if extra_headers:
            headers.update(extra_headers)
        request = self._http.build_request("POST", self.url, content=body, headers=headers)
        exchange, started = self._exchanges.request(request, body)
        try:
            response = await self._http.send(request, stream=True)
        except Exception as exc:
            self._exchanges.ended(exchange, "", started, str(exc))
            raise _transport_error(exc, self.url) from exc
        self._exchanges.response(exchange, response, started)
        status = response.status_code
        session_id = response.headers.get("mcp-session-id")
        if session_id and not self.modern and self.session_id is None:
            self.session_id = session_id
        content_type = response.headers.get("content-type", "").partition(";")[0].strip()
        if status == 200 and content_type == "text/event-stream":
            request_id = message.id if isinstance(message, Request) else None
            task = asyncio.create_task(
                self._read_reply_stream(response, exchange, started, request_id)
            )
            if request_id is not None:
                key = (type(request_id), request_id)
                self._streams[key] = task
                task.add_done_callback(lambda _: self._streams.pop(key, None))
            return status
        try:
            raw = await response.aread()
        except Exception as exc:
            self._exchanges.ended(exchange, "", started, str(exc))
            raise _transport_error(exc, self.url) from exc
        finally:
            await response.aclose()
        text = raw.decode("utf-8", "replace")
        self._exchanges.ended(exchange, text, started)
        if status in (401, 403) or (status == 404 and self.session_id is not None):
            raise _status_error(status, response, text, self.session_id is not None)
        if content_type == "application/json" and raw.strip():
            delivered = _deliver(self._sink, raw)
            # An error status whose body answers this very request is that answer (a
            # 2026-07-28 error travels so); any other error status is the HTTP error.
            if status < 400 or (isinstance(message, Request) and _answers(delivered, message.id)):
                return status
        if status >= 400:
            raise _status_error(status, response, text, False)
        return status

    async def _read_reply_stream(
        self, response: httpx.Response, exchange: int, started: float, request_id: RequestId | None
    ) -> None:
        answered = False

        def on_event(event_type: str, data: str) -> None:
            nonlocal answered
            if event_type == "message" and data.strip():
                delivered = _deliver(self._sink, data)
                if request_id is not None and _answers(delivered, request_id):
                    answered = True

        resumes = 0
        while True:
            end = await _read_event_stream(response, exchange, started, self._exchanges, on_event)
            if answered or request_id is None:
                return
            # spec 2025-11-25 basic/transports, "Resumability and Redelivery": a stream that
            # ended before its answer, having given event IDs, is resumed by a GET with
            # Last-Event-ID (2026-07-28 streams are not resumable).
            if self.modern or not end.last_event_id or resumes >= MAX_STREAM_RESUMES:
                reason = end.error or "the server ended the stream before its answer"
                self._sink.fail(request_id, TransportClosed(reason))
                return
            resumes += 1
            wait_milliseconds = min(
                end.retry_milliseconds or DEFAULT_RESUME_MILLISECONDS, MAX_RESUME_MILLISECONDS
            )
            await asyncio.sleep(wait_milliseconds / 1000)
            resumed = await self._get_stream_response(end.last_event_id)
            if resumed is None:
                self._sink.fail(request_id, TransportClosed("the stream could not be resumed"))
                return
            response, exchange, started = resumed

    async def _get_stream_response(
        self, last_event_id: str | None = None
    ) -> tuple[httpx.Response, int, float] | None:
        """A GET event stream of the session (resuming after ``last_event_id``), or None if
        the server offers none."""
        headers = {**self._headers, "Accept": "text/event-stream"}
        if self.session_id is not None:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version is not None:
            headers["MCP-Protocol-Version"] = self.protocol_version
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        request = self._http.build_request("GET", self.url, headers=headers)
        exchange, started = self._exchanges.request(request, b"")
        try:
            response = await self._http.send(request, stream=True)
        except Exception as exc:
            self._exchanges.ended(exchange, "", started, str(exc))
            logger.debug("no GET stream: %s", exc)
            return None
        self._exchanges.response(exchange, response, started)
        content_type = response.headers.get("content-type", "").partition(";")[0].strip()
        if response.status_code != 200 or content_type != "text/event-stream":
            text = (await response.aread()).decode("utf-8", "replace")
            await response.aclose()
            self._exchanges.ended(exchange, text, started)
            logger.debug("no GET stream: HTTP %d", response.status_code)
            return None
        return response, exchange, started

    async def open_get_stream(self) -> None:
        """Open the session's GET stream, on which the server sends what no request of ours
        carries (spec 2025-11-25 basic/transports, "Listening for Messages from the
        Server"); a server that offers none answers 405. The stream is read in a task."""
        if self.session_id is None or self._get_stream_task is not None:
            return
        opened = await self._get_stream_response()
        if opened is None:
            return
        response, exchange, started = opened

        def on_event(event_type: str, data: str) -> None:
            if event_type == "message" and data.strip():
                _deliver(self._sink, data)

        async def read() -> None:
            await _read_event_stream(response, exchange, started, self._exchanges, on_event)

        self._get_stream_task = asyncio.create_task(read())

    async def abandon(self, request_id: RequestId) -> None:
        task = self._streams.pop((type(request_id), request_id), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        if self._get_stream_task is not None:
            self._get_stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._get_stream_task
        for task in list(self._streams.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.session_id is not None and not self.modern:
            # basic/transports, "Session Management": clients "SHOULD send an HTTP DELETE".
            headers = {**self._headers, "Mcp-Session-Id": self.session_id}
            if self.protocol_version is not None:
                headers["MCP-Protocol-Version"] = self.protocol_version
            request = self._http.build_request("DELETE", self.url, headers=headers)
            exchange, started = self._exchanges.request(request, b"")
            try:
                response = await self._http.send(request)
                self._exchanges.response(exchange, response, started)
                self._exchanges.ended(exchange, response.text, started)
            except Exception as exc:
                self._exchanges.ended(exchange, "", started, str(exc))
                logger.debug("DELETE of the session failed: %s", exc)
        await self._http.aclose()


class LegacySSETransport:
    """The 2024-11-05 HTTP+SSE transport: a ``GET`` stream whose first event, ``endpoint``,
    names where to POST; answers come back on the stream.

    Raises (from ``start``):
        ConnectError, AuthError, HTTPError: the stream could not be opened.
        ClientError: the stream did not name its endpoint in time, or named one on another
            origin (a token must not follow it there).
    """

    name = "sse"

    def __init__(
        self,
        url: str,
        sink: Sink,
        *,
        headers: Mapping[str, str],
        timeout_seconds: float,
        observer: WireObserver | None = None,
    ) -> None:
        self.url = url
        self.endpoint: str | None = None
        self._sink = sink
        self._headers = dict(headers)
        self._timeout_seconds = timeout_seconds
        self._http = _http_client(timeout_seconds)
        self._exchanges = _Exchanges(observer)
        self._reader: asyncio.Task[None] | None = None
        self._endpoint_known: asyncio.Future[str] | None = None

    async def start(self) -> None:
        headers = {**self._headers, "Accept": "text/event-stream"}
        request = self._http.build_request("GET", self.url, headers=headers)
        exchange, started = self._exchanges.request(request, b"")
        try:
            response = await self._http.send(request, stream=True)
        except Exception as exc:
            self._exchanges.ended(exchange, "", started, str(exc))
            raise _transport_error(exc, self.url) from exc
        self._exchanges.response(exchange, response, started)
        content_type = response.headers.get("content-type", "").partition(";")[0].strip()
        if response.status_code != 200 or content_type != "text/event-stream":
            text = (await response.aread()).decode("utf-8", "replace")
            await response.aclose()
            self._exchanges.ended(exchange, text, started)
            if response.status_code == 200:
                raise HTTPError(200, f"GET {self.url} is not an event stream ({content_type})")
            raise _status_error(response.status_code, response, text, False)
        self._endpoint_known = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(response, exchange, started))
        try:
            async with asyncio.timeout(self._timeout_seconds):
                self.endpoint = await asyncio.shield(self._endpoint_known)
        except TimeoutError:
            await self.close()
            raise ClientTimeout(f"{self.url} sent no endpoint event in time") from None

    def _on_event(self, event_type: str, data: str) -> None:
        if event_type == "endpoint":
            future = self._endpoint_known
            if future is None or future.done():
                return
            endpoint = urljoin(self.url, data.strip())
            if urlsplit(endpoint)[:2] != urlsplit(self.url)[:2]:
                future.set_exception(
                    ClientError(f"the server's endpoint {endpoint!r} is on another origin")
                )
            else:
                future.set_result(endpoint)
        elif event_type == "message" and data.strip():
            _deliver(self._sink, data)

    async def _read(self, response: httpx.Response, exchange: int, started: float) -> None:
        end = await _read_event_stream(response, exchange, started, self._exchanges, self._on_event)
        closed = TransportClosed(end.error or "the server closed the SSE stream")
        if self._endpoint_known is not None and not self._endpoint_known.done():
            self._endpoint_known.set_exception(closed)
        self._sink.closed(closed)

    async def send(self, message: Message, extra_headers: Mapping[str, str] | None = None) -> int:
        if self.endpoint is None:
            raise TransportClosed("the SSE transport is not started")
        body = serialize(message)
        headers = {**self._headers, "Content-Type": "application/json"}
        request = self._http.build_request("POST", self.endpoint, content=body, headers=headers)
        exchange, started = self._exchanges.request(request, body)
        try:
            response = await self._http.send(request)
        except Exception as exc:
            self._exchanges.ended(exchange, "", started, str(exc))
            raise _transport_error(exc, self.endpoint) from exc
        self._exchanges.response(exchange, response, started)
        self._exchanges.ended(exchange, response.text, started)
        if response.status_code >= 400:
            # A 404 here means the stream's session is gone.
            raise _status_error(response.status_code, response, response.text, True)
        return response.status_code

    async def abandon(self, request_id: RequestId) -> None:
        return None  # the answer comes on the shared stream; notifications/cancelled it is

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._http.aclose()
