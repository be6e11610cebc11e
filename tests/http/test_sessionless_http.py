"""MCP 2026-07-28 on ``/mcp``, chosen per request beside 2025 sessions, over a real uvicorn on
127.0.0.1: statuses, JSON-RPC codes and ``data``, what a result carries, when a reply becomes a
stream, and that no session is made or needed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

import httpx
import pytest
from live_server import INITIALIZE, live_server
from pydantic import Field

from ssemcp import CacheHint, Context, Server

MODERN: Final = "2026-07-28"
META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "wire-test", "version": "1"},
}
ACCEPT: Final = "application/json, text/event-stream"


def build_server() -> Server:
    server = Server("sessionless-test", "1.0.0", instructions="Say hello.")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def chatty(ctx: Context) -> str:
        """Report progress and log, then answer."""
        await ctx.report_progress(1, 2)
        await ctx.info("halfway")
        return "done"

    @server.tool()
    async def ask(ctx: Context) -> str:
        """Ask the client's model (a client that declares no sampling cannot answer)."""
        answer = await ctx.sample("hi?")
        return answer.text

    @server.tool()
    async def localized(
        region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})],
    ) -> str:
        """Answer for a region, which a gateway can route on (Mcp-Param-Region)."""
        return f"served in {region}"

    @server.tool()
    async def trace(ctx: Context) -> str:
        """The traceparent the request came with."""
        return str(ctx.traceparent)

    @server.resource("note://greeting", mime_type="text/plain")
    def greeting() -> str:
        return "hello"

    return server


class Wire:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        request_id: int | str = 1,
    ) -> httpx.Response:
        body_params = {"_meta": {**META, **(meta or {})}, **(params or {})}
        sent_headers = {
            "accept": ACCEPT,
            "mcp-protocol-version": MODERN,
            "mcp-method": method,
        }
        name = (params or {}).get("name", (params or {}).get("uri"))
        if isinstance(name, str):
            sent_headers["mcp-name"] = name
        sent_headers.update(headers or {})
        return await self.client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": body_params},
            headers=sent_headers,
        )


@pytest.fixture
async def wire() -> AsyncIterator[Wire]:
    async with live_server(build_server()) as live, live.client() as client:
        yield Wire(client)


def events(response: httpx.Response) -> list[Any]:
    return [
        json.loads(line[len("data: ") :])
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]


async def test_discover_answers_with_versions_capabilities_and_server_info(wire: Wire) -> None:
    response = await wire.post("server/discover")
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers
    result = response.json()["result"]
    assert result["supportedVersions"][0] == MODERN
    assert "2025-11-25" in result["supportedVersions"]
    assert set(result["capabilities"]) >= {"tools", "resources", "prompts"}
    assert result["instructions"] == "Say hello."
    assert result["resultType"] == "complete"
    assert result["ttlMs"] == 0
    assert result["cacheScope"] == "private"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "sessionless-test"


async def test_a_tool_is_called_with_no_session_and_its_result_is_complete(wire: Wire) -> None:
    response = await wire.post("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result = response.json()["result"]
    assert result["content"] == [{"type": "text", "text": "hi"}]
    assert result["resultType"] == "complete"
    assert "ttlMs" not in result  # a call is not cacheable


async def test_lists_and_reads_carry_cache_hints(wire: Wire) -> None:
    for method, params in [
        ("tools/list", {}),
        ("resources/list", {}),
        ("resources/templates/list", {}),
        ("prompts/list", {}),
        ("resources/read", {"uri": "note://greeting"}),
    ]:
        result = (await wire.post(method, params)).json()["result"]
        assert (result["resultType"], result["ttlMs"], result["cacheScope"]) == (
            "complete",
            0,
            "private",
        ), method


@pytest.mark.parametrize(
    "method",
    ["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"],
)
async def test_methods_2026_07_28_removed_get_404_method_not_found(wire: Wire, method: str) -> None:
    response = await wire.post(method, {"uri": "note://greeting"}, request_id=7)
    assert response.status_code == 404
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32601, "message": f"Method not found: {method}"},
    }


async def test_an_unknown_method_gets_404(wire: Wire) -> None:
    response = await wire.post("unknown/method")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32601


