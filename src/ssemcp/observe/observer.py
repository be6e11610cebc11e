"""One app's observation: its counters, its access log, its ``/metrics``, and what the app
calls at the start and end of each HTTP exchange.

Owns putting the pieces of ``ssemcp.observe`` together for :class:`ssemcp.http.app.MCPApp`:
whether an exchange gets a record (the access log is on and its logger passes INFO), which
watcher a dispatched request finds (``_hook.WATCHER``), and the metrics endpoint (built only
when metrics are on, which is when ``prometheus_client`` is imported).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssemcp.asgi import ASGISend, Scope
from ssemcp.observe._hook import WATCHER
from ssemcp.observe.access_log import Exchange, access_log_enabled
from ssemcp.observe.calls import CallStats
from ssemcp.observe.settings import ObserveSettings
from ssemcp.observe.statuses import route_of, routes_for
from ssemcp.observe.watch import CallWatcher

if TYPE_CHECKING:
    from ssemcp.http.app import MCPApp
    from ssemcp.observe.metrics import MetricsEndpoint
    from ssemcp.server.registry import Server

__all__ = ["Observer"]


class Observer:
    """What ``settings`` asks of ``app`` (serving ``server``); None from :meth:`build` when
    it asks nothing."""

    def __init__(self, settings: ObserveSettings, server: Server, app: MCPApp) -> None:
        self.settings = settings
        self.stats = CallStats() if settings.metrics else None
        # Decided once: with the logger above INFO, no exchange is worth a record.
        self._keeps_log = settings.access_log and access_log_enabled()
        self._watcher = CallWatcher(self.stats)
        self.metrics: MetricsEndpoint | None = None
        # HTTP responses by (route, status code), with metrics and an access log (whose
        # exchange records count them; ssemcp.observe.statuses says why not without one).
        self.http_statuses: dict[tuple[str, int], int] | None = None
        self._routes = routes_for(app._path)
        if self.stats is not None:
            from ssemcp.observe.metrics import MetricsEndpoint

            self.http_statuses = {}
            self.metrics = MetricsEndpoint(self.stats, server, app, self.http_statuses)

    @classmethod
    def build(
        cls, settings: ObserveSettings | None, server: Server, app: MCPApp
    ) -> Observer | None:
        if settings is None or settings.is_off:
            return None
        observer = cls(settings, server, app)
        if not observer._keeps_log and observer.stats is None:
            return None
        return observer

    def watch_this_context(self) -> None:
        """Set the requests' watcher in the running context, for a server whose request
        tasks start from it (``ssemcp serve`` sets it before uvicorn runs): :meth:`begin`
        then finds it there and sets nothing."""
        if not self._keeps_log:
            WATCHER.set(self._watcher)

    def begin(self, scope: Scope, send: ASGISend) -> Exchange | None:
        """An HTTP exchange starts: its requests are watched from here on.

        Returns:
            With an access log, the exchange's record: send through its ``send``, and call
            its ``end()`` when the exchange is over. Without, None: nothing to end.
        """
        if not self._keeps_log:
            # Set, not reset at the end: the ASGI server runs each request in a task of its
            # own, whose context ends with it. (Set and reset cost ~2 500 instructions a
            # request, 2.5 % of bench scenario a's call in process; set alone half that, and
            # under ssemcp serve nothing: watch_this_context.)
            if WATCHER.get() is not self._watcher:
                WATCHER.set(self._watcher)
            return None
        exchange = Exchange(scope, send, self.stats, self.settings.log_arguments)
        statuses = self.http_statuses
        if statuses is not None:
            exchange.statuses = statuses
            exchange.route = route_of(scope, self._routes)
        exchange.token = WATCHER.set(exchange)
        return exchange
