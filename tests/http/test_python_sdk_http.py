"""The official MCP Python SDK (pinned ``mcp==2.3.0``) drives ssemcp over HTTP.

Owns what a real Python peer sees over both HTTP transports: its Streamable HTTP client
(``/mcp``) and its legacy HTTP+SSE client (``/sse`` + ``/messages/``), against the conformance
fixture (``tests/conformance/everything_server.py``) served in-process by uvicorn on a free
127.0.0.1 port. Each test gets its own fixture server, app and uvicorn, stopped in ``finally``.
Covered: the handshake, tools, progress and log notifications, sampling and elicitation round
trips, ``notifications/resources/updated`` after a subscription, and, over Streamable HTTP,
resumption with ``Last-Event-ID`` after the client loses a response stream. The raw wire is
``test_streamable_http.py``'s and ``test_legacy_sse.py``'s business.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx2
import mcp_types as types
import pytest
from callbacks import CALLBACK_DEADLINE_SECONDS, Received
from live_server import live_server
from mcp import ClientSession, MCPDeprecationWarning
from mcp.client.session import ClientRequestContext
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from ssemcp import Server

pytestmark = pytest.mark.interop

FIXTURE: Final = Path(__file__).parents[1] / "conformance" / "everything_server.py"
# Long enough for a loaded CI machine, short enough that a hang fails well inside the
# per-test timeout with the SDK's own error rather than pytest-timeout's.
REQUEST_TIMEOUT_SECONDS: Final = 30.0
WATCHED: Final = "test://watched-resource"
TRANSPORTS: Final = ("streamable-http", "sse")
# WHATWG HTML "Parsing an event stream": CR, LF and CRLF all end a line; a blank line ends
# an event.
EVENT_END: Final = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def load_fixture() -> Server:
    """A fresh copy of the conformance fixture: its own Server, nothing shared between tests."""
    spec = importlib.util.spec_from_file_location("everything_server_over_http", FIXTURE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = module.server
    assert isinstance(server, Server)
    return server


@dataclass
class Running:
    """The fixture served on ``url``; ``server`` is the registry the app serves."""

    url: str
    server: Server


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    server = load_fixture()
    async with live_server(server) as live:
        yield Running(live.url, server)


@asynccontextmanager
async def connect(
    running: Running,
    transport: str,
    *,
    http_client: httpx2.AsyncClient | None = None,
    **session_options: Any,
) -> AsyncIterator[ClientSession]:
    """An initialized SDK session over ``transport`` ("streamable-http" or "sse")."""
    if transport == "streamable-http":
        streams = streamable_http_client(running.url + "/mcp", http_client=http_client)
    else:
        assert http_client is None
        streams = sse_client(running.url + "/sse", sse_read_timeout=REQUEST_TIMEOUT_SECONDS)
    async with (
        streams as (read_stream, write_stream),
        ClientSession(
            read_stream,
            write_stream,
            read_timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            **session_options,
        ) as session,
    ):
        await session.initialize()
        yield session


def only_text(result: types.CallToolResult) -> str:
    assert len(result.content) == 1, result.content
    block = result.content[0]
    assert isinstance(block, types.TextContent), block
    return block.text


async def set_level(session: ClientSession, level: types.LoggingLevel) -> None:
    # SDK 2.x deprecates logging/setLevel (gone in 2026-07-28); 2025-11-25 still has it.
    with pytest.warns(MCPDeprecationWarning):
        await session.set_logging_level(level)


# ---------------------------------------------------------------------- both transports


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_handshake_negotiates_latest_revision_and_declares_capabilities(
    running: Running, transport: str
) -> None:
    async with connect(running, transport) as session:
        result = session.initialize_result
        assert await session.send_ping() == types.EmptyResult()
    assert result is not None
    assert result.protocol_version == "2025-11-25"
    assert result.server_info.name == "ssemcp-conformance"
    capabilities = result.capabilities
    assert capabilities.tools is not None
    assert capabilities.prompts is not None
    assert capabilities.logging is not None
    assert capabilities.completions is not None
    assert capabilities.resources is not None
    assert capabilities.resources.subscribe is True


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tools_are_listed_and_called(running: Running, transport: str) -> None:
    async with connect(running, transport) as session:
        listing = await session.list_tools()
        simple = await session.call_tool("test_simple_text")
        image = await session.call_tool("test_image_content", {})
        error = await session.call_tool("test_error_handling", {})
    tools = {tool.name: tool for tool in listing.tools}
    assert "test_simple_text" in tools
    assert "json_schema_2020_12_tool" in tools
    assert len(tools) == len(running.server.tools)
    assert all(tool.description for tool in tools.values())
    assert tools["test_sampling"].input_schema["required"] == ["prompt"]

    assert not simple.is_error
    assert only_text(simple) == "This is a simple text response for testing."
    [block] = image.content
    assert isinstance(block, types.ImageContent)
    assert block.mime_type == "image/png"
    assert base64.b64decode(block.data).startswith(b"\x89PNG")
    assert error.is_error
    assert only_text(error) == "This tool intentionally returns an error for testing"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_progress_reaches_the_progress_callback_before_the_result(
    running: Running, transport: str
) -> None:
    received: Received[tuple[float, float | None, str | None]] = Received()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.add((progress, total, message))

    async with connect(running, transport) as session:
        result = await session.call_tool(
            "test_tool_with_progress", {}, progress_callback=on_progress
        )
        seen = await received.wait_for(3)
    assert only_text(result).startswith("Progress tool completed")
    assert seen == [
        (0.0, 100.0, "Completed step 1 of 3"),
        (50.0, 100.0, "Completed step 2 of 3"),
        (100.0, 100.0, "Completed step 3 of 3"),
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_log_messages_reach_the_logging_callback_and_respect_the_level(
    running: Running, transport: str
) -> None:
    received: Received[types.LoggingMessageNotificationParams] = Received()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        received.add(params)

    async with connect(running, transport, logging_callback=on_log) as session:
        await set_level(session, "debug")
        result = await session.call_tool("test_tool_with_logging", {})
        await received.wait_for(3)
        # Above every message the tool sends: the next call logs nothing.
        await set_level(session, "error")
        await session.call_tool("test_tool_with_logging", {})
        # A round trip after the last call: anything sent despite the level would be here.
        await session.send_ping()
    assert only_text(result) == "Tool with logging executed successfully"
    assert [(params.level, params.data) for params in received.items] == [
        ("info", "Tool execution started"),
        ("info", "Tool processing data"),
        ("info", "Tool execution completed"),
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sampling_round_trip_through_the_sampling_callback(
    running: Running, transport: str
) -> None:
    requests: list[types.CreateMessageRequestParams] = []

    async def sample(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        requests.append(params)
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(text="Paris"),
            model="fake-model-1",
            stop_reason="endTurn",
        )

    async with connect(running, transport, sampling_callback=sample) as session:
        result = await session.call_tool("test_sampling", {"prompt": "Capital of France?"})
    assert not result.is_error
    assert only_text(result) == "LLM response: Paris"
    [params] = requests
    assert params.max_tokens == 100
    [message] = params.messages
    assert message.role == "user"
    assert isinstance(message.content, types.TextContent)
    assert message.content.text == "Capital of France?"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            types.ElicitResult(action="accept", content={"username": "ada", "email": "a@b.c"}),
            "User response: action=accept, content={'username': 'ada', 'email': 'a@b.c'}",
        ),
        (types.ElicitResult(action="decline"), "User response: action=decline, content=None"),
    ],
    ids=["accept", "decline"],
)
async def test_elicitation_round_trip_through_the_elicitation_callback(
    running: Running, transport: str, answer: types.ElicitResult, expected: str
) -> None:
    requests: list[types.ElicitRequestParams] = []

    async def elicit(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        requests.append(params)
        return answer

    async with connect(running, transport, elicitation_callback=elicit) as session:
        result = await session.call_tool("test_elicitation", {"message": "Who are you?"})
    assert not result.is_error
    assert only_text(result) == expected
    [params] = requests
    assert isinstance(params, types.ElicitRequestFormParams)
    assert params.message == "Who are you?"
    assert params.requested_schema["required"] == ["username", "email"]
    assert set(params.requested_schema["properties"]) == {"username", "email"}


class WatchingTransport(httpx2.AsyncBaseTransport):
    """The SDK's HTTP traffic, passed through: notes when the standalone GET stream opened
    and every ``Last-Event-ID`` a GET resumed from."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self.get_stream_open = asyncio.Event()
        self.resumed_from: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and "last-event-id" in request.headers:
            self.resumed_from.append(request.headers["last-event-id"])
        response = await self._inner.handle_async_request(request)
        if (
            request.method == "GET"
            and "last-event-id" not in request.headers
            and response.status_code == 200
        ):
            # ssemcp registers the stream before it sends the status line.
            self.get_stream_open.set()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def watched_client(watcher: WatchingTransport) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=watcher, timeout=httpx2.Timeout(REQUEST_TIMEOUT_SECONDS))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_subscribed_client_hears_resources_updated_until_it_unsubscribes(
    running: Running, transport: str
) -> None:
    received: Received[types.ServerNotification | Exception] = Received()

    async def on_message(message: types.ServerNotification | Exception) -> None:
        received.add(message)

    def is_update(message: types.ServerNotification | Exception) -> bool:
        return isinstance(message, types.ResourceUpdatedNotification)

    watcher = WatchingTransport()
    async with (
        watched_client(watcher) as http_client,
        connect(
            running,
            transport,
            http_client=http_client if transport == "streamable-http" else None,
            message_handler=on_message,
        ) as session,
    ):
        if transport == "streamable-http":
            # Messages not tied to a request ride the GET stream; with none open, they are
            # dropped (spec basic/transports). The SDK opens it after `initialized`.
            async with asyncio.timeout(CALLBACK_DEADLINE_SECONDS):
                await watcher.get_stream_open.wait()
        # Deprecated by the SDK like setLevel (2026-07-28 replaces it); 2025-11-25 has it.
        with pytest.warns(MCPDeprecationWarning):
            await session.subscribe_resource(WATCHED)
        assert running.server.subscriber_count(WATCHED) == 1
        assert running.server.notify_resource_updated(WATCHED) == 1
        await received.wait_for(1, is_update)
        with pytest.warns(MCPDeprecationWarning):
            await session.unsubscribe_resource(WATCHED)
        assert running.server.subscriber_count(WATCHED) == 0
        assert running.server.notify_resource_updated(WATCHED) == 0
        await session.send_ping()
    updates = [message for message in received.items if is_update(message)]
    assert len(updates) == 1
    assert isinstance(updates[0], types.ResourceUpdatedNotification)
    assert str(updates[0].params.uri) == WATCHED
    assert not [message for message in received.items if isinstance(message, Exception)]


