"""The ASGI app: security checks, routing, health and lifespan around the MCP endpoint.

Owns what every request passes before any transport sees it: the Host allowlist (421), the
Origin allowlist (403), the ``Content-Length`` bound (413); then the routes (the MCP endpoint,
``GET /healthz``, 404 for the rest) and the ASGI lifespan. What happens at the MCP endpoint
is the Streamable HTTP transport's (``ssemcp.transports.streamable``).

Why Host and Origin: a page on ``evil.example`` can rebind its name to 127.0.0.1 and drive a
local server from the victim's browser (DNS rebinding). The browser still sends
``Host: evil.example`` and ``Origin: http://evil.example``, so refusing both unless they name
this server stops it (Starlette's ``TrustedHostMiddleware`` is the model for the Host check).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

from ssemcp.errors import InvalidRequest
from ssemcp.http.asgi import (
    DEFAULT_MAX_BODY_BYTES,
    PAYLOAD_TOO_LARGE,
    ASGIReceive,
    ASGISend,
    HTTPError,
    Scope,
)
from ssemcp.server.registry import Server
from ssemcp.transports.streamable import DEFAULT_MAX_SESSIONS, StreamableHTTPTransport

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_ALLOWED_ORIGINS",
    "MCPApp",
    "create_app",
]

logger = logging.getLogger(__name__)

# Loopback only, any port: a server bound to 127.0.0.1 is reachable by these names and no
# other, so anything else in Host is a rebinding attack or a misconfiguration.
DEFAULT_ALLOWED_HOSTS: Final = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_ALLOWED_ORIGINS: Final = (
    "http://localhost",
    "https://localhost",
    "http://127.0.0.1",
    "https://127.0.0.1",
    "http://[::1]",
    "https://[::1]",
)
# A peer's header value shown in a log line is cut to this many characters.
_MAX_LOGGED_HEADER: Final = 64

# RFC 9110 section 15.5.20: 421 "the request was directed at a server that is unable or
# unwilling to produce an authoritative response for the target URI".
MISDIRECTED_REQUEST: Final = HTTPError(
    421, InvalidRequest("Misdirected Request: the Host header names no allowed host")
)
# spec 2025-11-25 basic/transports, "Security Warning": servers "MUST validate the Origin
# header on all incoming connections to prevent DNS rebinding attacks"; "If the Origin header
# is present and invalid, servers MUST respond with HTTP 403 Forbidden".
FORBIDDEN_ORIGIN: Final = HTTPError(403, InvalidRequest("Forbidden: the Origin is not allowed"))
BAD_CONTENT_LENGTH: Final = HTTPError(400, InvalidRequest("Bad Request: invalid Content-Length"))
NOT_FOUND: Final = HTTPError(404, InvalidRequest("Not Found"))
HEALTH_METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed"), ((b"allow", b"GET"),)
)
_HEALTH_BODY: Final = b'{"status":"ok"}'
_HEALTH_HEADERS: Final = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_HEALTH_BODY)).encode()),
    (b"cache-control", b"no-store"),
]


def _split_port(authority: str) -> tuple[str, str | None]:
    """``host[:port]`` into host and port; an IPv6 literal keeps its brackets."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return authority, None
        rest = authority[end + 1 :]
        return authority[: end + 1], rest[1:] if rest.startswith(":") else None
    host, colon, port = authority.rpartition(":")
    if not colon:
        return authority, None
    return host, port


class _Allowlist:
    """Names that match with any port (``localhost``) or exactly (``localhost:8000``).

    ``*`` allows everything. Comparison ignores case (RFC 9110: hosts and schemes are
    case-insensitive).
    """

    __slots__ = ("_allow_all", "_any_port", "_exact")

    def __init__(self, entries: Iterable[str]) -> None:
        any_port: set[str] = set()
        exact: set[str] = set()
        self._allow_all = False
        for entry in entries:
            entry = entry.strip().lower().rstrip("/")
            if entry == "*":
                self._allow_all = True
                continue
            _host, port = _split_port(entry.rpartition("://")[2])
            (any_port if port is None else exact).add(entry)
        self._any_port = frozenset(any_port)
        self._exact = frozenset(exact)

    def allows(self, value: str) -> bool:
        if self._allow_all:
            return True
        value = value.lower()
        if value in self._exact or value in self._any_port:
            return True
        prefix, separator, authority = value.rpartition("://")
        host, port = _split_port(authority)
        if port is None or not port.isdigit():
            return False
        return prefix + separator + host in self._any_port


