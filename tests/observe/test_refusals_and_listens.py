"""Requests refused before any handler, and ``subscriptions/listen`` streams, over a real
uvicorn on 127.0.0.1: each gets its access line (with its code, or how the stream ended and
how many notifications it carried) and its count in ``/metrics``, exactly once; on
Streamable HTTP and the legacy HTTP+SSE transport."""

from __future__ import annotations

import copy
import json
from typing import Any, Final

import pytest
from live_server import live_server, wait_until
from observe_support import ACCEPT, MODERN, AccessRecords, MCPClient, build_server, modern_call
from test_metrics import METRICS_ONLY, scrape, value

from ssemcp.observe import ObserveSettings

MODERN_META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}


def _modern(method: str, params: dict[str, Any] | None = None) -> tuple[Any, dict[str, str]]:
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": method,
        "params": {"_meta": MODERN_META, **(params or {})},
    }
    headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method}
    return body, headers


def _wrong_meta() -> tuple[Any, dict[str, str]]:
    body, headers = modern_call("echo", text="hi")
    body["params"]["_meta"] = {"io.modelcontextprotocol/protocolVersion": 7}
    return body, headers


def _mismatched_name() -> tuple[Any, dict[str, str]]:
    body, headers = modern_call("echo", text="hi")
    headers["mcp-name"] = "fail"
    return body, headers


def _unknown_version() -> tuple[Any, dict[str, str]]:
    body, headers = modern_call("echo", text="hi")
    body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2099-01-01"
    headers["mcp-protocol-version"] = "2099-01-01"
    return body, headers


# What a 2026-07-28 client may send that is refused before any handler, and its code.
REFUSALS: Final = {
    "unknown method": (lambda: _modern("tools/frobnicate"), "tools/frobnicate", -32601),
    "removed method": (lambda: _modern("ping"), "ping", -32601),
    "invalid _meta": (_wrong_meta, "tools/call", -32602),
    "header mismatch": (_mismatched_name, "tools/call", -32020),
    "unsupported version": (_unknown_version, "tools/call", -32022),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_a_2026_request_refused_before_its_handler_is_logged_and_counted_once(
    records: AccessRecords, case: str
) -> None:
    make, method, code = REFUSALS[case]
    body, headers = make()
    settings = ObserveSettings()
    async with live_server(build_server(), observe=settings) as live, live.client() as http:
        response = await http.post("/mcp", json=body, headers=headers)
        assert response.json()["error"]["code"] == code, response.text
        found = await scrape(live)
    [line] = records.of(rpc=method)
    assert (line["kind"], line["status"], line["outcome"], line["code"], line["id"]) == (
        "http",
        response.status_code,
        "error",
        code,
        body["id"],
    )
    name = "echo" if method == "tools/call" else ""  # the server's own tool: a label
    assert value(found, "ssemcp_mcp_requests_total", method=method, name=name) == 1
    assert value(found, "ssemcp_mcp_errors_total", method=method, name=name, kind="error") == 1


async def test_a_2026_error_from_a_handler_is_not_counted_twice(records: AccessRecords) -> None:
    body, headers = modern_call("missing")
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        response = await http.post("/mcp", json=body, headers=headers)
        assert response.json()["error"]["code"] == -32602
        found = await scrape(live)
    assert len(records.of(rpc="tools/call")) == 1
    assert value(found, "ssemcp_mcp_requests_total", method="tools/call", name="") == 1


async def test_a_2026_request_to_a_server_without_them_is_refused_with_its_line(
    records: AccessRecords,
) -> None:
    body, headers = modern_call("echo", text="hi")
    async with (
        live_server(build_server(), observe=ObserveSettings(), sessionless=False) as live,
        live.client() as http,
    ):
        response = await http.post("/mcp", json=body, headers=headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == -32022
    [line] = records.of(rpc="tools/call")
    assert (line["outcome"], line["code"], line["tool"]) == ("error", -32022, "echo")


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"{not json", -32700), (b'{"jsonrpc": "2.0", "id": 3}', -32600)],
    ids=["not JSON", "not a message"],
)
@pytest.mark.parametrize("transport", ["streamable", "legacy"])
async def test_input_that_is_no_request_is_logged_and_counted_with_its_code(
    records: AccessRecords, body: bytes, code: int, transport: str
) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        if transport == "streamable":
            client = MCPClient(http)
            await client.initialize()
            response = await http.post(
                "/mcp",
                content=body,
                headers=client.headers(**{"content-type": "application/json"}),
            )
        else:
            async with http.stream("GET", "/sse") as stream:
                endpoint = ""
                async for text in stream.aiter_lines():
                    if text.startswith("data: "):
                        endpoint = text.removeprefix("data: ")
                        break
                response = await http.post(
                    endpoint, content=body, headers={"content-type": "application/json"}
                )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == code
        found = await scrape(live)
    [line] = [line for line in records.lines() if line.get("code") == code]
    assert (line["kind"], line["status"], line["rpc"], line["outcome"]) == (
        "http",
        400,
        None,
        "error",
    )
    assert value(found, "ssemcp_mcp_errors_total", method="", name="", kind="error") == 1


