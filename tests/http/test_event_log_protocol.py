"""A Streamable HTTP session's event log is an injected, asynchronous protocol
(ssemcp.state.events.EventLog): the transport works with a log whose every call waits, as a
log shared by replicas over the network does, and keeps its promises when that log stalls.

Each test starts its own app on a free 127.0.0.1 port (tests/support/live_server.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from live_server import live_app, wait_until

from ssemcp import Context, Server
from ssemcp.http import create_app
from ssemcp.http.app import MCPApp
from ssemcp.sse import Event, SSEParser
from ssemcp.state import LoggedEvent, MemoryEventLog, Position
from ssemcp.transports.streamable import StreamableHTTPTransport

DEADLINE_SECONDS = 5.0
POST_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
MAX_LOGGED_EVENTS = 4


class WaitingLog:
    """:class:`MemoryEventLog` behind calls that each give the loop a turn, and wait while
    the log is stalled."""

    def __init__(self) -> None:
        # Roomier than the transport's queue bound, so what a test sees is the queue's doing.
        self.inner = MemoryEventLog(100 * MAX_LOGGED_EVENTS)
        self.open = asyncio.Event()
        self.open.set()
        self.appended = 0

    async def _turn(self) -> None:
        await asyncio.sleep(0)
        await self.open.wait()

    async def append(self, stream_id: int, data: bytes) -> LoggedEvent:
        await self._turn()
        self.appended += 1
        return await self.inner.append(stream_id, data)

    async def position_of(self, event_id: str) -> Position | None:
        await self._turn()
        return await self.inner.position_of(event_id)

    async def read_after(self, position: Position) -> list[LoggedEvent] | None:
        await self._turn()
        return await self.inner.read_after(position)


class Logs:
    def __init__(self) -> None:
        self.by_session: dict[str, WaitingLog] = {}

    def __call__(self, session_id: str) -> WaitingLog:
        assert session_id not in self.by_session
        log = self.by_session[session_id] = WaitingLog()
        return log


def build_server() -> Server:
    server = Server("waiting-log")

    @server.tool()
    async def noisy(count: int, ctx: Context) -> str:
        """Log ``count`` messages, then answer."""
        for index in range(count):
            await ctx.info(f"message {index}")
        return "noisy done"

    @server.resource("note://{name}")
    def note(name: str) -> str:
        return name

    return server


class Client:
    def __init__(self, url: str, http: httpx.AsyncClient, app: MCPApp) -> None:
        self.mcp, self.http, self.app = url + "/mcp", http, app
        self.session_id = ""

    async def initialize(self) -> None:
        response = await self.post(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
            }
        )
        self.session_id = response.headers["mcp-session-id"]
        await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def post(self, body: object) -> httpx.Response:
        headers = dict(POST_HEADERS)
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
        return await self.http.post(self.mcp, content=json.dumps(body), headers=headers)

    def get_headers(self, last_event_id: str | None = None) -> dict[str, str]:
        headers = {"accept": "text/event-stream", "mcp-session-id": self.session_id}
        if last_event_id is not None:
            headers["last-event-id"] = last_event_id
        return headers

    def has_reader(self) -> bool:
        session = self.app.transport._sessions[self.session_id]
        return session.standalone.reader is not None


class Events:
    """The SSE events of one streamed response, taken a few at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.aiter_bytes()
        self._parser = SSEParser()
        self._found: list[Event] = []

    async def take(self, count: int) -> list[Event]:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while len(self._found) < count:
                self._found.extend(self._parser.feed(await anext(self._chunks)))
        taken, self._found = self._found[:count], self._found[count:]
        return taken


@pytest.fixture
async def served() -> AsyncIterator[tuple[Client, Server, Logs]]:
    server, logs = build_server(), Logs()
    app = create_app(server)
    # The queue of a GET stream is bounded as its log would be: by max_logged_events.
    app.transport = StreamableHTTPTransport(
        server, max_logged_events=MAX_LOGGED_EVENTS, event_logs=logs
    )
    async with live_app(app) as live, live.client() as http:
        client = Client(live.url, http, app)
        await client.initialize()
        yield client, server, logs


async def test_a_session_gets_its_own_log_from_the_factory_and_replies_stream_through_it(
    served: tuple[Client, Server, Logs],
) -> None:
    client, _server, logs = served
    response = await client.post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "noisy", "arguments": {"count": 3}},
        }
    )
    found = SSEParser().feed(response.content)
    data = [json.loads(event.data) for event in found if event.data]
    assert [message.get("params", {}).get("data") for message in data[:3]] == [
        "message 0",
        "message 1",
        "message 2",
    ]
    assert data[-1]["result"]["content"][0]["text"] == "noisy done"
    assert list(logs.by_session) == [client.session_id]
    # The priming event, three messages and the result, each appended to the log.
    assert logs.by_session[client.session_id].appended == 5


