"""``GET /metrics`` over a real uvicorn on 127.0.0.1: each metric after real traffic, the
authorization it sits behind, the bad paths, one registry per app, and the private fields of
other modules it reads (checked here, so that a rename fails a test, not a scrape)."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from live_server import LiveServer, live_server, wait_until
from observe_support import ACCEPT, TOKEN, AccessRecords, MCPClient, build_server, modern_call
from prometheus_client.parser import text_string_to_metric_families

from ssemcp import Context, Server
from ssemcp.http import create_app
from ssemcp.observe import ObserveSettings
from ssemcp.observe._hook import WATCHER
from ssemcp.observe.calls import CANCELLED, ERROR, MAX_PENDING, OK, CallStats
from ssemcp.observe.metrics import live_counts, upstream_clients
from ssemcp.toolsets._breaker import CircuitBreaker
from ssemcp.toolsets._upstream import RetryPolicy, TTLCache, UpstreamClient, UpstreamError

METRICS_ONLY = ObserveSettings(access_log=False)
AUTH = {"authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    found: Mapping[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /, **labels: str
) -> float:
    return found[(metric, frozenset(labels.items()))]


async def scrape(
    live: LiveServer, **headers: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with live.client(headers=headers) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    return samples(response.text)


async def test_requests_errors_and_latency_by_method_and_tool() -> None:
    async with live_server(build_server(), observe=METRICS_ONLY) as live, live.client() as http:
        client = MCPClient(http)
        await client.initialize()
        for _ in range(3):
            await client.call("echo", text="hi")
        await client.call("fail", reason="no")
        await client.call("made-up-name")
        await client.request("prompts/get", name="review", arguments={"code": "x"})
        await client.request("tools/list")
        await client.request("ping")
        found = await scrape(live)
    assert value(found, "ssemcp_mcp_requests_total", method="tools/call", name="echo") == 3
    # Answered by the session itself, with no handler: counted all the same.
    assert value(found, "ssemcp_mcp_requests_total", method="initialize", name="") == 1
    assert value(found, "ssemcp_mcp_requests_total", method="ping", name="") == 1
    assert value(found, "ssemcp_mcp_requests_total", method="tools/call", name="fail") == 1
    # A name the server does not have is no label: a client cannot mint time series.
    assert value(found, "ssemcp_mcp_requests_total", method="tools/call", name="") == 1
    assert value(found, "ssemcp_mcp_requests_total", method="prompts/get", name="review") == 1
    assert value(found, "ssemcp_mcp_requests_total", method="tools/list", name="") == 1
    assert (
        value(found, "ssemcp_mcp_errors_total", method="tools/call", name="fail", kind="tool_error")
        == 1
    )
    assert value(found, "ssemcp_mcp_errors_total", method="tools/call", name="", kind="error") == 1
    assert (
        "ssemcp_mcp_errors_total",
        frozenset({("method", "tools/call"), ("name", "echo"), ("kind", "error")}),
    ) not in found
    histogram = "ssemcp_mcp_request_duration_seconds"
    assert value(found, histogram + "_count", method="tools/call", name="echo") == 3
    assert value(found, histogram + "_bucket", method="tools/call", name="echo", le="+Inf") == 3
    assert 0 < value(found, histogram + "_sum", method="tools/call", name="echo") < 10
    buckets = sorted(
        (float(dict(labels)["le"]), count)
        for (name, labels), count in found.items()
        if name == histogram + "_bucket" and ("name", "echo") in labels
    )
    assert len(buckets) == 16  # 15 bounds and +Inf
    counts = [count for _bound, count in buckets]
    assert counts == sorted(counts)  # cumulative


async def test_a_2026_request_is_counted_too() -> None:
    body, headers = modern_call("echo", text="hi")
    async with live_server(build_server(), observe=METRICS_ONLY) as live, live.client() as http:
        assert (await http.post("/mcp", json=body, headers=headers)).status_code == 200
        found = await scrape(live)
    assert value(found, "ssemcp_mcp_requests_total", method="tools/call", name="echo") == 1


async def test_live_sessions_and_streams_by_transport() -> None:
    server = build_server()
    async with live_server(server, observe=METRICS_ONLY) as live, live.client() as http:
        sessions = [MCPClient(http) for _ in range(2)]
        for client in sessions:
            await client.initialize()
        listen_body, listen_headers = modern_call("echo")
        listen_body["method"] = "subscriptions/listen"
        listen_body["params"] = {
            "_meta": listen_body["params"]["_meta"],
            "notifications": {"toolsListChanged": True},
        }
        listen_headers["mcp-method"] = "subscriptions/listen"
        del listen_headers["mcp-name"]
        async with (
            http.stream(
                "GET", "/mcp", headers=sessions[0].headers(accept="text/event-stream")
            ) as get_stream,
            http.stream("GET", "/sse") as legacy_stream,
            http.stream("POST", "/mcp", json=listen_body, headers=listen_headers) as listen_stream,
        ):
            assert get_stream.status_code == legacy_stream.status_code == 200
            assert listen_stream.status_code == 200

            async def all_open() -> bool:
                found = await scrape(live)
                return (
                    value(found, "ssemcp_streams", kind="get") == 1
                    and value(found, "ssemcp_streams", kind="sse") == 1
                    and value(found, "ssemcp_streams", kind="listen") == 1
                )

            await wait_until(all_open, message="the three streams were not counted")
            found = await scrape(live)
            assert value(found, "ssemcp_sessions", transport="streamable_http") == 2
            assert value(found, "ssemcp_sessions", transport="sse") == 1
        for client in sessions:
            await http.delete("/mcp", headers=client.headers())

        async def all_closed() -> bool:
            found = await scrape(live)
            return (
                value(found, "ssemcp_sessions", transport="streamable_http") == 0
                and value(found, "ssemcp_sessions", transport="sse") == 0
                and value(found, "ssemcp_streams", kind="listen") == 0
            )

        await wait_until(all_closed, message="closed sessions and streams still counted")


async def test_event_log_sizes_after_an_sse_reply() -> None:
    server = build_server()

    @server.tool()
    async def chatty(ctx: Context) -> str:
        await ctx.info("working")
        return "done"

    async with live_server(server, observe=METRICS_ONLY) as live, live.client() as http:
        client = MCPClient(http)
        await client.initialize()
        before = await scrape(live)
        assert value(before, "ssemcp_event_log_events") == 0
        response = await client.call("chatty")
        assert response.headers["content-type"].startswith("text/event-stream")
        found = await scrape(live)
    assert value(found, "ssemcp_event_logs") == 1
    assert value(found, "ssemcp_event_log_events") >= 2  # the log message and the result
    assert value(found, "ssemcp_event_log_bytes") > 0


def _upstream_server(transport: httpx.MockTransport) -> tuple[Server, UpstreamClient]:
    server = Server("upstream-test")
    client = UpstreamClient(
        "the test API",
        "http://upstream.invalid",
        transport=transport,
        cache=TTLCache(),
        retry=RetryPolicy(max_attempts=1),
        breaker=CircuitBreaker(failure_threshold=1, cooldown_seconds=60),
    )
    server.add_cleanup(client.aclose)

    @server.tool()
    async def fetch(path: str) -> str:
        """GET a path of the upstream."""
        try:
            return str(await client.get_json(path, ttl_seconds=60))
        except UpstreamError as exc:
            return f"error: {exc}"

    return server, client


async def test_upstream_calls_cache_hits_and_breaker_state() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/missing":
            return httpx.Response(404)
        if request.url.path == "/down":
            return httpx.Response(503)
        return httpx.Response(200, json={"ok": True})

    server, _client = _upstream_server(httpx.MockTransport(answer))
    async with live_server(server, observe=METRICS_ONLY) as live, live.client() as http:
        client = MCPClient(http)
        await client.initialize()
        first = await scrape(live)
        assert (
            value(first, "ssemcp_upstream_breaker_state", api="the test API", state="closed") == 1
        )
        await client.call("fetch", path="/item")
        await client.call("fetch", path="/item")  # from the cache
        await client.call("fetch", path="/missing")
        await client.call("fetch", path="/down")  # fails: the breaker opens (threshold 1)
        await client.call("fetch", path="/other")  # refused by the open breaker
        found = await scrape(live)
    api = "the test API"
    assert value(found, "ssemcp_upstream_requests_total", api=api, outcome="ok") == 1
    assert value(found, "ssemcp_upstream_requests_total", api=api, outcome="not_found") == 1
    assert value(found, "ssemcp_upstream_requests_total", api=api, outcome="failed") == 1
    assert value(found, "ssemcp_upstream_requests_total", api=api, outcome="breaker_open") == 1
    assert value(found, "ssemcp_upstream_cache_hits_total", api=api) == 1
    assert value(found, "ssemcp_upstream_cache_misses_total", api=api) == 4
    assert value(found, "ssemcp_upstream_breaker_state", api=api, state="open") == 1
    assert value(found, "ssemcp_upstream_breaker_state", api=api, state="closed") == 0


def test_upstream_clients_are_found_through_the_servers_cleanups() -> None:
    from ssemcp.toolsets import build_server as build_toolsets

    server = build_toolsets(("hackernews", "weather"), {})
    names = sorted(client.name for client in upstream_clients(server))
    assert len(names) >= 3, names  # HN's two APIs, and weather's
    assert upstream_clients(Server("bare")) == []


async def test_metrics_need_the_token_unless_public() -> None:
    async with live_server(build_server(), observe=METRICS_ONLY, tokens=[TOKEN]) as live:
        async with live.client() as anonymous:
            refused = await anonymous.get("/metrics")
            assert refused.status_code == 401
            assert "www-authenticate" in refused.headers
            wrong = await anonymous.get("/metrics", headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401
        await scrape(live, **AUTH)
    public = ObserveSettings(access_log=False, metrics_public=True)
    async with live_server(build_server(), observe=public, tokens=[TOKEN]) as live:
        await scrape(live)
        async with live.client() as anonymous:
            # /mcp itself still needs the token.
            assert (
                await anonymous.post("/mcp", json={}, headers={"accept": ACCEPT})
            ).status_code == 401
            # ... and /metrics still passes the Host check.
            assert (
                await anonymous.get("/metrics", headers={"host": "evil.example"})
            ).status_code == 421


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_metrics_answer_other_methods_405_with_allow(method: str) -> None:
    async with live_server(build_server(), observe=METRICS_ONLY) as live, live.client() as http:
        response = await http.request(method, "/metrics")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_metrics_answer_head_without_a_body() -> None:
    async with live_server(build_server(), observe=METRICS_ONLY) as live, live.client() as http:
        response = await http.head("/metrics")
    assert response.status_code == 200
    assert response.content == b""


async def test_without_metrics_the_path_is_not_found() -> None:
    settings = ObserveSettings(metrics=False)
    async with live_server(build_server(), observe=settings) as live, live.client() as http:
        assert (await http.get("/metrics")).status_code == 404
    async with live_server(build_server()) as live, live.client() as http:
        assert (await http.get("/metrics")).status_code == 404


async def test_two_apps_in_one_process_count_their_own() -> None:
    async with (
        live_server(build_server(), observe=METRICS_ONLY) as first,
        live_server(build_server(), observe=METRICS_ONLY) as second,
        first.client() as http_first,
        second.client() as http_second,
    ):
        a, b = MCPClient(http_first), MCPClient(http_second)
        await a.initialize()
        await b.initialize()
        await asyncio.gather(
            *(a.call("echo", text="a") for _ in range(2)), b.call("echo", text="b")
        )
        found_first, found_second = await scrape(first), await scrape(second)
    assert value(found_first, "ssemcp_mcp_requests_total", method="tools/call", name="echo") == 2
    assert value(found_second, "ssemcp_mcp_requests_total", method="tools/call", name="echo") == 1


async def test_process_metrics_come_with_them() -> None:
    async with live_server(build_server(), observe=METRICS_ONLY) as live:
        found = await scrape(live)
    assert any(name == "process_resident_memory_bytes" for name, _labels in found)


def test_live_counts_reads_fields_that_exist() -> None:
    # The private fields live_counts reads, on a fresh app: a rename fails here.
    app = create_app(build_server(), observe=METRICS_ONLY)
    transport: Any = app.transport
    assert isinstance(transport._sessions, dict)
    assert isinstance(transport._listens, set)
    counts = live_counts(app)
    assert counts.streamable_sessions == counts.get_streams == counts.listen_streams == 0
    from ssemcp.transports import streamable

    assert {"_standalone", "_event_log"} <= set(streamable._Session.__slots__)
    assert "reader" in streamable._Stream.__slots__


def test_call_stats_buckets_a_duration_equal_to_a_bound_into_that_bound() -> None:
    stats = CallStats((0.1, 1.0))
    stats.record("tools/call", "echo", OK, 0.1)
    stats.record("tools/call", "echo", ERROR, 1.5)
    stats.record("tools/call", "echo", CANCELLED, 0.5)
    [(method, name, counters)] = list(stats)
    assert (method, name, counters.count) == ("tools/call", "echo", 3)
    assert counters.buckets == [1, 1, 1]
    assert counters.errors == {"error": 1, "cancelled": 1}


@pytest.mark.parametrize("buckets", [(), (1.0, 0.5), (0.5, 0.5)])
def test_call_stats_refuse_bad_buckets(buckets: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="ascending"):
        CallStats(buckets)


def test_importing_ssemcp_the_cli_and_stdio_does_not_load_prometheus_client() -> None:
    code = (
        "import sys, ssemcp, ssemcp.cli, ssemcp.transports.stdio, ssemcp.http;"
        "print('prometheus_client' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_call_stats_fold_when_a_list_is_full_and_when_read() -> None:
    stats = CallStats((1.0,))
    for _ in range(MAX_PENDING - 1):
        stats.record("tools/list", "", OK, 0.5)
    assert stats.pending[("tools/list", "")] != []  # not folded yet
    stats.record("tools/list", "", OK, 2.0)
    assert stats.pending[("tools/list", "")] == []  # folded at MAX_PENDING
    stats.record("tools/list", "", OK, 0.5)
    [(_method, _name, counters)] = list(stats)  # reading folds the rest
    assert counters.count == MAX_PENDING + 1
    assert counters.buckets == [MAX_PENDING, 1]
    assert counters.sum_seconds == pytest.approx(0.5 * MAX_PENDING + 2.0)


def test_a_watcher_set_in_the_serving_context_is_found_without_a_set_per_request() -> None:
    app = create_app(build_server(), observe=METRICS_ONLY)
    observer = app.observer
    assert observer is not None

    def in_a_fresh_context() -> None:
        observer.watch_this_context()
        watcher = WATCHER.get()
        assert watcher is not None
        # A request task copies this context: begin() finds the watcher and sets nothing.
        request_context = contextvars.copy_context()
        assert request_context.run(observer.begin, {}, None) is None  # type: ignore[arg-type]
        assert request_context[WATCHER] is watcher

    contextvars.copy_context().run(in_a_fresh_context)
    assert WATCHER.get() is None


async def test_http_responses_by_route_and_status_code(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize()  # 200, then 202 for notifications/initialized
        assert (await client.call("echo", text="hi")).status_code == 200
        assert (await http.post("/mcp", json={}, headers={"accept": ACCEPT})).status_code == 400
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/nowhere/at/all")).status_code == 404
        assert (await http.get("/elsewhere")).status_code == 404
        assert (await http.post("/messages/", content=b"{}")).status_code == 400
        async with http.stream("GET", "/sse") as stream:
            assert stream.status_code == 200
        await scrape(live)
        found = await scrape(live)

    def responses(route: str, code: int) -> float:
        return value(found, "ssemcp_http_responses_total", route=route, code=str(code))

    assert responses("/mcp", 200) == 2
    assert responses("/mcp", 202) == 1
    assert responses("/mcp", 400) == 1
    assert responses("/healthz", 200) == 1
    assert responses("other", 404) == 2  # any path not served: one route, not a series each
    assert responses("/messages/", 400) == 1
    assert responses("/sse", 200) == 1
    assert responses("/metrics", 200) == 1  # the first scrape (the second is counted later)


async def test_without_an_access_log_responses_are_not_counted() -> None:
    # What counting them would cost every request is over #18's 3 % (ssemcp.observe.statuses).
    async with live_server(build_server(), observe=METRICS_ONLY) as live:
        found = await scrape(live)
    assert not [key for key in found if key[0] == "ssemcp_http_responses_total"]
