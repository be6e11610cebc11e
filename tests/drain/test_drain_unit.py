"""The drain's record of calls (``ssemcp.transports.drain``) and what the app admits while it
drains (``MCPApp.begin_drain``), without a server process: tasks on the test's loop, and the
app driven through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import httpx
import pytest

from ssemcp import Server
from ssemcp.http import create_app
from ssemcp.jsonrpc import Notification, Request
from ssemcp.transports.drain import Drain, DrainState, cut_replies

POST_HEADERS: Final = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
}


async def hold(drain: Drain, request: object, release: asyncio.Event) -> str:
    """A call as a transport serves one: recorded, then ended however it ends."""
    task = drain.start(request)
    try:
        await release.wait()
        return "finished"
    except asyncio.CancelledError:
        if not drain.was_cut(task):
            raise
        task.uncancel()
        return "cut"
    finally:
        drain.end(task)
        drain.end(task)  # idempotent


async def test_calls_that_end_before_the_drain_are_not_counted() -> None:
    drain = Drain(5)
    release = asyncio.Event()
    release.set()
    assert await hold(drain, Request(1, "ping"), release) == "finished"
    assert (drain.in_flight, drain.finished_count, drain.cut_count) == (0, 0, 0)
    assert drain.state is DrainState.SERVING and not drain.is_draining


async def test_a_drain_with_nothing_in_flight_is_over_at_once() -> None:
    drain = Drain(60)
    assert drain.begin() is True
    assert drain.begin() is False  # idempotent
    async with asyncio.timeout(5):
        assert await drain.wait(60) is True
    assert drain.summary() == "drained: 0 call(s) finished, 0 cut (grace 60 s)"


async def test_calls_finishing_within_the_grace_are_counted_as_finished() -> None:
    drain = Drain(60)
    release = asyncio.Event()
    tasks = [asyncio.create_task(hold(drain, Request(n, "ping"), release)) for n in range(3)]
    await asyncio.sleep(0)  # each task starts its call
    assert drain.in_flight == 3
    drain.begin()
    assert drain.in_flight_at_start == 3
    waiting = asyncio.create_task(drain.wait(60))
    release.set()
    async with asyncio.timeout(5):
        assert await waiting is True
        assert await asyncio.gather(*tasks) == ["finished"] * 3
    assert (drain.finished_count, drain.cut_count) == (3, 0)


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_what_is_left_after_the_grace_is_cut_and_logged_once_each() -> None:
    drain = Drain(0.01)
    never = asyncio.Event()
    tool_call = Request(9, "tools/call", {"name": "slow", "arguments": {"secret": "s3cr3t"}})
    tasks = [
        asyncio.create_task(hold(drain, tool_call, never)),
        asyncio.create_task(hold(drain, Request("x", "resources/read"), never)),
    ]
    await asyncio.sleep(0)
    drain.begin()
    async with asyncio.timeout(5):
        assert await drain.wait_for_grace() is False
    # A handler of its own on the drain's logger: whatever other tests in the run did to
    # the loggers above it (ssemcp serve stops them propagating), these are its lines.
    drain_logger = logging.getLogger("ssemcp.transports.drain")
    recorder = _Recorder()
    level = drain_logger.level
    drain_logger.addHandler(recorder)
    drain_logger.setLevel(logging.WARNING)
    try:
        assert drain.cut() == 2
        assert drain.cut() == 0  # each call is cut once
    finally:
        drain_logger.removeHandler(recorder)
        drain_logger.setLevel(level)
    async with asyncio.timeout(5):
        assert await asyncio.gather(*tasks) == ["cut", "cut"]
    assert drain.state is DrainState.CUT
    assert (drain.finished_count, drain.cut_count) == (0, 2)
    assert recorder.lines == [
        "shutdown: cut tools/call slow (id 9), still running after the 0.01 s grace",
        "shutdown: cut resources/read (id 'x'), still running after the 0.01 s grace",
    ]
    assert all("s3cr3t" not in line for line in recorder.lines)  # never the arguments


async def test_hurry_ends_the_wait_at_once() -> None:
    drain = Drain(600)
    never = asyncio.Event()
    task = asyncio.create_task(hold(drain, Request(1, "ping"), never))
    await asyncio.sleep(0)
    drain.begin()
    waiting = asyncio.create_task(drain.wait_for_grace())
    await asyncio.sleep(0)
    drain.hurry()
    async with asyncio.timeout(5):
        assert await waiting is False
        assert await drain.wait_for_grace() is False  # and any later one
    drain.cut()
    async with asyncio.timeout(5):
        assert await task == "cut"


def test_a_negative_grace_is_refused() -> None:
    with pytest.raises(ValueError, match="grace_seconds"):
        Drain(-1)


def test_cut_replies_answer_every_request_of_a_payload_by_id() -> None:
    single = cut_replies(Request(3, "tools/call"), 2.5)
    assert not isinstance(single, list) and single is not None
    assert (single.id, single.code) == (3, -32603)
    assert "cut after the 2.5 s shutdown grace" in single.message
    batch = cut_replies([Request(1, "ping"), Notification("notifications/x"), Request("1", "p")], 1)
    assert isinstance(batch, list)
    assert [reply.id for reply in batch] == [1, "1"]  # ids keep their type
    assert cut_replies(Notification("notifications/x"), 1) is None


# ---------------------------------------------------------------------- the app while draining


def build_server() -> Server:
    server = Server("drain-unit", "1")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    return server


def request(request_id: Any, method: str = "tools/list") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {}}


async def test_a_draining_app_refuses_new_work_and_admits_what_calls_in_flight_need() -> None:
    app = create_app(build_server())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        initialize = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        response = await client.post("/mcp", json=initialize, headers=POST_HEADERS)
        session = {**POST_HEADERS, "mcp-session-id": response.headers["mcp-session-id"]}
        app.begin_drain(5)

        refused = [
            await client.get("/healthz"),
            await client.get("/"),
            await client.get("/sse"),
            await client.get("/mcp", headers={"accept": "text/event-stream", **session}),
            await client.post("/mcp", json=request(41), headers=session),
            await client.post("/mcp", json=[request(42)], headers=session),
            await client.post("/mcp", json=initialize, headers=POST_HEADERS),
        ]
        for response in refused:
            assert response.status_code == 503, response.request.url
            assert response.headers["connection"] == "close"
            assert response.json()["error"]["code"] == -32600
        assert refused[4].json()["id"] == 41  # answered by its id
        assert refused[5].json()["id"] is None  # a batch: no one id

        notification = {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}
        admitted = await client.post("/mcp", json=notification, headers=session)
        assert admitted.status_code == 202
        deleted = await client.delete("/mcp", headers=session)
        assert deleted.status_code == 204
        missing = await client.post("/messages/", json=request(43), headers=POST_HEADERS)
        assert missing.status_code == 400  # no session_id: the transport answers as ever


async def test_a_legacy_post_of_a_new_request_gets_503_by_id_while_draining() -> None:
    app = create_app(build_server())
    assert app.legacy_sse is not None
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        # A session as GET /sse would open it, without holding a stream in this transport.
        from ssemcp.transports import legacy_sse

        session = legacy_sse._Session(
            build_server(),
            "s" * 32,
            None,
            legacy_sse.DEFAULT_MAX_QUEUED_MESSAGES,
            legacy_sse.FrameCache(legacy_sse._message_event),
            legacy_sse.Flusher(),
        )
        app.legacy_sse._sessions[session.session_id] = session
        app.begin_drain(5)
        url = f"/messages/?session_id={session.session_id}"
        refused = await client.post(url, json=request("r"), headers=POST_HEADERS)
        assert refused.status_code == 503
        assert refused.headers["connection"] == "close"
        assert refused.json()["id"] == "r"
        notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await client.post(url, json=notification, headers=POST_HEADERS)).status_code == 202
        session.close()


def test_the_grace_is_counted_from_the_beginning_of_the_drain() -> None:
    drain = Drain(30)
    assert drain.grace_left() == 30
    drain.begin()
    assert 0 < drain.grace_left() <= 30
    assert Drain(0).grace_left() == 0
