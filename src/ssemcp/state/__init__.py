"""Where state shared beyond one request lives: the event logs of resumable SSE streams
(:mod:`ssemcp.state.events`) and the notification bus (:mod:`ssemcp.state.bus`).

Each is a ``typing.Protocol`` with an in-memory implementation, so that Redis-backed ones for
several replicas can replace the defaults without touching the transports.
"""

from __future__ import annotations

from ssemcp.state.bus import LIST_CHANGED, MemoryBus, NotificationBus, Subscriber, resource_topic
from ssemcp.state.events import (
    DEFAULT_MAX_LOGGED_BYTES,
    DEFAULT_MAX_LOGGED_EVENTS,
    MAX_EVENT_ID_LENGTH,
    EventLog,
    EventLogFactory,
    LoggedEvent,
    MemoryEventLog,
    Position,
)

__all__ = [
    "DEFAULT_MAX_LOGGED_BYTES",
    "DEFAULT_MAX_LOGGED_EVENTS",
    "LIST_CHANGED",
    "MAX_EVENT_ID_LENGTH",
    "EventLog",
    "EventLogFactory",
    "LoggedEvent",
    "MemoryBus",
    "MemoryEventLog",
    "NotificationBus",
    "Position",
    "Subscriber",
    "resource_topic",
]