async def test_an_unsupported_version_gets_400_with_what_is_supported(wire: Wire) -> None:
    response = await wire.post(
        "tools/list",
        meta={"io.modelcontextprotocol/protocolVersion": "v999.0.0"},
        headers={"mcp-protocol-version": "v999.0.0"},
        request_id="v",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert response.json()["id"] == "v"
    assert error["code"] == -32022
    assert error["data"]["requested"] == "v999.0.0"
    assert MODERN in error["data"]["supported"]


@pytest.mark.parametrize(
    "headers",
    [
        {"mcp-method": "tools/list"},
        {"mcp-name": "other"},
    ],
    ids=["method", "name"],
)
async def test_a_header_that_disagrees_with_the_body_gets_400_header_mismatch(
    wire: Wire, headers: dict[str, str]
) -> None:
    response = await wire.post(
        "tools/call", {"name": "echo", "arguments": {"text": "x"}}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020


async def test_modern_meta_without_its_header_is_a_header_mismatch(wire: Wire) -> None:
    response = await wire.client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": META}},
        headers={"accept": ACCEPT},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020


async def test_missing_meta_fields_get_400_invalid_params(wire: Wire) -> None:
    response = await wire.client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 4, "method": "server/discover", "params": {}},
        headers={"accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": "server/discover"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


async def test_a_missing_resource_is_invalid_params_naming_the_uri(wire: Wire) -> None:
    response = await wire.post("resources/read", {"uri": "note://nothing"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["data"]) == (-32602, {"uri": "note://nothing"})


async def test_progress_and_logs_turn_the_reply_into_a_stream_only_with_a_log_level(
    wire: Wire,
) -> None:
    params = {"name": "chatty"}
    quiet = await wire.post("tools/call", params, meta={"progressToken": "p"})
    loud = await wire.post(
        "tools/call",
        params,
        meta={"progressToken": "p", "io.modelcontextprotocol/logLevel": "info"},
    )
    quiet_methods = [event.get("method") for event in events(quiet)]
    loud_methods = [event.get("method") for event in events(loud)]
    assert quiet.headers["content-type"] == "text/event-stream"
    assert quiet_methods == ["notifications/progress", None]
    assert loud_methods == ["notifications/progress", "notifications/message", None]
    assert events(loud)[-1]["result"]["resultType"] == "complete"
    # basic/transports/streamable-http: streams are not resumable, so events carry no id.
    assert "\nid:" not in loud.text and not loud.text.startswith("id:")


async def test_asking_a_client_without_the_capability_is_400_missing_capability(
    wire: Wire,
) -> None:
    async with asyncio.timeout(10):
        response = await wire.post("tools/call", {"name": "ask"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["data"]) == (-32021, {"requiredCapabilities": {"sampling": {}}})


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_get_and_delete_with_a_2026_version_get_405_allowing_post(
    wire: Wire, method: str
) -> None:
    response = await wire.client.request(
        method, "/mcp", headers={"accept": ACCEPT, "mcp-protocol-version": MODERN}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_a_session_id_on_a_2026_request_is_ignored(wire: Wire) -> None:
    response = await wire.post("tools/list", headers={"mcp-session-id": "no-such-session"})
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers


async def test_notifications_get_202_and_batches_400(wire: Wire) -> None:
    headers = {"accept": ACCEPT, "mcp-protocol-version": MODERN}
    note = await wire.client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"_meta": META}},
        headers=headers,
    )
    batch = await wire.client.post(
        "/mcp",
        json=[{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": META}}],
        headers=headers,
    )
    assert note.status_code == 202
    assert batch.status_code == 400
    assert batch.json()["error"]["code"] == -32600


async def test_a_2025_session_and_2026_requests_share_the_endpoint(wire: Wire) -> None:
    opened = await wire.client.post("/mcp", json=INITIALIZE, headers={"accept": ACCEPT})
    session_id = opened.headers["mcp-session-id"]
    modern = await wire.post("tools/call", {"name": "echo", "arguments": {"text": "new"}})
    old = await wire.client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
        headers={
            "accept": ACCEPT,
            "mcp-session-id": session_id,
            "mcp-protocol-version": "2025-11-25",
        },
    )
    assert modern.json()["result"]["content"][0]["text"] == "new"
    assert old.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}


async def test_cache_hints_come_from_the_server_the_tool_and_the_resource() -> None:
    server = Server("cache-test", "1.0.0", cache=CacheHint(60_000, "public"))

    @server.tool(cache=CacheHint(5_000, "public"))
    async def quick() -> str:
        return "q"

    @server.tool()
    async def steady() -> str:
        return "s"

    @server.resource("note://mine", cache=CacheHint(1_000, "private"))
    def mine() -> str:
        return "yours only"

    @server.resource("note://shared")
    def shared() -> str:
        return "everyone's"

    async with live_server(server) as live, live.client() as client:
        wire = Wire(client)
        discover = (await wire.post("server/discover")).json()["result"]
        tools = (await wire.post("tools/list")).json()["result"]
        resources = (await wire.post("resources/list")).json()["result"]
        read_mine = (await wire.post("resources/read", {"uri": "note://mine"})).json()["result"]
        read_shared = (await wire.post("resources/read", {"uri": "note://shared"})).json()["result"]
        prompts = (await wire.post("prompts/list")).json()["result"]

    def hint(result: dict[str, Any]) -> tuple[int, str]:
        return result["ttlMs"], result["cacheScope"]

    assert hint(discover) == (60_000, "public")
    assert hint(tools) == (5_000, "public")  # the strictest of what it lists
    assert hint(resources) == (1_000, "private")
    assert hint(read_mine) == (1_000, "private")
    assert hint(read_shared) == (60_000, "public")
    assert hint(prompts) == (60_000, "public")  # nothing listed: the server's


def test_the_strictest_hint_is_the_shortest_and_private_if_any_is() -> None:
    assert CacheHint.strictest(CacheHint(10, "public"), CacheHint(5, "public")) == CacheHint(
        5, "public"
    )
    assert CacheHint.strictest(CacheHint(10, "private"), CacheHint(50, "public")) == CacheHint(
        10, "private"
    )


async def test_a_handler_sees_the_traceparent_of_its_request(wire: Wire) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await wire.post("tools/call", {"name": "trace"}, meta={"traceparent": traceparent})
    untraced = await wire.post("tools/call", {"name": "trace"})
    assert response.json()["result"]["content"][0]["text"] == traceparent
    assert untraced.json()["result"]["content"][0]["text"] == "None"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"mcp-param-region": "eu-west"}, 200),
        ({"MCP-PARAM-REGION": "eu-west"}, 200),
        ({}, 400),
        ({"mcp-param-region": "us-east"}, 400),
    ],
    ids=["mirrors", "name in any case", "missing", "disagrees"],
)
async def test_an_x_mcp_header_argument_must_be_mirrored_in_its_header(
    wire: Wire, headers: dict[str, str], status: int
) -> None:
    response = await wire.post(
        "tools/call", {"name": "localized", "arguments": {"region": "eu-west"}}, headers=headers
    )
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["code"] == -32020
    else:
        assert response.json()["result"]["content"][0]["text"] == "served in eu-west"


