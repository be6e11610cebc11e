"""Calling an upstream JSON API politely: the HTTP plumbing every web tool set shares.

Owns :class:`UpstreamClient` (one lazily created ``httpx.AsyncClient`` per upstream, a bound on
requests in flight, retries with exponential backoff, a TTL cache, an optional request budget,
one request in flight per URL through :mod:`._singleflight`, an optional circuit breaker from
:mod:`._breaker`, the time limit of the call it serves from :mod:`._deadline`) and the errors it
raises, each worded for a model to act on. What the JSON means is the tool set's business;
this module only fetches it.

    UpstreamError                  the upstream could not give us the data
    ├── UpstreamNotFound           404, or a JSON ``null`` where an object was expected
    ├── BudgetExhausted            our own request budget for this upstream is spent
    └── UpstreamUnavailable        its circuit breaker is open: recent requests failed

The clock is injected (``now``) so cache, budget and breaker tests need no sleeps.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import httpx

from ssemcp._types import JSONValue
from ssemcp._version import __version__
from ssemcp.toolsets._breaker import CircuitBreaker, CircuitOpen
from ssemcp.toolsets._deadline import Deadline, current_deadline
from ssemcp.toolsets._singleflight import SingleFlight

__all__ = [
    "BudgetExhausted",
    "RefusalHook",
    "RequestBudget",
    "RetryPolicy",
    "TTLCache",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamStats",
    "UpstreamUnavailable",
    "env_float",
    "env_int",
    "env_str",
]

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
# What a 4xx answer means for one upstream: called with the status, the headers and the start
# of the body (at most MAX_ERROR_BODY_BYTES); returns the error to raise, or None for the
# generic handling below. GitHub uses it to report a rate limit with its reset time.
RefusalHook = Callable[[int, httpx.Headers, bytes], "UpstreamError | None"]

# Ten requests in flight per upstream: the default; browsers open six connections per
# host, and the HN Firebase API serves a front page (30 items) in three rounds at this width.
DEFAULT_MAX_CONCURRENCY: Final = 10
# Three attempts (two retries): enough to ride out a blip, few enough that a model is not left
# waiting on an upstream that is down (3 x the timeout at worst, plus backoff).
DEFAULT_MAX_ATTEMPTS: Final = 3
# First retry after 0.5 s, then 1 s: exponential backoff as AWS' "Exponential Backoff and
# Jitter" article and httpx-retries recommend; capped so one call never sleeps long.
DEFAULT_BACKOFF_SECONDS: Final = 0.5
MAX_BACKOFF_SECONDS: Final = 8.0
# 10 s per attempt: the HN APIs answer in well under a second; a slow upstream should fail
# fast enough that a client's own request timeout (often 60 s) is not hit first.
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
# Under a call's deadline, a retry is made only if this much time (or the whole timeout, if
# shorter) is left after its backoff: the APIs answer in well under a second, and an attempt
# given less would mostly time out, adding load and no answer.
MIN_ATTEMPT_SECONDS: Final = 0.5
# Entries, not bytes: an HN item is ~1 KB of JSON, so 2000 entries cost a few megabytes.
DEFAULT_CACHE_MAX_ENTRIES: Final = 2000
# Bodies above 10 MB are not JSON an HN-sized API sends; refuse rather than buffer them.
MAX_RESPONSE_BYTES: Final = 10 * 1024 * 1024
# An error body is a short JSON message (GitHub's are ~200 bytes); a refusal hook sees no more.
MAX_ERROR_BODY_BYTES: Final = 16 * 1024
# What a peer's error body may contribute to a log line.
_MAX_LOGGED_BODY: Final = 200


class UpstreamError(Exception):
    """The upstream could not give us the data; the message says why and what to do."""


class UpstreamNotFound(UpstreamError):
    """The upstream has no such thing (HTTP 404, or a JSON ``null`` body)."""


class BudgetExhausted(UpstreamError):
    """Our request budget for this upstream is spent; no request was sent."""


class UpstreamUnavailable(UpstreamError):
    """The upstream's circuit breaker is open (recent requests failed); no request was sent."""


