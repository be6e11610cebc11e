"""The Streamable HTTP transport of the client: each message one POST, answered with JSON or
an SSE stream read in a task of its own; a 2025 session's id, version header, GET stream,
resumption and DELETE; a 2026-07-28 request's routing headers. Also the HTTP steps the
2024-11-05 transport (``_legacy_sse``) shares: the client, the exchange reports, reading an
event stream, and mapping statuses to errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

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
from ssemcp.client._transports import Sink, answers, deliver, emit
from ssemcp.client._wire import (
    FrameAssembler,
    HTTPRequestSent,
    HTTPResponseEnded,
    HTTPResponseStarted,
    WireObserver,
)
from ssemcp.errors import StreamError
from ssemcp.jsonrpc import Message, Request, RequestId, serialize
from ssemcp.sse import SSEParser

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Exchanges",
    "HTTPTransport",
    "http_client",
    "read_event_stream",
    "status_error",
    "transport_error",
]

logger = logging.getLogger(__name__)

# Header values from the peer, cut to this length before they go into an error message.
MAX_SHOWN_HEADER_CHARS: Final = 500
ACCEPT_BOTH: Final = "application/json, text/event-stream"
# Resuming a reply stream that ended before its answer (2025-11-25 "Resumability and
# Redelivery"): how often at most, and how long to wait when the stream named no retry (or
# named an unreasonable one).
MAX_STREAM_RESUMES: Final = 5
DEFAULT_RESUME_MILLISECONDS: Final = 1000
MAX_RESUME_MILLISECONDS: Final = 10_000


def http_client(timeout_seconds: float) -> httpx.AsyncClient:
    import httpx

    # Reading an SSE stream may legitimately be silent for long: only connecting, writing and
    # waiting for the headers are bounded here; a request's answer is bounded by Client.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, read=None), follow_redirects=False
    )


def _header_pairs(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in headers.multi_items())


def transport_error(exc: Exception, url: str) -> ClientError:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return ClientTimeout(f"{url}: timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(f"cannot connect to {url}: {exc}")
    return TransportClosed(f"{url}: {type(exc).__name__}: {exc}")


def status_error(status: int, response: httpx.Response, body: str, with_session: bool) -> HTTPError:
    if status in (401, 403):
        challenge = response.headers.get("www-authenticate", "")[:MAX_SHOWN_HEADER_CHARS]
        return AuthError(status, challenge, body)
    if status == 404 and with_session:
        return SessionExpired(404, "HTTP 404: the session is gone (start a new one)", body)
    return HTTPError(status, f"HTTP {status} {response.reason_phrase}".rstrip(), body)


class Exchanges:
    """Numbers the HTTP exchanges of one client, and reports each to the observer."""

    def __init__(self, observer: WireObserver | None) -> None:
        self.observer = observer
        self._count = 0

    def request(self, request: httpx.Request, body: bytes) -> tuple[int, float]:
        self._count += 1
        started = time.monotonic()
        emit(
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
        emit(
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
        emit(self.observer, HTTPResponseEnded(exchange, body, time.monotonic() - started, error))


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """How an SSE response ended: why, if it broke, and what a reconnection would resume
    from (the stream's last event ID and reconnection time)."""

    error: str | None
    last_event_id: str
    retry_milliseconds: int | None


async def read_event_stream(
    response: httpx.Response,
    exchange: int,
    started: float,
    exchanges: Exchanges,
    on_event: Callable[[str, str], None],
) -> StreamEnd:
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
    return StreamEnd(error, parser.last_event_id, parser.retry_milliseconds)


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
        self._http = http_client(timeout_seconds)
        self._exchanges = Exchanges(observer)
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
            raise transport_error(exc, self.url) from exc
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
            raise transport_error(exc, self.url) from exc
        finally:
            await response.aclose()
        text = raw.decode("utf-8", "replace")
        self._exchanges.ended(exchange, text, started)
        if status in (401, 403) or (status == 404 and self.session_id is not None):
            raise status_error(status, response, text, self.session_id is not None)
        if content_type == "application/json" and raw.strip():
            delivered = deliver(self._sink, raw)
            # An error status whose body answers this very request is that answer (a
            # 2026-07-28 error travels so); any other error status is the HTTP error.
            if status < 400 or (isinstance(message, Request) and answers(delivered, message.id)):
                return status
        if status >= 400:
            raise status_error(status, response, text, False)
        return status

    async def _read_reply_stream(
        self, response: httpx.Response, exchange: int, started: float, request_id: RequestId | None
    ) -> None:
        answered = False

        def on_event(event_type: str, data: str) -> None:
            nonlocal answered
            if event_type == "message" and data.strip():
                delivered = deliver(self._sink, data)
                if request_id is not None and answers(delivered, request_id):
                    answered = True

        resumes = 0
        while True:
            end = await read_event_stream(response, exchange, started, self._exchanges, on_event)
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
                deliver(self._sink, data)

        async def read() -> None:
            await read_event_stream(response, exchange, started, self._exchanges, on_event)

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
