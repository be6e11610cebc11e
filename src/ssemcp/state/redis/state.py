"""Everything several replicas share on one Redis, built from a URL and started in the
serving loop.

Owns assembling the parts (the connection, the one pub/sub connection, the bus, the session
records and their event logs, the legacy streams) and their lifetime:
:meth:`RedisState.start` at the app's startup (the bus channel is subscribed, or will be when
Redis returns), :meth:`RedisState.aclose` at its shutdown. What each part does is its own
module's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from ssemcp.state.events import DEFAULT_MAX_LOGGED_BYTES, DEFAULT_MAX_LOGGED_EVENTS, EventLog
from ssemcp.state.redis.bus import RedisBus
from ssemcp.state.redis.connection import DEFAULT_PREFIX, RedisConnection
from ssemcp.state.redis.legacy import DEFAULT_LEGACY_TTL_SECONDS, RedisLegacyStreams
from ssemcp.state.redis.pubsub import Subscriptions
from ssemcp.state.redis.sessions import RedisSessions

__all__ = ["DEFAULT_SESSION_TTL_SECONDS", "RedisState"]

logger = logging.getLogger(__name__)

# A session's record and log outlive its last use by this much when the transport names no
# idle timeout: a day bounds what abandoned sessions hold in Redis.
DEFAULT_SESSION_TTL_SECONDS: Final = 24 * 60 * 60


class RedisState:
    """:class:`~ssemcp.state.shared.SharedState` on the Redis at ``url``.

    Args:
        url: ``redis://HOST:PORT/DB``.
        prefix: before every key and channel.
        session_ttl_seconds: a session's record and log go this long after its last use.
        max_logged_events: events each session's log keeps.
        max_logged_bytes: bytes each session's log keeps.
    """

    def __init__(
        self,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        session_ttl_seconds: int = DEFAULT_SESSION_TTL_SECONDS,
        max_logged_events: int = DEFAULT_MAX_LOGGED_EVENTS,
        max_logged_bytes: int = DEFAULT_MAX_LOGGED_BYTES,
    ) -> None:
        self.connection = RedisConnection(url, prefix)
        self.subscriptions = Subscriptions(self.connection)
        self._bus = RedisBus(self.connection, self.subscriptions)
        self._sessions = RedisSessions(
            self.connection,
            self.subscriptions,
            ttl_seconds=session_ttl_seconds,
            max_logged_events=max_logged_events,
            max_logged_bytes=max_logged_bytes,
            bus=self._bus,
        )
        self._legacy_streams = RedisLegacyStreams(
            self.connection,
            self.subscriptions,
            max(session_ttl_seconds, DEFAULT_LEGACY_TTL_SECONDS),
        )
        self._is_started = False

    @property
    def bus(self) -> RedisBus:
        return self._bus

    @property
    def sessions(self) -> RedisSessions:
        return self._sessions

    @property
    def event_logs(self) -> Callable[[str], EventLog]:
        return self._sessions.event_log

    @property
    def legacy_streams(self) -> RedisLegacyStreams:
        return self._legacy_streams

    async def start(self) -> None:
        if self._is_started:
            return
        self._is_started = True
        self.subscriptions.start()
        await self._bus.start()

    async def aclose(self) -> None:
        await self._bus.flush()
        await self._sessions.flush()
        await self._sessions.retire()
        await self.subscriptions.aclose()
        await self.connection.aclose()

    def __repr__(self) -> str:
        return f"RedisState(prefix={self.connection.prefix!r})"