# ---------------------------------------------------------------------- settings helpers


def env_str(environ: Mapping[str, str], name: str, default: str) -> str:
    """``environ[name]`` stripped, or ``default`` when unset or empty."""
    value = environ.get(name, "").strip()
    return value or default


def env_float(
    environ: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0
) -> float:
    """``environ[name]`` as a float of at least ``minimum``, or ``default`` when unset.

    Raises:
        ValueError: the value is not a number, or below ``minimum``.
    """
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value >= minimum:  # also refuses NaN
        raise ValueError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def env_int(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    """``environ[name]`` as an int of at least ``minimum``, or ``default`` when unset.

    Raises:
        ValueError: the value is not an integer, or below ``minimum``.
    """
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r} must be at least {minimum}")
    return value


# ---------------------------------------------------------------------- cache


class TTLCache:
    """A bounded in-process cache whose entries expire ``ttl_seconds`` after they were put.

    Least recently used entries go first when ``max_entries`` is reached. Not thread-safe:
    one event loop owns it.

    Args:
        max_entries: the most entries kept (at least 1).
        now: the clock, in seconds (``time.monotonic`` unless a test injects one).
    """

    def __init__(self, max_entries: int = DEFAULT_CACHE_MAX_ENTRIES, now: Clock = time.monotonic):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._now = now
        # key -> (expires_at, value), in least- to most-recently-used order.
        self._entries: collections.OrderedDict[str, tuple[float, JSONValue]] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> tuple[bool, JSONValue]:
        """``(True, value)`` for a live entry under ``key``, else ``(False, None)``."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires_at, value = entry
        if self._now() >= expires_at:
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, value

    def put(self, key: str, value: JSONValue, ttl_seconds: float) -> None:
        """Keep ``value`` for ``ttl_seconds`` (a TTL of 0 or less keeps nothing)."""
        if ttl_seconds <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (self._now() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


# ---------------------------------------------------------------------- budget


class RequestBudget:
    """At most ``limit`` requests in any sliding window of ``window_seconds``.

    Args:
        limit: requests allowed per window (at least 1).
        window_seconds: the window's length.
        now: the clock, in seconds.
    """

    def __init__(self, limit: int, window_seconds: float, now: Clock = time.monotonic) -> None:
        if limit < 1:
            raise ValueError("a request budget needs a limit of at least 1")
        self.limit = limit
        self.window_seconds = window_seconds
        self._now = now
        # Times of the requests in the current window; never longer than `limit`.
        self._sent: collections.deque[float] = collections.deque()

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window_seconds:
            self._sent.popleft()

    @property
    def remaining(self) -> int:
        self._expire(self._now())
        return self.limit - len(self._sent)

    def spend(self, upstream: str) -> None:
        """Record one request, or refuse it.

        Raises:
            BudgetExhausted: ``limit`` requests were sent within the window already.
        """
        now = self._now()
        self._expire(now)
        if len(self._sent) >= self.limit:
            wait_seconds = self._sent[0] + self.window_seconds - now
            raise BudgetExhausted(
                f"The request budget for {upstream} ({self.limit} requests per "
                f"{self.window_seconds:g} s) is spent; try again in {wait_seconds:.0f} s, or "
                "use a tool that does not need this API."
            )
        self._sent.append(now)


# ---------------------------------------------------------------------- retries


class RetryPolicy:
    """Which failures are retried, how often, and how long to wait in between.

    Timeouts, connection errors and 5xx answers are retried (they are usually transient);
    4xx answers and malformed bodies are not (asking again gives the same answer).

    Args:
        max_attempts: attempts in all, the first included (at least 1).
        backoff_seconds: the wait before the first retry; each later one doubles it.
        max_backoff_seconds: the longest single wait.
    """

    __slots__ = ("backoff_seconds", "max_attempts", "max_backoff_seconds")

    def __init__(
        self,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds

    def delay_seconds(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds))


class UpstreamStats:
    """What one client's requests came to, counted for ``ssemcp.observe.metrics`` to read
    when scraped: attempts by outcome (``ok``, ``not_found``, ``refused``: another 4xx or a
    bad body; ``failed``: a timeout, no connection or a 5xx; ``breaker_open`` and
    ``budget_exhausted``: not sent; ``cancelled``), and cache hits and misses."""

    __slots__ = ("cache_hits", "cache_misses", "requests")

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.cache_hits = 0
        self.cache_misses = 0

    def count(self, outcome: str) -> None:
        self.requests[outcome] = self.requests.get(outcome, 0) + 1


class _Retryable(Exception):
    """One attempt failed in a way worth retrying; ``message`` is for the final error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------- the client


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The first ``limit`` bytes of a streamed body (the rest is left unread)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])