class MCPApp:
    """The ASGI app that :func:`create_app` builds; see there."""

    def __init__(
        self,
        server: Server,
        *,
        allowed_hosts: Iterable[str] | None = None,
        allowed_origins: Iterable[str] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        path: str = "/mcp",
    ) -> None:
        self.transport = StreamableHTTPTransport(
            server, max_body_bytes=max_body_bytes, max_sessions=max_sessions
        )
        self._allowed_hosts = _Allowlist(
            DEFAULT_ALLOWED_HOSTS if allowed_hosts is None else allowed_hosts
        )
        self._allowed_origins = _Allowlist(
            DEFAULT_ALLOWED_ORIGINS if allowed_origins is None else allowed_origins
        )
        self._server = server
        self._max_body_bytes = max_body_bytes
        self._path = path

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        scope_type = scope["type"]
        if scope_type == "http":
            await self._http(scope, receive, send)
        elif scope_type == "lifespan":
            await self._lifespan(receive, send)
        else:
            # A websocket: we speak none. Closing before accepting answers 403.
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        # ASGI gives header names lowercased; a repeated header keeps its last value, and every
        # check below reads this same dict, so no check can see a different value.
        headers: dict[bytes, bytes] = dict(scope["headers"])
        host = headers.get(b"host")
        if host is None or not self._allowed_hosts.allows(host.decode("latin-1")):
            if logger.isEnabledFor(logging.INFO):
                logger.info("refused Host %r", (host or b"")[:_MAX_LOGGED_HEADER])
            await MISDIRECTED_REQUEST.respond(send)
            return
        origin = headers.get(b"origin")
        if origin is not None and not self._allowed_origins.allows(origin.decode("latin-1")):
            if logger.isEnabledFor(logging.INFO):
                logger.info("refused Origin %r", origin[:_MAX_LOGGED_HEADER])
            await FORBIDDEN_ORIGIN.respond(send)
            return
        content_length = headers.get(b"content-length")
        if content_length is not None:
            if not content_length.isdigit():
                await BAD_CONTENT_LENGTH.respond(send)
                return
            if int(content_length) > self._max_body_bytes:
                await PAYLOAD_TOO_LARGE.respond(send)
                return

        path = scope["path"]
        if path == self._path:
            await self.transport.handle(scope, receive, send, headers)
        elif path == "/healthz":
            if scope["method"] in ("GET", "HEAD"):
                await send(
                    {"type": "http.response.start", "status": 200, "headers": _HEALTH_HEADERS}
                )
                await send({"type": "http.response.body", "body": _HEALTH_BODY})
            else:
                await HEALTH_METHOD_NOT_ALLOWED.respond(send)
        else:
            await NOT_FOUND.respond(send)

    async def _lifespan(self, receive: ASGIReceive, send: ASGISend) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.transport.close()
                await self._server.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    server: Server,
    *,
    allowed_hosts: Iterable[str] | None = None,
    allowed_origins: Iterable[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    path: str = "/mcp",
) -> MCPApp:
    """Build the ASGI app that serves ``server`` over Streamable HTTP at ``path``.

    Args:
        server: the registry to serve; each session gets its own connection to it.
        allowed_hosts: values the ``Host`` header may take (default: 127.0.0.1, localhost and
            [::1]). ``name`` matches any port, ``name:port`` only that one, ``*`` anything.
        allowed_origins: values an ``Origin`` header may take (default: http and https on
            the same three loopback names), matched the same way. Requests without
            ``Origin`` (non-browser clients) pass.
        max_body_bytes: the largest request body; larger gets 413.
        max_sessions: live sessions at most; past it, ``initialize`` gets 503.
        path: the MCP endpoint.

    Returns:
        An ASGI 3 app; run it with any ASGI server (``uvicorn.run(app)``).
    """
    return MCPApp(
        server,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        max_body_bytes=max_body_bytes,
        max_sessions=max_sessions,
        path=path,
    )
