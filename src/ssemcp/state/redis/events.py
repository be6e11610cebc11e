"""A session's event log in a Redis Stream, so that ``Last-Event-ID`` resumes on any replica.

Owns the keys of one session's log (the stream, and a hash with its sequence counter and byte
count), appending with both bounds of :class:`~ssemcp.state.events.MemoryEventLog` (events
and bytes, oldest evicted first) in one server-side script, its expiry (renewed on every
append, and with the session's record), and the same answers as the memory log: an id's
position, and the events after one, or None when some were evicted (a gap is never passed
off as a complete replay). Ids have the memory log's shape, ``<tag>-<stream>-<sequence>``,
with a tag derived from the session id, so every replica issues and reads the same ids.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from ssemcp.state.events import (
    DEFAULT_MAX_LOGGED_BYTES,
    DEFAULT_MAX_LOGGED_EVENTS,
    MAX_EVENT_ID_LENGTH,
    LoggedEvent,
    Position,
)
from ssemcp.state.redis.connection import RedisConnection

__all__ = [
    "APPEND_FUNCTION",
    "RedisEventLog",
    "log_keys",
    "logged_event",
    "register_append",
    "register_append_once",
    "register_heard_until_now",
    "register_log_held",
    "register_log_missed",
]

_MAX_NUMBER_DIGITS: Final = 20
_TAG_LENGTH: Final = 8

# One append, shared by the scripts below (and ssemcp.state.redis.liveness's). KEYS: the
# stream, its hash. The sequence is the stream entry's id (``<sequence>-0``), so XRANGE finds
# an event by it. Evicting in the script keeps the byte count exact: XADD's MAXLEN would not
# say what it cut.
APPEND_FUNCTION: Final = """
local function append(stream_id, data, max_events, max_bytes, ttl)
  local sequence = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  local size = redis.call('HINCRBY', KEYS[2], 'bytes', string.len(data))
  redis.call('XADD', KEYS[1], sequence .. '-0', 's', stream_id, 'd', data)
  local length = redis.call('XLEN', KEYS[1])
  while length > max_events or size > max_bytes do
    local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
    if #oldest == 0 then break end
    size = redis.call('HINCRBY', KEYS[2], 'bytes', -string.len(oldest[1][2][4]))
    redis.call('XDEL', KEYS[1], oldest[1][1])
    length = length - 1
  end
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  return sequence
end
"""
# KEYS: the stream, its hash. ARGV: stream id, data, max events, max bytes, ttl seconds.
# An entry on stream 0 (the GET stream: its opening marker, or a message for it) marks the
# GET stream ``opened``, from which on the bus's notifications for it are logged. A POST's
# reply stream already marked finished takes nothing more (0): when its replica was taken
# for dead, an error answer stood in for its answer (ssemcp.state.redis.liveness), and a
# replica that was only paused must not add a second answer to the same request.
_APPEND: Final = (
    APPEND_FUNCTION
    + """
if ARGV[1] == '0' then
  redis.call('HSET', KEYS[2], 'opened', '1')
elseif redis.call('HEXISTS', KEYS[2], 'end:' .. ARGV[1]) == 1 then
  return 0
