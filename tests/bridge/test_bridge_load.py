"""Many sessions through ``ssemcp bridge``: 50 sessions each with a child of its own, then all
closed (no process left, not even a zombie, and no file descriptor leaked), and 500 clients on
one ``--shared`` child, every one answered with its own reply although all use the same ids.

The child is ``tests/bridge/tiny_server.py`` (the standard library only), so that dozens start
quickly; clients are httpx through a real uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Final

import httpx
import pytest
from bridge_support import bridged, is_reaped
from live_server import INITIALIZE, wait_until

pytestmark = pytest.mark.interop

TINY_COMMAND: Final = (sys.executable, str(Path(__file__).with_name("tiny_server.py")))
MCP_HEADERS: Final = {"accept": "application/json, text/event-stream"}
# Requests in flight at once: enough to overlap, few enough for a 2-core machine.
CONCURRENCY: Final = 25


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def bounded(calls: list, limit: int = CONCURRENCY) -> list:  # type: ignore[type-arg]
    """Run the coroutines ``calls`` with at most ``limit`` at once, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(call):  # type: ignore[no-untyped-def]
        async with gate:
            return await call

    return await asyncio.gather(*(one(call) for call in calls))


def echo(text: str) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": text}},
    }


async def test_fifty_sessions_with_a_child_each_leave_no_process_or_fd_behind() -> None:
    sessions = 50
    async with bridged(TINY_COMMAND, max_children=sessions) as running:
        # One session first, so that what the loop and uvicorn open once is open already.
        async with httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS) as client:
            warm = await client.post("/mcp", json=INITIALIZE)
            session = {"mcp-session-id": warm.headers["mcp-session-id"]}
            await client.delete("/mcp", headers=session)
        await wait_until(lambda: not running.bridge.children)
        fds_before = open_fds()

        async with httpx.AsyncClient(
            base_url=running.url, headers=MCP_HEADERS, timeout=30
        ) as client:

            async def one_session(index: int) -> tuple[str, str]:
                opened = await client.post("/mcp", json=INITIALIZE)
                session_id = opened.headers["mcp-session-id"]
                called = await client.post(
                    "/mcp", json=echo(f"session {index}"), headers={"mcp-session-id": session_id}
                )
                return session_id, called.json()["result"]["content"][0]["text"]

            opened = await bounded([one_session(index) for index in range(sessions)])
            texts = [text for _, text in opened]
            assert texts == [f"session {index}" for index in range(sessions)]
            pids = [child.pid for child in running.bridge.children]
            assert len(pids) == sessions
            deleted = await bounded(
                [client.delete("/mcp", headers={"mcp-session-id": sid}) for sid, _ in opened]
            )
            assert all(response.status_code == 204 for response in deleted)

        def all_gone() -> bool:
            return all(is_reaped(pid) for pid in pids) and not running.bridge.children

        await wait_until(all_gone)
        # Each child had three pipes; with the client's connections closed too, the process
        # holds what it held before the fifty sessions.
        await wait_until(lambda: open_fds() <= fds_before)
        assert running.bridge.session_child_count == 0


async def test_five_hundred_clients_on_one_shared_child_each_get_their_own_answer() -> None:
    clients = 500
    async with (
        bridged(TINY_COMMAND, shared=True) as running,
        httpx.AsyncClient(
            base_url=running.url,
            headers=MCP_HEADERS,
            timeout=60,
            limits=httpx.Limits(max_connections=CONCURRENCY),
        ) as client,
    ):

        async def one_client(index: int) -> str:
            opened = await client.post("/mcp", json=INITIALIZE)
            session = {"mcp-session-id": opened.headers["mcp-session-id"]}
            # Every client uses id 2: the bridge must tell them apart.
            called = await client.post("/mcp", json=echo(f"client {index}"), headers=session)
            await client.delete("/mcp", headers=session)
            return str(called.json()["result"]["content"][0]["text"])

        answers = await bounded([one_client(index) for index in range(clients)])
        assert len(running.bridge.children) == 1
    assert answers == [f"client {index}" for index in range(clients)]