async def test_concurrent_calls_on_two_transports_each_get_only_their_own_progress(
    running: Running,
) -> None:
    progress_by_call: list[list[float]] = [[] for _ in range(4)]

    def recorder(index: int) -> Callable[[float, float | None, str | None], Awaitable[None]]:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            progress_by_call[index].append(progress)

        return on_progress

    async with (
        connect(running, "streamable-http") as first,
        connect(running, "sse") as second,
    ):
        results = await asyncio.gather(
            *(
                session.call_tool("test_tool_with_progress", {}, progress_callback=recorder(index))
                for index, session in enumerate((first, second, first, second))
            )
        )
        await first.send_ping()
        await second.send_ping()
    assert all(only_text(result).startswith("Progress tool completed") for result in results)
    assert progress_by_call == [[0.0, 50.0, 100.0]] * 4


# ---------------------------------------------------------------------- resumption


class CutFirstStream(WatchingTransport):
    """Ends the SSE body of the first POST whose request body contains ``marker`` after
    ``keep_events`` events, as a dropped connection would; every other exchange passes.

    The SDK sees its response stream end without a result and, having seen an event id,
    reconnects with ``GET`` and ``Last-Event-ID`` (spec 2025-11-25 basic/transports,
    "Resumability and Redelivery").
    """

    def __init__(self, marker: bytes, keep_events: int) -> None:
        super().__init__()
        self._marker = marker
        self._keep_events = keep_events
        self.cut = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        is_target = (
            not self.cut
            and request.method == "POST"
            and self._marker in request.content
            and response.headers.get("content-type", "").startswith("text/event-stream")
        )
        if not is_target:
            return response
        self.cut = True
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_FirstEvents(response, self._keep_events),
            extensions=response.extensions,
        )


