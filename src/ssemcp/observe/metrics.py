"""``GET /metrics``: what a server did and holds, in the Prometheus text format.

Owns the exposition: one ``prometheus_client`` registry per app (never the process-wide
default, so that two apps in one process each count their own), and a collector that reads,
when scraped, what is already kept elsewhere: the request counters of
``ssemcp.observe.calls``, the transports' live sessions and streams, the sessions' event
logs, and the built-in tool sets' upstream clients (``ssemcp.toolsets._upstream``). Nothing
here runs per request. Imported only by an app that serves metrics.

Where a count lives in another module's private state (a transport's session table, a
session's GET stream), it is read in :func:`live_counts` alone, and
``tests/observe/test_metrics.py`` checks each such field, so that a rename fails a test
rather than a scrape.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from ssemcp.asgi import ASGISend, Scope
from ssemcp.observe.calls import ERROR, TOOL_ERROR, CallStats
from ssemcp.state.events import MemoryEventLog

if TYPE_CHECKING:
    from ssemcp.http.app import MCPApp
    from ssemcp.server.registry import Server
    from ssemcp.state.redis.events import RedisEventLog
    from ssemcp.toolsets._upstream import UpstreamClient

__all__ = [
    "LiveCounts",
    "MetricsEndpoint",
    "ServerCollector",
    "live_counts",
    "read_shared_log_sizes",
    "shared_logs",
    "upstream_clients",
]

logger = logging.getLogger(__name__)

_ERROR_OUTCOMES: Final = (TOOL_ERROR, ERROR)
_METHOD_NOT_ALLOWED_BODY: Final = b"Method Not Allowed\n"


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """What an app holds open now (the event logs: those in memory, and those in Redis whose
    sizes were read for this scrape, :func:`read_shared_log_sizes`)."""

    streamable_sessions: int
    legacy_sessions: int
    get_streams: int
    listen_streams: int
    event_logs: int
    event_log_events: int
    event_log_bytes: int


def shared_logs(app: MCPApp) -> list[RedisEventLog]:
    """The event logs in Redis of the sessions ``app`` holds (``--state redis://...``)."""
    module = sys.modules.get("ssemcp.state.redis.events")
    if module is None:
        return []  # no Redis state in this process: the module was never imported
    log_type = module.RedisEventLog
    return [
        session._event_log
        for session in list(app.transport._sessions.values())
        if isinstance(session._event_log, log_type)
    ]


async def read_shared_log_sizes(app: MCPApp) -> tuple[int, int, int] | None:
    """How many of ``app``'s sessions' logs are in Redis, and their events and bytes; read
    at scrape time, a pipelined XLEN and HGET per log. None when Redis cannot be reached
    (the scrape still answers, with the logs in memory)."""
    logs = shared_logs(app)
    if not logs:
        return 0, 0, 0
    from ssemcp.state.redis.events import read_sizes
    from ssemcp.state.shared import StateUnavailable

    try:
        events, size_bytes = await read_sizes(logs)
    except StateUnavailable:
        logger.warning("/metrics: the shared state is unreachable; event logs in Redis left out")
        return None
    return len(logs), events, size_bytes


def live_counts(app: MCPApp, shared_log_sizes: tuple[int, int, int] | None = None) -> LiveCounts:
    """Count ``app``'s sessions, streams and event logs: those in memory, plus
    ``shared_log_sizes`` (logs, events, bytes) of those in Redis, read beforehand."""
    transport = app.transport
    sessions = list(transport._sessions.values())
    get_streams = 0
    logs, events, size_bytes = shared_log_sizes or (0, 0, 0)
    for session in sessions:
        standalone = session._standalone
        if standalone is not None and standalone.reader is not None:
            get_streams += 1
        event_log = session._event_log
        if isinstance(event_log, MemoryEventLog):
            logs += 1
            events += len(event_log)
            size_bytes += event_log.size_bytes
    legacy = app.legacy_sse
    return LiveCounts(
        streamable_sessions=len(sessions),
        legacy_sessions=legacy.session_count if legacy is not None else 0,
        get_streams=get_streams,
        listen_streams=len(transport._listens),
        event_logs=logs,
        event_log_events=events,
        event_log_bytes=size_bytes,
    )


def upstream_clients(server: Server) -> list[UpstreamClient]:
    """The upstream API clients of ``server``'s tool sets.

    Each built-in tool set registers its API object's ``aclose`` (or a client's own) as one
    of the server's cleanups, so they are found there, without a registry of their own.
    """
    module = sys.modules.get("ssemcp.toolsets._upstream")
    if module is None:
        return []  # no tool set made one: the module was never imported
    client_type = module.UpstreamClient
    found: list[UpstreamClient] = []
    for cleanup in server._cleanups:
        owner = getattr(cleanup, "__self__", None)
        candidates = (
            [owner]
            if isinstance(owner, client_type)
            else list(getattr(owner, "__dict__", {}).values())
        )
        for candidate in candidates:
            if isinstance(candidate, client_type) and candidate not in found:
                found.append(candidate)
    return found


def _bucket_label(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


class ServerCollector(Collector):
    """Reads one app's counters and state at scrape time."""

    def __init__(
        self,
        stats: CallStats,
        server: Server,
        app: MCPApp,
        http_statuses: dict[tuple[str, int], int] | None = None,
    ) -> None:
        self._stats = stats
        self._server = server
        self._app = app
        self._http_statuses = http_statuses if http_statuses is not None else {}
        # The sizes of the logs in Redis, read by the endpoint just before it renders.
        self.shared_log_sizes: tuple[int, int, int] | None = None

    def describe(self) -> Iterable[Metric]:
        # Registering asks for the names (to refuse duplicates); none of ours can collide.
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._http()
        yield from self._calls()
        yield from self._live()
        yield from self._upstreams()

    def _calls(self) -> Iterator[Metric]:
        labels = ["method", "name"]
        requests = CounterMetricFamily(
            "ssemcp_mcp_requests",
            "MCP requests served, by JSON-RPC method and tool or prompt name.",
            labels=labels,
        )
        errors = CounterMetricFamily(
            "ssemcp_mcp_errors",
            "MCP requests that failed: kind=tool_error (a result with isError) or error "
            "(a JSON-RPC error reply).",
            labels=[*labels, "kind"],
        )
        durations = HistogramMetricFamily(
            "ssemcp_mcp_request_duration_seconds",
            "Time to serve an MCP request, from dispatch to its result.",
            labels=labels,
        )
        bounds = (*self._stats.bounds, math.inf)
        for method, name, stats in self._stats:
            values = [method, name]
            requests.add_metric(values, stats.count)
            for kind in _ERROR_OUTCOMES:
                count = stats.errors.get(kind)
                if count:
                    errors.add_metric([*values, kind], count)
            cumulative = 0
            buckets = []
            for bound, count in zip(bounds, stats.buckets, strict=True):
                cumulative += count
                buckets.append((_bucket_label(bound), cumulative))
            durations.add_metric(values, buckets, stats.sum_seconds)
        yield requests
        yield errors
        yield durations

    def _http(self) -> Iterator[Metric]:
        responses = CounterMetricFamily(
            "ssemcp_http_responses",
            "HTTP responses, by route (the MCP path, /sse, /messages/, /metrics, /healthz, "
            "other) and status code, counted when each starts.",
            labels=["route", "code"],
        )
        for (route, status), count in sorted(self._http_statuses.items()):
            responses.add_metric([route, str(status)], count)
        yield responses

    def _live(self) -> Iterator[Metric]:
        counts = live_counts(self._app, self.shared_log_sizes)
        sessions = GaugeMetricFamily(
            "ssemcp_sessions",
            "Live sessions, by transport: streamable_http (2025 revisions), sse (2024-11-05).",
            labels=["transport"],
        )
        sessions.add_metric(["streamable_http"], counts.streamable_sessions)
        sessions.add_metric(["sse"], counts.legacy_sessions)
        yield sessions
        streams = GaugeMetricFamily(
            "ssemcp_streams",
            "Open server-to-client streams, by kind: get (a session's GET /mcp), listen "
            "(subscriptions/listen, 2026-07-28), sse (GET /sse, 2024-11-05).",
            labels=["kind"],
        )
        streams.add_metric(["get"], counts.get_streams)
        streams.add_metric(["listen"], counts.listen_streams)
        streams.add_metric(["sse"], counts.legacy_sessions)
        yield streams
        yield GaugeMetricFamily(
            "ssemcp_event_logs",
            "Sessions' event logs (for Last-Event-ID resumption), in memory or in Redis "
            "(with --state: those of the sessions this replica holds).",
            value=counts.event_logs,
        )
        yield GaugeMetricFamily(
            "ssemcp_event_log_events",
            "Events held in the sessions' event logs.",
            value=counts.event_log_events,
        )
        yield GaugeMetricFamily(
            "ssemcp_event_log_bytes",
            "Bytes of event data held in the sessions' event logs.",
            value=counts.event_log_bytes,
        )

    def _upstreams(self) -> Iterator[Metric]:
        clients = upstream_clients(self._server)
        if not clients:
            return
        requests = CounterMetricFamily(
            "ssemcp_upstream_requests",
            "Requests of the tool sets to their upstream APIs, by API and outcome (ok, "
            "not_found, refused, failed, breaker_open, budget_exhausted, cancelled).",
            labels=["api", "outcome"],
        )
        hits = CounterMetricFamily(
            "ssemcp_upstream_cache_hits",
            "Upstream answers served from the tool sets' caches.",
            labels=["api"],
        )
        misses = CounterMetricFamily(
            "ssemcp_upstream_cache_misses",
            "Upstream lookups the tool sets' caches could not answer.",
            labels=["api"],
        )
        breakers = GaugeMetricFamily(
            "ssemcp_upstream_breaker_state",
            "Circuit breaker state of each upstream API: 1 for its current state.",
            labels=["api", "state"],
        )
        from ssemcp.toolsets._breaker import BreakerState

        for client in clients:
            stats = client.stats
            for outcome, count in list(stats.requests.items()):
                requests.add_metric([client.name, outcome], count)
            if client.cache is not None:
                hits.add_metric([client.name], stats.cache_hits)
                misses.add_metric([client.name], stats.cache_misses)
            if client.breaker is not None:
                current = client.breaker.state
                for state in BreakerState:
                    breakers.add_metric([client.name, state.value], int(state is current))
        yield requests
        yield hits
        yield misses
        yield breakers


class MetricsEndpoint:
    """Answers ``GET /metrics`` for one app (``HEAD`` too; other methods get 405)."""

    def __init__(
        self,
        stats: CallStats,
        server: Server,
        app: MCPApp,
        http_statuses: dict[tuple[str, int], int] | None = None,
    ) -> None:
        self._app = app
        self._registry = CollectorRegistry(auto_describe=False)
        self._collector = ServerCollector(stats, server, app, http_statuses)
        self._registry.register(self._collector)
        # process_* (CPU, memory, open files; Linux /proc), as every Prometheus client has.
        ProcessCollector(registry=self._registry)

    def render(self) -> bytes:
        """The exposition, now."""
        return generate_latest(self._registry)

    async def respond(self, scope: Scope, send: ASGISend) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            # RFC 9110 section 15.5.6: a 405 "MUST generate an Allow header field".
            await send(
                {
                    "type": "http.response.start",
                    "status": 405,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(_METHOD_NOT_ALLOWED_BODY)).encode()),
                        (b"allow", b"GET, HEAD"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _METHOD_NOT_ALLOWED_BODY})
            return
        # Read here, where awaiting is possible: a collector's collect() cannot await.
        self._collector.shared_log_sizes = await read_shared_log_sizes(self._app)
        body = self.render()
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
