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
    "register_log_held",
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
# GET stream ``opened``, from which on the bus's notifications for it are logged.
_APPEND: Final = (
    APPEND_FUNCTION
    + """
if ARGV[1] == '0' then redis.call('HSET', KEYS[2], 'opened', '1') end
return append(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
"""
)
# The GET stream's part of a notification every replica serving the session hears
# (ssemcp.state.redis.sessions): once, by whichever replica comes first (a marker key named
# after the bus message); logged if the GET stream was ever ``opened``, else held for it (at
# most ARGV[9], as one process holds them) in a list that its first opening logs. The one
# that logs it says so on the session's channel. KEYS: the stream, its hash, the marker, the
# held list. ARGV: as _APPEND's, then the channel, what to publish there, the marker's
# seconds, how many may be held.
_APPEND_ONCE: Final = (
    APPEND_FUNCTION
    + """
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[8]) then return 0 end
if not redis.call('HGET', KEYS[2], 'opened') then
  if redis.call('LLEN', KEYS[4]) < tonumber(ARGV[9]) then
    redis.call('RPUSH', KEYS[4], ARGV[2])
    redis.call('EXPIRE', KEYS[4], ARGV[5])
  end
  return 0
end
local sequence = append(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return sequence
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
