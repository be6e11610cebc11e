"""``ssemcp bridge --shared``: one child for every session.

Owns what sharing changes: every session reaches the same process; two clients using the same
request ids (and progress tokens) at once each get their own answers and progress; a request
the child makes (sampling) goes to the client whose call is in flight; a resource update
reaches only the sessions subscribed to its URI, and the child is unsubscribed when the last of
them unsubscribes or leaves; a session's end leaves the child to the others; shutdown ends and
reaps it. Clients are the official Python SDK and
httpx, through a real uvicorn on 127.0.0.1; the child is ``tests/bridge/bridged_fixture.py``.
"""

from __future__ import annotations

import asyncio

import httpx
import mcp_types as types
import pytest
from bridge_support import bridged, call_text, is_reaped, sdk_session
from bridged_fixture import WATCHED
from callbacks import Received
from live_server import INITIALIZE, wait_until
from mcp import ClientSession, MCPDeprecationWarning
from mcp.client.session import ClientRequestContext

pytestmark = pytest.mark.interop

MCP_HEADERS = {"accept": "application/json, text/event-stream"}


def tool_call(request_id: int | str, name: str, arguments: dict[str, object]) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


async def open_session(client: httpx.AsyncClient) -> str:
    opened = await client.post("/mcp", json=INITIALIZE)
    assert opened.status_code == 200, opened.text
    session_id = opened.headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    await client.post("/mcp", json=initialized, headers={"mcp-session-id": session_id})
    return session_id


async def test_every_session_reaches_the_one_child() -> None:
    async with (
        bridged(shared=True) as running,
        sdk_session(running.url, "streamable-http") as first,
        sdk_session(running.url, "sse") as second,
    ):
        first_pid = await call_text(first, "pid")
        second_pid = await call_text(second, "pid")
        assert len(running.bridge.children) == 1
    assert first_pid == second_pid


