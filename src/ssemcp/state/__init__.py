"""Where per-session state lives: event logs for resumable SSE streams (in memory for now).

Each backend implements a ``typing.Protocol`` (:class:`EventLog`), so that a Redis-backed one
for several replicas can replace the in-memory default without touching the transports.
"""

from __future__ import annotations

from ssemcp.state.events import (
    DEFAULT_MAX_LOGGED_BYTES,
    DEFAULT_MAX_LOGGED_EVENTS,
    MAX_EVENT_ID_LENGTH,
    EventLog,
    LoggedEvent,
    MemoryEventLog,
    Position,
)

__all__ = [
    "DEFAULT_MAX_LOGGED_BYTES",
    "DEFAULT_MAX_LOGGED_EVENTS",
    "MAX_EVENT_ID_LENGTH",
    "EventLog",
    "LoggedEvent",
    "MemoryEventLog",
    "Position",
]