async def test_get_stream_delivers_fan_out_in_order_and_resumes_through_a_waiting_log(
    served: tuple[Client, Server, Logs],
) -> None:
    client, server, _logs = served
    async with client.http.stream("GET", client.mcp, headers=client.get_headers()) as response:
        assert response.status_code == 200
        events = Events(response)
        (priming,) = await events.take(1)
        for index in range(3):
            server.add_tool(lambda: "x", name=f"added_{index}")
        found = await events.take(3)
    assert [json.loads(event.data)["method"] for event in found] == [
        "notifications/tools/list_changed"
    ] * 3
    await wait_until(lambda: not client.has_reader())

    # Sent while nobody reads: logged in the background, replayed on resumption, in order.
    server.add_tool(lambda: "y", name="while_away")
    server.remove_tool("while_away")
    headers = client.get_headers(last_event_id=found[-1].id)
    async with client.http.stream("GET", client.mcp, headers=headers) as response:
        assert response.status_code == 200
        replayed = await Events(response).take(2)
    assert [json.loads(event.data)["method"] for event in replayed] == [
        "notifications/tools/list_changed"
    ] * 2
    assert priming.id not in {event.id for event in replayed}


async def test_what_could_not_be_queued_while_the_log_stalled_makes_older_ids_unresumable(
    served: tuple[Client, Server, Logs],
) -> None:
    client, server, logs = served
    async with client.http.stream("GET", client.mcp, headers=client.get_headers()) as response:
        (priming,) = await Events(response).take(1)
    await wait_until(lambda: not client.has_reader())
    log = logs.by_session[client.session_id]
    log.open.clear()
    # One is taken by the stalled append; the queue holds MAX_LOGGED_EVENTS; the rest push
    # the oldest out.
    for index in range(MAX_LOGGED_EVENTS + 3):
        server.add_tool(lambda: "x", name=f"flood_{index}")
    log.open.set()
    session = client.app.transport._sessions[client.session_id]
    await wait_until(lambda: session._drainer is None)

    refused = await client.http.get(client.mcp, headers=client.get_headers(priming.id))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == -32600

    # A fresh GET stream starts from now, and works.
    async with client.http.stream("GET", client.mcp, headers=client.get_headers()) as response:
        assert response.status_code == 200
        events = Events(response)
        await events.take(1)
        server.add_tool(lambda: "z", name="after")
        (event,) = await events.take(1)
    assert json.loads(event.data)["method"] == "notifications/tools/list_changed"


async def test_a_second_get_while_the_first_awaits_the_log_is_refused(
    served: tuple[Client, Server, Logs],
) -> None:
    client, _server, logs = served
    log = logs.by_session.get(client.session_id)
    assert log is None  # made when first needed
    async with client.http.stream("GET", client.mcp, headers=client.get_headers()) as first:
        assert first.status_code == 200
        await Events(first).take(1)
        second = await client.http.get(client.mcp, headers=client.get_headers())
        assert second.status_code == 409


async def test_create_app_passes_the_factory_to_its_transport() -> None:
    logs = Logs()
    app = create_app(build_server(), event_logs=logs)
    assert app.transport._event_logs is logs


async def test_messages_before_the_get_stream_opens_wait_for_it_the_first_few_only(
    served: tuple[Client, Server, Logs],
) -> None:
    client, server, _logs = served
    uris = [f"note://{index}" for index in range(MAX_LOGGED_EVENTS + 2)] + ["note://live"]
    for request_id, uri in enumerate(uris, start=10):
        subscribed = await client.post(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "resources/subscribe",
                "params": {"uri": uri},
            }
        )
        assert subscribed.status_code == 200, subscribed.text
    # The bound is the smaller of 16 and the log's own (MAX_LOGGED_EVENTS here): the first
    # ones wait for the stream, the last two are dropped.
    for uri in uris[:-1]:
        server.notify_resource_updated(uri)
    async with client.http.stream("GET", client.mcp, headers=client.get_headers()) as response:
        events = Events(response)
        (priming, *held) = await events.take(1 + MAX_LOGGED_EVENTS)
        server.notify_resource_updated("note://live")
        (live,) = await events.take(1)
    assert not priming.data
    assert [json.loads(event.data)["params"]["uri"] for event in [*held, live]] == [
        *uris[:MAX_LOGGED_EVENTS],
        "note://live",
    ]
