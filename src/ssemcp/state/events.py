"""The event log of one session: what its SSE streams sent, kept so a client can resume.

Owns event ids and the bounded, ordered record behind them (spec 2025-11-25 basic/transports,
"Resumability and Redelivery"). It stores opaque bytes per stream and answers "what did
stream S send after event E?"; it knows no HTTP, no SSE framing and no JSON-RPC, and does no
I/O. Which stream a message goes to, when a stream is resumed and what an unknown id earns are
the transport's (``ssemcp.transports.streamable``).

:class:`EventLog` is the interface, asynchronous so that a log shared by several replicas
behind one endpoint (Redis Streams) can implement it; :class:`MemoryEventLog` is the in-memory
implementation, whose calls never wait. A transport takes a factory of logs, one per session
(:data:`EventLogFactory`).

Event ids look like ``<tag>-<stream>-<sequence>``:

* ``tag``: random per log, so an id issued to one session never names an event of another
  (spec: an id "MUST be globally unique across all streams within that session").
* ``stream``: the stream the event belongs to (spec: ids "SHOULD encode sufficient information
  to identify the originating stream").
* ``sequence``: one counter per log, across all its streams, so the log is ordered by it and
  an id's place in the log is found by subtraction.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias

__all__ = [
    "DEFAULT_MAX_LOGGED_BYTES",
    "DEFAULT_MAX_LOGGED_EVENTS",
    "MAX_EVENT_ID_LENGTH",
    "EventLog",
    "EventLogFactory",
    "LoggedEvent",
    "MemoryEventLog",
    "Position",
]

# Resuming covers a dropped connection, so the log needs to hold what a few seconds of a
# session's streams carry, not its history. The python-sdk's example event store keeps 100
# events per stream; 512 per session covers several busy streams.
DEFAULT_MAX_LOGGED_EVENTS: Final = 512
# One tool result with an image can be hundreds of KiB; 1 MiB keeps such a result resumable.
# Only sessions that stream (SSE replies, a GET stream) log anything, so the worst case
# (max_sessions times this) is not what a server holds in practice.
DEFAULT_MAX_LOGGED_BYTES: Final = 1024 * 1024
# Our ids are at most 8 + 2 + 2 * 20 characters; a longer Last-Event-ID is not ours, and is
# refused before it is split or converted.
MAX_EVENT_ID_LENGTH: Final = 64
_TAG_BYTES: Final = 4
_MAX_NUMBER_DIGITS: Final = 20


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One event a stream sent. ``data`` is ``b""`` for a priming event (nothing to replay)."""

    event_id: str
    stream_id: int
    sequence: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Position:
    """A place in one stream: after the event numbered ``sequence``."""

    stream_id: int
    sequence: int


class EventLog(Protocol):
    """A bounded record of the events a session's streams sent, oldest dropped first."""

    async def append(self, stream_id: int, data: bytes) -> LoggedEvent:
        """Record an event of ``stream_id``; returns it with its new id.

        The event may be evicted at once if it alone is over the byte bound; it is returned
        all the same, so the caller can still send it live.
        """
        ...

    async def position_of(self, event_id: str) -> Position | None:
        """Where ``event_id`` is, or None: malformed, issued by another log, or evicted."""
        ...

    async def read_after(self, position: Position) -> list[LoggedEvent] | None:
        """The events of ``position.stream_id`` after ``position``, oldest first.

        Returns None when some event after ``position`` has been evicted (the reader fell
        behind the log's bound), so a gap is never passed off as a complete replay.
        """
        ...


# Makes the log of a new session, given its id (a shared log keys its records by it).
EventLogFactory: TypeAlias = Callable[[str], EventLog]


class MemoryEventLog:
    """:class:`EventLog` in memory, bounded by event count and by bytes of data.

    Args:
        max_events: events kept at most.
        max_bytes: bytes of ``data`` kept at most.
        tag: the id prefix; random unless given (tests).
    """

    __slots__ = ("_bytes", "_events", "_max_bytes", "_max_events", "_next_sequence", "tag")

    def __init__(
        self,
        max_events: int = DEFAULT_MAX_LOGGED_EVENTS,
        max_bytes: int = DEFAULT_MAX_LOGGED_BYTES,
        *,
        tag: str | None = None,
    ) -> None:
        if max_events < 1 or max_bytes < 0:
            raise ValueError("max_events must be positive and max_bytes not negative")
        if tag is not None and (not tag.isalnum() or not tag.isascii()):
            raise ValueError("tag must be ASCII letters and digits")
        self.tag = secrets.token_hex(_TAG_BYTES) if tag is None else tag
        self._max_events = max_events
        self._max_bytes = max_bytes
        # A list, not a deque: an empty deque takes ~760 bytes, and every session with a
        # stream open holds a log. Trimming the front of at most max_events is a memmove.
        self._events: list[LoggedEvent] = []
        self._bytes = 0
        self._next_sequence = 1

    def __len__(self) -> int:
        return len(self._events)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def _first_sequence(self) -> int:
        """The sequence of the oldest event kept (the next one when the log is empty)."""
        return self._events[0].sequence if self._events else self._next_sequence

    async def append(self, stream_id: int, data: bytes) -> LoggedEvent:
        sequence = self._next_sequence
        self._next_sequence += 1
        event = LoggedEvent(f"{self.tag}-{stream_id}-{sequence}", stream_id, sequence, data)
        events = self._events
        events.append(event)
        self._bytes += len(data)
        if len(events) > self._max_events or self._bytes > self._max_bytes:
            evicted = 0
            while len(events) - evicted > self._max_events or self._bytes > self._max_bytes:
                self._bytes -= len(events[evicted].data)
                evicted += 1
            del events[:evicted]
        return event

    async def position_of(self, event_id: str) -> Position | None:
        if len(event_id) > MAX_EVENT_ID_LENGTH:
            return None
        parts = event_id.split("-")
        if len(parts) != 3 or parts[0] != self.tag:
            return None
        stream_text, sequence_text = parts[1], parts[2]
        for number in (stream_text, sequence_text):
            # isdigit alone accepts "²" and other non-ASCII digits.
            if not (number.isascii() and number.isdigit() and len(number) <= _MAX_NUMBER_DIGITS):
                return None
        stream_id, sequence = int(stream_text), int(sequence_text)
        first = self._first_sequence
        if not first <= sequence < self._next_sequence:
            return None  # evicted, or never issued
        if self._events[sequence - first].stream_id != stream_id:
            return None  # a forged id: the sequence exists, on another stream
        return Position(stream_id, sequence)

    async def read_after(self, position: Position) -> list[LoggedEvent] | None:
        first = self._first_sequence
        if position.sequence + 1 < first:
            return None
        start = position.sequence + 1 - first
        stream_id = position.stream_id
        # Bounded by max_events: a scan of the log's tail, not of the session's history.
        return [event for event in self._events[start:] if event.stream_id == stream_id]
