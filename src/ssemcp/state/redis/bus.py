"""The notification bus on Redis pub/sub: a change published on one replica reaches the
subscribers of every replica.

Owns the bus channel and its message format, the bus log (the recent messages, in a Redis
Stream bounded by ``MAX_BUS_LOG`` and expiring, whose entry ids name each message), and the
writer that publishes without the caller waiting (:class:`~ssemcp.state.bus.NotificationBus`
says ``publish`` never waits): notifications queue, bounded, and one task appends what is
queued to the log and publishes it, in one script per batch. Every
process, the publisher included, delivers what the channel carries to its own subscribers
(a :class:`~ssemcp.state.bus.MemoryBus`), so each subscriber hears a change once, in the order
Redis received it. Listening is ``pubsub``'s; replaying the log to a session that no live
replica served is ``sessions``'.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Final

from redis.exceptions import RedisError

from ssemcp.errors import ParseError
from ssemcp.jsonrpc import Notification, parse, serialize
from ssemcp.state.bus import MemoryBus, Subscriber
from ssemcp.state.redis.connection import RedisConnection
from ssemcp.state.redis.pubsub import Subscriptions

__all__ = ["MAX_BUS_LOG", "MAX_QUEUED_PUBLISHES", "RedisBus", "bus_log_key"]

logger = logging.getLogger(__name__)

# Notifications waiting for the writer at most; past it (Redis down or far behind) the oldest
# go, as a slow stream's do: a change notification is a hint, and the next one supersedes it.
MAX_QUEUED_PUBLISHES: Final = 4096
# One pipeline carries at most this many PUBLISHes, so a burst does not hold a connection long.
_MAX_BATCH: Final = 256
_SEPARATOR: Final = b"\n"
# Before what encode() makes: "@<id>\n", the bus log's entry id, the same on every replica
# that hears it, so that the replicas serving one session log a notification for it once
# (ssemcp.state.redis.sessions).
_ID_MARK: Final = b"@"
# Messages the bus log keeps (about; trimmed with MAXLEN ~), and how long it outlives the last
# publish: what a session missed while no live replica served it is replayed from it when a
# replica makes a copy again (ssemcp.state.redis.sessions), so it needs to reach back only as
# far as a client takes to come back, and no further than the "logged once" markers live.
MAX_BUS_LOG: Final = 1024
_BUS_LOG_TTL_SECONDS: Final = 3600
# KEYS: the bus log. ARGV: the channel, max entries, the log's seconds, then the messages.
_PUBLISH: Final = """
for index = 4, #ARGV do
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[index])
  redis.call('PUBLISH', ARGV[1], '@' .. id .. '\\n' .. ARGV[index])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 0
"""


def bus_log_key(connection: RedisConnection) -> str:
    """The bus log's key."""
    return connection.key("buslog")


def encode(topic: str, notification: Notification) -> bytes:
    # The topic's length first: a resource URI may hold any character, a newline included.
    topic_bytes = topic.encode()
    return str(len(topic_bytes)).encode() + _SEPARATOR + topic_bytes + serialize(notification)


def decode(data: bytes) -> tuple[str, Notification] | None:
    length_text, separator, rest = data.partition(_SEPARATOR)
    if not separator or not length_text.isdigit():
        return None
    length = int(length_text)
    try:
        topic = rest[:length].decode()
        message = parse(rest[length:])
    except (UnicodeDecodeError, ParseError):
        return None
    if type(message) is not Notification:
        return None
    return topic, message


class RedisBus:
    """:class:`~ssemcp.state.bus.NotificationBus` shared by every process on one Redis.

    Args:
        connection: the Redis to publish on.
        subscriptions: the process's pub/sub connection.
    """

    def __init__(self, connection: RedisConnection, subscriptions: Subscriptions) -> None:
        self._connection = connection
        self._subscriptions = subscriptions
        self.channel = connection.key("bus")
        self._local = MemoryBus()
        self._queue: collections.deque[bytes] = collections.deque(maxlen=MAX_QUEUED_PUBLISHES)
        self._writer: asyncio.Task[None] | None = None
        self._dropped = 0
        self._log_key = bus_log_key(connection)
        self._publish_script = connection.client.register_script(_PUBLISH)
        # While the notification of a message with an id is delivered here: that id.
        self.delivering: bytes | None = None

    async def start(self) -> None:
        """Listen on the bus channel; a Redis that is down is subscribed when it returns."""
        try:
            await self._subscriptions.subscribe(self.channel, self._received)
        except Exception as exc:  # StateUnavailable: the reader subscribes it on reconnect
            logger.warning("the bus could not subscribe yet: %s", exc)

    def publish(self, topic: str, notification: Notification) -> None:
        queue = self._queue
        if len(queue) == queue.maxlen:
            self._dropped += 1
        queue.append(encode(topic, notification))
        if self._writer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop yet: the next publish in one starts the writer
            self._writer = loop.create_task(self._write())

    async def _write(self) -> None:
        try:
            queue = self._queue
            head: list[bytes | str | int] = [self.channel, MAX_BUS_LOG, _BUS_LOG_TTL_SECONDS]
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), _MAX_BATCH))]
                try:
                    await self._publish_script(keys=[self._log_key], args=[*head, *batch])
                except (RedisError, OSError) as exc:
                    self._connection.failed(exc)
                    logger.warning("the bus dropped %d notification(s): Redis failed", len(batch))
            if self._dropped:
                logger.warning("the bus dropped %d notification(s): queue full", self._dropped)
                self._dropped = 0
        finally:
            self._writer = None

    def _received(self, channel: str, data: bytes) -> None:
        message_id = None
        if data[:1] == _ID_MARK:
            message_id, _, data = data[1:].partition(_SEPARATOR)
        decoded = decode(data)
        if decoded is None:
            logger.warning("the bus channel carried a message that is not ours; ignored")
            return
        self.delivering = message_id
        try:
            self._local.publish(*decoded)
        finally:
            self.delivering = None

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        self._local.subscribe(topic, subscriber)

    def unsubscribe(self, topic: str, subscriber: Subscriber) -> None:
        self._local.unsubscribe(topic, subscriber)

    def subscriber_count(self, topic: str) -> int:
        return self._local.subscriber_count(topic)

    async def flush(self) -> None:
        """Wait until what was published has been handed to Redis (at shutdown, tests)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)