class _FirstEvents(httpx2.AsyncByteStream):
    def __init__(self, response: httpx2.Response, keep_events: int) -> None:
        self._response = response
        self._keep_events = keep_events
        self.events_passed: list[bytes] = []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        buffered = b""
        try:
            async for chunk in self._response.aiter_raw():
                buffered += chunk
                while len(self.events_passed) < self._keep_events:
                    end = EVENT_END.search(buffered)
                    if end is None:
                        break
                    event, buffered = buffered[: end.end()], buffered[end.end() :]
                    self.events_passed.append(event)
                    yield event
                if len(self.events_passed) >= self._keep_events:
                    return
        finally:
            await self._response.aclose()

    async def aclose(self) -> None:
        await self._response.aclose()


async def test_dropped_response_stream_is_resumed_with_last_event_id(running: Running) -> None:
    """The SDK loses the POST stream of a tools/call after its first two events (a priming
    event and progress 0, or progress 0 and 50), resumes with GET + Last-Event-ID, and still
    gets every progress notification exactly once, and the result."""
    received: Received[tuple[float, float | None, str | None]] = Received()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.add((progress, total, message))

    cutter = CutFirstStream(b'"test_tool_with_progress"', keep_events=2)
    async with (
        watched_client(cutter) as http_client,
        connect(running, "streamable-http", http_client=http_client) as session,
    ):
        result = await session.call_tool(
            "test_tool_with_progress", {}, progress_callback=on_progress
        )
        seen = await received.wait_for(3)
        await session.send_ping()
    assert cutter.cut
    assert cutter.resumed_from, "the SDK never reconnected with Last-Event-ID"
    assert only_text(result).startswith("Progress tool completed")
    assert [progress for progress, _, _ in seen] == [0.0, 50.0, 100.0]
