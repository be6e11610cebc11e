"""Host any stdio MCP server over ssemcp's HTTP transports (``ssemcp bridge``).

``child`` runs one server process; ``upstream`` routes between a child and its client
sessions, restarting it when it crashes or hangs; ``relay`` is one client session as a
transport hosts it; ``sessions.Bridge`` makes them, one child per session or one shared. The
pure parts, ``ids`` and ``restart``, do no I/O.
"""

from __future__ import annotations

from ssemcp.bridge.restart import RestartPolicy
from ssemcp.bridge.sessions import DEFAULT_MAX_CHILDREN, Bridge
from ssemcp.bridge.upstream import DEFAULT_CHILD_TIMEOUT_SECONDS, DEFAULT_STARTUP_TIMEOUT_SECONDS

__all__ = [
    "DEFAULT_CHILD_TIMEOUT_SECONDS",
    "DEFAULT_MAX_CHILDREN",
    "DEFAULT_STARTUP_TIMEOUT_SECONDS",
    "Bridge",
    "RestartPolicy",
]