class UpstreamClient:
    """GET JSON from one upstream API, with caching, a concurrency bound and retries.

    The ``httpx.AsyncClient`` is created on first use, inside the running loop, and reused
    for every request (connection keep-alive); :meth:`aclose` closes it. Register that with
    ``server.add_cleanup``.

    Args:
        name: the upstream's human name, used in error messages ("the Hacker News API").
        base_url: every path is relative to it.
        timeout_seconds: per attempt (connect, read, write and pool wait each); a call's
            deadline may cut it shorter.
        max_concurrency: requests in flight at once, at most.
        retry: the retry policy.
        cache: where answers are kept; None caches nothing.
        budget: a limit on requests sent (every attempt counts); None for no limit.
        sleep: how to wait between attempts (``asyncio.sleep``; tests may inject).
        transport: an httpx transport to use instead of the network (tests).
        headers: sent with every request, over the defaults (``User-Agent``, ``Accept``);
            for credentials too: they are never logged.
        on_refusal: turns a 4xx answer into a more specific error (see ``RefusalHook``).
        breaker: asked before every attempt, told every outcome; None for no breaker.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retry: RetryPolicy | None = None,
        cache: TTLCache | None = None,
        budget: RequestBudget | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        on_refusal: RefusalHook | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.max_concurrency = max_concurrency
        self.retry = retry or RetryPolicy()
        self.cache = cache
        self.budget = budget
        self._sleep = sleep
        self._transport = transport
        self._headers = {
            "User-Agent": f"ssemcp/{__version__}",
            "Accept": "application/json",
            **(headers or {}),
        }
        self._on_refusal = on_refusal
        self.breaker = breaker
        # Cache key -> the request in flight for it, which identical GETs join.
        self._in_flight: SingleFlight[str, JSONValue] = SingleFlight()
        self._client: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._is_closed = False
        self.stats = UpstreamStats()

    def __repr__(self) -> str:
        return f"UpstreamClient({self.name!r}, {self.base_url!r})"

    def _http(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        if self._is_closed:
            raise UpstreamError(f"{self.name} client is closed (the server is shutting down).")
        if self._client is None or self._semaphore is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url + "/",
                timeout=httpx.Timeout(self.timeout_seconds),
                limits=httpx.Limits(
                    max_connections=self.max_concurrency,
                    max_keepalive_connections=self.max_concurrency,
                ),
                headers=self._headers,
                follow_redirects=True,
                transport=self._transport,
            )
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._client, self._semaphore

    def cache_key(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The cache key of a GET: the path and its sorted query parameters."""
        if not params:
            return path
        return path + "?" + str(httpx.QueryParams(sorted(params.items())))

    async def get_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        ttl_seconds: float = 0.0,
        fresh: bool = False,
    ) -> JSONValue:
        """GET ``path`` (relative to the base URL) and decode its JSON body.

        A GET identical to one in flight (same path and parameters) sends nothing: it waits
        for that one's answer, or error. Cancelling one caller does not cancel the request
        for the others.

        Inside :func:`~ssemcp.toolsets._deadline.call_deadline`, each attempt's timeout is
        cut to the time left, and a retry that could not finish in it is not made; a
        request shared by several calls runs under the deadline of the one that started it.

        Args:
            params: query parameters.
            ttl_seconds: keep the answer this long in the cache (0: not at all); the
                caller that started a shared request decides.
            fresh: skip the cache lookup (the answer is still stored); for polling. A
                request already in flight is fresh enough.

        Raises:
            UpstreamNotFound: a 404.
            BudgetExhausted: the request budget is spent.
            UpstreamError: anything else that kept us from a JSON value.
        """
        key = self.cache_key(path, params)
        if self.cache is not None and not fresh:
            found, cached = self.cache.get(key)
            if found:
                self.stats.cache_hits += 1
                return cached
            self.stats.cache_misses += 1
        return await self._in_flight.run(
            key, functools.partial(self._fetch_and_keep, key, path, params, ttl_seconds)
        )

    async def _fetch_and_keep(
        self, key: str, path: str, params: Mapping[str, str] | None, ttl_seconds: float
    ) -> JSONValue:
        value = await self._fetch(path, params)
        if self.cache is not None:
            self.cache.put(key, value, ttl_seconds)
        return value

    def forget(self, path: str, params: Mapping[str, str] | None = None) -> None:
        """Drop the cached answer of one GET (it is known to have changed)."""
        if self.cache is not None:
            self.cache.discard(self.cache_key(path, params))

    async def _fetch(self, path: str, params: Mapping[str, str] | None) -> JSONValue:
        client, semaphore = self._http()
        deadline = current_deadline()
        attempt = 0
        while True:
            attempt += 1
            try:
                async with semaphore:
                    # Both asked once a slot is free: a request queued behind ones that are
                    # timing out sees the breaker they opened, and the time they took.
                    timeout_seconds = self._attempt_timeout(deadline)
                    return await self._counted_attempt(client, path, params, timeout_seconds)
            except _Retryable as failure:
                attempts = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
                if attempt >= self.retry.max_attempts:
                    raise UpstreamError(
                        f"{self.name} {failure.message} ({attempts}); try again later."
                    ) from None
                delay = self.retry.delay_seconds(attempt)
                if deadline is not None and deadline.remaining_seconds() < delay + min(
                    MIN_ATTEMPT_SECONDS, self.timeout_seconds
                ):
                    raise UpstreamError(
                        f"{self.name} {failure.message} ({attempts}; this call's "
                        f"{deadline.limit_seconds:g} s time limit leaves no time for another); "
                        "try again later."
                    ) from None
                logger.info(
                    "%s %s: %s; retry %d in %.2f s",
                    self.name,
                    path,
                    failure.message,
                    attempt,
                    delay,
                )
            # Sleep outside the semaphore: a waiting retry must not hold a slot.
            await self._sleep(delay)

    def _attempt_timeout(self, deadline: Deadline | None) -> float:
        """The next attempt's timeout: the client's, cut to the time the call has left.

        Raises:
            UpstreamError: the call has no time left.
        """
        if deadline is None:
            return self.timeout_seconds
        remaining = deadline.remaining_seconds()
        if remaining <= 0:
            raise UpstreamError(
                f"{self.name} was not asked: this call's {deadline.limit_seconds:g} s time "
                "limit is up; try again later."
            )
        return min(self.timeout_seconds, remaining)

    async def _counted_attempt(
        self,
        client: httpx.AsyncClient,
        path: str,
        params: Mapping[str, str] | None,
        timeout_seconds: float,
    ) -> JSONValue:
        """One attempt through the breaker, its outcome counted in :attr:`stats`."""
        outcome = "error"  # an exception no branch below names: a bug of ours
        try:
            value = await self._attempt_through_breaker(client, path, params, timeout_seconds)
            outcome = "ok"
            return value
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except _Retryable:
            outcome = "failed"
            raise
        except UpstreamNotFound:
            outcome = "not_found"
            raise
        except UpstreamUnavailable:
            outcome = "breaker_open"
            raise
        except BudgetExhausted:
            outcome = "budget_exhausted"
            raise
        except UpstreamError:
            outcome = "refused"
            raise
        finally:
            self.stats.count(outcome)

    async def _attempt_through_breaker(
        self,
        client: httpx.AsyncClient,
        path: str,
        params: Mapping[str, str] | None,
        timeout_seconds: float,
    ) -> JSONValue:
        """One attempt, if the breaker lets it out, with its outcome told to the breaker."""
        breaker = self.breaker
        if breaker is None:
            self._spend_budget()
            return await self._attempt(client, path, params, timeout_seconds)
        try:
            is_probe = breaker.admit()
        except CircuitOpen as refusal:
            raise self._unavailable(refusal) from None
        # A request that ends with no outcome to tell (refused by our budget, cancelled)
        # gives up the probe, or the breaker would stay half-open for ever.
        try:
            self._spend_budget()
        except BudgetExhausted:
            if is_probe:
                breaker.abandon_probe()
            raise
        try:
            value = await self._attempt(client, path, params, timeout_seconds)
        except _Retryable as failure:
            if breaker.record_failure(failure.message):
                logger.warning(
                    "%s: %d failures in a row (the last: %s); no requests for %g s",
                    self.name,
                    breaker.failure_threshold,
                    failure.message,
                    breaker.cooldown_seconds,
                )
            raise
        except UpstreamError:
            breaker.record_success()  # it answered (a 4xx, a malformed body): it is up
            raise
        except BaseException:
            if is_probe:
                breaker.abandon_probe()
            raise
        breaker.record_success()
        return value

    def _spend_budget(self) -> None:
        if self.budget is not None:
            self.budget.spend(self.name)

    def _unavailable(self, refusal: CircuitOpen) -> UpstreamUnavailable:
        failed = (
            f"its last {refusal.failures} requests failed (the last {refusal.last_failure})"
            if refusal.failures > 1
            else f"its last request {refusal.last_failure}"
        )
        why = f"{self.name} is unavailable: {failed}"
        if refusal.retry_in_seconds is None:
            return UpstreamUnavailable(
                f"{why}; a request to see whether it is back is under way: try again in a "
                "few seconds."
            )
        retry_in = max(1, math.ceil(refusal.retry_in_seconds))
        return UpstreamUnavailable(
            f"{why}. It will be tried again in {retry_in} s; until then calls that need it "
            "fail at once."
        )

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        path: str,
        params: Mapping[str, str] | None,
        timeout_seconds: float,
    ) -> JSONValue:
        try:
            async with client.stream(
                "GET", path.lstrip("/"), params=params, timeout=timeout_seconds
            ) as response:
                status = response.status_code
                if status >= 500:
                    raise _Retryable(f"answered HTTP {status}")
                if status >= 400 and self._on_refusal is not None:
                    error_body = await _read_at_most(response, MAX_ERROR_BODY_BYTES)
                    refusal = self._on_refusal(status, response.headers, error_body)
                    if refusal is not None:
                        raise refusal
                if status == 404:
                    raise UpstreamNotFound(f"{self.name} has nothing at {path}.")
                if status == 429:
                    raise UpstreamError(
                        f"{self.name} is rate-limiting us (HTTP 429); try again later."
                    )
                if status >= 400:
                    raise UpstreamError(
                        f"{self.name} refused the request for {path} (HTTP {status})."
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise UpstreamError(f"{self.name} sent an oversized answer for {path}.")
        except httpx.TimeoutException:
            # Rounded: a timeout cut to a deadline's remainder has many decimals.
            raise _Retryable(f"timed out after {round(timeout_seconds, 2):g} s") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"could not be reached ({type(exc).__name__})") from None
        try:
            value: JSONValue = json.loads(body)
        except ValueError:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s %s: not JSON: %r", self.name, path, bytes(body[:_MAX_LOGGED_BODY]))
            raise UpstreamError(
                f"{self.name} sent malformed JSON for {path}; try again later."
            ) from None
        return value

    async def aclose(self) -> None:
        """Close the HTTP client; later calls fail with :class:`UpstreamError`."""
        self._is_closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
