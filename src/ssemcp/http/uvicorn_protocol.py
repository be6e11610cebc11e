"""uvicorn's httptools protocol with the two bounds it lacks: time and size of request headers.

Owns the per-connection header deadline and header size limit. uvicorn (0.54) arms no timer
until a first response is complete (``timeout_keep_alive`` only covers idle time *between*
requests), and httptools sets no limit on the size of a request head, so a client that opens
a connection and sends a request line one byte a minute (Slowloris) holds that connection, and
the memory of whatever it sent, for ever; ``limit_concurrency`` would only turn that into a
denial of service for everybody. ``h11_max_incomplete_event_size`` bounds the size of a head
for the h11 protocol only, and no uvicorn setting bounds the time.

This protocol closes a connection whose request line and headers are not complete within
``header_timeout_seconds`` of the connection opening or of the request's first byte (408 if
part of a request arrived, a silent close for an idle connection) and answers 431 to a head
larger than ``max_header_bytes``. Run it with ``uvicorn.run(app, http=http_protocol(...))``.
The app bounds the body (``ssemcp.http.timeouts``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ssemcp.errors import InvalidRequest
from ssemcp.http.asgi import HTTPError
from ssemcp.http.timeouts import DEFAULT_HEADER_TIMEOUT_SECONDS

__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "HeaderBoundProtocol",
    "http_protocol",
]

logger = logging.getLogger(__name__)

# h11's DEFAULT_MAX_INCOMPLETE_EVENT_SIZE is 16 KiB; nginx's large_client_header_buffers is
# 4 x 8 KiB, Node's --max-http-header-size 16 KiB. A bearer token and the MCP headers need well
# under 4 KiB; 64 KiB leaves room for proxies that add their own.
DEFAULT_MAX_HEADER_BYTES: Final = 64 * 1024


def _raw_response(error: HTTPError) -> bytes:
    lines = [b"HTTP/1.1 %d %s\r\n" % (error.status, _REASONS[error.status])]
    lines.extend(name + b": " + value + b"\r\n" for name, value in error.headers)
    lines.append(b"connection: close\r\n\r\n")
    return b"".join(lines) + error.body


_REASONS: Final = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}
# RFC 9110 section 15.5.9 (408) and RFC 6585 section 5 (431: "the server is unwilling to
# process the request because its header fields are too large"). Both close the connection:
# the rest of the stalled or oversized head would otherwise be read as a new request.
_HEADER_TIMEOUT_RESPONSE: Final = _raw_response(HTTPError(408, InvalidRequest("Request Timeout")))
_HEADERS_TOO_LARGE_RESPONSE: Final = _raw_response(
    HTTPError(431, InvalidRequest("Request Header Fields Too Large"))
)


class _HeadTooLarge(Exception):
    """Raised in a parser callback to stop httptools; uvicorn then calls send_400_response."""


class HeaderBoundProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit on each request head.

    Subclass attributes, set by :func:`http_protocol`: ``header_timeout_seconds`` and
    ``max_header_bytes``.
    """

    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES

    # Per-connection state (uvicorn builds one protocol object per connection).
    _header_timer: asyncio.TimerHandle | None = None
    # Bytes received since the current head began (None: not reading a head).
    _head_bytes: int | None = None
    _head_started: bool = False
    _head_too_large: bool = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The first request's head must arrive within the bound too, its first byte included:
        # an idle new connection is a Slowloris that has not started yet.
        self._head_bytes = 0
        self._head_started = False
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        # Measured after parsing: bytes of a head that completed in this chunk do not count.
        if (
            self._head_bytes is not None
            and self._head_bytes > self.max_header_bytes
            and not self.transport.is_closing()
        ):
            logger.warning("closed a connection: request head over %d bytes", self.max_header_bytes)
            self._refuse(_HEADERS_TOO_LARGE_RESPONSE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        if self._head_bytes is None:
            # A later request on a kept-alive (or pipelined) connection: a fresh bound. The
            # count is approximate (the chunk may also hold the end of an earlier body), which
            # only errs towards accepting.
            self._head_bytes = 0
        if self._header_timer is None:
            self._arm_header_timer()

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            # uvicorn has logged "Invalid HTTP request received."; the reason is the size.
            logger.warning("closed a connection: request head over %d bytes", self.max_header_bytes)
            self._refuse(_HEADERS_TOO_LARGE_RESPONSE)
        else:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self._head_bytes = None
        self._head_started = False
        # The head's exact size, measured once from what uvicorn collected (the URL and the
        # header pairs) rather than in a Python callback per header: this runs per request.
        # A head spread over several chunks was already bounded in data_received; one that
        # came in a single chunk is bounded by that chunk's size before we refuse it here.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_header_bytes:
            self._head_too_large = True
            raise _HeadTooLarge
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn now arms its keep-alive timer; the next request's first byte re-arms ours.

    # ------------------------------------------------------------------ helpers

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_seconds, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if logger.isEnabledFor(logging.INFO):
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
            logger.info(
                "closed a connection from %s: no complete request head in %.1f s",
                client,
                self.header_timeout_seconds,
            )
        if self._head_started or self._head_bytes:
            self._refuse(_HEADER_TIMEOUT_RESPONSE)
        else:
            self.transport.close()

    def _refuse(self, response: bytes) -> None:
        self._cancel_header_timer()
        self._head_bytes = None
        # Only when no response is in progress on this connection: otherwise a pipelined
        # request's refusal would land in the middle of the previous response.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(response)
        self.transport.close()


def http_protocol(
    *,
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
) -> type[HeaderBoundProtocol]:
    """A :class:`HeaderBoundProtocol` class with these bounds, for ``uvicorn.run(http=...)``.

    uvicorn builds the protocol itself (one per connection), so the bounds travel as class
    attributes of a subclass made here, not as constructor arguments.

    Raises:
        ValueError: a bound is not positive.
    """
    if header_timeout_seconds <= 0 or max_header_bytes <= 0:
        raise ValueError("header_timeout_seconds and max_header_bytes must be positive")
    return type(
        "HeaderBoundProtocol",
        (HeaderBoundProtocol,),
        {"header_timeout_seconds": header_timeout_seconds, "max_header_bytes": max_header_bytes},
    )