async def test_two_clients_with_the_same_request_ids_each_get_their_own_answer() -> None:
    async with (
        bridged(shared=True) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        sessions = [await open_session(client) for _ in range(2)]

        async def call(session_id: str, request_id: int | str, text: str, delay: float) -> object:
            response = await client.post(
                "/mcp",
                json=tool_call(request_id, "echo", {"text": text, "delay_seconds": delay}),
                headers={"mcp-session-id": session_id},
            )
            return response.json()

        # The slower first: the faster answer to the same id must not be taken for it.
        answers = await asyncio.gather(
            call(sessions[0], 7, "first's", 0.3),
            call(sessions[1], 7, "second's", 0.0),
            call(sessions[0], "7", "first's string id", 0.1),
            call(sessions[1], "7", "second's string id", 0.2),
        )
    texts = [answer["result"]["content"][0]["text"] for answer in answers]  # type: ignore[index]
    assert texts == ["first's", "second's", "first's string id", "second's string id"]
    assert [answer["id"] for answer in answers] == [7, 7, "7", "7"]  # type: ignore[index]


async def test_concurrent_clients_each_hear_only_their_own_progress() -> None:
    progress_by_call: list[list[float]] = [[] for _ in range(4)]

    def recorder(index: int):  # type: ignore[no-untyped-def]
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            progress_by_call[index].append(progress)

        return on_progress

    async with (
        bridged(shared=True) as running,
        sdk_session(running.url, "streamable-http") as first,
        sdk_session(running.url, "streamable-http") as second,
    ):
        steps = (2, 3, 4, 5)
        sessions = (first, second, first, second)
        results = await asyncio.gather(
            *(
                session.call_tool("progress", {"steps": count}, progress_callback=recorder(index))
                for index, (session, count) in enumerate(zip(sessions, steps, strict=True))
            )
        )
        await first.send_ping()
        await second.send_ping()
    assert not any(result.is_error for result in results)
    assert progress_by_call == [[float(step) for step in range(1, count + 1)] for count in steps]


async def test_the_childs_sampling_request_goes_to_the_client_that_called() -> None:
    def model(name: str):  # type: ignore[no-untyped-def]
        async def sample(
            context: ClientRequestContext, params: types.CreateMessageRequestParams
        ) -> types.CreateMessageResult:
            return types.CreateMessageResult(
                role="assistant", content=types.TextContent(text=name), model="fake"
            )

        return sample

    async with (
        bridged(shared=True) as running,
        sdk_session(running.url, "streamable-http", sampling_callback=model("first")) as first,
        sdk_session(running.url, "sse", sampling_callback=model("second")) as second,
    ):
        from_first = await call_text(first, "sample", {"prompt": "who?"})
        from_second = await call_text(second, "sample", {"prompt": "who?"})
    assert from_first == "model said: first"
    assert from_second == "model said: second"


async def test_a_sessions_end_leaves_the_child_to_the_others_until_shutdown() -> None:
    async with bridged(shared=True) as running:
        async with sdk_session(running.url, "streamable-http") as first:
            pid = int(await call_text(first, "pid"))
        async with sdk_session(running.url, "sse") as second:
            assert int(await call_text(second, "pid")) == pid
        assert not is_reaped(pid)
        await running.live.stop()
        await wait_until(lambda: is_reaped(pid))
        assert running.bridge.children == {}


class Heard:
    """The resource updates (by URI) and tool list changes one session heard."""

    def __init__(self) -> None:
        self.updated: list[str] = []
        self.list_changes: Received[object] = Received()

    async def on_message(self, message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.updated.append(str(message.params.uri))
        elif isinstance(message, types.ToolListChangedNotification):
            self.list_changes.add(message)


async def subscribe(session: ClientSession, uri: str) -> None:
    with pytest.warns(MCPDeprecationWarning):
        await session.subscribe_resource(uri)


async def unsubscribe(session: ClientSession, uri: str) -> None:
    with pytest.warns(MCPDeprecationWarning):
        await session.unsubscribe_resource(uri)


async def test_a_resource_update_reaches_only_the_sessions_subscribed_to_its_uri() -> None:
    subscribed, not_subscribed = Heard(), Heard()
    async with (
        bridged(shared=True) as running,
        # The SSE transport: a session's own stream is open from the start.
        sdk_session(running.url, "sse", message_handler=subscribed.on_message) as first,
        sdk_session(running.url, "sse", message_handler=not_subscribed.on_message) as second,
    ):
        await subscribe(first, WATCHED)
        # The child writes the updates whether asked or not, then a list change every
        # session gets after them: once it has arrived, so has every update meant for it.
        await call_text(second, "announce", {"uris": ["test://nobody's", WATCHED]})
        await subscribed.list_changes.wait_for(1)
        await not_subscribed.list_changes.wait_for(1)
    assert subscribed.updated == [WATCHED]
    assert not_subscribed.updated == []


async def test_the_child_is_unsubscribed_when_the_last_subscriber_leaves() -> None:
    async with bridged(shared=True) as running, sdk_session(running.url, "sse") as stays:
        async with sdk_session(running.url, "streamable-http") as leaves:
            await subscribe(leaves, WATCHED)
            # `touch` answers how many sessions of the child are subscribed: the bridge's.
            assert await call_text(stays, "touch") == "1"

        # The session has left: the bridge unsubscribes the child (in the background).
        async def unsubscribed() -> bool:
            return await call_text(stays, "touch") == "0"

        await wait_until(unsubscribed)


async def test_an_unsubscribe_leaves_the_child_subscribed_for_the_other_subscribers() -> None:
    first_heard = Heard()
    async with (
        bridged(shared=True) as running,
        sdk_session(running.url, "sse", message_handler=first_heard.on_message) as first,
        sdk_session(running.url, "sse") as second,
    ):
        await subscribe(first, WATCHED)
        # One never subscribed: nothing to undo, for it or for the child.
        await unsubscribe(second, WATCHED)
        assert await call_text(second, "touch") == "1"
        await subscribe(second, WATCHED)
        await unsubscribe(second, WATCHED)
        assert await call_text(second, "touch") == "1"
        await call_text(second, "announce", {"uris": [WATCHED]})
        await first_heard.list_changes.wait_for(1)
        assert WATCHED in first_heard.updated
        await unsubscribe(first, WATCHED)
        assert await call_text(second, "touch") == "0"
