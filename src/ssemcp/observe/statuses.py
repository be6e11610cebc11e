"""The routes HTTP responses are counted under, for ``ssemcp_http_responses_total``.

Owns the route of a request: the app's MCP path, ``/sse``, ``/messages/``, ``/metrics``,
``/healthz``, or ``other`` (a fixed set, so a client naming paths cannot make time series).
``access_log.Exchange``, which already stands in front of an exchange's ``send``, counts each
response under its route and status code when it starts. Without an access log nothing
stands there, and a ``send`` wrapper only to count cost bench scenario a's call 5 to 10 %
(``bench/README.md``), over issue #18's 3 % for metrics: then responses are not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ssemcp.asgi import Scope

__all__ = ["OTHER_ROUTE", "route_of", "routes_for"]

# Where a request to any path the app does not serve is counted.
OTHER_ROUTE: Final = "other"


def routes_for(mcp_path: str) -> dict[str, str]:
    """The route of each path an app serves (below its mount point), by path."""
    # Imported here: ssemcp.http imports this package.
    from ssemcp.http.app import HEALTH_PATH
    from ssemcp.observe.settings import METRICS_PATH
    from ssemcp.transports.legacy_sse import MESSAGES_PATH, SSE_PATH

    return {
        mcp_path: mcp_path,
        SSE_PATH: SSE_PATH,
        MESSAGES_PATH: MESSAGES_PATH,
        MESSAGES_PATH.rstrip("/"): MESSAGES_PATH,
        METRICS_PATH: METRICS_PATH,
        HEALTH_PATH: HEALTH_PATH,
    }


def route_of(scope: Scope, routes: Mapping[str, str]) -> str:
    """The route ``scope``'s request is counted under."""
    path: str = scope["path"]
    if scope.get("root_path"):
        root_path: str = scope["root_path"]
        if path.startswith(root_path):
            path = path[len(root_path) :]
    return routes.get(path, OTHER_ROUTE)
