"""Which replicas are alive, and the answer a reply stream gets when the one running it died.

Owns a replica's liveness key (``alive:<origin>``, with a time to live the replica renews with
its GET streams' leases, and deletes at a clean shutdown), the record a POST's SSE reply
stream keeps of the replica running it and the requests it answers (a field of the session
log's hash, written with the stream's first event), and the one script that, once that replica
is gone and the stream unfinished, logs an error response for each request it left unanswered
and marks the stream finished: once, whichever replica's follower runs it first. Following the
stream is the transport's (``ssemcp.transports.replicas``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from ssemcp.errors import InternalError
from ssemcp.jsonrpc import RequestId, error_response, serialize
from ssemcp.state.redis.connection import RedisConnection
from ssemcp.state.redis.events import APPEND_FUNCTION, log_keys

__all__ = ["RUNNER_GONE", "Liveness"]

# What the client of a request whose replica died is told. JSON-RPC 2.0 section 5: a request
# "MUST" get a response, and -32603 is the server's own failure to finish it; spec 2025-11-25
# basic/transports: the stream "SHOULD eventually include a JSON-RPC response".
RUNNER_GONE: Final = InternalError(
    "the replica running this request stopped before answering; send it again"
)

# KEYS: the session log's stream, its hash, this replica's liveness key. ARGV: the stream id,
# the priming event's data, max events, max bytes, the log's ttl, the run record, the liveness
# seconds, "1" to log the priming event. Returns its sequence, or 0 when none was logged.
_OPEN_REPLY_STREAM: Final = (
    APPEND_FUNCTION
    + """
redis.call('SET', KEYS[3], '1', 'EX', ARGV[7])
redis.call('HSET', KEYS[2], 'run:' .. ARGV[1], ARGV[6])
if ARGV[8] == '1' then
  return append(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
end
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 0
"""
)
# KEYS: the stream, its hash, the running replica's liveness key. ARGV: the stream id, its run
# record as read, max events, max bytes, the log's ttl, then for each request it answers: the
# id as JSON and its error response. -1: nothing to do (finished, alive, or another record);
# else how many error responses were logged (none: every request was answered already).
# Responses are found by decoding the stream's entries (cjson): a JSON-RPC response has an
# id and no method.
_END_IF_RUNNER_GONE: Final = (
    APPEND_FUNCTION
    + """
local stream_id = ARGV[1]
if redis.call('HEXISTS', KEYS[2], 'end:' .. stream_id) == 1 then return -1 end
if redis.call('HGET', KEYS[2], 'run:' .. stream_id) ~= ARGV[2] then return -1 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local function id_key(value)
  if type(value) == 'number' then return 'n' .. string.format('%.17g', value) end
  if type(value) == 'string' then return 's' .. value end
  return nil
end
local answered = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local fields = entry[2]
  if fields[2] == stream_id and fields[4] ~= '' then
    local ok, message = pcall(cjson.decode, fields[4])
    if ok and type(message) == 'table' and message.method == nil then
      local key = id_key(message.id)
      if key then answered[key] = true end
    end
  end
end
local logged = 0
for index = 6, #ARGV - 1, 2 do
  local ok, request_id = pcall(cjson.decode, ARGV[index])
  local key = ok and id_key(request_id)
  if key and not answered[key] then
    append(stream_id, ARGV[index + 1], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
    answered[key] = true
    logged = logged + 1
  end
end
redis.call('HSET', KEYS[2], 'end:' .. stream_id, 1)
redis.call('HDEL', KEYS[2], 'run:' .. stream_id)
redis.call('EXPIRE', KEYS[2], ARGV[5])
return logged
"""
)


def _run_record(origin: bytes, request_ids: Sequence[RequestId]) -> bytes:
    # The origin is hex: a space ends it.
    return origin + b" " + json.dumps(list(request_ids), separators=(",", ":")).encode()


def _request_ids_of(record: bytes) -> list[RequestId] | None:
    _, _, ids_text = record.partition(b" ")
    try:
        request_ids = json.loads(ids_text)
    except ValueError:
        return None
    if type(request_ids) is not list:
        return None
    return [item for item in request_ids if type(item) in (int, str)]


class Liveness:
    """One replica's liveness, and the reply streams it runs, in Redis.

    Args:
        connection: the Redis.
        origin: names this replica (hex), as its GET streams' leases do.
        max_events: events each session's log keeps.
        max_bytes: bytes each session's log keeps.
        ttl_seconds: a session's log goes this long after its last use.
    """

    __slots__ = (
        "_connection",
        "_end_script",
        "_max_bytes",
        "_max_events",
        "_open_script",
        "_origin",
        "_ttl_seconds",
        "key",
    )

    def __init__(
        self,
        connection: RedisConnection,
        origin: bytes,
        *,
        max_events: int,
        max_bytes: int,
        ttl_seconds: int,
    ) -> None:
        self._connection = connection
        self._origin = origin
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._ttl_seconds = ttl_seconds
        self.key = self.key_of(origin)
        client = connection.client
        self._open_script = client.register_script(_OPEN_REPLY_STREAM)
        self._end_script = client.register_script(_END_IF_RUNNER_GONE)

    def key_of(self, origin: bytes) -> str:
        """The liveness key of the replica named ``origin``."""
        return self._connection.key("alive", origin.decode("ascii", "replace"))

    async def open_reply_stream(
        self,
        session_id: str,
        stream_id: int,
        request_ids: Sequence[RequestId],
        *,
        primed: bool,
        alive_seconds: int,
    ) -> int:
        """Record this replica as running the reply stream (and alive), and log its priming
        event if ``primed``, in one step. Returns that event's sequence (0: none)."""
        stream_key, hash_key = log_keys(self._connection, session_id)
        sequence = await self._connection.run(
            self._open_script(
                keys=[stream_key, hash_key, self.key],
                args=[
                    stream_id,
                    b"",
                    self._max_events,
                    self._max_bytes,
                    self._ttl_seconds,
                    _run_record(self._origin, request_ids),
                    alive_seconds,
                    "1" if primed else "0",
                ],
            )
        )
        return int(sequence)

    async def end_if_runner_gone(self, session_id: str, stream_id: int) -> bool:
        """If the replica running the reply stream is gone and the stream unfinished: log
        an error response for each request of it not answered in the log, and mark the
        stream finished. True when that was done (here, now)."""
        stream_key, hash_key = log_keys(self._connection, session_id)
        client = self._connection.client
        found = await self._connection.run(client.hget(hash_key, f"run:{stream_id}"))
        if found is None:
            return False  # finished, or started by a replica that records no runner
        record = found if isinstance(found, bytes) else found.encode()
        request_ids = _request_ids_of(record) or []
        args: list[bytes | str | int] = [
            stream_id,
            record,
            self._max_events,
            self._max_bytes,
            self._ttl_seconds,
        ]
        for request_id in request_ids:
            args.append(json.dumps(request_id))
            args.append(serialize(error_response(request_id, RUNNER_GONE)))
        runner = record.partition(b" ")[0]
        logged = await self._connection.run(
            self._end_script(keys=[stream_key, hash_key, self.key_of(runner)], args=args)
        )
        return int(logged) >= 0

    async def retire(self) -> None:
        """A clean shutdown, its requests done: this replica is no longer alive."""
        await self._connection.run(self._connection.client.delete(self.key))
