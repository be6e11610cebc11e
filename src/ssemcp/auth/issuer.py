"""An authorization server as this resource server sees it: its metadata and signing keys.

Owns discovering an issuer's metadata (RFC 8414, then OpenID Connect Discovery 1.0), checking
that it names the issuer it was asked for, and its JSON Web Key Set: fetched once, kept for
``max_age_seconds``, refetched when a token names an unknown ``kid`` (key rotation) but at
most once per ``min_refetch_seconds``, so a stream of tokens with made-up ``kid`` values
cannot make us hammer the issuer. Verifying tokens is ``ssemcp.auth.jwt_access``'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

from ssemcp._types import JSONObject, JSONValue

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_JWKS_MAX_AGE_SECONDS",
    "DEFAULT_MIN_REFETCH_SECONDS",
    "IssuerUnavailable",
    "KeySet",
    "discover_metadata",
    "metadata_urls",
]

logger = logging.getLogger(__name__)

# How long fetched keys are trusted before the next use refetches them. An hour is what
# common JWKS clients default to; rotation is caught earlier by the unknown-kid refetch.
DEFAULT_JWKS_MAX_AGE_SECONDS: Final = 3600.0
# At most one refetch for an unknown kid per this many seconds per key set.
DEFAULT_MIN_REFETCH_SECONDS: Final = 30.0
# Key sets and metadata documents are small; a larger answer is refused.
MAX_DOCUMENT_BYTES: Final = 256 * 1024
# Keys that sign (RFC 7517 section 4.2: "use" is "sig" or absent) and are asymmetric: an
# "oct" key in a JWKS would let a symmetric algorithm in by the back door.
_ASYMMETRIC_KEY_TYPES: Final = frozenset({"RSA", "EC", "OKP"})


class IssuerUnavailable(Exception):
    """The authorization server's metadata or keys could not be fetched or made sense of."""


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the order MCP clients try them.

    RFC 8414 section 3.1 inserts ``/.well-known/oauth-authorization-server`` between the host
    and the path; OpenID Connect Discovery 1.0 section 4 appends
    ``/.well-known/openid-configuration`` to the issuer (and RFC 8414 section 5 inserts it).
    """
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(well_known_path: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, well_known_path, "", ""))

    urls = [at("/.well-known/oauth-authorization-server" + path)]
    if path:
        urls.append(at("/.well-known/openid-configuration" + path))
    urls.append(at(path + "/.well-known/openid-configuration"))
    return urls


async def _get_json(client: httpx.AsyncClient, url: str) -> JSONValue:
    import httpx
    import orjson

    try:
        response = await client.get(url, headers={"accept": "application/json"})
    except httpx.HTTPError as exc:
        raise IssuerUnavailable(f"GET {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise IssuerUnavailable(f"GET {url}: HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise IssuerUnavailable(f"GET {url}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document: JSONValue = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise IssuerUnavailable(f"GET {url}: not JSON") from None
    return document


async def discover_metadata(client: httpx.AsyncClient, issuer: str) -> JSONObject:
    """The issuer's authorization server metadata (RFC 8414 or OpenID Connect Discovery).

    Raises:
        IssuerUnavailable: no document found, or one for another issuer (RFC 8414 section
            3.3: the ``issuer`` value returned "MUST be identical to the authorization
            server's issuer identifier" it was fetched for, else it "MUST NOT be used").
    """
    problems = []
    for url in metadata_urls(issuer):
        try:
            document = await _get_json(client, url)
        except IssuerUnavailable as exc:
            problems.append(str(exc))
            continue
        if type(document) is not dict:
            problems.append(f"GET {url}: not a JSON object")
            continue
        if document.get("issuer") != issuer:
            raise IssuerUnavailable(f"{url} describes another issuer, not {issuer}")
        return document
    raise IssuerUnavailable(f"no metadata for {issuer}: " + "; ".join(problems))


class KeySet:
    """One issuer's signing keys, by ``kid``, fetched from a JWKS URL when needed.

    Args:
        client: the HTTP client to fetch with.
        jwks_url: where the keys are; a callable is awaited once, on the first fetch (it
            discovers the URL from the issuer's metadata).
        max_age_seconds: keys older than this are refetched on their next use.
        min_refetch_seconds: an unknown ``kid`` refetches at most this often.
        clock: monotonic seconds (tests may pass their own).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        jwks_url: str | Callable[[], Awaitable[str]],
        *,
        max_age_seconds: float = DEFAULT_JWKS_MAX_AGE_SECONDS,
        min_refetch_seconds: float = DEFAULT_MIN_REFETCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._jwks_url = jwks_url
        self._max_age_seconds = max_age_seconds
        self._min_refetch_seconds = min_refetch_seconds
        self._clock = clock
        self._keys: Mapping[str | None, JSONObject] = {}
        self._fetched_at: float | None = None
        self._refetched_at: float | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def _url(self) -> str:
        if isinstance(self._jwks_url, str):
            return self._jwks_url
        url = await self._jwks_url()
        self._jwks_url = url
        return url

    async def _fetch(self) -> None:
        url = await self._url()
        self.fetch_count += 1
        document = await _get_json(self._client, url)
        raw_keys = document.get("keys") if type(document) is dict else None
        if type(raw_keys) is not list:
            raise IssuerUnavailable(f"GET {url}: no 'keys' array (RFC 7517 section 5)")
        keys: dict[str | None, JSONObject] = {}
        for key in raw_keys:
            if type(key) is not dict or key.get("kty") not in _ASYMMETRIC_KEY_TYPES:
                continue
            if key.get("use", "sig") != "sig":
                continue
            kid = key.get("kid")
            keys[kid if type(kid) is str else None] = key
        self._keys = keys
        logger.info("fetched %d signing key(s) from %s", len(keys), url)

    async def key(self, kid: str | None) -> JSONObject | None:
        """The public JWK named ``kid`` (None: the set's only key without a kid), fetching
        or refetching as the rules above allow; None if there is no such key.

        Raises:
            IssuerUnavailable: the keys could not be fetched.
        """
        if self._is_fresh(self._clock()):
            found = self._keys.get(kid)
            if found is not None:
                return found
        async with self._lock:
            # Another request may have fetched while this one waited for the lock.
            now = self._clock()
            if not self._is_fresh(now):
                await self._fetch_at(now)
                return self._keys.get(kid)
            found = self._keys.get(kid)
            if found is not None:
                return found
            # A kid we do not know: the issuer may have rotated its keys. Ask again, but
            # not more often than min_refetch_seconds, whatever kids tokens make up.
            if self._refetched_at is None or now - self._refetched_at >= self._min_refetch_seconds:
                self._refetched_at = now
                await self._fetch_at(now)
            return self._keys.get(kid)

    def _is_fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self._max_age_seconds

    async def _fetch_at(self, now: float) -> None:
        # After a failure, wait min_refetch_seconds before asking again: an issuer that is
        # down is not asked once per request.
        if self._failed_at is not None and now - self._failed_at < self._min_refetch_seconds:
            raise IssuerUnavailable("the last fetch of the keys failed; not retrying yet")
        try:
            await self._fetch()
        except IssuerUnavailable:
            self._failed_at = now
            raise
        self._failed_at = None
        self._fetched_at = now
