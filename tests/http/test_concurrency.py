"""Many clients at once over both HTTP transports: answers reach their own asker, once.

Owns what concurrency must not break (issue 4): hundreds of sessions of both transports
interleaved, ids that differ only in type (``7`` and ``"7"``) in flight together, two
sessions reusing the same ids at the same time, a hundred requests in flight on one
Streamable HTTP session, and a thousand sessions opened and deleted without the server's
memory growing. A gate holds every call of the ``held`` tool until all of them are in flight,
so "at once" is a fact the test waits for, not a hope about timing.

Each test starts its own server on a free 127.0.0.1 port (``live_app``) and stops it in
``finally``; the memory test runs ``ssemcp serve`` in a subprocess to read its RSS. What one
transport does on its own (statuses, framing) is ``test_streamable_http.py``'s and
``test_legacy_sse.py``'s business.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from live_server import LiveServer, live_app, serve_subprocess, wait_until

from ssemcp import Server, ToolError, create_app
from ssemcp.sse import Event, SSEParser

# How long a test waits for one event: never reached when things work, and well inside
# pytest's 120 s when they do not.
STEP_TIMEOUT_SECONDS: Final = 15.0
# How long a held call may wait for the gate, and so how long a client waits for anything:
# the gate opens only once every session has been set up and has called, which took 12 s
# with 200 sessions while other work kept both cores busy (and so once outran 15 s). Still
# inside pytest's 120 s, so a call that never arrives fails with the gate's count.
GATE_TIMEOUT_SECONDS: Final = 90.0
SESSIONS_PER_TRANSPORT: Final = 100
IN_FLIGHT: Final = 100
SAME_IDS: Final = range(1, 11)
ACCEPT_BOTH: Final = "application/json, text/event-stream"
STREAMABLE_HEADERS: Final = {"accept": ACCEPT_BOTH, "content-type": "application/json"}
JSON_HEADERS: Final = {"content-type": "application/json"}
SUBPROCESS_SERVER: Final = Path(__file__).with_name("subprocess_server.py")
TRANSPORTS: Final = ("streamable", "legacy")
# The churn: warm-up sessions first (imports, caches, allocator arenas settle), then the
# thousand whose memory must not stay behind, a few at a time as real clients come and go.
# Both counts are totals, half over each transport (Streamable: initialize, DELETE; legacy:
# open the stream, close it).
WARM_UP_SESSIONS: Final = 100
CHURN_SESSIONS: Final = 1_000
CHURN_CONCURRENCY: Final = 16
CHURN_LIMITS: Final = httpx.Limits(
    max_connections=4 * CHURN_CONCURRENCY, max_keepalive_connections=4 * CHURN_CONCURRENCY
)
# Ended sessions whose ids are tried again afterwards (each must get 404).
SAMPLED_ENDED: Final = 20
MIB: Final = 1024 * 1024
# Measured with this test's server (python 3.11, uvicorn 0.54): an initialized Streamable
# session never deleted holds ~5.5 KiB of RSS, so the 500 here would add ~2.8 MiB if none
# were freed; with all freed, RSS grows 0.4-0.6 MiB (allocator noise). 2 MiB sits between,
# four times the noise. A closed legacy stream left behind costs too little RSS to see
# (~0.4 KiB): leaks of any size are caught exactly by live_state's object counts instead.
MAX_RSS_GROWTH_BYTES: Final = 2 * MIB
# What live_state reports once only the probe's own Streamable session is open.
ONLY_THE_PROBE: Final = {
    "streamable_sessions": 1,
    "legacy_sessions": 0,
    "attached_connections": 1,
    "streamable_session_objects": 1,
    "legacy_session_objects": 0,
    "connection_objects": 1,
}
# Loading the CA bundle once keeps a hundred clients cheap to build (they never use TLS).
TLS: Final = ssl.create_default_context()


class Gate:
    """Holds each caller until ``expected`` callers have arrived, then lets all through."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.arrived = 0
        self.opened = asyncio.Event()

    async def pass_through(self) -> None:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.opened.set()
        try:
            async with asyncio.timeout(GATE_TIMEOUT_SECONDS):
                await self.opened.wait()
        except TimeoutError:
            raise ToolError(f"only {self.arrived} of {self.expected} calls arrived") from None


