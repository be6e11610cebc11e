"""The client's transport contract: what a transport is (:class:`Transport`), where it hands
what it receives (:class:`Sink`), and the few steps every transport shares (reporting to the
observer, parsing and delivering a payload).

The transports themselves are thin adapters, one module each: ``_stdio`` (a child process's
lines), ``_http`` (Streamable HTTP, 2025 sessions and 2026-07-28 requests) and ``_legacy_sse``
(the 2024-11-05 HTTP+SSE transport). What a message means is ``Client``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from ssemcp.client._errors import ClientError
from ssemcp.client._wire import WireEvent, WireObserver
from ssemcp.errors import ParseError
from ssemcp.jsonrpc import ErrorResponse, Invalid, Message, RequestId, Response, parse

if TYPE_CHECKING:
    pass

__all__ = ["Sink", "Transport", "answers", "deliver", "emit"]

logger = logging.getLogger(__name__)


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


def emit(observer: WireObserver | None, event: WireEvent) -> None:
    if observer is not None:
        observer.on_wire(event)


def deliver(sink: Sink, data: bytes | str) -> list[Message]:
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


def answers(messages: list[Message], request_id: RequestId) -> bool:
    return any(
        isinstance(message, Response | ErrorResponse)
        and type(message.id) is type(request_id)
        and message.id == request_id
        for message in messages
    )
