"""2025 session records in Redis, and the channel through which replicas speak of a session.

Owns the record key of each session (with its time to live, renewed on every use), the
session's channel and what travels on it: ``wake`` (its GET stream's log grew), ``changed``
(its record did), ``ended`` (it was deleted), ``taken`` (its GET stream opened on another
replica), and the client's messages that belong to
another replica (an answer to a request of ours, a cancellation). A replica follows the
channel of every session it serves, so all of these reach whoever needs them.

One GET stream per session across replicas, as within one process: the replica serving it
holds a lease (a key naming it, with a time to live of ``STREAM_LEASE_SECONDS``, renewed every
third of that while the stream lives, removed when it ends). A plain GET elsewhere finds the
lease held and gets 409, as a second GET in one process does; a GET with ``Last-Event-ID``
takes the stream over wherever it is (the old holder hears ``taken`` and ends its stream), so
a client whose replica died resumes at once. A holder killed without ending its stream leaves
a lease that lapses within ``STREAM_LEASE_SECONDS``: until then only a plain GET (one without
``Last-Event-ID``) is refused. Claiming and publishing ``taken`` are one script, so two
replicas cannot both claim a free lease.

A notification for a session's GET stream (the bus's: a resource it subscribed to changed, a
list changed) reaches every replica serving the session, and none may be the only one to
log it: the stream's holder may have died, or there may be none (the client left and will
resume with ``Last-Event-ID``, as in one process, where the log keeps what it missed). So
every one of them logs it, with one script that logs it once (rather than one chosen replica,
such as the stream's last holder with a lease: until a dead holder's lease lapsed, what it
should have logged would be lost): the first to run it for that
bus message (named by the id the bus gives each message) appends it and wakes the holder,
the others find it done. Each replica runs these in the order the bus delivered them, in one
pipeline, so the log keeps the bus's order: a message is logged by whoever first runs it,
and that replica has already run (or found done) every message before it. What the log
keeps starts when a GET stream of the session is first opened, as in one process (until
then, the first ``MAX_HELD_BEFORE_GET`` wait in a list for it, and its first opening logs
them). A session no live replica serves (every one that did has died) misses nothing: the
bus keeps its recent messages in Redis (``bus``), each session keeps a cursor (the newest bus
message handled for it, moved on by the same script, and to now whenever its record changes,
so that newer subscriptions never filter older messages), and a replica making a copy of the
session first runs, in the same queue, the messages after the cursor through the session's
filter (its record's subscriptions) and the same log-once rule, in bus order. A session never
served has no cursor: its first copy starts one at now, so what came before is not its own.
A replica whose pub/sub connection dropped and came back does the same for every session it
follows (what was published meanwhile reached none of them here), before anything the new
connection delivers. How far back this reaches is what the bus log keeps (``MAX_BUS_LOG``
messages).

Every request of a session first loads its record (``load``), so that a change or a
``DELETE`` made on another replica holds before it is served. The loads asked for in one turn
of the event loop, on any sessions, go to Redis as one pipeline, sent once that turn's
requests have all asked (a single flight per turn, not per load in flight): a load already
sent is never shared by a request that arrives after it was sent, since a ``DELETE`` may have
completed in between. Each load renews the record's time to live. The expiry of the
session's log keys is set here too: they live ``log_ttl_seconds``, a margin longer than the
record, renewed by a replica only when it last renewed them more than
``log_renewal_seconds`` ago (and on every append); the record's expiry, not the log's, ends
a session, and the log never goes before it.

One channel per session, rather than one per replica: a publisher needs no lookup of who
holds a session's stream (nor a record of it to go stale when that replica dies), and a
replica that stops following a session stops hearing of it. The cost is a SUBSCRIBE per
session a replica serves. ``bench/redis_channels.py`` measures both shapes: a send costs 1.5 to
2 times as much per replica (the lookup), bench/README.md has the figures.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import secrets
from collections.abc import Sequence
from typing import Any, Final

from ssemcp.errors import ParseError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    RequestId,
    Response,
    parse,
    serialize,
)
from ssemcp.state.bus import LIST_CHANGED, resource_topic
from ssemcp.state.events import (
    DEFAULT_MAX_LOGGED_BYTES,
    DEFAULT_MAX_LOGGED_EVENTS,
    EventLog,
    LoggedEvent,
)
from ssemcp.state.redis.bus import RedisBus, bus_log_key
from ssemcp.state.redis.connection import RedisConnection
from ssemcp.state.redis.events import (
    RedisEventLog,
    log_keys,
    logged_event,
    register_append,
    register_append_once,
    register_heard_until_now,
    register_log_held,
    register_log_missed,
)
from ssemcp.state.redis.liveness import Liveness
from ssemcp.state.redis.pubsub import Subscriptions
from ssemcp.state.shared import (
    STREAM_LEASE_SECONDS,
    SessionRecord,
    SessionSignals,
    StateUnavailable,
)

__all__ = ["RedisSessions"]

logger = logging.getLogger(__name__)

_WAKE: Final = b"w"
_CHANGED: Final = b"c"
_ENDED: Final = b"e"
_MESSAGE: Final = b"m"
_TAKEN: Final = b"t"
# How long a replica's "logged once" marker for a bus message lives: far longer than the
# replicas serving a session can be apart in hearing one message.
_LOGGED_ONCE_SECONDS: Final = 120
# Messages held for a GET stream the session has not yet opened, as one process holds them
# (transports/streamable.py): its first opening sends them; more are dropped.
MAX_HELD_BEFORE_GET: Final = 16
# The GET stream's log entries run per pipeline at most.
_MAX_LOG_BATCH: Final = 256
# A replica renews a session's log keys when it last did more than this fraction of the
# session's time to live ago, at most this many seconds ago. The log keys live that much
# longer than the record, plus a slack for the time between a load's being queued and Redis
# running it: they never expire before it (ssemcp.state.redis.events).
_LOG_RENEWAL_FRACTION: Final = 10
_MAX_LOG_RENEWAL_SECONDS: Final = 60.0
_LOG_TTL_SLACK_SECONDS: Final = 5
# Bus messages a session that no live replica served may be replayed at most (ssemcp.state.
# redis.bus keeps about as many).
_MAX_REPLAYED: Final = 1024
# What a replica routes to the others: answers to our requests, and cancellations.
_ROUTED: Final = frozenset({Notification, Response, ErrorResponse})
# KEYS: the lease. ARGV: this replica, seconds, "1" to take the stream over from another
# holder, the session's channel, what ``taken`` says there. 1: ours now; 0: held elsewhere.
_CLAIM: Final = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and ARGV[3] ~= '1' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""
# KEYS: this replica's liveness key, then leases. ARGV: this replica, seconds. Says this
# replica is alive, and renews the leases that are still ours.
_RENEW: Final = """
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
for index = 2, #KEYS do
  if redis.call('GET', KEYS[index]) == ARGV[1] then redis.call('EXPIRE', KEYS[index], ARGV[2]) end