def _listen_request(request_id: int = 9) -> tuple[Any, dict[str, str]]:
    body, headers = _modern("subscriptions/listen", {"notifications": {"toolsListChanged": True}})
    body["id"] = request_id
    return body, headers


async def test_a_listen_gets_its_line_when_it_ends_with_its_notifications(
    records: AccessRecords,
) -> None:
    server = build_server()
    body, headers = _listen_request()
    async with live_server(server, observe=ObserveSettings()) as live, live.client() as http:
        async with http.stream("POST", "/mcp", json=body, headers=headers) as stream:
            assert stream.status_code == 200
            events = stream.aiter_lines()
            seen: list[Any] = []

            async def read_event() -> Any:
                async for text in events:
                    if text.startswith("data: "):
                        return json.loads(text.removeprefix("data: "))
                raise AssertionError("the stream ended")

            seen.append(await read_event())  # the acknowledgement
            assert not records.of(rpc="subscriptions/listen")  # one line, at its end
            server.remove_tool("login")
            server.remove_tool("fail")
            seen.append(await read_event())
            seen.append(await read_event())
            assert [event["method"] for event in seen[1:]] == [
                "notifications/tools/list_changed"
            ] * 2

        async def logged() -> bool:
            return bool(records.of(rpc="subscriptions/listen"))

        await wait_until(logged, message="the listen's line was not written")
        found = await scrape(live)
    [line] = records.of(rpc="subscriptions/listen")
    assert (line["kind"], line["method"], line["status"], line["id"]) == ("http", "POST", 200, 9)
    assert (line["outcome"], line["notifications"]) == ("ok", 2)
    assert line["duration_ms"] > 0
    assert value(found, "ssemcp_mcp_requests_total", method="subscriptions/listen", name="") == 1


async def test_a_listen_refused_at_its_opening_is_logged_with_its_code(
    records: AccessRecords,
) -> None:
    body, headers = _listen_request()
    body = copy.deepcopy(body)
    body["params"]["_meta"] = {"io.modelcontextprotocol/protocolVersion": 7}
    async with live_server(build_server(), observe=METRICS_ONLY) as live, live.client() as http:
        response = await http.post("/mcp", json=body, headers=headers)
        assert response.json()["error"]["code"] == -32602
        found = await scrape(live)
    assert (
        value(
            found,
            "ssemcp_mcp_errors_total",
            method="subscriptions/listen",
            name="",
            kind="error",
        )
        == 1
    )
    assert not records.records  # metrics only: no line


async def test_each_invalid_item_of_a_2025_03_26_batch_gets_its_line_and_count(
    records: AccessRecords,
) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize("2025-03-26")  # the one revision with batches
        batch = [
            {"jsonrpc": "2.0", "id": 20, "method": "ping"},
            {"jsonrpc": "2.0", "id": 21},  # no method: not a request
            {"jsonrpc": "2.0", "id": 22, "method": 5},
        ]
        response = await http.post(
            "/mcp", json=batch, headers=client.headers(**{"content-type": "application/json"})
        )
        assert response.status_code == 200
        replies = {reply["id"]: reply for reply in response.json()}
        assert replies[20]["result"] == {}
        assert replies[21]["error"]["code"] == replies[22]["error"]["code"] == -32600
        found = await scrape(live)
    assert len(records.of(rpc="ping", outcome="ok")) == 1
    refused = [line for line in records.lines() if line.get("code") == -32600]
    assert len(refused) == 2
    assert all(line["outcome"] == "error" for line in refused)
    assert value(found, "ssemcp_mcp_errors_total", method="", name="", kind="error") == 2