end
return append(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
"""
)
# The GET stream's part of a bus notification, once per session however many replicas post
# it (ssemcp.state.redis.sessions): only the first to run it for that bus message (a marker
# key named after it) logs it, if the GET stream was ever ``opened``, else holds it for it
# (at most ``max_held``, as one process holds them) in a list that its first opening logs;
# the one that logs it says so on the session's channel. Either way the session's bus cursor
# (``bus`` in its hash: the newest bus message handled for it) moves on to it, so a replica
# that makes a copy of the session later replays only what came after (_LOG_MISSED).
_LOG_ONCE_FUNCTION: Final = """
local function later(a, b)
  local a_ms, a_seq = string.match(a, '^(%d+)-(%d+)$')
  local b_ms, b_seq = string.match(b, '^(%d+)-(%d+)$')
  if not b_ms then return true end
  if tonumber(a_ms) ~= tonumber(b_ms) then return tonumber(a_ms) > tonumber(b_ms) end
  return tonumber(a_seq) > tonumber(b_seq)
end
local function heard(message_id, ttl)
  if not string.match(message_id, '^%d+-%d+$') then return end
  local cursor = redis.call('HGET', KEYS[2], 'bus')
  if not cursor or later(message_id, cursor) then
    redis.call('HSET', KEYS[2], 'bus', message_id)
    redis.call('EXPIRE', KEYS[2], ttl)
  end
end
-- The session's cursor moves to the newest bus message (to '0-0' while there is none).
local function heard_until_now(bus_log, ttl)
  local newest = redis.call('XREVRANGE', bus_log, '+', '-', 'COUNT', 1)
  heard(#newest > 0 and newest[1][1] or '0-0', ttl)
end
local function log_once(marker, held, message_id, data, max_events, max_bytes, ttl, channel,
                        wake, once_seconds, max_held)
  if not redis.call('SET', marker, '1', 'NX', 'EX', once_seconds) then return 0 end
  heard(message_id, ttl)
  if not redis.call('HGET', KEYS[2], 'opened') then
    if redis.call('LLEN', held) < max_held then
      redis.call('RPUSH', held, data)
      redis.call('EXPIRE', held, ttl)
    end
    return 0
  end
  local sequence = append('0', data, max_events, max_bytes, ttl)
  redis.call('PUBLISH', channel, wake)
  return sequence
end
"""
# KEYS: the stream, its hash, the marker, the held list. ARGV: stream id (0), data, max
# events, max bytes, ttl seconds, the channel, what to publish there, the marker's seconds,
# how many may be held, the bus message's id.
_APPEND_ONCE: Final = (
    APPEND_FUNCTION
    + _LOG_ONCE_FUNCTION
    + """
return log_once(KEYS[3], KEYS[4], ARGV[10], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]),
                ARGV[5], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]))
"""
)
# A replica made a copy of a session: the bus messages after the session's cursor (missed
# while no live replica served it), through the session's filter (its record's
# subscriptions, as ssemcp.server.connection subscribes), each logged once as above, in bus
# order. A session without a cursor (never served) starts one at the newest bus message: what
# came before it is not the session's, as in one process. KEYS: the stream, its hash, the
# held list, the record, the bus log. ARGV: max events, max bytes, ttl seconds, the channel,
# what to publish there, the markers' seconds, how many may be held, the markers' prefix,
# how many bus messages to read at most, the list-changed topic, the resource topics' prefix.
_LOG_MISSED: Final = (
    APPEND_FUNCTION
    + _LOG_ONCE_FUNCTION
    + """
local record = redis.call('GET', KEYS[4])
if not record then return 0 end  -- deleted meanwhile: nothing of it may come back
local cursor = redis.call('HGET', KEYS[2], 'bus')
if not cursor then
  heard_until_now(KEYS[5], ARGV[3])
  return 0
end
local decoded, fields = pcall(cjson.decode, record)
if not decoded or type(fields) ~= 'table' then return 0 end
local wanted = {[ARGV[10]] = true}
if type(fields.res) == 'table' then
  for _, uri in ipairs(fields.res) do wanted[ARGV[11] .. uri] = true end
end
local logged = 0
for _, entry in ipairs(redis.call('XRANGE', KEYS[5], '(' .. cursor, '+', 'COUNT', ARGV[9])) do
  local data = entry[2][2]
  local length, rest = string.match(data, '^(%d+)\\n(.*)$')
  if length and wanted[string.sub(rest, 1, tonumber(length))] then
    local sequence = log_once(ARGV[8] .. entry[1], KEYS[3], entry[1],
                              string.sub(rest, tonumber(length) + 1), tonumber(ARGV[1]),
                              tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6],
                              tonumber(ARGV[7]))
    if sequence > 0 then logged = logged + 1 end
  end
