"""Streamable HTTP resumability over a real uvicorn: event ids, priming, Last-Event-ID, principals.

spec 2025-11-25 basic/transports, "Resumability and Redelivery" and SEP-1699. Each test starts
its own app on a free 127.0.0.1 port and stops it in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from live_server import live_app

from ssemcp import Context, Server
from ssemcp.http import create_app
from ssemcp.http.app import MCPApp
from ssemcp.sse import Event, SSEParser
from ssemcp.transports.streamable import DEFAULT_RETRY_MILLISECONDS, StreamableHTTPTransport

STEP_DEADLINE_SECONDS = 5.0
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
TOKEN_A = "token-for-alice-0123456789"
TOKEN_B = "token-for-bob-0123456789"


@dataclass
class Gates:
    release: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: asyncio.Event = field(default_factory=asyncio.Event)


def build_server(gates: Gates) -> Server:
    server = Server("resume-test", "0.0.1")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def gated(ctx: Context) -> str:
        """Log, wait for the test to release it, log again, answer."""
        await ctx.info("before")
        gates.waiting.set()
        await gates.release.wait()
        await ctx.info("after")
        return "done"

    @server.tool()
    async def noisy(count: int, ctx: Context) -> str:
        """Log ``count`` messages, then answer."""
        for index in range(count):
            await ctx.info(f"message {index}")
        return "noisy done"

    return server


@dataclass
class Running:
    url: str
    app: MCPApp
    server: Server
    client: httpx.AsyncClient
    gates: Gates

    @property
    def mcp(self) -> str:
        return self.url + "/mcp"

    async def post(self, body: Any, **headers: str) -> httpx.Response:
        return await self.client.post(
            self.mcp, content=json.dumps(body).encode(), headers={**HEADERS, **headers}
        )

    async def initialize(self, version: str = "2025-11-25", **headers: str) -> str:
        response = await self.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {}},
            },
            **headers,
        )
        assert response.status_code == 200, response.text
        session_id = response.headers["mcp-session-id"]
        initialized = await self.post(
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            **{"mcp-session-id": session_id},
            **headers,
        )
        assert initialized.status_code == 202
        return session_id


def call_body(request_id: int, name: str, arguments: dict[str, Any] | None = None) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments or {}},
        }
    ).encode()


@contextlib.asynccontextmanager
async def serve(app: MCPApp, server: Server, gates: Gates) -> AsyncIterator[Running]:
    async with live_app(app) as live:
        try:
            async with live.client() as client:
                yield Running(live.url, app, server, client, gates)
        finally:
            # Before uvicorn stops: a gated handler still waiting would hold its shutdown.
            gates.release.set()


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    gates = Gates()
    server = build_server(gates)
    async with serve(create_app(server), server, gates) as running:
        yield running


async def read_events(response: httpx.Response, until: Any = None) -> list[Event]:
    """Parse SSE events until ``until(event)`` is true or the response ends."""
    parser = SSEParser()
    found: list[Event] = []
    async with asyncio.timeout(STEP_DEADLINE_SECONDS):
        async for chunk in response.aiter_bytes():
            for event in parser.feed(chunk):
                found.append(event)
                if until is not None and until(event):
                    return found
    return found


def messages(found: list[Event]) -> list[Any]:
    return [json.loads(event.data) for event in found if event.data]


def is_result(event: Event) -> bool:
    return bool(event.data) and "result" in json.loads(event.data)


async def drop_call_after_first_message(running: Running, session_id: str) -> list[Event]:
    """POST the gated tool, read up to its first message, then disconnect."""
    headers = {**HEADERS, "mcp-session-id": session_id}
    async with running.client.stream(
        "POST", running.mcp, content=call_body(1, "gated"), headers=headers
    ) as response:
        assert response.headers["content-type"] == "text/event-stream"
        return await read_events(response, until=lambda event: bool(event.data))


async def resume(running: Running, session_id: str, last_event_id: str) -> list[Event]:
    headers = {
        "accept": "text/event-stream",
        "mcp-session-id": session_id,
        "last-event-id": last_event_id,
    }
    async with running.client.stream("GET", running.mcp, headers=headers) as response:
        assert response.status_code == 200
        return await read_events(response)


# ---------------------------------------------------------------------- priming and ids


async def test_post_stream_starts_with_a_priming_event_for_2025_11_25(running: Running) -> None:
    session_id = await running.initialize("2025-11-25")
    found = await drop_call_after_first_message(running, session_id)
    priming, first = found
    assert priming.data == ""
    assert priming.id
    assert first.id and first.id != priming.id
    assert json.loads(first.data)["params"]["data"] == "before"


async def test_priming_event_carries_retry(running: Running) -> None:
    session_id = await running.initialize("2025-11-25")
    headers = {**HEADERS, "mcp-session-id": session_id}
    async with running.client.stream(
        "POST", running.mcp, content=call_body(1, "gated"), headers=headers
    ) as response:
        parser = SSEParser()
        async with asyncio.timeout(STEP_DEADLINE_SECONDS):
            async for chunk in response.aiter_bytes():
                if parser.feed(chunk):
                    break
    assert parser.retry_milliseconds == DEFAULT_RETRY_MILLISECONDS


async def test_no_priming_event_for_2025_03_26_but_events_have_ids(running: Running) -> None:
    session_id = await running.initialize("2025-03-26")
    found = await drop_call_after_first_message(running, session_id)
    assert len(found) == 1
    assert found[0].data and found[0].id


async def test_priming_follows_the_negotiated_revision_not_the_header(running: Running) -> None:
    # The conformance suite's raw requests say 2025-03-26 after negotiating 2025-11-25.
    session_id = await running.initialize("2025-11-25")
    headers = {**HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": "2025-03-26"}
    async with running.client.stream(
        "POST", running.mcp, content=call_body(1, "gated"), headers=headers
    ) as response:
        found = await read_events(response, until=lambda event: bool(event.data))
    assert found[0].data == "" and found[0].id


async def test_get_stream_starts_with_a_priming_event(running: Running) -> None:
    session_id = await running.initialize("2025-11-25")
    headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
    async with running.client.stream("GET", running.mcp, headers=headers) as response:
        found = await read_events(response, until=lambda event: True)
    assert found[0].data == "" and found[0].id


async def test_event_ids_are_unique_within_a_session(running: Running) -> None:
    session_id = await running.initialize()
    headers = {**HEADERS, "mcp-session-id": session_id}
    ids: list[str] = []
    for request_id in (1, 2):
        response = await running.client.post(
            running.mcp,
            content=call_body(request_id, "noisy", {"count": 3}),
            headers=headers,
        )
        parser = SSEParser()
        ids.extend(event.id for event in parser.feed(response.content))
    assert len(ids) == 10
    assert len(set(ids)) == 10


# ---------------------------------------------------------------------- resuming


async def test_resume_after_dropping_a_post_mid_call_gets_the_rest_and_the_result(
    running: Running,
) -> None:
    session_id = await running.initialize()
    found = await drop_call_after_first_message(running, session_id)
    last_id = found[-1].id
    running.gates.release.set()
    rest = await resume(running, session_id, last_id)
    replayed = messages(rest)
    assert [message.get("method") for message in replayed] == ["notifications/message", None]
    assert replayed[0]["params"]["data"] == "after"
    assert replayed[1]["id"] == 1
    assert replayed[1]["result"]["content"] == [{"type": "text", "text": "done"}]


async def test_resume_while_the_call_still_runs_follows_it_live(running: Running) -> None:
    session_id = await running.initialize()
    found = await drop_call_after_first_message(running, session_id)
    priming_id = found[0].id
    headers = {
        "accept": "text/event-stream",
        "mcp-session-id": session_id,
        "last-event-id": priming_id,
    }
    async with running.client.stream("GET", running.mcp, headers=headers) as response:
        assert response.status_code == 200
        parser = SSEParser()
        seen: list[Event] = []
        async with asyncio.timeout(STEP_DEADLINE_SECONDS):
            async for chunk in response.aiter_bytes():
                seen.extend(parser.feed(chunk))
                if seen and not running.gates.release.is_set():
                    # "before" was replayed; now let the handler go on, live.
                    running.gates.release.set()
    replayed = messages(seen)
    assert [message.get("params", {}).get("data") for message in replayed[:2]] == [
        "before",
        "after",
    ]
    assert replayed[-1]["id"] == 1
    assert replayed[-1]["result"]["content"][0]["text"] == "done"


async def test_resume_of_a_finished_stream_from_its_last_event_is_empty(
    running: Running,
) -> None:
    session_id = await running.initialize()
    response = await running.client.post(
        running.mcp,
        content=call_body(1, "noisy", {"count": 2}),
        headers={**HEADERS, "mcp-session-id": session_id},
    )
    found = SSEParser().feed(response.content)
    assert is_result(found[-1])
    assert await resume(running, session_id, found[-1].id) == []
    again = await resume(running, session_id, found[1].id)
    assert [message["params"]["data"] for message in messages(again)[:1]] == ["message 1"]
    assert messages(again)[-1]["id"] == 1


async def test_resume_of_the_get_stream_gets_what_was_sent_while_away(
    running: Running,
) -> None:
    session_id = await running.initialize()
    headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
    async with running.client.stream("GET", running.mcp, headers=headers) as response:
        priming = (await read_events(response, until=lambda event: True))[0]

    @running.server.tool()
    async def added() -> str:
        return "new"

    headers["last-event-id"] = priming.id
    async with running.client.stream("GET", running.mcp, headers=headers) as response:
        assert response.status_code == 200
        found = await read_events(response, until=lambda event: bool(event.data))
    assert messages(found) == [{"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}]


async def test_get_with_another_sessions_event_id_gets_nothing_of_it(running: Running) -> None:
    mine = await running.initialize()
    theirs = await running.initialize()
    found = await drop_call_after_first_message(running, theirs)
    running.gates.release.set()
    response = await running.client.get(
        running.mcp,
        headers={
            "accept": "text/event-stream",
            "mcp-session-id": mine,
            "last-event-id": found[-1].id,
        },
    )
    assert response.status_code == 400
    assert b"before" not in response.content and b"after" not in response.content
    assert response.json()["id"] is None


@pytest.mark.parametrize(
    "last_event_id",
    ["garbage", "", "1-1", "0-0-0", "x" * 10_000, "abc-1-1\u00e9", "a-1-99999999999999999999999"],
)
async def test_get_with_an_id_we_never_issued_gets_400(
    running: Running, last_event_id: str
) -> None:
    session_id = await running.initialize()
    response = await running.client.get(
        running.mcp,
        headers={
            "accept": "text/event-stream",
            "mcp-session-id": session_id,
            "last-event-id": last_event_id.encode(),  # type: ignore[dict-item]
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


async def test_resume_from_an_evicted_id_gets_400_and_from_a_kept_one_works() -> None:
    gates = Gates()
    server = build_server(gates)
    app = create_app(server)
    app.transport = StreamableHTTPTransport(server, max_logged_events=4)
    async with serve(app, server, gates) as running:
        session_id = await running.initialize()
        response = await running.client.post(
            running.mcp,
            content=call_body(1, "noisy", {"count": 6}),
            headers={**HEADERS, "mcp-session-id": session_id},
        )
        found = SSEParser().feed(response.content)
        assert len(found) == 8  # priming, six messages, the result
        evicted = await running.client.get(
            running.mcp,
            headers={
                "accept": "text/event-stream",
                "mcp-session-id": session_id,
                "last-event-id": found[0].id,
            },
        )
        assert evicted.status_code == 400
        rest = await resume(running, session_id, found[-3].id)
        assert [message.get("id") for message in messages(rest)] == [None, 1]


# ---------------------------------------------------------------------- keepalive


async def test_long_post_stream_gets_keepalive_comments() -> None:
    gates = Gates()
    server = build_server(gates)
    async with serve(create_app(server, keepalive_seconds=0.05), server, gates) as running:
        session_id = await running.initialize()
        headers = {**HEADERS, "mcp-session-id": session_id}
        async with running.client.stream(
            "POST", running.mcp, content=call_body(1, "gated"), headers=headers
        ) as response:
            body = b""
            async with asyncio.timeout(STEP_DEADLINE_SECONDS):
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if b": ping" in body:
                        break
        assert b": ping\n\n" in body


async def test_idle_get_stream_gets_keepalives_and_still_its_messages() -> None:
    # The GET's task waits in receive() alone; a keepalive falling due and a message both
    # wake it there, again and again.
    gates = Gates()
    server = build_server(gates)
    async with serve(create_app(server, keepalive_seconds=0.05), server, gates) as running:
        session_id = await running.initialize()
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with running.client.stream("GET", running.mcp, headers=headers) as stream:
            chunks = stream.aiter_bytes()
            body = b""
            async with asyncio.timeout(STEP_DEADLINE_SECONDS):
                while body.count(b": ping\n\n") < 2:
                    body += await anext(chunks)
                for round_number in range(3):

                    @server.tool(name=f"added_{round_number}")
                    async def added() -> str:
                        return "new"

                    body = b""
                    while b"list_changed" not in body:
                        body += await anext(chunks)


async def test_a_get_stream_whose_client_left_gives_up_its_place() -> None:
    gates = Gates()
    server = build_server(gates)
    async with serve(create_app(server), server, gates) as running:
        session_id = await running.initialize()
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with running.client.stream("GET", running.mcp, headers=headers) as stream:
            assert stream.status_code == 200
            await anext(stream.aiter_bytes())  # the priming event: the stream is idle now
        # Noticed by the idle reader itself (there is no other task watching for it), so a
        # new GET is not a second stream for long.
        async with asyncio.timeout(STEP_DEADLINE_SECONDS):
            while True:
                async with running.client.stream("GET", running.mcp, headers=headers) as again:
                    if again.status_code == 200:
                        break
                    assert again.status_code == 409
                await asyncio.sleep(0.02)


async def test_short_post_stream_gets_no_keepalive(running: Running) -> None:
    session_id = await running.initialize()
    response = await running.client.post(
        running.mcp,
        content=call_body(1, "noisy", {"count": 1}),
        headers={**HEADERS, "mcp-session-id": session_id},
    )
    assert b": ping" not in response.content


# ---------------------------------------------------------------------- principals


@pytest.fixture
async def authenticated() -> AsyncIterator[Running]:
    gates = Gates()
    server = build_server(gates)
    async with serve(create_app(server, tokens=[TOKEN_A, TOKEN_B]), server, gates) as running:
        yield running


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
async def test_session_of_another_principal_is_answered_404(
    authenticated: Running, method: str
) -> None:
    alice = {"authorization": f"Bearer {TOKEN_A}"}
    bob = {"authorization": f"Bearer {TOKEN_B}"}
    session_id = await authenticated.initialize(**alice)
    headers = {**HEADERS, **bob, "mcp-session-id": session_id}
    if method == "POST":
        response = await authenticated.client.post(
            authenticated.mcp, content=call_body(1, "echo", {"text": "x"}), headers=headers
        )
    else:
        response = await authenticated.client.request(method, authenticated.mcp, headers=headers)
    assert response.status_code == 404
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "Not Found: no such session"},
    }
    # The owner still has it.
    owner = await authenticated.client.post(
        authenticated.mcp,
        content=call_body(2, "echo", {"text": "mine"}),
        headers={**HEADERS, **alice, "mcp-session-id": session_id},
    )
    assert owner.status_code == 200
    assert owner.json()["result"]["content"][0]["text"] == "mine"
