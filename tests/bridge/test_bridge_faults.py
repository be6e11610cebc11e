"""``ssemcp bridge`` when the child misbehaves, and at the edges of a session's life.

Owns the bridge's failure paths, each seen by a real client (the official Python SDK, or
httpx for the HTTP statuses) through a real uvicorn on 127.0.0.1: a child that exits mid-call
or never answers gives its client a JSON-RPC error and is restarted for the next call; garbage
on its stdout is logged and skipped; its stderr reaches our log tagged with the session;
``max_children`` answers 503; a cancelled call leaves the child running; children are ended
and reaped (checked by pid) when their session ends and at shutdown; commands that cannot run
fail fast. The child is ``tests/bridge/bridged_fixture.py`` under ``ssemcp stdio``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path

import anyio
import httpx
import mcp_types as types
import pytest
from bridge_support import (
    FIXTURE_COMMAND,
    TRANSPORTS,
    bridged,
    call_text,
    is_reaped,
    sdk_session,
)
from callbacks import CALLBACK_DEADLINE_SECONDS, Received
from live_server import INITIALIZE, wait_until
from mcp import MCPDeprecationWarning, MCPError
from mcp.client.session import ClientRequestContext

from ssemcp.bridge import RestartPolicy

pytestmark = pytest.mark.interop

MCP_HEADERS = {"accept": "application/json, text/event-stream"}
# No wait between restarts: the tests restart on purpose, and must not sleep for it.
QUICK_RESTARTS = RestartPolicy(initial_delay_seconds=0.0, max_delay_seconds=0.0)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_child_crash_mid_call_is_an_error_then_the_next_call_works(transport: str) -> None:
    async with (
        bridged(restart_policy=QUICK_RESTARTS) as running,
        sdk_session(running.url, transport) as session,
    ):
        first_pid = int(await call_text(session, "pid"))
        await call_text(session, "remember", {"value": "before the crash"})
        with pytest.raises(MCPError) as raised:
            await session.call_tool("crash", {})
        # The restarted child serves the same session: handshake replayed, state gone.
        second_pid = int(await call_text(session, "pid"))
        recalled = await call_text(session, "recall")
        await wait_until(lambda: is_reaped(first_pid))
    assert raised.value.error.code == -32603
    assert "exited (code 3)" in raised.value.error.message
    assert "restarted" in raised.value.error.message
    assert second_pid != first_pid
    assert recalled == ""


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_hung_child_times_out_with_an_error_and_is_replaced(transport: str) -> None:
    async with (
        bridged(child_timeout_seconds=0.5, restart_policy=QUICK_RESTARTS) as running,
        sdk_session(running.url, transport) as session,
    ):
        first_pid = int(await call_text(session, "pid"))
        with pytest.raises(MCPError) as raised:
            await session.call_tool("hang", {})
        second_pid = int(await call_text(session, "pid"))
        await wait_until(lambda: is_reaped(first_pid))
    assert raised.value.error.code == -32603
    assert "did not answer tools/call within 0.5 s" in raised.value.error.message
    assert second_pid != first_pid


async def test_a_child_that_talks_is_not_hung_however_long_it_works() -> None:
    # Progress every 0.1 s for 1 s, against a 0.5 s silence bound.
    reports: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append(progress)

    async with (
        bridged(child_timeout_seconds=0.5) as running,
        sdk_session(running.url, "streamable-http") as session,
    ):
        first_pid = int(await call_text(session, "pid"))
        result = await session.call_tool("slow", {"seconds": 1.0}, progress_callback=on_progress)
        second_pid = int(await call_text(session, "pid"))
    assert not result.is_error
    assert reports
    assert second_pid == first_pid


async def test_a_child_waiting_on_its_client_is_not_hung() -> None:
    import mcp_types as types

    async def slow_model(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        # Longer than the silence bound below, which is longer than a child takes to start.
        await asyncio.sleep(4.0)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text="late"), model="fake"
        )

    async with (
        bridged(child_timeout_seconds=3.0) as running,
        sdk_session(running.url, "streamable-http", sampling_callback=slow_model) as session,
    ):
        answer = await call_text(session, "sample", {"prompt": "take your time"})
    assert answer == "model said: late"


async def test_a_child_that_keeps_crashing_is_given_up_on_with_a_clear_error() -> None:
    policy = RestartPolicy(max_restarts=1, initial_delay_seconds=0.0, max_delay_seconds=0.0)
    async with (
        bridged(restart_policy=policy) as running,
        sdk_session(running.url, "streamable-http") as session,
    ):
        for _ in range(2):
            with pytest.raises(MCPError):
                await session.call_tool("crash", {})
        with pytest.raises(MCPError) as raised:
            await session.call_tool("pid", {})
    assert "keeps failing" in raised.value.error.message


async def test_garbage_on_the_childs_stdout_is_logged_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ssemcp.bridge")
    async with bridged() as running, sdk_session(running.url, "streamable-http") as session:
        answer = await call_text(session, "garbage")
        pid = int(await call_text(session, "pid"))
    assert answer == "still here"
    assert pid > 0
    assert any("non-JSON line" in record.getMessage() for record in caplog.records)


async def test_childs_stderr_lines_reach_the_log_tagged_with_the_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ssemcp.bridge")
    async with (
        bridged() as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS) as client,
    ):
        opened = await client.post("/mcp", json=INITIALIZE)
        session_id = opened.headers["mcp-session-id"]
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "shout", "arguments": {"text": "hello from the child"}},
        }
        shouted = await client.post("/mcp", json=call, headers={"mcp-session-id": session_id})
        assert shouted.json()["result"]["content"][0]["text"] == "shouted"

        def logged() -> bool:
            return any("hello from the child" in record.getMessage() for record in caplog.records)

        await wait_until(logged)
    [line] = [message for message in caplog.messages if "hello from" in message]
    assert line == f"session {session_id[:6]}…: stderr: hello from the child"


async def test_the_bridges_secrets_never_reach_the_child() -> None:
    environ = {
        **os.environ,
        "SSEMCP_TOKEN": "secret-token",
        "SSEMCP_TOKEN_FILE": "/run/secrets/tokens",
        "SSEMCP_STATE_KEY": "a-very-secret-state-key",
        "SSEMCP_AUTH_CLIENT_SECRET": "oauth-client-secret",
        "BRIDGE_TEST_MARKER": "inherited",
    }
    async with (
        bridged(environ=environ) as running,
        sdk_session(running.url, "streamable-http") as session,
    ):
        seen = json.loads(await call_text(session, "environment"))
    assert seen == {
        "SSEMCP_TOKEN": None,
        "SSEMCP_TOKEN_FILE": None,
        "SSEMCP_STATE_KEY": None,
        "SSEMCP_AUTH_CLIENT_SECRET": None,
        "BRIDGE_TEST_MARKER": "inherited",
    }


async def test_max_children_refuses_further_sessions_with_503_until_one_ends() -> None:
    async with (
        bridged(max_children=1) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS) as client,
    ):
        first = await client.post("/mcp", json=INITIALIZE)
        refused = await client.post("/mcp", json=INITIALIZE)
        async with client.stream("GET", "/sse") as legacy_refused:
            legacy_status = legacy_refused.status_code
            legacy_body = json.loads(await legacy_refused.aread())
        await client.delete("/mcp", headers={"mcp-session-id": first.headers["mcp-session-id"]})
        accepted = await client.post("/mcp", json=INITIALIZE)
    assert first.status_code == 200
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert "mcp-session-id" not in refused.headers
    error = refused.json()
    assert error["id"] == 1
    assert error["error"]["message"] == (
        "Service Unavailable: all 1 bridged server processes are in use; retry later"
    )
    assert legacy_status == 503
    assert "bridged server processes" in legacy_body["error"]["message"]
    assert accepted.status_code == 200


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_cancelled_call_is_cancelled_in_the_child_which_goes_on_serving(
    transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ssemcp.bridge")
    async with bridged() as running, sdk_session(running.url, transport) as session:
        pid = int(await call_text(session, "pid"))
        with anyio.move_on_after(0.3):
            await session.call_tool("slow", {"seconds": 30.0})
        # The SDK sends notifications/cancelled; the bridge passes it on under the child's id.
        await wait_until(lambda: any("slow was cancelled" in m for m in caplog.messages))
        after = int(await call_text(session, "pid"))
    assert after == pid


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_restarted_child_is_given_the_sessions_subscriptions_again(
    transport: str,
) -> None:
    received: Received[object] = Received()

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            received.add(message)

    async with (
        bridged(restart_policy=QUICK_RESTARTS) as running,
        sdk_session(running.url, transport, message_handler=on_message) as session,
    ):
        with pytest.warns(MCPDeprecationWarning):
            await session.subscribe_resource("test://watched")
        first_pid = int(await call_text(session, "pid"))
        with pytest.raises(MCPError):
            await session.call_tool("crash", {})
        # The new child heard resources/subscribe in the replayed handshake: it has a
        # subscriber to tell.
        assert int(await call_text(session, "pid")) != first_pid
        assert await call_text(session, "touch") == "1"

        async def updated() -> bool:
            await call_text(session, "touch")
            return bool(received.items)

        await wait_until(updated, timeout_seconds=CALLBACK_DEADLINE_SECONDS)


@pytest.mark.parametrize("end", ["delete", "idle"])
async def test_the_child_is_ended_and_reaped_when_its_session_ends(end: str) -> None:
    app_options = {"session_idle_timeout_seconds": 0.2} if end == "idle" else {}
    async with (
        bridged(app_options=app_options) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS) as client,
    ):
        opened = await client.post("/mcp", json=INITIALIZE)
        session_id = opened.headers["mcp-session-id"]
        [child] = list(running.bridge.children)
        pid = child.pid
        if end == "delete":
            deleted = await client.delete("/mcp", headers={"mcp-session-id": session_id})
            assert deleted.status_code == 204
        # Reaped first; the bridge lets go of it once its pipes are drained.
        await wait_until(lambda: is_reaped(pid) and not running.bridge.children)
        assert running.bridge.session_child_count == 0


async def test_the_child_of_a_legacy_sse_session_ends_with_its_stream() -> None:
    async with bridged() as running:
        async with sdk_session(running.url, "sse") as session:
            pid = int(await call_text(session, "pid"))
        await wait_until(lambda: is_reaped(pid))


async def test_every_child_is_ended_and_reaped_at_shutdown() -> None:
    async with (
        bridged() as running,
        sdk_session(running.url, "streamable-http") as first,
        sdk_session(running.url, "sse") as second,
    ):
        pids = [int(await call_text(session, "pid")) for session in (first, second)]
        bridge = running.bridge
        await running.live.stop()
        assert bridge.children == {}
        assert all(is_reaped(pid) for pid in pids)


async def test_a_command_that_exits_at_once_fails_initialize_without_a_hang() -> None:
    command = (sys.executable, "-c", "import sys; sys.exit(5)")
    async with (
        bridged(command, restart_policy=QUICK_RESTARTS) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS) as client,
    ):
        response = await client.post("/mcp", json=INITIALIZE)
        again = await client.post("/mcp", json=INITIALIZE)
    for answer in (response, again):
        assert answer.status_code == 200
        assert "mcp-session-id" not in answer.headers
        error = answer.json()["error"]
        assert error["code"] == -32603
        assert "exited (code 5) before answering initialize" in error["message"]


async def test_a_command_that_never_speaks_fails_initialize_at_the_startup_bound() -> None:
    command = (sys.executable, "-c", "import time; time.sleep(60)")
    async with (
        bridged(command, child_timeout_seconds=0.2, startup_timeout_seconds=0.5) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS) as client,
    ):
        response = await client.post("/mcp", json=INITIALIZE)
        [pid] = [child.pid for child in running.bridge.children] or [None]
    error = response.json()["error"]
    assert error["code"] == -32603
    assert "did not answer initialize within 0.5 s" in error["message"]
    assert pid is None or is_reaped(pid)


async def test_a_command_that_cannot_start_fails_initialize_with_a_clear_error() -> None:
    async with (
        bridged(("/nonexistent/mcp-server",)) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS) as client,
    ):
        response = await client.post("/mcp", json=INITIALIZE)
    assert response.json()["error"] == {
        "code": -32603,
        "message": "the bridged server could not be started",
    }


def test_fixture_command_names_this_python() -> None:
    assert FIXTURE_COMMAND[0] == sys.executable


def is_dead(pid: int) -> bool:
    """Whether ``pid`` no longer runs: gone, or a zombie (an orphan is its new parent's to
    reap, which a container's init may never do)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


async def test_a_crash_ends_what_the_child_started_and_is_reported_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The grandchild holds the child's stdout and stderr open: the crash must still be seen
    # as soon as the child exits, not when the grandchild's pipes close.
    caplog.set_level(logging.INFO, logger="ssemcp.bridge")
    script = 'sleep 300 & echo "grandchild $!" >&2; exec "$@"'
    command = ("sh", "-c", script, "sh", *FIXTURE_COMMAND)
    async with (
        bridged(command, restart_policy=QUICK_RESTARTS) as running,
        sdk_session(running.url, "streamable-http") as session,
    ):
        await wait_until(lambda: any("grandchild" in message for message in caplog.messages))
        [line] = [message for message in caplog.messages if "stderr: grandchild" in message]
        grandchild = int(line.rpartition(" ")[2])
        assert not is_dead(grandchild)
        # (Were it seen only when the pipes close, the SDK's read timeout would end this.)
        with pytest.raises(MCPError) as raised:
            await session.call_tool("crash", {})
        await wait_until(lambda: is_dead(grandchild))
    assert "exited (code 3)" in raised.value.error.message