end
return logged
"""
)
# The session's record changed (its subscriptions, say): its cursor moves to the newest bus
# message, so that a later replay never filters an older message by newer subscriptions.
# KEYS: the stream, its hash, the bus log, the record. ARGV: ttl seconds.
_HEARD_UNTIL_NOW: Final = (
    APPEND_FUNCTION
    + _LOG_ONCE_FUNCTION
    + """
if redis.call('EXISTS', KEYS[4]) == 1 then heard_until_now(KEYS[3], ARGV[1]) end
return 0
"""
)
# A GET stream opened for the first time: what was held for it goes to its log (after the
# opening's marker), in order. KEYS: the stream, its hash, the held list. ARGV: max events,
# max bytes, ttl seconds, the channel, what to publish there.
_LOG_HELD: Final = (
    APPEND_FUNCTION
    + """
local held = redis.call('LRANGE', KEYS[3], 0, -1)
if #held == 0 then return 0 end
redis.call('DEL', KEYS[3])
for _, data in ipairs(held) do
  append('0', data, tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return #held
"""
)


def log_keys(connection: RedisConnection, session_id: str) -> tuple[str, str]:
    """The stream and the hash of ``session_id``'s log."""
    return connection.key("log", session_id), connection.key("logmeta", session_id)


def _tag_of(session_id: str) -> str:
    # Shared by every replica, and different for each session (spec: an event id "MUST be
    # globally unique across all streams within that session"; another session's id misses).
    return hashlib.sha256(session_id.encode()).hexdigest()[:_TAG_LENGTH]


def logged_event(session_id: str, stream_id: int, sequence: int, data: bytes) -> LoggedEvent:
    """The event logged at ``sequence`` on ``stream_id`` of ``session_id``'s log, with the
    id every replica issues for it."""
    return LoggedEvent(f"{_tag_of(session_id)}-{stream_id}-{sequence}", stream_id, sequence, data)


def _sequence_of(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.partition("-")[0])


def _fields(raw: Any) -> dict[bytes, bytes]:
    # XRANGE gives [id, {field: value}] with the client's default parsing.
    if isinstance(raw, dict):
        return raw
    return dict(zip(raw[::2], raw[1::2], strict=True))


class RedisEventLog:
    """:class:`~ssemcp.state.events.EventLog` of one session, in Redis.

    Args:
        connection: the Redis.
        session_id: whose log.
        max_events: events kept at most.
        max_bytes: bytes of data kept at most.
        ttl_seconds: the log goes this long after its last append (or its session's use).
    """

    __slots__ = (
        "_append",
        "_connection",
        "_hash_key",
        "_max_bytes",
        "_max_events",
        "_stream_key",
        "_ttl_seconds",
        "tag",
    )

    def __init__(
        self,
        connection: RedisConnection,
        session_id: str,
        *,
        max_events: int = DEFAULT_MAX_LOGGED_EVENTS,
        max_bytes: int = DEFAULT_MAX_LOGGED_BYTES,
        ttl_seconds: int,
        append_script: Any = None,
    ) -> None:
        if max_events < 1 or max_bytes < 0:
            raise ValueError("max_events must be positive and max_bytes not negative")
        self._connection = connection
        self._stream_key, self._hash_key = log_keys(connection, session_id)
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._ttl_seconds = ttl_seconds
        self._append = append_script or register_append(connection)
        self.tag = _tag_of(session_id)

    async def append(self, stream_id: int, data: bytes) -> LoggedEvent:
        sequence = await self._connection.run(
            self._append(
                keys=[self._stream_key, self._hash_key],
                args=[stream_id, data, self._max_events, self._max_bytes, self._ttl_seconds],
            )
        )
        sequence = int(sequence)
        return LoggedEvent(f"{self.tag}-{stream_id}-{sequence}", stream_id, sequence, data)

    async def position_of(self, event_id: str) -> Position | None:
        if len(event_id) > MAX_EVENT_ID_LENGTH:
            return None
        parts = event_id.split("-")
        if len(parts) != 3 or parts[0] != self.tag:
            return None
        for number in parts[1:]:
            if not (number.isascii() and number.isdigit() and len(number) <= _MAX_NUMBER_DIGITS):
                return None
        stream_id, sequence = int(parts[1]), int(parts[2])
        if sequence < 1:
            return None
        entry_id = f"{sequence}-0"
        entries = await self._connection.run(
            self._connection.client.xrange(self._stream_key, entry_id, entry_id)
        )
        if not entries:
            return None  # evicted, expired or never issued
        if int(_fields(entries[0][1]).get(b"s", b"-1")) != stream_id:
            return None  # a forged id: the sequence exists, on another stream
        return Position(stream_id, sequence)

    async def read_after(self, position: Position) -> list[LoggedEvent] | None:
        client = self._connection.client
        async with client.pipeline(transaction=False) as pipe:
            pipe.hget(self._hash_key, "seq")
            pipe.xrange(self._stream_key, "-", "+", count=1)
            pipe.xrange(self._stream_key, f"{position.sequence + 1}-0", "+")
            last, oldest, entries = await self._connection.run(pipe.execute())
        if oldest:
            if _sequence_of(oldest[0][0]) > position.sequence + 1:
                return None  # some event after the position was evicted
        elif last is not None and int(last) > position.sequence:
            return None  # everything after it was evicted
        stream_id = position.stream_id
        events = []
        tag = self.tag
        for entry_id, raw in entries:
            fields = _fields(raw)
            if int(fields[b"s"]) != stream_id:
                continue
            sequence = _sequence_of(entry_id)
            events.append(
                LoggedEvent(f"{tag}-{stream_id}-{sequence}", stream_id, sequence, fields[b"d"])
            )
        return events


def register_append(connection: RedisConnection) -> Any:
    """The append script, registered once per process (EVALSHA, falling back to EVAL)."""
    return connection.client.register_script(_APPEND)


def register_append_once(connection: RedisConnection) -> Any:
    """The log-once script (``_APPEND_ONCE``), registered once per process."""
    return connection.client.register_script(_APPEND_ONCE)


def register_log_missed(connection: RedisConnection) -> Any:
    """The script that replays the bus messages a session missed (``_LOG_MISSED``)."""
    return connection.client.register_script(_LOG_MISSED)


def register_heard_until_now(connection: RedisConnection) -> Any:
    """The script that moves a session's bus cursor to now (``_HEARD_UNTIL_NOW``)."""
    return connection.client.register_script(_HEARD_UNTIL_NOW)


def register_log_held(connection: RedisConnection) -> Any:
    """The script that logs what was held for a GET stream (``_LOG_HELD``)."""
    return connection.client.register_script(_LOG_HELD)


# --- read-only sizes, for GET /metrics (ssemcp.observe.metrics; #18) ---

# Logs read per round trip: a scrape of a replica holding many sessions stays a few pipelines.
_SIZES_PER_PIPELINE: Final = 1000


async def read_sizes(logs: list[RedisEventLog]) -> tuple[int, int]:
    """The events and bytes of data held now in ``logs`` (all on one connection), read
    without changing them: XLEN and the byte count of each, pipelined.

    Raises:
        StateUnavailable: Redis cannot be reached.
    """
    events = size_bytes = 0
    for start in range(0, len(logs), _SIZES_PER_PIPELINE):
        chunk = logs[start : start + _SIZES_PER_PIPELINE]
        connection = chunk[0]._connection
        async with connection.client.pipeline(transaction=False) as pipe:
            for log in chunk:
                pipe.xlen(log._stream_key)
                pipe.hget(log._hash_key, "bytes")
            replies = await connection.run(pipe.execute())
        for length, stored_bytes in zip(replies[::2], replies[1::2], strict=True):
            events += int(length)
            size_bytes += int(stored_bytes or 0)
    return events, size_bytes
