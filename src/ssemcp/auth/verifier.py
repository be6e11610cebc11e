"""What every token verifier is: a credential in, a principal or a typed refusal out.

Owns the :class:`TokenVerifier` protocol and :class:`Refusal`, the one vocabulary in which
static secrets (``ssemcp.auth.static``), JWT access tokens (``ssemcp.auth.jwt_access``) and
introspected opaque tokens (``ssemcp.auth.introspection``) say no. Turning a refusal into an
HTTP answer is ``ssemcp.auth.gate``'s. A refusal's description goes to the client and to our
log, so it never holds the token, not even in part.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from ssemcp.protocol.request_context import Principal

__all__ = ["Refusal", "RefusalReason", "TokenVerifier"]


class RefusalReason(enum.Enum):
    """Why a credential was not accepted; ``ssemcp.auth.gate`` maps each to a status."""

    # No credential at all: RFC 6750 section 3.1 says to send no error code then.
    MISSING = "missing"
    # Malformed, unknown, revoked, badly signed, or signed with an algorithm not allowed.
    INVALID = "invalid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_ISSUER = "wrong_issuer"
    # RFC 8707: the token was issued for another resource.
    WRONG_AUDIENCE = "wrong_audience"
    # Valid, but without the scopes this request needs (RFC 6750 section 3.1: 403).
    INSUFFICIENT_SCOPE = "insufficient_scope"
    # The authorization server could not be asked (its keys or introspection): not the
    # client's fault, so not a 401 that would make it throw a good token away.
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A credential refused.

    Attributes:
        reason: why, as a kind.
        description: a short sentence for the client and our log; never the token.
        scopes: with ``INSUFFICIENT_SCOPE``, the scopes the request needs.
    """

    reason: RefusalReason
    description: str
    scopes: frozenset[str] = frozenset()


class TokenVerifier(Protocol):
    """Turns a bearer token into the principal it stands for, or says why not."""

    async def verify(self, token: str, resource: str) -> Principal | Refusal:
        """Check ``token`` for a request to ``resource`` (the canonical URL of this server's
        MCP endpoint, which an audience must name: RFC 8707)."""
        ...

    async def aclose(self) -> None:
        """Release what the verifier holds (HTTP clients); called at shutdown."""
        ...
