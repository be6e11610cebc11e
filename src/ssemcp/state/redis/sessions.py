"""2025 session records in Redis, and the channel through which replicas speak of a session.

Owns the record key of each session (with its time to live, renewed on every use), the
session's channel and what travels on it: ``wake`` (its GET stream's log grew), ``changed``
(its record did), ``ended`` (it was deleted), ``taken`` (its GET stream opened on another
replica), and the client's messages that belong to
another replica (an answer to a request of ours, a cancellation). A replica follows the
channel of every session it serves, so all of these reach whoever needs them.

One channel per session, rather than one per replica: a publisher needs no lookup of who
holds a session's stream (nor a record of it to go stale when that replica dies), and a
replica that stops following a session stops hearing of it. The cost is a SUBSCRIBE per
session a replica serves. ``bench/redis_channels.py`` measures both shapes: a send costs 1.5 to
2 times as much per replica (the lookup), bench/README.md has the figures.
"""

from __future__ import annotations

import logging
import secrets
from typing import Final

from ssemcp.errors import ParseError
from ssemcp.jsonrpc import ErrorResponse, Message, Notification, Response, parse, serialize
from ssemcp.state.events import DEFAULT_MAX_LOGGED_BYTES, DEFAULT_MAX_LOGGED_EVENTS, EventLog
from ssemcp.state.redis.connection import RedisConnection
from ssemcp.state.redis.events import RedisEventLog, log_keys, register_append
from ssemcp.state.redis.pubsub import Subscriptions
from ssemcp.state.shared import SessionRecord, SessionSignals

__all__ = ["RedisSessions"]

logger = logging.getLogger(__name__)

_WAKE: Final = b"w"
_CHANGED: Final = b"c"
_ENDED: Final = b"e"
_MESSAGE: Final = b"m"
_TAKEN: Final = b"t"
# What a replica routes to the others: answers to our requests, and cancellations.
_ROUTED: Final = frozenset({Notification, Response, ErrorResponse})


class _Deaf:
    """The signals of a replica not yet listening: it follows no session."""

    def woken(self, session_id: str) -> None: ...
    def changed(self, session_id: str) -> None: ...
    def ended(self, session_id: str) -> None: ...
    def stream_taken(self, session_id: str) -> None: ...
    def client_message(self, session_id: str, message: Message) -> None: ...


class RedisSessions:
    """:class:`~ssemcp.state.shared.SharedSessions` on Redis.

    Args:
        connection: the Redis.
        subscriptions: the process's pub/sub connection.
        ttl_seconds: a record (and its log) goes this long after its session's last use.
        max_logged_events: events each session's log keeps.
        max_logged_bytes: bytes each session's log keeps.
    """

    def __init__(
        self,
        connection: RedisConnection,
        subscriptions: Subscriptions,
        *,
        ttl_seconds: int,
        max_logged_events: int = DEFAULT_MAX_LOGGED_EVENTS,
        max_logged_bytes: int = DEFAULT_MAX_LOGGED_BYTES,
    ) -> None:
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be 1 or more")
        self._connection = connection
        self._subscriptions = subscriptions
        self.ttl_seconds = ttl_seconds
        self._max_logged_events = max_logged_events
        self._max_logged_bytes = max_logged_bytes
        self._signals: SessionSignals = _Deaf()
        self._append_script = register_append(connection)
        self._channel_prefix = connection.key("s") + ":"
        # Names this process in what it publishes that it must not act on itself.
        self._origin = secrets.token_hex(8).encode()

    def listen(self, signals: SessionSignals) -> None:
        self._signals = signals

    def _record_key(self, session_id: str) -> str:
        return self._connection.key("session", session_id)

    def channel(self, session_id: str) -> str:
        return self._channel_prefix + session_id

    def event_log(self, session_id: str) -> EventLog:
        return RedisEventLog(
            self._connection,
            session_id,
            max_events=self._max_logged_events,
            max_bytes=self._max_logged_bytes,
            ttl_seconds=self.ttl_seconds,
            append_script=self._append_script,
        )

    async def create(self, session_id: str, record: SessionRecord) -> None:
        client = self._connection.client
        await self._connection.run(
            client.set(self._record_key(session_id), record.encode(), ex=self.ttl_seconds)
        )

    async def load(self, session_id: str) -> SessionRecord | None:
        ttl = self.ttl_seconds
        async with self._connection.client.pipeline(transaction=False) as pipe:
            pipe.getex(self._record_key(session_id), ex=ttl)
            for key in log_keys(self._connection, session_id):
                pipe.expire(key, ttl)
            data, *_ = await self._connection.run(pipe.execute())
        return None if data is None else SessionRecord.decode(data)

    async def touch(self, session_ids: list[str]) -> None:
        """Renew the time to live of sessions in use here (a GET stream open, no requests)."""
        if not session_ids:
            return
        ttl = self.ttl_seconds
        async with self._connection.client.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.expire(self._record_key(session_id), ttl)
                for key in log_keys(self._connection, session_id):
                    pipe.expire(key, ttl)
            await self._connection.run(pipe.execute())

    async def save(self, session_id: str, record: SessionRecord) -> None:
        async with self._connection.client.pipeline(transaction=False) as pipe:
            pipe.set(self._record_key(session_id), record.encode(), ex=self.ttl_seconds, xx=True)
            pipe.publish(self.channel(session_id), _CHANGED)
            await self._connection.run(pipe.execute())

    async def delete(self, session_id: str) -> None:
        async with self._connection.client.pipeline(transaction=False) as pipe:
            pipe.delete(self._record_key(session_id), *log_keys(self._connection, session_id))
            pipe.publish(self.channel(session_id), _ENDED)
            await self._connection.run(pipe.execute())

    async def follow(self, session_id: str) -> None:
        await self._subscriptions.subscribe(self.channel(session_id), self._received)

    def unfollow(self, session_id: str) -> None:
        self._subscriptions.unsubscribe(self.channel(session_id))

    async def wake(self, session_id: str) -> None:
        await self._connection.run(self._connection.client.publish(self.channel(session_id), _WAKE))

    async def take_stream(self, session_id: str) -> None:
        await self._connection.run(
            self._connection.client.publish(self.channel(session_id), _TAKEN + self._origin)
        )

    async def route(self, session_id: str, message: Message) -> None:
        await self._connection.run(
            self._connection.client.publish(self.channel(session_id), _MESSAGE + serialize(message))
        )

    def _received(self, channel: str, data: bytes) -> None:
        session_id = channel[len(self._channel_prefix) :]
        kind = data[:1]
        if kind == _WAKE:
            self._signals.woken(session_id)
        elif kind == _CHANGED:
            self._signals.changed(session_id)
        elif kind == _ENDED:
            self._signals.ended(session_id)
        elif kind == _TAKEN:
            if data[1:] != self._origin:
                self._signals.stream_taken(session_id)
        elif kind == _MESSAGE:
            try:
                message = parse(data[1:])
            except ParseError:
                message = None
            if type(message) in _ROUTED:
                self._signals.client_message(session_id, message)  # type: ignore[arg-type]
        else:
            logger.warning("a session channel carried a message that is not ours; ignored")
