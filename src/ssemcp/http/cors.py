"""CORS for browser clients (the MCP Inspector, web apps): preflights and response headers.

Owns answering a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) for an
allowed origin, and adding ``Access-Control-Allow-Origin`` and friends to every response to
an allowed origin, streaming ones included. It does not decide whether an Origin may talk to
the server at all: the app's Origin check (403) does, and it admits the CORS origins too.
Starlette's ``middleware/cors.py`` is the model: everything constant is built once here.

Off unless origins are configured. There is no ``*``: a wildcard would let every web page on
the Internet drive the server through a visitor's browser, which is the attack the Origin
check exists to stop. No ``Access-Control-Allow-Credentials`` either: clients send their token
in ``Authorization``, which CORS governs through ``Access-Control-Allow-Headers``; cookies and
HTTP authentication are never used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

from ssemcp.asgi import ASGIMessage, ASGISend, Headers, HTTPError, Scope
from ssemcp.errors import InvalidRequest

__all__ = [
    "ALLOW_HEADERS",
    "ALLOW_METHODS",
    "DEFAULT_MAX_AGE_SECONDS",
    "EXPOSE_HEADERS",
    "CORSPolicy",
    "normalize_origin",
]

logger = logging.getLogger(__name__)

# Starlette's default; browsers cap it anyway (Chromium at 7200 s, Firefox at 86400 s).
DEFAULT_MAX_AGE_SECONDS: Final = 600
# spec 2025-11-25 basic/transports: POST sends messages, GET opens the stream, DELETE ends the
# session; OPTIONS for the preflight itself.
ALLOW_METHODS: Final = b"GET, POST, DELETE, OPTIONS"
# The request headers a Streamable HTTP client sets (basic/transports: Mcp-Session-Id,
# MCP-Protocol-Version, Last-Event-ID for resumption) plus the bearer token and the JSON body.
ALLOW_HEADERS: Final = (
    b"Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID"
)
# A browser script may read only the response headers listed here: it needs the session id,
# and WWW-Authenticate to tell a missing token from a wrong one.
EXPOSE_HEADERS: Final = b"Mcp-Session-Id, WWW-Authenticate"

# Fetch standard, "CORS-preflight fetch": the preflight answer must have an ok status.
_PREFLIGHT_STATUS: Final = 204
# A preflight from an Origin the app admits but CORS does not list (the loopback defaults):
# answered without CORS headers, so the browser refuses the actual request.
PREFLIGHT_REFUSED: Final = HTTPError(403, InvalidRequest("Forbidden: CORS origin not allowed"))


def normalize_origin(origin: str) -> str:
    """``Scheme://Host:Port/`` as a browser serializes it: lowercased, no trailing slash.

    Raises:
        ValueError: not ``scheme://host[:port]`` (a path, a query, ``*`` or ``null``).
    """
    value = origin.strip().lower().rstrip("/")
    scheme, separator, authority = value.partition("://")
    if (
        not separator
        or scheme not in ("http", "https")
        or not authority
        or any(char in authority for char in "/?#@ *")
    ):
        raise ValueError(
            f"a CORS origin is scheme://host[:port] with scheme http or https, got {origin!r}"
        )
    return value


class CORSPolicy:
    """The CORS answers for a fixed set of origins.

    Args:
        origins: allowed origins, ``scheme://host[:port]`` exactly as the browser sends them
            (the default port is omitted by browsers, so list ``http://app.example``, not
            ``http://app.example:80``).
        max_age_seconds: how long a browser may cache a preflight answer.

    Raises:
        ValueError: an origin is malformed or ``*``.
    """

    __slots__ = ("_origins", "_preflight_headers")

    def __init__(
        self, origins: Iterable[str], *, max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS
    ) -> None:
        self._origins: frozenset[bytes] = frozenset(
            normalize_origin(origin).encode("latin-1") for origin in origins
        )
        self._preflight_headers: tuple[tuple[bytes, bytes], ...] = (
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-allow-headers", ALLOW_HEADERS),
            (b"access-control-max-age", str(max_age_seconds).encode()),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        )

    @property
    def origins(self) -> frozenset[str]:
        """The allowed origins, normalized (the app adds them to its Origin allowlist)."""
        return frozenset(origin.decode("latin-1") for origin in self._origins)

    def allows(self, origin: bytes) -> bool:
        return origin.lower() in self._origins

    @staticmethod
    def is_preflight(scope: Scope, headers: Headers) -> bool:
        # Fetch standard: a CORS preflight is an OPTIONS request carrying Origin and
        # Access-Control-Request-Method.
        return (
            scope["method"] == "OPTIONS"
            and b"origin" in headers
            and b"access-control-request-method" in headers
        )

    async def preflight(self, headers: Headers, send: ASGISend) -> None:
        """Answer a preflight: 204 with the CORS headers, or 403 for an origin not listed."""
        origin = headers[b"origin"]
        if not self.allows(origin):
            await PREFLIGHT_REFUSED.respond(send)
            return
        # The browser compares the requested method and headers with ours and enforces the
        # answer; we need not echo them back.
        await send(
            {
                "type": "http.response.start",
                "status": _PREFLIGHT_STATUS,
                "headers": [(b"access-control-allow-origin", origin), *self._preflight_headers],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def wrap_send(self, headers: Headers, send: ASGISend) -> ASGISend:
        """``send``, adding the CORS response headers when the request's Origin is allowed."""
        origin = headers.get(b"origin")
        if origin is None or not self.allows(origin):
            return send
        added = (
            (b"access-control-allow-origin", origin),
            (b"access-control-expose-headers", EXPOSE_HEADERS),
        )

        async def send_with_cors(message: ASGIMessage) -> None:
            if message["type"] == "http.response.start":
                response_headers = list(message.get("headers", ()))
                response_headers.extend(added)
                _add_vary_origin(response_headers)
                message["headers"] = response_headers
            await send(message)

        return send_with_cors


def _add_vary_origin(headers: list[tuple[bytes, bytes]]) -> None:
    # RFC 9110 section 12.5.5: a response that depends on Origin says so in Vary, so that a
    # cache does not serve one origin's CORS answer to another.
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if b"origin" not in value.lower():
                headers[index] = (name, value + b", Origin")
            return
    headers.append((b"vary", b"Origin"))
