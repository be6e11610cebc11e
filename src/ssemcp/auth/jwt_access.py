"""JWT access tokens (RFC 9068), verified against their issuer's published keys.

Owns the checks, in this order: the header's ``alg`` is on an allowlist of asymmetric
algorithms; the unverified ``iss`` is a configured issuer (only then is its key set asked);
the ``kid`` names a key of that issuer whose type fits the algorithm; the signature; then
``iss``, ``aud`` (RFC 8707: the token must name this server's resource), ``exp``, ``nbf`` and
``iat`` with a small leeway. Fetching keys is ``ssemcp.auth.issuer``'s.

The library is PyJWT (with ``cryptography``): it is widely deployed and kept, it verifies only
with the algorithms it is handed, refuses a PEM or JWK public key as an HMAC secret, and raises
one exception class per failed claim, which map one-to-one onto our refusals. We add the
allowlist and the key-type check on top, so the HS/RS confusion is refused before any key is
touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ssemcp._types import JSONValue
from ssemcp.auth.issuer import (
    DEFAULT_JWKS_MAX_AGE_SECONDS,
    DEFAULT_MIN_REFETCH_SECONDS,
    IssuerUnavailable,
    KeySet,
    discover_metadata,
)
from ssemcp.auth.verifier import Refusal, RefusalReason
from ssemcp.protocol.request_context import Principal

if TYPE_CHECKING:
    import httpx

__all__ = ["ALLOWED_ALGORITHMS", "DEFAULT_LEEWAY_SECONDS", "JWTVerifier", "scopes_of"]

logger = logging.getLogger(__name__)

# Asymmetric signatures only, each with the key type it needs (RFC 7518 section 3.1, RFC 8037).
# No "none" and no HS*: a resource server never shares a secret with the issuer, and an HS
# token "signed" with a public key is the classic confusion attack.
ALLOWED_ALGORITHMS: Final[Mapping[str, str]] = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
    "EdDSA": "OKP",
}
# Clock skew tolerated on exp, nbf and iat: a minute is the common choice (RFC 7519 section
# 4.1.4: "Implementers MAY provide for some small leeway ... to account for clock skew").
DEFAULT_LEEWAY_SECONDS: Final = 60.0


def scopes_of(claims: Mapping[str, JSONValue]) -> frozenset[str]:
    """The scopes a token grants: RFC 9068 section 2.2.3.1 ``scope`` (space-separated), or
    the ``scp`` array some issuers send instead."""
    scope = claims.get("scope")
    if type(scope) is str:
        return frozenset(scope.split())
    scp = claims.get("scp")
    if type(scp) is list:
        return frozenset(item for item in scp if type(item) is str)
    if type(scp) is str:
        return frozenset(scp.split())
    return frozenset()


def principal_from_claims(claims: Mapping[str, JSONValue], issuer: str) -> Principal | None:
    """The principal a verified token or introspection answer stands for (None: no subject)."""
    client_id = claims.get("client_id", claims.get("azp"))
    subject = claims.get("sub")
    if type(subject) is not str or not subject:
        # RFC 9068 section 2.2: sub is REQUIRED; a client_credentials token names the client.
        subject = client_id
    if type(subject) is not str or not subject:
        return None
    return Principal(
        subject=subject,
        issuer=issuer,
        client_id=client_id if type(client_id) is str else None,
        scopes=scopes_of(claims),
        # Read-only: every request of a session may share this principal.
        claims=MappingProxyType(dict(claims)),
    )


class JWTVerifier:
    """Verifies JWT access tokens of one or more issuers.

    Args:
        issuers: the accepted ``iss`` values (at least one).
        audience: the ``aud`` a token must name; None: the resource URL each request targets.
        jwks_url: the keys, for every issuer; None: each issuer's ``jwks_uri`` from its
            metadata (``ssemcp.auth.issuer``).
        algorithms: the accepted ``alg`` values, a subset of :data:`ALLOWED_ALGORITHMS`.
        leeway_seconds: the clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        min_refetch_seconds, max_age_seconds: the key cache's bounds (``KeySet``).
        client: the HTTP client; None: one of our own, made on first use.

    Raises:
        ValueError: no issuer, or an algorithm outside the allowlist.
    """

    def __init__(
        self,
        issuers: Iterable[str],
        *,
        audience: str | None = None,
        jwks_url: str | None = None,
        algorithms: Iterable[str] = tuple(ALLOWED_ALGORITHMS),
        leeway_seconds: float = DEFAULT_LEEWAY_SECONDS,
        min_refetch_seconds: float = DEFAULT_MIN_REFETCH_SECONDS,
        max_age_seconds: float = DEFAULT_JWKS_MAX_AGE_SECONDS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.issuers = tuple(dict.fromkeys(issuers))
        if not self.issuers:
            raise ValueError("JWT verification needs at least one issuer")
        self._algorithms = frozenset(algorithms)
        unknown = self._algorithms - set(ALLOWED_ALGORITHMS)
        if unknown:
            raise ValueError(
                f"algorithms not allowed: {', '.join(sorted(unknown))} (only asymmetric ones: "
                f"{', '.join(ALLOWED_ALGORITHMS)})"
            )
        self._audience = audience
        self._jwks_url = jwks_url
        self._leeway_seconds = leeway_seconds
        self._min_refetch_seconds = min_refetch_seconds
        self._max_age_seconds = max_age_seconds
        self._client = client
        self._owns_client = client is None
        self._key_sets: dict[str, KeySet] = {}

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            # No redirects: a metadata or JWKS URL is configured or published, never guessed.
            self._client = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        return self._client

    def key_set(self, issuer: str) -> KeySet:
        """The key set of ``issuer`` (one of ours), made on first use."""
        key_set = self._key_sets.get(issuer)
        if key_set is None:
            client = self._http()

            async def discovered_jwks_url() -> str:
                metadata = await discover_metadata(client, issuer)
                url = metadata.get("jwks_uri")
                if type(url) is not str:
                    raise IssuerUnavailable(f"the metadata of {issuer} has no jwks_uri")
                return url

            key_set = self._key_sets[issuer] = KeySet(
                client,
                self._jwks_url if self._jwks_url is not None else discovered_jwks_url,
                max_age_seconds=self._max_age_seconds,
                min_refetch_seconds=self._min_refetch_seconds,
            )
        return key_set

    async def verify(self, token: str, resource: str) -> Principal | Refusal:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return Refusal(RefusalReason.INVALID, "the token is not a well-formed JWT")
        algorithm = header.get("alg")
        if algorithm not in self._algorithms:
            return Refusal(
                RefusalReason.INVALID,
                f"the token's algorithm is not accepted (allowed: "
                f"{', '.join(sorted(self._algorithms))})",
            )
        issuer = unverified.get("iss")
        if issuer not in self.issuers:
            return Refusal(RefusalReason.WRONG_ISSUER, "the token is from an issuer not trusted")
        kid = header.get("kid")
        try:
            jwk = await self.key_set(issuer).key(kid if type(kid) is str else None)
        except IssuerUnavailable as exc:
            logger.warning("cannot verify tokens of %s: %s", issuer, exc)
            return Refusal(RefusalReason.UNAVAILABLE, "the token's issuer cannot be reached")
        if jwk is None:
            return Refusal(RefusalReason.INVALID, "the token is signed by an unknown key")
        if jwk.get("kty") != ALLOWED_ALGORITHMS[algorithm] or jwk.get("alg", algorithm) != (
            algorithm
        ):
            return Refusal(RefusalReason.INVALID, "the token's algorithm does not fit its key")
        audience = self._audience or resource
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm)
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=audience,
                issuer=issuer,
                leeway=self._leeway_seconds,
                options={"require": ["exp", "iss", "aud"], "strict_aud": False},
            )
        except jwt.ExpiredSignatureError:
            return Refusal(RefusalReason.EXPIRED, "the token has expired")
        except jwt.ImmatureSignatureError:
            return Refusal(RefusalReason.NOT_YET_VALID, "the token is not valid yet")
        except jwt.InvalidAudienceError:
            return Refusal(
                RefusalReason.WRONG_AUDIENCE, f"the token is not for this resource ({audience})"
            )
        except jwt.InvalidIssuerError:
            return Refusal(RefusalReason.WRONG_ISSUER, "the token is from an issuer not trusted")
        except jwt.MissingRequiredClaimError as exc:
            return Refusal(RefusalReason.INVALID, f"the token has no {exc.claim!r} claim")
        except jwt.InvalidSignatureError:
            return Refusal(RefusalReason.INVALID, "the token's signature does not verify")
        except jwt.PyJWTError as exc:
            return Refusal(RefusalReason.INVALID, f"the token is invalid ({type(exc).__name__})")
        principal = principal_from_claims(claims, issuer)
        if principal is None:
            return Refusal(RefusalReason.INVALID, "the token names no subject nor client")
        return principal

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