async def test_the_x_mcp_header_is_published_in_the_tool_schema(wire: Wire) -> None:
    tools = (await wire.post("tools/list")).json()["result"]["tools"]
    localized = next(tool for tool in tools if tool["name"] == "localized")
    assert localized["inputSchema"]["properties"]["region"]["x-mcp-header"] == "Region"


async def test_closing_the_reply_stream_cancels_the_request() -> None:
    server = Server("cancel-test", "1.0.0")
    cancelled = asyncio.Event()

    @server.tool()
    async def long_job(ctx: Context) -> str:
        """Report progress, then work for a long time."""
        await ctx.report_progress(1, 10)
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "done"

    async with live_server(server) as live, live.client() as client:
        body = {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {"_meta": {**META, "progressToken": 1}, "name": "long_job"},
        }
        headers = {
            "accept": ACCEPT,
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
            "mcp-name": "long_job",
        }
        async with client.stream("POST", "/mcp", json=body, headers=headers) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    assert json.loads(line[6:])["method"] == "notifications/progress"
                    break
        # The stream is closed: the handler is cancelled (basic/transports/streamable-http).
        await asyncio.wait_for(cancelled.wait(), 10)


# With the app's own body deadline (its send wraps the server's) and without (as ssemcp serve
# runs it, the protocol bounding the body).
@pytest.mark.parametrize("body_timeout_seconds", [30.0, None])
async def test_closing_the_connection_before_any_reply_cancels_the_request(
    body_timeout_seconds: float | None,
) -> None:
    """A handler that emits nothing has no reply stream yet: the client gives up by closing
    its connection, and the server (its protocol, not a task per request) says so."""
    server = Server("cancel-test", "1.0.0")
    started, cancelled = asyncio.Event(), asyncio.Event()

    @server.tool()
    async def silent_job() -> str:
        """Work for a long time, saying nothing."""
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "done"

    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"_meta": META, "name": "silent_job"},
        }
    ).encode()
    async with live_server(server, body_timeout_seconds=body_timeout_seconds) as live:
        _reader, writer = await live.open_connection()
        writer.write(
            b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"accept: "
            + ACCEPT.encode()
            + b"\r\nmcp-protocol-version: "
            + MODERN.encode()
            + b"\r\nmcp-method: tools/call\r\nmcp-name: silent_job\r\n"
            b"content-length: %d\r\n\r\n" % len(body) + body
        )
        await writer.drain()
        await asyncio.wait_for(started.wait(), 10)
        writer.close()
        await writer.wait_closed()
        await asyncio.wait_for(cancelled.wait(), 10)
