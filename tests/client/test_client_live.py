"""``Client`` against a real ssemcp server on 127.0.0.1, on every revision and transport:
2026-07-28, each 2025 session revision on Streamable HTTP, and the 2024-11-05 SSE transport.
Lists (paged), calls, reads, prompts, completions, callbacks, MRTR, cancellation, timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from fixture_server import CANCELLED, STARTED, build_server
from live_server import LiveServer, live_server, wait_until
from pydantic import Field

from ssemcp import Server
from ssemcp._types import JSONObject
from ssemcp.client import Client, ClientTimeout, LogMessage, Progress, RemoteError

# (transport, protocol_version to offer, URL path, the revision expected)
WIRES = [
    pytest.param("auto", None, "/mcp", "2026-07-28", id="2026-07-28"),
    pytest.param("streamable", "2025-11-25", "/mcp", "2025-11-25", id="2025-11-25"),
    pytest.param("streamable", "2025-06-18", "/mcp", "2025-06-18", id="2025-06-18"),
    pytest.param("streamable", "2025-03-26", "/mcp", "2025-03-26", id="2025-03-26"),
    pytest.param("sse", "2024-11-05", "/sse", "2024-11-05", id="legacy-sse"),
]


@pytest.fixture
async def live() -> AsyncIterator[LiveServer]:
    async with live_server(build_server()) as running:
        yield running


def connect(
    live: LiveServer, transport: Any, version: str | None, path: str, **options: Any
) -> Client:
    return Client(
        live.url + path,
        transport=transport,
        protocol_version=version,
        timeout_seconds=10,
        **options,
    )


async def accept_name(params: JSONObject) -> JSONObject:
    return {"action": "accept", "content": {"name": "Ada"}}


async def answer_sampling(params: JSONObject) -> JSONObject:
    return {
        "role": "assistant",
        "content": {"type": "text", "text": "Paris"},
        "model": "test",
        "stopReason": "endTurn",
    }


async def two_roots() -> list[JSONObject]:
    return [{"uri": "file:///a", "name": "a"}, {"uri": "file:///b"}]


@pytest.mark.parametrize(("transport", "version", "path", "expected"), WIRES)
async def test_client_lists_calls_reads_and_gets_on_every_revision(
    live: LiveServer, transport: str, version: str | None, path: str, expected: str
) -> None:
    async with connect(live, transport, version, path) as client:
        assert client.protocol_version == expected
        assert client.server_info["name"] == "client-fixture"
        assert client.instructions == "a fixture"
        # Page size 2: every list below spans several pages.
        tools = await client.list_tools()
        assert [tool["name"] for tool in tools] == [
            "add", "echo", "fail", "steps", "greet", "ask_all", "slow",
        ]  # fmt: skip
        resources = await client.list_resources()
        assert [resource["uri"] for resource in resources] == [
            "fixture://static", "fixture://second", "fixture://third",
        ]  # fmt: skip
        templates = await client.list_resource_templates()
        assert [template["uriTemplate"] for template in templates] == ["fixture://items/{item_id}"]
        prompts = await client.list_prompts()
        assert [prompt["name"] for prompt in prompts] == ["review"]

        result = await client.call_tool("add", {"a": 2, "b": 3})
        assert result["content"] == [{"type": "text", "text": '{"result":5}'}] or result[
            "content"
        ] == [{"type": "text", "text": "5"}]
        assert not result.get("isError")
        failed = await client.call_tool("fail", {"reason": "no luck"})
        assert failed["isError"] is True
        assert failed["content"][0]["text"] == "no luck"  # type: ignore[index,call-overload]

        read = await client.read_resource("fixture://items/42")
        assert read["contents"][0]["text"] == "item 42"  # type: ignore[index,call-overload]
        prompt = await client.get_prompt("review", {"language": "python", "code": "x = 1"})
        assert prompt["messages"][0]["content"]["text"] == "Review this python: x = 1"  # type: ignore[index,call-overload]
        completion = await client.complete(
            {"type": "ref/prompt", "name": "review"}, "language", "p"
        )
        assert completion["completion"]["values"] == ["python", "perl"]  # type: ignore[index,call-overload]


@pytest.mark.parametrize(("transport", "version", "path", "expected"), WIRES)
async def test_unknown_tool_is_a_remote_error_with_its_code(
    live: LiveServer, transport: str, version: str | None, path: str, expected: str
) -> None:
    async with connect(live, transport, version, path) as client:
        with pytest.raises(RemoteError) as caught:
            await client.call_tool("no_such_tool")
        assert caught.value.code == -32602
        assert "no_such_tool" in caught.value.message


@pytest.mark.parametrize(("transport", "version", "path", "expected"), WIRES)
async def test_progress_and_log_messages_reach_their_callbacks(
    live: LiveServer, transport: str, version: str | None, path: str, expected: str
) -> None:
    logs: list[LogMessage] = []
    progress: list[Progress] = []
    async with connect(live, transport, version, path, on_log=logs.append) as client:
        result = await client.call_tool("steps", {"count": 3}, on_progress=progress.append)
    assert result["content"][0]["text"] == "3 steps"  # type: ignore[index,call-overload]
    assert [update.progress for update in progress] == [1.0, 2.0, 3.0]
    assert {update.total for update in progress} == {3.0}
    if expected != "2024-11-05":  # progress messages came with 2025-03-26
        assert [update.message for update in progress] == ["step 1", "step 2", "step 3"]
    assert [(log.level, log.data) for log in logs] == [
        ("info", "did step 1"), ("info", "did step 2"), ("info", "did step 3"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("transport", "version", "path", "expected"),
    [wire for wire in WIRES if wire.id not in ("legacy-sse", "2025-03-26")],
)
async def test_elicitation_is_answered_by_the_callback(
    live: LiveServer, transport: str, version: str | None, path: str, expected: str
) -> None:
    asked: list[JSONObject] = []

    async def on_elicitation(params: JSONObject) -> JSONObject:
        asked.append(params)
        return await accept_name(params)

    async with connect(live, transport, version, path, on_elicitation=on_elicitation) as client:
        result = await client.call_tool("greet")
    assert result["content"][0]["text"] == "hello Ada"  # type: ignore[index,call-overload]
    assert [params["message"] for params in asked] == ["Your name?"]


@pytest.mark.parametrize(("transport", "version", "path", "expected"), WIRES)
async def test_sampling_and_roots_are_answered_by_their_callbacks(
    live: LiveServer, transport: str, version: str | None, path: str, expected: str
) -> None:
    options = {"on_sampling": answer_sampling, "on_roots": two_roots}
    async with connect(live, transport, version, path, **options) as client:
        result = await client.call_tool("ask_all")
    assert result["content"][0]["text"] == "Paris 2 roots"  # type: ignore[index,call-overload]


async def test_mrtr_round_trip_retries_with_the_answers_and_the_state(live: LiveServer) -> None:
    from ssemcp.client import MessageEvent

    class Recorder:
        def __init__(self) -> None:
            self.sent: list[Any] = []

        def on_wire(self, event: object) -> None:
            if isinstance(event, MessageEvent) and event.direction == "sent":
                self.sent.append(event.message)

    recorder = Recorder()
    async with Client(
        live.mcp_url, on_elicitation=accept_name, observer=recorder, timeout_seconds=10
    ) as client:
        assert client.is_modern
        result = await client.call_tool("greet")
    assert result["content"][0]["text"] == "hello Ada"  # type: ignore[index,call-overload]
    calls = [message for message in recorder.sent if message.get("method") == "tools/call"]
    assert len(calls) == 2
    assert "inputResponses" not in calls[0]["params"]
    retry = calls[1]["params"]
    assert retry["inputResponses"] == {
        "user_name": {"action": "accept", "content": {"name": "Ada"}}
    }
    assert isinstance(retry["requestState"], str) and retry["requestState"]
    assert calls[0]["id"] != calls[1]["id"]  # basic/patterns/mrtr: the retry id "MUST" differ


async def test_without_an_elicitation_callback_the_server_gets_no_capability(
    live: LiveServer,
) -> None:
    async with Client(live.mcp_url, timeout_seconds=10) as client:
        with pytest.raises(RemoteError) as caught:
            await client.call_tool("greet")
    assert caught.value.code == -32021  # MissingRequiredClientCapability


@pytest.mark.parametrize(("transport", "version", "path", "expected"), WIRES)
async def test_cancelling_a_call_cancels_it_on_the_server(
    live: LiveServer, transport: str, version: str | None, path: str, expected: str
) -> None:
    STARTED.clear()
    CANCELLED.clear()
    async with connect(live, transport, version, path) as client:
        progress: list[Progress] = []
        call = asyncio.create_task(
            client.call_tool("slow", {"seconds": 60}, on_progress=progress.append)
        )
        await wait_until(lambda: bool(progress), message="the slow tool did not start")
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        # 2026-07-28 HTTP: the reply stream closes; elsewhere notifications/cancelled goes.
        await wait_until(lambda: bool(CANCELLED), message="the server did not cancel the call")
        assert CANCELLED == STARTED
        # The connection is still good for the next call.
        assert (await client.call_tool("echo", {"text": "still here"}))["content"][0][  # type: ignore[index]
            "text"
        ] == "still here"


async def test_a_call_past_its_timeout_raises_client_timeout_and_cancels(live: LiveServer) -> None:
    STARTED.clear()
    CANCELLED.clear()
    async with Client(live.mcp_url, transport="streamable", timeout_seconds=10) as client:
        with pytest.raises(ClientTimeout, match="tools/call"):
            await client.call_tool("slow", {"seconds": 60}, timeout_seconds=0.5)
        await wait_until(lambda: bool(CANCELLED), message="the server did not cancel the call")


async def test_two_clients_on_one_server_never_see_each_others_answers(live: LiveServer) -> None:
    async with (
        connect(live, "streamable", None, "/mcp") as first,
        connect(live, "auto", None, "/mcp") as second,
    ):
        results = await asyncio.gather(
            *(first.call_tool("add", {"a": n, "b": 0}) for n in range(10)),
            *(second.call_tool("add", {"a": n, "b": 100}) for n in range(10)),
        )
    values = [result["structuredContent"]["result"] for result in results]  # type: ignore[index,call-overload]
    assert values == list(range(10)) + list(range(100, 110))


async def test_a_tool_with_x_mcp_header_arguments_gets_its_mcp_param_headers() -> None:
    server = Server("headers", "1")

    @server.tool()
    async def localized(
        region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})],
        count: Annotated[int, Field(json_schema_extra={"x-mcp-header": "Count"})] = 1,
    ) -> str:
        """Answer for a region."""
        return f"{count} in {region}"

    async with (
        live_server(server) as running,
        Client(running.mcp_url, timeout_seconds=10) as client,
    ):
        assert client.is_modern
        # The server refuses (-32020) a call whose Mcp-Param-* headers are missing or wrong.
        result = await client.call_tool("localized", {"region": "Zürich", "count": 3})
        assert result["content"][0]["text"] == "3 in Zürich"  # type: ignore[index,call-overload]
