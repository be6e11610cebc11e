"""2024-11-05 HTTP+SSE across replicas on Redis: a ``POST /messages/`` that lands on another
replica than the session's ``GET /sse`` is forwarded to the one holding the stream.

Owns each legacy session's key (who may post to it: the principal of the GET that opened it,
with a time to live renewed by every forwarded POST) and its channel, on which the holder
alone listens. A forwarded body is delivered once: one holder, one subscription, and a
PUBLISH that reaches nobody (the holder is gone) is answered 404, as a session that ended.
"""

from __future__ import annotations

import json
from typing import Final

from ssemcp.protocol.request_context import Principal
from ssemcp.state.redis.connection import RedisConnection
from ssemcp.state.redis.pubsub import Subscriptions
from ssemcp.state.shared import ForwardedBody

__all__ = ["DEFAULT_LEGACY_TTL_SECONDS", "RedisLegacyStreams"]

# A legacy stream lives as long as its connection; its key outlives its last forwarded POST by
# a day, so an abandoned one (a replica killed with its streams) is bounded in Redis.
DEFAULT_LEGACY_TTL_SECONDS: Final = 24 * 60 * 60


def _binding(principal: Principal | None) -> bytes:
    if principal is None:
        return b"[]"
    return json.dumps([principal.subject, principal.issuer]).encode()


class RedisLegacyStreams:
    """:class:`~ssemcp.state.shared.LegacyStreams` on Redis.

    Args:
        connection: the Redis.
        subscriptions: the process's pub/sub connection.
        ttl_seconds: a session's key outlives its last forwarded POST by this much.
    """

    def __init__(
        self,
        connection: RedisConnection,
        subscriptions: Subscriptions,
        ttl_seconds: int = DEFAULT_LEGACY_TTL_SECONDS,
    ) -> None:
        self._connection = connection
        self._subscriptions = subscriptions
        self._ttl_seconds = ttl_seconds
        self._channel_prefix = connection.key("l") + ":"
        self._delivering: dict[str, ForwardedBody] = {}

    def _key(self, session_id: str) -> str:
        return self._connection.key("legacy", session_id)

    async def open(
        self, session_id: str, principal: Principal | None, deliver: ForwardedBody
    ) -> None:
        self._delivering[session_id] = deliver
        try:
            await self._subscriptions.subscribe(self._channel_prefix + session_id, self._received)
            await self._connection.run(
                self._connection.client.set(
                    self._key(session_id), _binding(principal), ex=self._ttl_seconds
                )
            )
        except Exception:
            self.close(session_id)
            raise

    def close(self, session_id: str) -> None:
        if self._delivering.pop(session_id, None) is None:
            return
        self._subscriptions.unsubscribe(self._channel_prefix + session_id)
        self._subscriptions.spawn(self._forget(session_id))

    async def _forget(self, session_id: str) -> None:
        await self._connection.run(self._connection.client.delete(self._key(session_id)))

    async def forward(self, session_id: str, principal: Principal | None, body: bytes) -> bool:
        binding = await self._connection.run(
            self._connection.client.getex(self._key(session_id), ex=self._ttl_seconds)
        )
        if binding != _binding(principal):
            return False  # none, or another principal's: answered alike
        receivers = await self._connection.run(
            self._connection.client.publish(self._channel_prefix + session_id, body)
        )
        return bool(receivers)

    def _received(self, channel: str, data: bytes) -> None:
        deliver = self._delivering.get(channel[len(self._channel_prefix) :])
        if deliver is not None:
            deliver(channel[len(self._channel_prefix) :], data)
