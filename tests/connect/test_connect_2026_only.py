"""``ssemcp connect`` carries a 2025 local client's session to a server that speaks only
2026-07-28: the official MCP Python SDK (pinned ``mcp==2.3.0``) ``ClientSession`` over stdio
drives ``python -m ssemcp connect URL`` against ssemcp behind ``connect_remote.Only2026``
(``initialize`` refused with -32022, ``server/discover`` naming 2026-07-28 alone).

Owns what the translation must give a 2025 client: the handshake from ``server/discover``,
lists and calls as 2026-07-28 requests, ``ping`` and ``logging/setLevel`` answered by connect
(the log level then sent in each request's ``_meta``), the server's questions (elicitation,
sampling, roots) asked of the local client and their answers carried in the retry, a
resource subscription through ``subscriptions/listen``, and the ``Mcp-Param-*`` headers of a
tool's marked arguments (the server refuses a call without them), learnt again after the
server's tools change.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import mcp_types as types
import pytest
from callbacks import Received
from connect_remote import COUNTER_URI, Only2026, Recorder, build_server
from live_server import LiveServer, live_app
from mcp import ClientSession, MCPDeprecationWarning, MCPError, StdioServerParameters, stdio_client
from mcp.client.session import ClientRequestContext

pytestmark = pytest.mark.interop

REQUEST_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def connect_stderr(tmp_path: Path) -> Iterator[TextIO]:
    with (tmp_path / "connect-stderr.log").open("w+") as stream:
        yield stream


@pytest.fixture
async def remote() -> AsyncIterator[tuple[LiveServer, Only2026, Recorder]]:
    recorder = Recorder(create_app_2026_only := Only2026(_app()))
    async with live_app(recorder) as live:
        yield live, create_app_2026_only, recorder


def _app() -> Any:
    from ssemcp.http import create_app

    return create_app(build_server())


@asynccontextmanager
async def through_connect(
    url: str, *connect_args: str, errlog: TextIO, **session_options: Any
) -> AsyncIterator[ClientSession]:
    parameters = StdioServerParameters(
        command=sys.executable, args=["-m", "ssemcp", "connect", url, *connect_args]
    )
    async with (
        stdio_client(parameters, errlog=errlog) as (read_stream, write_stream),
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
    [block] = result.content
    assert isinstance(block, types.TextContent), block
    return block.text


@pytest.mark.parametrize("transport", ["auto", "2026"])
async def test_the_handshake_lists_and_calls_are_translated(
    remote: tuple[LiveServer, Only2026, Recorder], connect_stderr: TextIO, transport: str
) -> None:
    live, only_2026, recorder = remote
    async with through_connect(
        live.mcp_url, "--transport", transport, errlog=connect_stderr
    ) as session:
        result = session.initialize_result
        tools = await session.list_tools()
        added = await session.call_tool("add", {"a": 2, "b": 40})
        with pytest.raises(MCPError, match="Unknown tool: no_such_tool"):
            await session.call_tool("no_such_tool", {})
        assert await session.send_ping() == types.EmptyResult()
    assert result is not None
    assert result.protocol_version == "2025-11-25"
    assert result.server_info.name == "connect-remote"
    assert result.instructions == "the remote"
    assert {tool.name for tool in tools.tools} >= {"add", "greet", "ask_model"}
    assert only_text(added) == "42"
    # Nothing of a session reached the server: no initialize, no session id, no GET/DELETE.
    assert only_2026.refused == []
    assert recorder.sessions() == []
    assert {method for method, _, _ in recorder.requests} == {"POST"}


async def test_the_servers_questions_are_asked_of_the_local_client(
    remote: tuple[LiveServer, Only2026, Recorder], connect_stderr: TextIO
) -> None:
    live, _, _ = remote
    asked: list[str] = []

    async def elicit(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestFormParams)
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def sample(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        asked.append("sampling")
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text="Paris"), model="fake-model"
        )

    async def roots(context: ClientRequestContext) -> types.ListRootsResult:
        asked.append("roots")
        return types.ListRootsResult(roots=[types.Root(uri="file:///tmp/project", name="p")])

    async with through_connect(
        live.mcp_url,
        errlog=connect_stderr,
        elicitation_callback=elicit,
        sampling_callback=sample,
        list_roots_callback=roots,
    ) as session:
        greeted = await session.call_tool("greet", {})
        answered = await session.call_tool("ask_model", {})
    assert only_text(greeted) == "hello Ada"
    assert only_text(answered) == "Paris, 1 roots"
    assert asked == ["Your name?", "sampling", "roots"]


async def test_a_question_the_local_client_cannot_answer_fails_the_call(
    remote: tuple[LiveServer, Only2026, Recorder], connect_stderr: TextIO
) -> None:
    live, _, _ = remote
    async with through_connect(live.mcp_url, errlog=connect_stderr) as session:
        # No elicitation callback, so no capability: the server refuses with -32021.
        with pytest.raises(MCPError, match="elicitation"):
            await session.call_tool("greet", {})
        assert only_text(await session.call_tool("add", {"a": 1, "b": 1})) == "2"


async def test_the_log_level_travels_in_each_request(
    remote: tuple[LiveServer, Only2026, Recorder], connect_stderr: TextIO
) -> None:
    live, _, _ = remote
    logs: Received[types.LoggingMessageNotificationParams] = Received()
    progress: Received[float] = Received()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.add(params)

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.add(done)

    async with through_connect(
        live.mcp_url, errlog=connect_stderr, logging_callback=on_log
    ) as session:
        with pytest.warns(MCPDeprecationWarning):
            await session.set_logging_level("info")
        result = await session.call_tool("steps", {"count": 2}, progress_callback=on_progress)
        await logs.wait_for(2)
        await progress.wait_for(2)
    assert only_text(result) == "2 steps"
    assert [params.data for params in logs.items] == ["did step 1", "did step 2"]


async def test_a_subscription_gets_resources_updated_through_listen(
    remote: tuple[LiveServer, Only2026, Recorder], connect_stderr: TextIO
) -> None:
    live, _, _ = remote
    received: Received[Any] = Received()

    async def on_message(message: Any) -> None:
        received.add(message)

    def is_update(message: Any) -> bool:
        return isinstance(message, types.ResourceUpdatedNotification)

    async with through_connect(
        live.mcp_url, errlog=connect_stderr, message_handler=on_message
    ) as session:
        with pytest.warns(MCPDeprecationWarning):
            await session.subscribe_resource(COUNTER_URI)
        assert only_text(await session.call_tool("bump", {})) == "1"
        updates = await received.wait_for(1, matching=is_update)
        with pytest.warns(MCPDeprecationWarning):
            await session.unsubscribe_resource(COUNTER_URI)
    update = next(message for message in updates if is_update(message))
    assert update.params.uri == COUNTER_URI
    assert update.params.meta is None or "io.modelcontextprotocol/subscriptionId" not in (
        update.params.meta
    )


async def test_marked_arguments_travel_in_mcp_param_headers(
    remote: tuple[LiveServer, Only2026, Recorder], connect_stderr: TextIO
) -> None:
    live, _, _ = remote
    async with through_connect(live.mcp_url, errlog=connect_stderr) as session:
        # No tools/list by the local client first: connect asks the server itself.
        plain = await session.call_tool("forecast", {"region": "Paris", "days": 3})
        # Not visible ASCII: the header carries the base64 sentinel.
        accented = await session.call_tool("forecast", {"region": "Zürich"})
        leading_space = await session.call_tool("forecast", {"region": " Oslo", "days": 0})
    assert not plain.is_error and only_text(plain) == "3 days in Paris"
    assert not accented.is_error and only_text(accented) == "1 days in Zürich"
    assert not leading_space.is_error and only_text(leading_space) == "0 days in  Oslo"


async def test_a_tool_added_later_gets_its_headers_after_the_list_change(
    remote: tuple[LiveServer, Only2026, Recorder], connect_stderr: TextIO
) -> None:
    live, _, _ = remote
    changes: Received[Any] = Received()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changes.add(message)

    async with through_connect(
        live.mcp_url, errlog=connect_stderr, message_handler=on_message
    ) as session:
        # The marks are learnt (and kept) before `shout` exists.
        assert only_text(await session.call_tool("forecast", {"region": "Rome"})) == (
            "1 days in Rome"
        )
        assert only_text(await session.call_tool("add_shout", {})) == "added"
        # Once the local client has the list change, connect has forgotten the old marks.
        await changes.wait_for(1)
        shouted = await session.call_tool("shout", {"word": "naïve"})
    assert not shouted.is_error, shouted
    assert only_text(shouted) == "NAÏVE"
