"""HTTP responses counted by route and status code, for ``ssemcp_http_responses_total``.

Owns the route an HTTP request is counted under (the app's MCP path, ``/sse``,
``/messages/``, ``/metrics``, ``/healthz``, or ``other``: a fixed set, so a client naming
paths cannot make time series) and :class:`StatusCount`, the ``send`` an app with metrics
and no access log answers through (with an access log, ``access_log.Exchange`` counts).
A response is counted when it starts (its status known); one that never starts (the client
left first) is not. No I/O and no clock: one dict update a request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from ssemcp.asgi import ASGIMessage, ASGISend, Scope, shortcuts

__all__ = ["OTHER_ROUTE", "StatusCount", "route_of", "routes_for"]

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
    root_path = scope.get("root_path")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    return routes.get(path, OTHER_ROUTE)


class StatusCount:
    """An exchange's ``send`` that counts its response's status under its route in
    ``counts``; a whole response in one step (``asgi.shortcuts``) passes through it too."""

    __slots__ = ("_counts", "_route", "_send")

    def __init__(self, counts: dict[tuple[str, int], int], route: str, send: ASGISend) -> None:
        self._counts = counts
        self._route = route
        self._send = send

    @property
    def wrapped_send(self) -> ASGISend:
        """The server's ``send`` (``asgi.shortcuts.on_disconnect`` looks through)."""
        return self._send

    def count(self, status: int) -> None:
        key = (self._route, status)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1

    def send(self, message: ASGIMessage) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.count(message["status"])
        return self._send(message)

    def end(self) -> None:
        """Nothing to write: the count was made when the response started."""


def _whole_response(counter: object, status: int, headers: bytes, body: bytes) -> bool:
    assert type(counter) is StatusCount
    if not shortcuts.send_whole_response(counter.wrapped_send, status, headers, body):
        return False
    counter.count(status)
    return True


def _abort(counter: object) -> None:
    assert type(counter) is StatusCount
    shortcuts.abort(counter.wrapped_send)


def _on_disconnect(counter: object, callback: Callable[[], object]) -> bool:
    assert type(counter) is StatusCount
    return shortcuts.on_disconnect(counter.wrapped_send, callback)


# A counted send keeps the server's shortcuts (they find a send's type here).
shortcuts.register(StatusCount, shortcuts.Shortcuts(_whole_response, _abort, _on_disconnect))
