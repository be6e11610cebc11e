"""The access log over a real uvicorn on 127.0.0.1: each field of a line, in text and JSON;
no token, session id or argument value where it must not be; ``log_arguments``; off; and
when each kind of exchange writes its line."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from live_server import live_server, wait_until
from observe_support import (
    ACCEPT,
    SECRET_ARGUMENT,
    TOKEN,
    AccessRecords,
    MCPClient,
    access_records,
    build_server,
    modern_call,
)

from ssemcp import Context
from ssemcp.observe import ObserveSettings
from ssemcp.observe.access_log import AccessLine, JSONFormatter

AUTH = {"authorization": f"Bearer {TOKEN}"}


async def _served_call(records: AccessRecords, **app_options: Any) -> dict[str, Any]:
    """One tools/call of echo over a session; its line."""
    app_options.setdefault("observe", ObserveSettings())
    async with live_server(build_server(), **app_options) as live, live.client() as http:
        client = MCPClient(http)
        await client.initialize()
        response = await client.call("echo", text="hi")
        assert response.status_code == 200
    [line] = records.of(rpc="tools/call")
    return line


async def test_a_call_line_has_every_field_in_text(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        session_id = await client.initialize()
        response = await client.call("echo", text="hi")
        assert response.status_code == 200
    [line] = records.of(rpc="tools/call")
    assert line["kind"] == "http"
    assert line["peer"] == "127.0.0.1"
    assert line["method"] == "POST"
    assert line["path"] == "/mcp"
    assert line["status"] == 200
    assert line["bytes"] == len(response.content)
    assert line["duration_ms"] >= 0
    # Only the start of the session id: it is a bearer of the session.
    assert line["session"] == session_id[:6] + "…"
    assert session_id not in records.texts()[-1]
    assert line["tool"] == "echo"
    assert line["id"] == 2
    assert line["outcome"] == "ok"
    assert line["principal"] is None  # no authorization configured


async def test_a_call_line_in_json_has_the_same_fields_with_their_types(
    records: AccessRecords,
) -> None:
    await _served_call(records)
    [entry] = [entry for entry in records.jsons() if entry.get("rpc") == "tools/call"]
    assert entry["logger"] == "ssemcp.access"
    assert entry["level"] == "INFO"
    assert entry["time"].endswith("+00:00")
    assert entry["kind"] == "http"
    assert entry["peer"] == "127.0.0.1"
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/mcp", 200)
    assert type(entry["bytes"]) is int
    assert type(entry["duration_ms"]) is float
    assert (entry["tool"], entry["id"], entry["outcome"]) == ("echo", 2, "ok")
    assert entry["session"].endswith("…")
    assert "message" not in entry


async def test_the_principal_is_the_tokens_subject_and_the_token_never_appears(
    records: AccessRecords,
) -> None:
    async with live_server(build_server(), observe=ObserveSettings(), tokens=[TOKEN]) as live:
        async with live.client(headers=AUTH) as http:
            client = MCPClient(http)
            await client.initialize()
            await client.call("login", user="ada", password=SECRET_ARGUMENT)
        async with live.client() as anonymous:
            # A credential in the query string is refused (ssemcp.auth.gate), and logged.
            assert (await anonymous.get("/mcp?access_token=" + TOKEN)).status_code == 400
    [line] = records.of(rpc="tools/call")
    assert line["principal"] and line["principal"] != TOKEN
    everything = "\n".join(records.texts()) + "\n".join(map(str, records.jsons()))
    assert TOKEN not in everything
    assert SECRET_ARGUMENT not in everything
    assert "ada" not in everything  # no argument value without log_arguments
    assert "arguments" not in line
    # The refused request's line: its status, but not its query string.
    [refused_line] = records.of(status=400)
    assert refused_line["path"] == "/mcp"


async def test_log_arguments_adds_the_arguments_as_json(records: AccessRecords) -> None:
    line = await _served_call(records, observe=ObserveSettings(log_arguments=True))
    assert line["arguments"] == '{"text":"hi"}'


async def test_long_arguments_are_cut(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings(log_arguments=True)) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize()
        await client.call("echo", text="x" * 5000)
    [line] = records.of(rpc="tools/call")
    assert len(line["arguments"]) == 1000
    assert line["arguments"].endswith("…")


async def test_no_access_log_writes_nothing(records: AccessRecords) -> None:
    await _noisy_traffic(ObserveSettings(access_log=False))
    assert records.records == []


async def test_a_logger_above_info_writes_nothing() -> None:
    with access_records(level=logging.WARNING) as records:
        await _noisy_traffic(ObserveSettings())
    assert records.records == []


async def _noisy_traffic(settings: ObserveSettings) -> None:
    async with live_server(build_server(), observe=settings) as live, live.client() as http:
        client = MCPClient(http)
        await client.initialize()
        await client.call("echo", text="hi")
        await http.get("/healthz")


async def test_peer_is_the_forwarded_client_only_behind_a_trusted_proxy(
    records: AccessRecords,
) -> None:
    forwarded = {"x-forwarded-for": "203.0.113.9"}
    for proxies in ((), ("127.0.0.1",)):
        async with (
            live_server(build_server(), observe=ObserveSettings(), trusted_proxies=proxies) as live,
            live.client(headers=forwarded) as http,
        ):
            await http.get("/healthz")
    untrusted, trusted = records.of(path="/healthz")
    assert untrusted["peer"] == "127.0.0.1"
    assert trusted["peer"] == "203.0.113.9"


async def test_outcomes_of_a_tool_error_an_unknown_tool_and_bad_params(
    records: AccessRecords,
) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize()
        await client.call("fail", reason="no")
        await client.call("missing")
        await client.request("resources/read", uri="nowhere://x")
    hello, tool_error, unknown, missing_resource = [
        line for line in records.lines() if "rpc" in line
    ]
    assert (hello["rpc"], hello["outcome"]) == ("initialize", "ok")
    assert (tool_error["tool"], tool_error["outcome"]) == ("fail", "tool_error")
    assert "code" not in tool_error
    assert (unknown["tool"], unknown["outcome"], unknown["code"]) == ("missing", "error", -32602)
    assert missing_resource["resource"] == "nowhere://x"
    assert (missing_resource["outcome"], missing_resource["code"]) == ("error", -32002)


async def test_resource_and_prompt_names(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize()
        await client.request("resources/read", uri="notes://setup")
        await client.request("prompts/get", name="review", arguments={"code": "x=1"})
        await client.request("tools/list")
    [read] = records.of(rpc="resources/read")
    assert (read["resource"], read["outcome"]) == ("notes://setup", "ok")
    [prompt] = records.of(rpc="prompts/get")
    assert (prompt["prompt"], prompt["outcome"]) == ("review", "ok")
    assert "arguments" not in prompt
    [listed] = records.of(rpc="tools/list")
    assert "tool" not in listed


async def test_a_name_with_a_newline_stays_on_its_line(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize()
        await client.call('evil\nkind=http status=200 "x')
    [text] = [text for text in records.texts() if "rpc=tools/call" in text]
    assert "\n" not in text
    [line] = records.of(rpc="tools/call")
    assert line["tool"] == 'evil\nkind=http status=200 "x'
    assert line["status"] == 200 and line["kind"] == "http"


async def test_a_batch_gets_its_line_and_one_line_per_request(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize("2025-03-26")  # the last revision with batches
        batch = [
            {
                "jsonrpc": "2.0",
                "id": 10,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "a"}},
            },
            {"jsonrpc": "2.0", "id": 11, "method": "tools/list"},
        ]
        response = await http.post("/mcp", json=batch, headers=client.headers())
        assert response.status_code == 200
    batch_line = records.lines()[-3]
    assert batch_line["kind"] == "http" and "rpc" not in batch_line
    assert batch_line["bytes"] == len(response.content)
    calls = records.of(kind="mcp")
    assert sorted(line["id"] for line in calls) == [10, 11]
    for line in calls:
        assert line["transport"] == "http"
        assert line["session"] == batch_line["session"]
        assert line["peer"] == "127.0.0.1"
        assert line["duration_ms"] >= 0


async def test_an_sse_reply_logs_when_it_completes(records: AccessRecords) -> None:
    server = build_server()

    @server.tool()
    async def chatty(ctx: Context) -> str:
        await ctx.info("working")
        return "done"

    async with live_server(server, observe=ObserveSettings()) as live, live.client() as http:
        client = MCPClient(http)
        await client.initialize()
        response = await client.call("chatty")
        assert response.headers["content-type"].startswith("text/event-stream")
    [line] = records.of(rpc="tools/call")
    assert line["status"] == 200
    assert line["bytes"] == len(response.content)


async def test_a_get_stream_logs_when_it_ends(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        client = MCPClient(http)
        await client.initialize()
        async with http.stream(
            "GET", "/mcp", headers=client.headers(accept="text/event-stream")
        ) as stream:
            assert stream.status_code == 200
            await asyncio.sleep(0)
            assert records.of(method="GET") == []  # still open: no line yet
            deleted = await http.delete("/mcp", headers=client.headers())
            assert deleted.status_code == 204
            await stream.aread()
        await wait_until(lambda: records.of(method="GET") != [])
    [line] = records.of(method="GET")
    assert line["status"] == 200 and line["path"] == "/mcp"
    assert line["session"] == client.session_id[:6] + "…"  # type: ignore[index]


async def test_a_legacy_post_line_names_its_session_but_not_the_query(
    records: AccessRecords,
) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
        http.stream("GET", "/sse") as stream,
    ):
        lines = stream.aiter_lines()
        endpoint = ""
        async for text in lines:
            if text.startswith("data: "):
                endpoint = text.removeprefix("data: ")
                break
        session_id = endpoint.partition("session_id=")[2]
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2024-11-05",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        assert (await http.post(endpoint, json=initialize)).status_code == 202
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hi"}},
        }
        assert (await http.post(endpoint, json=call)).status_code == 202
        await wait_until(lambda: records.of(rpc="tools/call") != [])
    [line] = records.of(rpc="tools/call")
    assert line["path"] == "/messages/"
    assert line["status"] == 202
    assert line["session"] == session_id[:6] + "…"
    assert session_id not in "\n".join(records.texts())
    [stream_line] = records.of(method="GET", path="/sse")
    assert stream_line["status"] == 200


async def test_a_2026_request_line_has_no_session(records: AccessRecords) -> None:
    body, headers = modern_call("echo", request_id="r-1", text="hi")
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        response = await http.post("/mcp", json=body, headers=headers)
        assert response.status_code == 200
    [line] = records.of(rpc="tools/call")
    assert (line["id"], line["tool"], line["outcome"], line["session"]) == (
        "r-1",
        "echo",
        "ok",
        None,
    )


async def test_refused_requests_are_logged_with_their_status(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        assert (await http.get("/nowhere")).status_code == 404
        assert (await http.get("/mcp", headers={"host": "evil.example"})).status_code == 421
        body = {"content-type": "application/json", "accept": ACCEPT}
        assert (await http.post("/mcp", content=b"{", headers=body)).status_code == 400
    statuses = sorted(line["status"] for line in records.lines())
    assert statuses == [400, 404, 421]


def test_text_form_quotes_what_is_not_bare() -> None:
    line = AccessLine({"a": "plain/value-1.2", "b": "two words", "c": None, "d": 7, "e": 'q"'})
    assert str(line) == 'a=plain/value-1.2 b="two words" c=- d=7 e="q\\""'


def test_json_formatter_writes_plain_records_with_a_message() -> None:
    record = logging.LogRecord("ssemcp.x", logging.WARNING, __file__, 1, "n=%d", (3,), None)
    entry = JSONFormatter().format(record)
    assert '"message":"n=3"' in entry and '"level":"WARNING"' in entry


@pytest.mark.parametrize("settings", [ObserveSettings(access_log=False, metrics=False)])
async def test_an_app_that_observes_nothing_has_no_observer(settings: ObserveSettings) -> None:
    async with live_server(build_server(), observe=settings) as live, live.client() as http:
        assert live.app.observer is None
        assert (await http.get("/metrics")).status_code == 404


async def test_two_apps_in_one_process_log_their_own_requests(records: AccessRecords) -> None:
    async with (
        live_server(build_server(), observe=ObserveSettings()) as first,
        live_server(build_server()) as second,
        first.client() as http_first,
        second.client() as http_second,
    ):
        a, b = MCPClient(http_first), MCPClient(http_second)
        await a.initialize()
        await b.initialize()
        await asyncio.gather(a.call("echo", text="1"), b.call("echo", text="2"))
    assert len(records.of(rpc="tools/call")) == 1
    assert all(line.get("status") is not None for line in records.lines())
    assert httpx  # (the second app observes nothing: its requests leave no line)


async def test_a_listen_stream_logs_when_it_ends(records: AccessRecords) -> None:
    body, headers = modern_call("echo")
    body["method"] = "subscriptions/listen"
    body["params"] = {"_meta": body["params"]["_meta"], "notifications": {"toolsListChanged": True}}
    headers["mcp-method"] = "subscriptions/listen"
    del headers["mcp-name"]
    async with (
        live_server(build_server(), observe=ObserveSettings()) as live,
        live.client() as http,
    ):
        async with http.stream("POST", "/mcp", json=body, headers=headers) as stream:
            assert stream.status_code == 200
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    break  # the acknowledgement: the stream is open
            assert records.lines() == []
        await wait_until(lambda: records.lines() != [], message="no line when the stream ended")
    [line] = records.lines()
    assert (line["method"], line["path"], line["status"]) == ("POST", "/mcp", 200)
    assert line["bytes"] > 0
