"""The official MCP Python SDK (``mcp==2.3.0``) drives a stdio server through ``ssemcp
bridge``, over Streamable HTTP (``/mcp``) and legacy HTTP+SSE (``/sse``).

Owns what a client of the bridge sees when all goes well: tools listed and called, progress,
sampling, elicitation and roots passed both ways, resource updates after a subscription, one
child per session with state of its own. (2026-07-28 through the bridge:
``test_bridge_2026.py``.) The child is ``tests/bridge/bridged_fixture.py`` under ``ssemcp stdio``.
"""

from __future__ import annotations

import asyncio

import mcp_types as types
import pytest
from bridge_support import (
    TRANSPORTS,
    bridged,
    call_text,
    is_reaped,
    sdk_session,
)
from callbacks import CALLBACK_DEADLINE_SECONDS, Received
from live_server import wait_until
from mcp import MCPDeprecationWarning
from mcp.client.session import ClientRequestContext

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tools_are_listed_and_called_through_the_bridge(transport: str) -> None:
    async with bridged() as running, sdk_session(running.url, transport) as session:
        result = session.initialize_result
        listing = await session.list_tools()
        echoed = await call_text(session, "remember", {"value": "a"})
    assert result is not None
    assert result.server_info.name == "bridge-fixture"
    assert result.protocol_version == "2025-11-25"
    names = {tool.name for tool in listing.tools}
    assert {"pid", "remember", "crash", "hang", "sample", "elicit"} <= names
    assert echoed == "a"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_progress_reaches_the_client_under_its_own_token(transport: str) -> None:
    received: Received[tuple[float, float | None, str | None]] = Received()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.add((progress, total, message))

    async with bridged() as running, sdk_session(running.url, transport) as session:
        result = await session.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
        seen = await received.wait_for(3)
    assert not result.is_error
    assert seen == [(1.0, 3.0, "step 1"), (2.0, 3.0, "step 2"), (3.0, 3.0, "step 3")]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sampling_request_of_the_child_reaches_the_client_and_back(transport: str) -> None:
    prompts: list[str] = []

    async def sample(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        [message] = params.messages
        assert isinstance(message.content, types.TextContent)
        prompts.append(message.content.text)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text="Paris"), model="fake"
        )

    async with (
        bridged() as running,
        sdk_session(running.url, transport, sampling_callback=sample) as session,
    ):
        answer = await call_text(session, "sample", {"prompt": "Capital of France?"})
    assert answer == "model said: Paris"
    assert prompts == ["Capital of France?"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_elicitation_request_of_the_child_reaches_the_client_and_back(
    transport: str,
) -> None:
    async def elicit(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestFormParams)
        assert params.message == "Who are you?"
        return types.ElicitResult(action="accept", content={"name": "ada"})

    async with (
        bridged() as running,
        sdk_session(running.url, transport, elicitation_callback=elicit) as session,
    ):
        answer = await call_text(session, "elicit", {"message": "Who are you?"})
    assert answer == "accept: {'name': 'ada'}"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_roots_request_of_the_child_reaches_the_client_and_back(transport: str) -> None:
    async def list_roots(context: ClientRequestContext) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri="file:///work", name="work")])

    async with (
        bridged() as running,
        sdk_session(running.url, transport, list_roots_callback=list_roots) as session,
    ):
        answer = await call_text(session, "roots")
    assert answer == "file:///work"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_subscribed_client_hears_the_childs_resource_updates(transport: str) -> None:
    received: Received[object] = Received()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            received.add(message)

    async with (
        bridged() as running,
        sdk_session(running.url, transport, message_handler=on_message) as session,
    ):
        with pytest.warns(MCPDeprecationWarning):
            await session.subscribe_resource("test://watched")

        # Streamable HTTP: an update rides the GET stream, which the SDK opens after
        # `initialized`; touch until one arrives rather than guess when it is open.
        async def updated() -> bool:
            await call_text(session, "touch")
            return bool(received.items)

        await wait_until(updated, timeout_seconds=CALLBACK_DEADLINE_SECONDS)
    [update] = received.items[:1]
    assert isinstance(update, types.ResourceUpdatedNotification)
    assert str(update.params.uri) == "test://watched"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_session_gets_a_child_of_its_own(transport: str) -> None:
    async with (
        bridged() as running,
        sdk_session(running.url, transport) as first,
        sdk_session(running.url, transport) as second,
    ):
        first_pid = int(await call_text(first, "pid"))
        second_pid = int(await call_text(second, "pid"))
        await call_text(first, "remember", {"value": "first's secret"})
        seen_by_second = await call_text(second, "recall")
        seen_by_first = await call_text(first, "recall")
    assert first_pid != second_pid
    assert seen_by_second == ""
    assert seen_by_first == "first's secret"
    await wait_until(lambda: is_reaped(first_pid) and is_reaped(second_pid))


async def test_both_transports_at_once_each_hear_only_their_own_progress() -> None:
    progress_by_call: list[list[float]] = [[] for _ in range(4)]

    def recorder(index: int):  # type: ignore[no-untyped-def]
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            progress_by_call[index].append(progress)

        return on_progress

    async with (
        bridged() as running,
        sdk_session(running.url, "streamable-http") as first,
        sdk_session(running.url, "sse") as second,
    ):
        results = await asyncio.gather(
            *(
                session.call_tool("progress", {"steps": 2}, progress_callback=recorder(index))
                for index, session in enumerate((first, second, first, second))
            )
        )
        await first.send_ping()
        await second.send_ping()
    assert not any(result.is_error for result in results)
    assert progress_by_call == [[1.0, 2.0]] * 4
