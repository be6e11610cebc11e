"""Host any stdio MCP server over ssemcp's HTTP transports (``ssemcp bridge``).

``child`` runs one server process; ``upstream`` routes between a child and its client
sessions, restarting it when it crashes or hangs; ``relay`` is one client session as a
transport hosts it; ``standalone`` runs 2026-07-28 requests (no session) on a child, holding a
call open while its client answers the child's questions, and ``subscriptions`` feeds their
``subscriptions/listen`` from the child; ``sessions.Bridge`` makes them, one
child per session (or per principal, for 2026-07-28) or one shared. The pure parts, ``ids``,
``restart``, ``modern`` (the 2026-07-28 translation) and ``held``, do no I/O.
"""

from __future__ import annotations

from ssemcp.bridge.held import DEFAULT_HOLD_SECONDS, DEFAULT_MAX_HELD_CALLS
from ssemcp.bridge.restart import RestartPolicy
from ssemcp.bridge.sessions import DEFAULT_IDLE_CHILD_SECONDS, DEFAULT_MAX_CHILDREN, Bridge
from ssemcp.bridge.upstream import DEFAULT_CHILD_TIMEOUT_SECONDS, DEFAULT_STARTUP_TIMEOUT_SECONDS

__all__ = [
    "DEFAULT_CHILD_TIMEOUT_SECONDS",
    "DEFAULT_HOLD_SECONDS",
    "DEFAULT_IDLE_CHILD_SECONDS",
    "DEFAULT_MAX_CHILDREN",
    "DEFAULT_MAX_HELD_CALLS",
    "DEFAULT_STARTUP_TIMEOUT_SECONDS",
    "Bridge",
    "RestartPolicy",
]