end
return 0
"""
# KEYS: the lease. ARGV: this replica. Removes it if it is still ours.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


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
        bus: the process's bus, whose message ids name what is logged once.
    """

    def __init__(
        self,
        connection: RedisConnection,
        subscriptions: Subscriptions,
        *,
        ttl_seconds: int,
        bus: RedisBus | None = None,
        max_logged_events: int = DEFAULT_MAX_LOGGED_EVENTS,
        max_logged_bytes: int = DEFAULT_MAX_LOGGED_BYTES,
    ) -> None:
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be 1 or more")
        self._connection = connection
        self._subscriptions = subscriptions
        # The sessions whose channel this replica follows (it serves a copy of each).
        self._followed: set[str] = set()
        subscriptions.on_resubscribed(self._replay_all_missed)
        self.ttl_seconds = ttl_seconds
        self.log_renewal_seconds = min(
            ttl_seconds / _LOG_RENEWAL_FRACTION, _MAX_LOG_RENEWAL_SECONDS
        )
        self.log_ttl_seconds = (
            ttl_seconds + math.ceil(self.log_renewal_seconds) + _LOG_TTL_SLACK_SECONDS
        )
        # Loads asked for in this turn and not yet sent: session id -> the futures awaiting it.
        self._loads_to_send: dict[str, list[asyncio.Future[SessionRecord | None]]] = {}
        self._loads_sent: set[asyncio.Task[None]] = set()
        # When this replica last renewed each session's log keys (loop time, oldest first).
        self._logs_renewed: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._max_logged_events = max_logged_events
        self._max_logged_bytes = max_logged_bytes
        self._signals: SessionSignals = _Deaf()
        self._append_script = register_append(connection)
        self._append_once_script = register_append_once(connection)
        self._log_held_script = register_log_held(connection)
        self._log_missed_script = register_log_missed(connection)
        self._heard_script = register_heard_until_now(connection)
        self._bus_log_key = bus_log_key(connection)
        self._bus = bus
        # Entries for GET streams' logs, (session id, bus message id, data), in bus order; a
        # message id of None replays what the session missed (its data is empty).
        self._to_log: collections.deque[tuple[str, bytes | None, bytes]] = collections.deque()
        self._logger: asyncio.Task[None] | None = None
        self._logged_locally = 0
        # Marking reply streams finished, without the caller waiting.
        self._marking: set[asyncio.Task[None]] = set()
        self._channel_prefix = connection.key("s") + ":"
        # Names this process in what it publishes that it must not act on itself, and in
        # the leases of the GET streams it holds.
        self._origin = secrets.token_hex(8).encode()
        client = connection.client
        self._claim_script = client.register_script(_CLAIM)
        self._renew_script = client.register_script(_RENEW)
        self._release_script = client.register_script(_RELEASE)
        # The lease of a GET stream, and how long this replica is held alive past its last
        # renewal (the same renewal keeps both).
        self.stream_lease_seconds = STREAM_LEASE_SECONDS
        self._liveness = Liveness(
            connection,
            self._origin,
            max_events=max_logged_events,
            max_bytes=max_logged_bytes,
            ttl_seconds=self.log_ttl_seconds,
        )

    def listen(self, signals: SessionSignals) -> None:
        self._signals = signals

    def _record_key(self, session_id: str) -> str:
        return self._connection.key("session", session_id)

    def _lease_key(self, session_id: str) -> str:
        return self._connection.key("holder", session_id)

    def channel(self, session_id: str) -> str:
        return self._channel_prefix + session_id

    def event_log(self, session_id: str) -> EventLog:
        return RedisEventLog(
            self._connection,
            session_id,
            max_events=self._max_logged_events,
            max_bytes=self._max_logged_bytes,
            ttl_seconds=self.log_ttl_seconds,
            append_script=self._append_script,
        )

    async def create(self, session_id: str, record: SessionRecord) -> None:
        client = self._connection.client
        await self._connection.run(
            client.set(self._record_key(session_id), record.encode(), ex=self.ttl_seconds)
        )

    async def load(self, session_id: str) -> SessionRecord | None:
        """The record, its time to live renewed; loads asked for in one turn of the event
        loop share one pipeline (one GETEX a session), sent after that turn."""
        waiter: asyncio.Future[SessionRecord | None] = asyncio.get_running_loop().create_future()
        to_send = self._loads_to_send
        if not to_send:
            # Its first step runs after every request that is ready in this turn has asked.
            task = asyncio.get_running_loop().create_task(self._send_loads())
            self._loads_sent.add(task)
            task.add_done_callback(self._loads_sent.discard)
        waiters = to_send.get(session_id)
        if waiters is None:
            to_send[session_id] = [waiter]
        else:
            waiters.append(waiter)
        return await waiter

    async def _send_loads(self) -> None:
        # Taken now: whoever asks from here on waits for a load sent after it asked.
        batch, self._loads_to_send = self._loads_to_send, {}
        try:
            records = await self._run_loads(list(batch))
        except BaseException as exc:
            for waiters in batch.values():
                for waiter in waiters:
                    if not waiter.done():
                        if isinstance(exc, Exception):
                            waiter.set_exception(exc)
                        else:
                            waiter.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for waiters, record in zip(batch.values(), records, strict=True):
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(record)

    async def _run_loads(self, session_ids: list[str]) -> list[SessionRecord | None]:
        """One GETEX per session, and the renewal of the log keys of those whose log this
        replica last renewed ``log_renewal_seconds`` ago or more, in one pipeline."""
        connection = self._connection
        ttl, log_ttl = self.ttl_seconds, self.log_ttl_seconds
        now = asyncio.get_running_loop().time()
        renewed = self._logs_renewed
        due_before = now - self.log_renewal_seconds
        # Forget renewals too old to spare one: the oldest come first.
        while renewed and next(iter(renewed.values())) <= due_before:
            renewed.popitem(last=False)
        renewing = [session_id for session_id in session_ids if session_id not in renewed]
        async with connection.client.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.getex(self._record_key(session_id), ex=ttl)
            for session_id in renewing:
                for key in log_keys(connection, session_id):
                    pipe.expire(key, log_ttl)
            replies = await connection.run(pipe.execute())
        # Stamped with the time before sending: Redis ran the EXPIREs later than that.
        for session_id in renewing:
            renewed[session_id] = now
        return [
            None if data is None else SessionRecord.decode(data)
            for data in replies[: len(session_ids)]
        ]

    async def touch(self, session_ids: list[str]) -> None:
        """Renew the time to live of sessions in use here (a GET stream open, no requests)."""
        if not session_ids:
            return
        ttl, log_ttl = self.ttl_seconds, self.log_ttl_seconds
        async with self._connection.client.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.expire(self._record_key(session_id), ttl)
                for key in log_keys(self._connection, session_id):
                    pipe.expire(key, log_ttl)
            await self._connection.run(pipe.execute())

    async def save(self, session_id: str, record: SessionRecord) -> None:
        async with self._connection.client.pipeline(transaction=False) as pipe:
            pipe.set(self._record_key(session_id), record.encode(), ex=self.ttl_seconds, xx=True)
            # Its subscriptions may have changed: a replay never reaches back past this.
            await self._heard_script(
                keys=[
                    *log_keys(self._connection, session_id),
                    self._bus_log_key,
                    self._record_key(session_id),
                ],
                args=[self.log_ttl_seconds],
                client=pipe,
            )
            pipe.publish(self.channel(session_id), _CHANGED)
            await self._connection.run(pipe.execute())

    async def delete(self, session_id: str) -> None:
        async with self._connection.client.pipeline(transaction=False) as pipe:
            pipe.delete(
                self._record_key(session_id),
                self._lease_key(session_id),
                self._held_key(session_id),
                *log_keys(self._connection, session_id),
            )
            pipe.publish(self.channel(session_id), _ENDED)
            await self._connection.run(pipe.execute())

    def post_to_stream(self, session_id: str, data: bytes) -> None:
        """Log ``data`` for the session's GET stream without waiting, once however many
        replicas post it (a bus message reaches each), and wake the stream's holder."""
        bus = self._bus
        message_id = None if bus is None else bus.delivering
        if message_id is None:
            # Not a bus message: only this replica posts it.
            self._logged_locally += 1
            message_id = b"local." + self._origin + b"." + str(self._logged_locally).encode()
        self._to_log.append((session_id, message_id, data))
        if self._logger is None:
            self._logger = asyncio.get_running_loop().create_task(self._log_posted())

    def _replay_missed(self, session_id: str) -> None:
        """This replica makes a copy of the session: the bus messages it missed while no
        live replica served it go to its GET stream's log first, before any this copy
        posts (the same queue, in order)."""
        self._to_log.append((session_id, None, b""))
        if self._logger is None:
            self._logger = asyncio.get_running_loop().create_task(self._log_posted())

    async def _log_posted(self) -> None:
        try:
            queue = self._to_log
            connection = self._connection
            script = self._append_once_script
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), _MAX_LOG_BATCH))]
                try:
                    async with connection.client.pipeline(transaction=False) as pipe:
                        for session_id, message_id, data in batch:
                            stream_key, hash_key = log_keys(connection, session_id)
                            if message_id is None:
                                await self._log_missed(pipe, session_id)
                                continue
                            once_key = connection.key("once", session_id, message_id.decode())
                            await script(
                                keys=[stream_key, hash_key, once_key, self._held_key(session_id)],
                                args=[
                                    0,
                                    data,
                                    self._max_logged_events,
                                    self._max_logged_bytes,
                                    self.log_ttl_seconds,
                                    self.channel(session_id),
                                    _WAKE,
                                    _LOGGED_ONCE_SECONDS,
                                    MAX_HELD_BEFORE_GET,
                                    message_id,
                                ],
                                client=pipe,
                            )
                        await connection.run(pipe.execute())
                except Exception as exc:  # StateUnavailable, or a script error
                    logger.warning(
                        "could not log %d notification(s) for GET streams: %s", len(batch), exc
                    )
        finally:
            self._logger = None

    async def _log_missed(self, pipe: Any, session_id: str) -> None:
        connection = self._connection
        await self._log_missed_script(
            keys=[
                *log_keys(connection, session_id),
                self._held_key(session_id),
                self._record_key(session_id),
                self._bus_log_key,
            ],
            args=[
                self._max_logged_events,
                self._max_logged_bytes,
                self.log_ttl_seconds,
                self.channel(session_id),
                _WAKE,
                _LOGGED_ONCE_SECONDS,
                MAX_HELD_BEFORE_GET,
                connection.key("once", session_id, ""),
                _MAX_REPLAYED,
                LIST_CHANGED,
                resource_topic(""),
            ],
            client=pipe,
        )

    def _held_key(self, session_id: str) -> str:
        return self._connection.key("held", session_id)

    async def log_held(self, session_id: str) -> None:
        stream_key, hash_key = log_keys(self._connection, session_id)
        await self._connection.run(
            self._log_held_script(
                keys=[stream_key, hash_key, self._held_key(session_id)],
                args=[
                    self._max_logged_events,
                    self._max_logged_bytes,
                    self.log_ttl_seconds,
                    self.channel(session_id),
                    _WAKE,
                ],
            )
        )

    def stream_finished(self, session_id: str, stream_id: int) -> None:
        # Queued behind nothing: the stream's last event was appended (awaited) before.
        task = asyncio.get_running_loop().create_task(self._mark_finished(session_id, stream_id))
        self._marking.add(task)
        task.add_done_callback(self._marking.discard)

    async def _mark_finished(self, session_id: str, stream_id: int) -> None:
        _, hash_key = log_keys(self._connection, session_id)
        try:
            async with self._connection.client.pipeline(transaction=False) as pipe:
                pipe.hset(hash_key, f"end:{stream_id}", 1)
                pipe.hdel(hash_key, f"run:{stream_id}")
                pipe.expire(hash_key, self.log_ttl_seconds)
                await self._connection.run(pipe.execute())
        except StateUnavailable as exc:
            logger.warning("could not mark a reply stream finished: %s", exc)

    async def is_stream_finished(self, session_id: str, stream_id: int) -> bool:
        _, hash_key = log_keys(self._connection, session_id)
        client = self._connection.client
        return bool(await self._connection.run(client.hexists(hash_key, f"end:{stream_id}")))

    async def wait_for_events(
        self, session_id: str, after: int, timeout_seconds: float
    ) -> int | None:
        stream_key, _ = log_keys(self._connection, session_id)
        client = self._connection.client
        block = max(1, int(timeout_seconds * 1000))
        # Ids only: the entries are read (with the log's gap rule) by read_after.
        found: Any = await self._connection.run(
            client.xread({stream_key: f"{after}-0"}, count=_MAX_LOG_BATCH, block=block)
        )
        if not found:
            return None
        _, entries = found[0]
        newest: bytes = entries[-1][0]
        return int(newest.partition(b"-")[0])

    async def flush(self) -> None:
        """Wait until what was posted to GET streams is logged, and the reply streams that
        ended are marked finished (tests, shutdown)."""
        while self._logger is not None:
            await asyncio.shield(self._logger)
        if self._marking:
            await asyncio.gather(*self._marking, return_exceptions=True)

    async def open_reply_stream(
        self,
        session_id: str,
        stream_id: int,
        request_ids: Sequence[RequestId],
        *,
        primed: bool,
    ) -> LoggedEvent | None:
        sequence = await self._liveness.open_reply_stream(
            session_id,
            stream_id,
            request_ids,
            primed=primed,
            alive_seconds=self.stream_lease_seconds,
        )
        return logged_event(session_id, stream_id, sequence, b"") if primed else None

    async def end_if_runner_gone(self, session_id: str, stream_id: int) -> bool:
        return await self._liveness.end_if_runner_gone(session_id, stream_id)

    async def retire(self) -> None:
        """At a clean shutdown, once its requests are done: this replica is not alive any
        more (a follower of a reply stream it ran need not wait for its liveness to lapse)."""
        try:
            await self._liveness.retire()
        except StateUnavailable as exc:
            logger.warning("could not say this replica stopped: %s", exc)

    async def follow(self, session_id: str) -> None:
        # Before the copy posts anything (it was just made): what the session missed first.
        self._replay_missed(session_id)
        await self._subscriptions.subscribe(self.channel(session_id), self._received)
        self._followed.add(session_id)

    def unfollow(self, session_id: str) -> None:
        self._followed.discard(session_id)
        self._subscriptions.unsubscribe(self.channel(session_id))

    def _replay_all_missed(self) -> None:
        """The pub/sub connection came back: the bus messages published while it was down
        reached none of the sessions followed here, so each replays what it missed (as a
        new copy does), ahead of anything the new connection delivers."""
        if self._followed:
            logger.info(
                "replaying the bus for %d session(s) after a reconnection", len(self._followed)
            )
        for session_id in self._followed:
            self._replay_missed(session_id)

    async def wake(self, session_id: str) -> None:
        await self._connection.run(self._connection.client.publish(self.channel(session_id), _WAKE))

    async def claim_stream(self, session_id: str, *, take_over: bool) -> bool:
        claimed = await self._connection.run(
            self._claim_script(
                keys=[self._lease_key(session_id)],
                args=[
                    self._origin,
                    self.stream_lease_seconds,
                    "1" if take_over else "0",
                    self.channel(session_id),
                    _TAKEN + self._origin,
                ],
            )
        )
        return bool(claimed)

    async def renew_streams(self, session_ids: list[str]) -> None:
        await self._connection.run(
            self._renew_script(
                keys=[
                    self._liveness.key,
                    *(self._lease_key(session_id) for session_id in session_ids),
                ],
                args=[self._origin, self.stream_lease_seconds],
            )
        )

    async def release_stream(self, session_id: str) -> None:
        await self._connection.run(
            self._release_script(keys=[self._lease_key(session_id)], args=[self._origin])
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