def build_server(gate: Gate) -> Server:
    server = Server("concurrency-test", "0.0.1")

    @server.tool()
    async def held(tag: str) -> str:
        """Wait until every gated call is in flight, then answer with the tag."""
        await gate.pass_through()
        return tag

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    return server


def tools_call(request_id: int | str, name: str, **arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def initialize_request(version: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "concurrency-test", "version": "1"},
        },
    }


def text_of(reply: dict[str, Any]) -> str:
    assert "result" in reply, reply
    content = reply["result"]["content"]
    assert len(content) == 1, content
    assert reply["result"].get("isError") is not True, reply
    text: str = content[0]["text"]
    return text


# ---------------------------------------------------------------------- the two clients


class StreamableSession:
    """One Streamable HTTP session: each request is its own POST, answered in its body."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.mcp_url = url + "/mcp"
        self.session_id = ""

    async def initialize(self) -> None:
        response = await self.client.post(
            self.mcp_url, json=initialize_request("2025-11-25"), headers=STREAMABLE_HEADERS
        )
        assert response.status_code == 200, response.text
        self.session_id = response.headers["mcp-session-id"]
        await self.notify_initialized()

    async def notify_initialized(self) -> None:
        response = await self.client.post(
            self.mcp_url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={**STREAMABLE_HEADERS, "mcp-session-id": self.session_id},
        )
        assert response.status_code == 202, response.text

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(
            self.mcp_url,
            json=body,
            headers={**STREAMABLE_HEADERS, "mcp-session-id": self.session_id},
        )
        assert response.status_code == 200, response.text
        # One JSON body: a reply delivered twice would need a second body it does not have.
        assert response.headers["content-type"] == "application/json"
        reply: dict[str, Any] = response.json()
        return reply

    async def delete(self) -> int:
        response = await self.client.delete(
            self.mcp_url, headers={"mcp-session-id": self.session_id}
        )
        return response.status_code


class LegacySession:
    """One 2024-11-05 session: a ``GET /sse`` stream; requests are POSTed, replies stream."""

    def __init__(self, client: httpx.AsyncClient, url: str, response: httpx.Response) -> None:
        self.client = client
        self.url = url
        self._chunks = response.aiter_bytes()
        self._parser = SSEParser()
        self._pending: deque[Event] = deque()
        self.post_url = ""

    async def next_event(self) -> Event:
        async with asyncio.timeout(GATE_TIMEOUT_SECONDS):
            while not self._pending:
                self._pending.extend(self._parser.feed(await anext(self._chunks)))
        return self._pending.popleft()

    async def message(self) -> dict[str, Any]:
        event = await self.next_event()
        assert event.event == "message", event
        message: dict[str, Any] = json.loads(event.data)
        return message

    async def post(self, body: dict[str, Any]) -> None:
        response = await self.client.post(
            self.url + self.post_url, content=json.dumps(body).encode(), headers=JSON_HEADERS
        )
        assert response.status_code == 202, response.text

    async def initialize(self) -> None:
        await self.post(initialize_request("2024-11-05"))
        reply = await self.message()
        assert reply["id"] == 0 and "result" in reply, reply
        await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        await self.post(body)
        return await self.message()

    async def assert_nothing_else_pending(self, next_id: int) -> None:
        """No stray or repeated message sits before the reply to a fresh ping."""
        reply = await self.request({"jsonrpc": "2.0", "id": next_id, "method": "ping"})
        assert reply == {"jsonrpc": "2.0", "id": next_id, "result": {}}


@asynccontextmanager
async def streamable_session(url: str, **client_options: Any) -> AsyncIterator[StreamableSession]:
    async with httpx.AsyncClient(
        timeout=GATE_TIMEOUT_SECONDS, verify=TLS, **client_options
    ) as client:
        session = StreamableSession(client, url)
        await session.initialize()
        yield session


@asynccontextmanager
async def legacy_session(url: str, **client_options: Any) -> AsyncIterator[LegacySession]:
    async with (
        httpx.AsyncClient(timeout=GATE_TIMEOUT_SECONDS, verify=TLS, **client_options) as client,
        client.stream("GET", url + "/sse") as response,
    ):
        assert response.status_code == 200
        session = LegacySession(client, url, response)
        endpoint = await session.next_event()
        assert endpoint.event == "endpoint", endpoint
        session.post_url = endpoint.data
        await session.initialize()
        yield session


@asynccontextmanager
async def gated_server(expected: int) -> AsyncIterator[LiveServer]:
    """A live server whose ``held`` tool opens once ``expected`` calls are in flight."""
    gate = Gate(expected)
    # Connections idle as long as a client may wait: a starved client can pause longer than
    # uvicorn's 5 s between two requests, and a POST sent on a connection the server is
    # closing fails (HTTP/1.1's keep-alive race, RFC 9112 section 9.3.1), which is not what
    # these tests are about.
    app = create_app(build_server(gate), max_sessions=4 * SESSIONS_PER_TRANSPORT)
    async with live_app(app, keep_alive_seconds=GATE_TIMEOUT_SECONDS) as live:
        yield live


# ---------------------------------------------------------------------- many sessions


async def test_hundreds_of_sessions_on_both_transports_each_get_only_their_own_answers() -> None:
    async with gated_server(expected=2 * SESSIONS_PER_TRANSPORT) as live:

        async def over_streamable(index: int) -> tuple[str, int, list[str]]:
            async with streamable_session(live.url) as session:
                tag = f"streamable {index}"
                held = await session.request(tools_call(1, "held", tag=tag))
                echoed = await session.request(tools_call(2, "echo", text=tag + " again"))
                assert (held["id"], echoed["id"]) == (1, 2)
                return "streamable", index, [text_of(held), text_of(echoed)]

        async def over_legacy(index: int) -> tuple[str, int, list[str]]:
            async with legacy_session(live.url) as session:
                tag = f"legacy {index}"
                held = await session.request(tools_call(1, "held", tag=tag))
                echoed = await session.request(tools_call(2, "echo", text=tag + " again"))
                assert (held["id"], echoed["id"]) == (1, 2)
                await session.assert_nothing_else_pending(3)
                return "legacy", index, [text_of(held), text_of(echoed)]

        # Interleaved: a legacy session, a Streamable one, a legacy one, ...
        results = await asyncio.gather(
            *(
                session(index)
                for index in range(SESSIONS_PER_TRANSPORT)
                for session in (over_legacy, over_streamable)
            )
        )
    assert len(results) == 2 * SESSIONS_PER_TRANSPORT
    for kind, index, texts in results:
        assert texts == [f"{kind} {index}", f"{kind} {index} again"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_ids_7_and_string_7_in_flight_together_are_answered_apart(transport: str) -> None:
    async with gated_server(expected=2) as live:
        if transport == "streamable":
            async with streamable_session(live.url) as session:
                replies = await asyncio.gather(
                    session.request(tools_call(7, "held", tag="number")),
                    session.request(tools_call("7", "held", tag="string")),
                )
        else:
            async with legacy_session(live.url) as session:
                await asyncio.gather(
                    session.post(tools_call(7, "held", tag="number")),
                    session.post(tools_call("7", "held", tag="string")),
                )
                replies = [await session.message(), await session.message()]
                await session.assert_nothing_else_pending(8)
    by_type = {type(reply["id"]): reply for reply in replies}
    assert set(by_type) == {int, str}, replies
    assert by_type[int]["id"] == 7
    assert text_of(by_type[int]) == "number"
    assert by_type[str]["id"] == "7"
    assert text_of(by_type[str]) == "string"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_two_sessions_using_the_same_ids_at_once_never_see_each_others_answers(
    transport: str,
) -> None:
    async with gated_server(expected=2 * len(SAME_IDS)) as live:

        async def streamable_asker(name: str) -> dict[int, str]:
            async with streamable_session(live.url) as session:
                replies = await asyncio.gather(
                    *(session.request(tools_call(i, "held", tag=f"{name} {i}")) for i in SAME_IDS)
                )
            return {reply["id"]: text_of(reply) for reply in replies}

        async def legacy_asker(name: str) -> dict[int, str]:
            async with legacy_session(live.url) as session:
                await asyncio.gather(
                    *(session.post(tools_call(i, "held", tag=f"{name} {i}")) for i in SAME_IDS)
                )
                replies = [await session.message() for _ in SAME_IDS]
                await session.assert_nothing_else_pending(len(SAME_IDS) + 1)
            assert len({reply["id"] for reply in replies}) == len(SAME_IDS)
            return {reply["id"]: text_of(reply) for reply in replies}

        asker = streamable_asker if transport == "streamable" else legacy_asker
        alice, bob = await asyncio.gather(asker("alice"), asker("bob"))
    assert alice == {i: f"alice {i}" for i in SAME_IDS}
    assert bob == {i: f"bob {i}" for i in SAME_IDS}


async def test_hundred_concurrent_posts_on_one_streamable_session_are_each_answered_once() -> None:
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with (
        gated_server(expected=IN_FLIGHT) as live,
        streamable_session(live.url, limits=limits) as session,
    ):
        replies = await asyncio.gather(
            *(session.request(tools_call(i, "held", tag=f"call {i}")) for i in range(IN_FLIGHT))
        )
        # The session is still whole afterwards.
        after = await session.request(tools_call(IN_FLIGHT, "echo", text="after"))
    assert [reply["id"] for reply in replies] == list(range(IN_FLIGHT))
    assert [text_of(reply) for reply in replies] == [f"call {i}" for i in range(IN_FLIGHT)]
    assert text_of(after) == "after"


# ---------------------------------------------------------------------- churn


async def test_thousand_sessions_opened_and_closed_leave_no_session_and_no_memory_behind(
    tmp_path: Path,
) -> None:
    target = f"{SUBPROCESS_SERVER}:server"
    async with (
        serve_subprocess(target, "--log-level", "warning", log_dir=tmp_path) as process,
        httpx.AsyncClient(timeout=STEP_TIMEOUT_SECONDS, limits=CHURN_LIMITS) as client,
    ):
        probe = StreamableSession(client, process.url)
        await probe.initialize()
        probe_ids = iter(range(1, 10_000))
        ended_streamable: list[str] = []
        ended_legacy: list[str] = []

        async def live_state() -> dict[str, int]:
            reply = await probe.request(tools_call(next(probe_ids), "live_state"))
            state: dict[str, int] = json.loads(text_of(reply))
            return state

        async def only_the_probe_is_left() -> bool:
            return await live_state() == ONLY_THE_PROBE

        async def churn(count: int) -> None:
            slots = asyncio.Semaphore(CHURN_CONCURRENCY)

            async def streamable_once() -> None:
                async with slots:
                    session = StreamableSession(client, process.url)
                    await session.initialize()
                    assert await session.delete() == 204
                    ended_streamable.append(session.session_id)

            async def legacy_once() -> None:
                async with slots, client.stream("GET", process.url + "/sse") as response:
                    assert response.status_code == 200
                    session = LegacySession(client, process.url, response)
                    endpoint = await session.next_event()
                    assert endpoint.event == "endpoint", endpoint
                    ended_legacy.append(endpoint.data)
                # Leaving the block closes the stream: the session ends with it.

            await asyncio.gather(
                *(once() for _ in range(count // 2) for once in (streamable_once, legacy_once))
            )

        await churn(WARM_UP_SESSIONS)
        await wait_until(only_the_probe_is_left, timeout_seconds=STEP_TIMEOUT_SECONDS)
        rss_before = process.rss_bytes()

        await churn(CHURN_SESSIONS)
        await wait_until(only_the_probe_is_left, timeout_seconds=STEP_TIMEOUT_SECONDS)
        rss_after = process.rss_bytes()

        # spec 2025-11-25 basic/transports: after a session ends the server "MUST respond to
        # requests containing that session ID with HTTP 404 Not Found"; ours for legacy too.
        for session_id in ended_streamable[-SAMPLED_ENDED:]:
            gone = StreamableSession(client, process.url)
            gone.session_id = session_id
            assert await gone.delete() == 404
        for post_url in ended_legacy[-SAMPLED_ENDED:]:
            response = await client.post(
                process.url + post_url,
                content=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode(),
                headers=JSON_HEADERS,
            )
            assert response.status_code == 404
    assert len(ended_streamable) == len(ended_legacy) == (WARM_UP_SESSIONS + CHURN_SESSIONS) // 2
    growth_mib = (rss_after - rss_before) / MIB
    assert rss_after - rss_before < MAX_RSS_GROWTH_BYTES, f"RSS grew {growth_mib:.1f} MiB"
    assert "Traceback" not in process.log()
