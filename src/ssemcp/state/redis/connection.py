"""The connection to Redis that every part of the shared state uses.

Owns the URL (``redis://HOST:PORT/DB``, also ``rediss://`` and ``unix://``), the key prefix,
the pool of the official ``redis`` client (asyncio API), and the one rule of its failures:
whatever the client raises for an unreachable or failing server becomes
:class:`~ssemcp.state.shared.StateUnavailable` (the transports answer 503), and the next
operation simply tries again, so the process recovers by itself when Redis returns. What is
stored under which key is each user's (``bus``, ``events``, ``sessions``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Final, TypeVar

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ssemcp.state.redis.names import DEFAULT_PREFIX, check_prefix, check_url
from ssemcp.state.shared import StateUnavailable

__all__ = ["DEFAULT_PREFIX", "RedisConnection", "check_prefix", "check_url"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A Redis on the same network answers in well under a millisecond; a second without an answer
# means it is down or overloaded, and a request waiting longer only holds its client.
SOCKET_TIMEOUT_SECONDS: Final = 2.0
CONNECT_TIMEOUT_SECONDS: Final = 1.0
# Connections at most per process: requests beyond wait for one rather than opening more.
MAX_CONNECTIONS: Final = 64


class RedisConnection:
    """A pool of connections to one Redis, and the prefix of every key and channel.

    Args:
        url: the server (``redis://HOST:PORT/DB``).
        prefix: put before every key and channel, so several servers can share one Redis.
    """

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = check_url(url)
        self.prefix = check_prefix(prefix)
        # One retry at once, no backoff: it covers a pooled connection that went stale (Redis
        # restarted), while an operation with Redis down still fails in milliseconds and
        # the caller answers 503. (The client's default backs off for seconds, holding the
        # request and, worse, the pub/sub reader.)
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 1),
            retry_on_timeout=False,
            health_check_interval=30,
        )
        self.is_healthy = True

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def run(self, operation: Awaitable[T]) -> T:
        """Await ``operation`` (a call of :attr:`client`); its failure is StateUnavailable."""
        try:
            result = await operation
        except (RedisError, OSError) as exc:
            self.failed(exc)
            raise StateUnavailable("Service Unavailable: the shared state is unreachable") from exc
        if not self.is_healthy:
            self.is_healthy = True
            logger.warning("Redis is reachable again")
        return result

    def failed(self, exc: BaseException) -> None:
        """Note a failure: said once per outage, not once per request."""
        if self.is_healthy:
            self.is_healthy = False
            logger.error("Redis is unreachable: %s", type(exc).__name__)

    async def aclose(self) -> None:
        await self.client.aclose()
