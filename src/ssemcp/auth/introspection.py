"""Opaque access tokens, checked by asking their issuer (RFC 7662 token introspection).

Owns the introspection request (the token, ``token_type_hint=access_token``, this server's
client credentials by HTTP Basic, RFC 7662 section 2.1), reading its answer (``active``,
``iss``, ``aud``, ``exp``, ``scope``) into a principal or a refusal, and a cache of positive
answers kept for at most the token's remaining life and ``max_cache_seconds`` (RFC 7662
section 4: a cached answer outlives a revocation, so the bound is short). Refusals are not
cached. Keys are the tokens' SHA-256, so the cache holds no token.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from ssemcp.auth.issuer import IssuerUnavailable, discover_metadata
from ssemcp.auth.jwt_access import principal_from_claims
from ssemcp.auth.verifier import Refusal, RefusalReason
from ssemcp.protocol.request_context import Principal

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_MAX_CACHED_TOKENS", "DEFAULT_MAX_CACHE_SECONDS", "IntrospectionVerifier"]

logger = logging.getLogger(__name__)

# How long an "active" answer is believed without asking again: a revoked token stays usable
# this long at most. A minute trades the issuer's load against revocation delay.
DEFAULT_MAX_CACHE_SECONDS: Final = 60.0
# Cached answers at most; past it the oldest go first (dicts keep insertion order).
DEFAULT_MAX_CACHED_TOKENS: Final = 10_000
_MAX_ANSWER_BYTES: Final = 64 * 1024


class IntrospectionVerifier:
    """Checks opaque tokens at an RFC 7662 introspection endpoint.

    Args:
        endpoint: the introspection URL; None: the ``introspection_endpoint`` of the first
            issuer's metadata (RFC 8414 section 2), found on first use.
        client_id, client_secret: this resource server's credentials at the issuer.
        issuers: when given, an answer's ``iss`` (if any) must be one of them; the principal's
            issuer is the answer's ``iss``, else the first of these, else the endpoint.
        audience: the ``aud`` an answer must name, if it has one; None: the request's resource.
        max_cache_seconds, max_cached_tokens: the cache's bounds.
        client: the HTTP client; None: one of our own, made on first use.
        clock: wall-clock seconds, for ``exp`` (tests may pass their own).
    """

    def __init__(
        self,
        endpoint: str | None,
        *,
        client_id: str,
        client_secret: str,
        issuers: Iterable[str] = (),
        audience: str | None = None,
        max_cache_seconds: float = DEFAULT_MAX_CACHE_SECONDS,
        max_cached_tokens: int = DEFAULT_MAX_CACHED_TOKENS,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if endpoint is None and not issuers:
            raise ValueError("introspection needs an endpoint, or an issuer to find it from")
        self.endpoint = endpoint
        self._credentials = (client_id, client_secret)
        self._issuers = tuple(issuers)
        self._audience = audience
        self._max_cache_seconds = max_cache_seconds
        self._max_cached_tokens = max_cached_tokens
        self._client = client
        self._owns_client = client is None
        self._clock = clock
        # SHA-256 of the token -> (principal, wall-clock time the answer stops being believed)
        self._cache: dict[bytes, tuple[Principal, float]] = {}
        self.request_count = 0

    def __repr__(self) -> str:
        # Never the client secret.
        return f"IntrospectionVerifier({self.endpoint!r}, client_id={self._credentials[0]!r})"

    async def _endpoint(self) -> str:
        if self.endpoint is None:
            metadata = await discover_metadata(self._http(), self._issuers[0])
            endpoint = metadata.get("introspection_endpoint")
            if type(endpoint) is not str:
                raise IssuerUnavailable(
                    f"the metadata of {self._issuers[0]} has no introspection_endpoint"
                )
            self.endpoint = endpoint
        return self.endpoint

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        return self._client

    async def verify(self, token: str, resource: str) -> Principal | Refusal:
        key = hashlib.sha256(token.encode("latin-1")).digest()
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._cache[key]
        answer = await self._introspect(token)
        if isinstance(answer, Refusal):
            return answer
        result = self._judge(answer, resource, now)
        if isinstance(result, Principal):
            exp = answer.get("exp")
            until = now + self._max_cache_seconds
            if type(exp) in (int, float):
                until = min(until, float(exp))  # type: ignore[arg-type]
            if len(self._cache) >= self._max_cached_tokens:
                del self._cache[next(iter(self._cache))]
            self._cache[key] = (result, until)
        return result

    async def _introspect(self, token: str) -> dict[str, object] | Refusal:
        import httpx
        import orjson

        try:
            endpoint = await self._endpoint()
        except IssuerUnavailable as exc:
            logger.warning("cannot introspect tokens: %s", exc)
            return Refusal(RefusalReason.UNAVAILABLE, "the token's issuer cannot be reached")
        self.request_count += 1
        try:
            response = await self._http().post(
                endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=self._credentials,
                headers={"accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            logger.warning("introspection at %s failed: %s", self.endpoint, type(exc).__name__)
            return Refusal(RefusalReason.UNAVAILABLE, "the token's issuer cannot be reached")
        if response.status_code != 200 or len(response.content) > _MAX_ANSWER_BYTES:
            # A 401 here means our own client credentials are wrong: the operator's problem.
            logger.warning(
                "introspection at %s answered HTTP %d", self.endpoint, response.status_code
            )
            return Refusal(RefusalReason.UNAVAILABLE, "the token's issuer cannot check it now")
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = None
        if type(answer) is not dict:
            logger.warning("introspection at %s answered no JSON object", self.endpoint)
            return Refusal(RefusalReason.UNAVAILABLE, "the token's issuer cannot check it now")
        return answer

    def _judge(self, answer: dict[str, object], resource: str, now: float) -> Principal | Refusal:
        # RFC 7662 section 2.2: "active" is REQUIRED; false for a token that is expired,
        # revoked, unknown, or otherwise not usable here.
        if answer.get("active") is not True:
            return Refusal(RefusalReason.INVALID, "the token is not active (revoked or unknown)")
        issuer = answer.get("iss")
        if issuer is not None and self._issuers and issuer not in self._issuers:
            return Refusal(RefusalReason.WRONG_ISSUER, "the token is from an issuer not trusted")
        exp = answer.get("exp")
        if type(exp) in (int, float) and float(exp) <= now:  # type: ignore[arg-type]
            return Refusal(RefusalReason.EXPIRED, "the token has expired")
        nbf = answer.get("nbf")
        if type(nbf) in (int, float) and float(nbf) > now:  # type: ignore[arg-type]
            return Refusal(RefusalReason.NOT_YET_VALID, "the token is not valid yet")
        audience = self._audience or resource
        aud = answer.get("aud")
        if aud is not None:
            audiences = aud if type(aud) is list else [aud]
            if audience not in audiences:
                return Refusal(
                    RefusalReason.WRONG_AUDIENCE,
                    f"the token is not for this resource ({audience})",
                )
        if type(issuer) is not str:
            issuer = self._issuers[0] if self._issuers else str(self.endpoint)
        principal = principal_from_claims(answer, issuer)  # type: ignore[arg-type]
        if principal is None:
            return Refusal(RefusalReason.INVALID, "the token names no subject nor client")
        return principal

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
