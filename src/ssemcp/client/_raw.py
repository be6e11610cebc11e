"""``RawSession``: the client's transports at the message level, for a caller that speaks MCP
itself (``ssemcp connect`` relays a local client's messages through one).

Owns nothing of MCP but what the HTTP layer needs to know: the session id and version header
of a 2025 session once its ``initialize`` was answered, the GET stream, and a 2026-07-28
request's routing headers. Ids, the handshake and every answer are the caller's; ``Client``
is the high-level API on the same transports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal, TypeAlias

from ssemcp.client._errors import ClientError, TransportClosed
from ssemcp.client._http import HTTPTransport
from ssemcp.client._legacy_sse import LegacySSETransport
from ssemcp.client._transports import Transport
from ssemcp.jsonrpc import Message, RequestId
from ssemcp.protocol.revisions import revision_for

__all__ = ["FailureHandler", "MessageHandler", "RawSession", "RawTransportName"]

RawTransportName: TypeAlias = Literal["streamable", "sse", "2026"]
MessageHandler: TypeAlias = Callable[[Message], None]
"""Receives every message the server sends, as it arrives."""
FailureHandler: TypeAlias = "Callable[[RequestId | None, ClientError], None]"
"""Told that the answer to a request will not come (its id), or, with None, that the
connection ended and no answer will."""


class _RawSink:
    __slots__ = ("_on_failure", "receive")

    def __init__(self, on_message: MessageHandler, on_failure: FailureHandler) -> None:
        self.receive = on_message
        self._on_failure = on_failure

    def fail(self, request_id: RequestId, error: ClientError) -> None:
        self._on_failure(request_id, error)

    def closed(self, error: ClientError) -> None:
        self._on_failure(None, error)


class RawSession:
    """One connection to a remote MCP server over HTTP, at the message level: ``send`` any
    JSON-RPC message, and every message the server sends goes to ``on_message``.

    Args:
        url: the server's endpoint (``…/mcp``, or ``…/sse`` for ``"sse"``).
        transport: ``"streamable"`` (a 2025 session: the caller sends ``initialize``),
            ``"sse"`` (the 2024-11-05 transport: ``start`` opens its stream) or ``"2026"``
            (2026-07-28: each request carries its own ``_meta``, and gets routing headers).
        headers: extra HTTP headers for every request.
        token: a bearer token (``Authorization: Bearer …``).
        timeout_seconds: bounds connecting and waiting for response headers (a reply stream
            may then last as long as its request).
        on_message: receives every message from the server.
        on_failure: told when an answer will not come (see ``FailureHandler``).
    """

    def __init__(
        self,
        url: str,
        *,
        transport: RawTransportName,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        timeout_seconds: float,
        on_message: MessageHandler,
        on_failure: FailureHandler,
    ) -> None:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        sink = _RawSink(on_message, on_failure)
        self._transport: Transport
        if transport == "sse":
            self._transport = LegacySSETransport(
                url, sink, headers=all_headers, timeout_seconds=timeout_seconds
            )
        else:
            http = HTTPTransport(url, sink, headers=all_headers, timeout_seconds=timeout_seconds)
            http.modern = transport == "2026"
            self._transport = http
        self.transport_name: RawTransportName = transport
        self._is_closed = False

    @property
    def session_id(self) -> str | None:
        """The ``Mcp-Session-Id`` of a 2025 session on Streamable HTTP, once assigned."""
        transport = self._transport
        return transport.session_id if isinstance(transport, HTTPTransport) else None

    async def start(self) -> None:
        """Open the connection: the 2024-11-05 stream (and wait for its ``endpoint``); nothing
        to do on Streamable HTTP, where the first POST opens it.

        Raises:
            ConnectError, AuthError, HTTPError, ClientTimeout.
        """
        await self._transport.start()

    async def send(self, message: Message, extra_headers: Mapping[str, str] | None = None) -> None:
        """Send one message. Its answer, if any, comes to ``on_message``. ``extra_headers``
        go with this POST alone (2026-07-28: a tool call's ``Mcp-Param-*``); Streamable HTTP
        only.

        Raises:
            ConnectError, ClientTimeout, TransportClosed: the server could not be reached (or
                the session was closed).
            AuthError: 401/403, with the server's ``WWW-Authenticate`` challenge.
            SessionExpired: 404 for the session: the caller must ``initialize`` anew, on a
                new ``RawSession``.
            HTTPError: any other status that carried no JSON-RPC answer.
        """
        if self._is_closed:
            raise TransportClosed("the session is closed")
        transport = self._transport
        if extra_headers and isinstance(transport, HTTPTransport):
            await transport.send(message, extra_headers)
        else:
            await transport.send(message)

    async def session_opened(self, protocol_version: str) -> None:
        """The server answered ``initialize`` with ``protocol_version`` and the caller sent
        ``notifications/initialized``: send the version header from now on (2025-06-18+
        basic/transports: the client "MUST include" it) and open the GET stream, on which
        the server sends what no request carries (list changes, resource updates)."""
        transport = self._transport
        if not isinstance(transport, HTTPTransport) or transport.modern:
            return
        revision = revision_for(protocol_version)
        if revision is not None and revision.protocol_version_header:
            transport.protocol_version = revision.version
        await transport.open_get_stream()

    async def abandon(self, request_id: RequestId) -> None:
        """Stop reading the reply stream of ``request_id`` (2026-07-28: cancels it)."""
        await self._transport.abandon(request_id)

    async def close(self) -> None:
        """Close the connection; a 2025 session is ended with DELETE (basic/transports,
        "Session Management"). Idempotent."""
        if self._is_closed:
            return
        self._is_closed = True
        await self._transport.close()
