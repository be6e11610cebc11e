"""Static bearer tokens: who may use the HTTP endpoints, and under which principal.

Owns parsing ``Authorization: Bearer …`` (RFC 6750 section 2.1), comparing the presented
token with every configured one in constant time, the 401/400 challenges (RFC 6750 section 3)
and the principal a request carries (``scope["ssemcp.principal"]``). It knows no route: the
app decides which requests need a token (all but ``GET /healthz``). Binding sessions to the
principal is the transports' job; OAuth, JWT and RFC 9728 metadata will live in ``ssemcp.auth``.

Tokens never appear in a log line, a response or an exception message, not even in part.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl

from ssemcp.asgi import PRINCIPAL_KEY, ASGISend, Headers, HTTPError, Scope
from ssemcp.errors import InvalidRequest

__all__ = [
    "INVALID_TOKEN",
    "TOKEN_IN_QUERY",
    "UNAUTHORIZED",
    "BearerAuth",
    "principal_of",
]

logger = logging.getLogger(__name__)

# A principal is this many hex characters of the token's SHA-256: 64 bits tell tokens apart
# in logs and session bindings, and say nothing usable about a high-entropy token.
_PRINCIPAL_HEX_CHARS: Final = 16

# RFC 6750 section 2.1: credentials = "Bearer" 1*SP b64token, and
# b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
# The scheme is case-insensitive (RFC 9110 section 11.1).
_BEARER_CREDENTIALS: Final = re.compile(rb"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *")
_B64TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

# Query parameters that carry a credential in some API or other. RFC 6750 section 2.3 defines
# ``access_token``; spec 2025-11-25 basic/authorization, "Access Token Usage": "Access tokens
# MUST NOT be included in the URI query string". We refuse the request rather than ignore the
# parameter, so that a client that leaks its token into URLs (and so into proxy and browser
# logs) learns of it at once.
_QUERY_CREDENTIAL_NAMES: Final = frozenset(
    {
        "access_token",
        "accesstoken",
        "api_key",
        "api-key",
        "apikey",
        "auth",
        "auth_token",
        "authorization",
        "bearer",
        "bearer_token",
        "id_token",
        "token",
    }
)

# RFC 6750 section 3.1: "If the request lacks any authentication information (e.g., the client
# was unaware that authentication is necessary or attempted using an unsupported authentication
# method), the resource server SHOULD NOT include an error code or other error information."
# Yet section 3: the "Bearer" scheme "MUST be followed by one or more auth-param values", so
# the challenge carries a realm, as the RFC's own example does (Bearer realm="example").
# The body (ours to word) tells whoever reads it how to send a token, and names no token.
UNAUTHORIZED: Final = HTTPError(
    401,
    InvalidRequest(
        "Unauthorized: this server needs a token, sent as 'Authorization: Bearer <token>'"
    ),
    ((b"www-authenticate", b'Bearer realm="mcp"'),),
)
# RFC 6750 section 3.1, invalid_token: "The access token provided is expired, revoked,
# malformed, or invalid for other reasons. The resource SHOULD respond with the HTTP 401".
# spec 2025-11-25 basic/authorization: "Invalid or expired tokens MUST receive a HTTP 401".
INVALID_TOKEN: Final = HTTPError(
    401,
    InvalidRequest(
        "Unauthorized: the bearer token is not one this server accepts; send a valid one "
        "as 'Authorization: Bearer <token>'"
    ),
    ((b"www-authenticate", b'Bearer error="invalid_token"'),),
)
# RFC 6750 section 3.1, invalid_request: the request "uses more than one method for including
# an access token, or is otherwise malformed. The resource server SHOULD respond with the
# HTTP 400 (Bad Request) status code."
TOKEN_IN_QUERY: Final = HTTPError(
    400,
    InvalidRequest("Bad Request: credentials are accepted in the Authorization header only"),
    ((b"www-authenticate", b'Bearer error="invalid_request"'),),
)


def principal_of(token: str | bytes) -> str:
    """The stable, non-secret name of ``token``: the start of its SHA-256, in hex."""
    raw = token.encode("latin-1") if isinstance(token, str) else token
    return hashlib.sha256(raw).hexdigest()[:_PRINCIPAL_HEX_CHARS]


def _has_query_credential(query_string: bytes) -> bool:
    if not query_string:
        return False
    # Keys only; values are never looked at, so a token cannot reach a log from here.
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return any(name.strip().lower() in _QUERY_CREDENTIAL_NAMES for name, _value in pairs)


class BearerAuth:
    """Checks ``Authorization: Bearer <token>`` against a fixed set of tokens.

    Args:
        tokens: the accepted tokens (at least one); each must be an RFC 6750 ``b64token``.

    Raises:
        ValueError: no token, or a token a client could not send in the header.
    """

    __slots__ = ("_digests",)

    def __init__(self, tokens: Iterable[str]) -> None:
        digests: list[tuple[bytes, str]] = []
        for token in tokens:
            # The message names the rule, never the token.
            if not _B64TOKEN.fullmatch(token):
                raise ValueError(
                    "a bearer token must be 1+ characters of A-Z a-z 0-9 - . _ ~ + / "
                    "optionally followed by '=' (RFC 6750 section 2.1)"
                )
            digest = hashlib.sha256(token.encode("ascii")).digest()
            digests.append((digest, digest.hex()[:_PRINCIPAL_HEX_CHARS]))
        if not digests:
            raise ValueError("BearerAuth needs at least one token")
        # Only digests are kept: comparing fixed-length digests leaks no token length, and the
        # tokens themselves are not held by this object (nor shown by a debugger's repr).
        self._digests = tuple(digests)

    def __repr__(self) -> str:
        return f"BearerAuth(<{len(self._digests)} token(s)>)"

    def principal(self, authorization: bytes | None) -> str | None:
        """The principal of the token in an ``Authorization`` value, or None if it is not ours."""
        if authorization is None:
            return None
        match = _BEARER_CREDENTIALS.fullmatch(authorization)
        if match is None:
            return None
        presented = hashlib.sha256(match.group(1)).digest()
        found: str | None = None
        # Compare with every token, with no early exit, so timing does not tell which matched.
        for digest, principal in self._digests:
            if hmac.compare_digest(presented, digest):
                found = principal
        return found

    async def authenticate(self, scope: Scope, headers: Headers, send: ASGISend) -> bool:
        """Set ``scope["ssemcp.principal"]`` and return True, or answer 401/400 and return False.

        Args:
            scope: the request's scope; only ``query_string`` is read.
            headers: the request headers (lowercased names, last value wins).
            send: where the refusal goes.
        """
        if _has_query_credential(scope.get("query_string", b"")):
            logger.warning("refused a request with a credential in its query string")
            await TOKEN_IN_QUERY.respond(send)
            return False
        authorization = headers.get(b"authorization")
        principal = self.principal(authorization)
        if principal is not None:
            scope[PRINCIPAL_KEY] = principal
            return True
        if authorization is None or authorization.split(b" ", 1)[0].lower() != b"bearer":
            # No Bearer credentials at all (none, or another scheme): a bare challenge.
            logger.info("refused a request without bearer credentials")
            await UNAUTHORIZED.respond(send)
        else:
            logger.info("refused a request with an unknown bearer token")
            await INVALID_TOKEN.respond(send)
        return False
