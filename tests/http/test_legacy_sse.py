"""Legacy HTTP+SSE (MCP 2024-11-05) over a real uvicorn on 127.0.0.1.

Each test starts its own app and server on a free port, drives it with httpx (streaming the
``GET /sse`` response and parsing it with our SSE parser), and stops it in ``finally``. The
last test drives it with the official Python SDK's SSE client (pinned ``mcp==2.3.0``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from live_server import INITIALIZE, live_app, wait_until

from ssemcp import Context, Server
from ssemcp.http import MCPApp, create_app
from ssemcp.jsonrpc import Message, Notification, Response, serialize
from ssemcp.protocol.revisions import SUPPORTED_VERSIONS
from ssemcp.sse import Event, SSEParser, encode_event
from ssemcp.transports.legacy_sse import LegacySSETransport, _message_event, _Session
from ssemcp.transports.sse_writer import Flusher, FrameCache

# How long a test waits for one event before it fails (never hit when things work).
EVENT_TIMEOUT_SECONDS = 10.0
MAX_BODY_BYTES = 64 * 1024
JSON_HEADERS = {"content-type": "application/json"}
IN_FLIGHT = 100
SESSIONS = 100


@dataclass
class Probes:
    """What the test tools let a test see: the gate that holds ``gate_tool`` until
    ``expected`` calls of it run at once, and whether ``slow`` was cancelled."""

    expected: int = IN_FLIGHT
    arrived: int = 0
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    slow_cancelled: asyncio.Event = field(default_factory=asyncio.Event)


def build_test_server(probes: Probes) -> Server:
    server = Server("legacy-sse-test", "0.0.1")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def chatty(ctx: Context) -> str:
        """Log, report progress, then answer."""
        await ctx.info("working")
        await ctx.report_progress(1, 2)
        return "done"

    @server.tool()
    async def gate_tool(index: int) -> str:
        """Wait until every gated call is in flight, then answer with the index."""
        probes.arrived += 1
        if probes.arrived >= probes.expected:
            probes.opened.set()
        await probes.opened.wait()
        return str(index)

    @server.tool()
    async def ask(ctx: Context) -> str:
        """Ask the client's model (sampling), then answer with what it said."""
        result = await ctx.sample("hello?")
        return result.text

    @server.tool()
    async def slow() -> str:
        """Take longer than any test waits."""
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            probes.slow_cancelled.set()
            raise
        return "late"

    return server


class Stream:
    """One raw ``GET /sse``: its endpoint, then its events as they come."""

    def __init__(self, base_url: str, response: httpx.Response) -> None:
        self.base_url = base_url
        self.response = response
        self._chunks = response.aiter_bytes()
        self._parser = SSEParser()
        self._pending: deque[Event] = deque()
        self.endpoint = ""

    async def next_event(self) -> Event:
        async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
            while not self._pending:
                self._pending.extend(self._parser.feed(await anext(self._chunks)))
        return self._pending.popleft()

    async def message(self) -> Any:
        event = await self.next_event()
        assert event.event == "message", event
        return json.loads(event.data)

    @property
    def session_id(self) -> str:
        return self.endpoint.rpartition("session_id=")[2]

    @property
    def post_url(self) -> str:
        """Where to POST, as a proxy that strips the endpoint's prefix would forward it."""
        return self.base_url + "/messages/?session_id=" + self.session_id


@dataclass
class Running:
    url: str
    app: MCPApp
    client: httpx.AsyncClient
    probes: Probes

    @asynccontextmanager
    async def open_stream(self, **headers: str) -> AsyncIterator[Stream]:
        async with self.client.stream("GET", self.url + "/sse", headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            stream = Stream(self.url, response)
            first = await stream.next_event()
            assert first.event == "endpoint"
            stream.endpoint = first.data
            yield stream

    async def post(self, stream: Stream, body: Any, **headers: str) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.client.post(
            stream.post_url, content=content, headers={**JSON_HEADERS, **headers}
        )

    async def request(self, stream: Stream, request_id: int, method: str, **params: Any) -> Any:
        """POST a request (202), then read its reply off the stream."""
        response = await self.post(
            stream, {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        )
        assert response.status_code == 202, response.text
        reply = await stream.message()
        assert reply["id"] == request_id, reply
        return reply

    async def initialize(self, stream: Stream, capabilities: Any = None) -> Any:
        reply = await self.request(
            stream,
            0,
            "initialize",
            protocolVersion="2024-11-05",
            capabilities=capabilities or {},
            clientInfo={"name": "test", "version": "1"},
        )
        initialized = await self.post(
            stream, {"jsonrpc": "2.0", "method": "notifications/initialized"}
        )
        assert initialized.status_code == 202
        return reply


@asynccontextmanager
async def running_app(root_path: str = "", **options: Any) -> AsyncIterator[Running]:
    probes = Probes()
    app = create_app(build_test_server(probes), max_body_bytes=MAX_BODY_BYTES, **options)
    # Enough connections for a stream and 100 POSTs at once.
    limits = httpx.Limits(max_connections=4 * SESSIONS, max_keepalive_connections=4 * SESSIONS)
    async with (
        live_app(app, root_path=root_path) as live,
        live.client(timeout=EVENT_TIMEOUT_SECONDS, limits=limits) as client,
    ):
        yield Running(live.url, app, client, probes)


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    async with running_app() as running:
        yield running


async def settle() -> None:
    """Let every ready task run until it blocks (a few loop turns; no timing involved)."""
    for _ in range(5):
        await asyncio.sleep(0)


# ---------------------------------------------------------------------- the stream


async def test_stream_opens_with_endpoint_event_naming_the_messages_url(running: Running) -> None:
    async with running.client.stream(
        "GET", running.url + "/sse", headers={"accept-encoding": "gzip, br"}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers
        stream = Stream(running.url, response)
        first = await stream.next_event()
        assert first.event == "endpoint"
        path, _, session_id = first.data.partition("?session_id=")
        assert path == "/messages/"
        assert len(session_id) >= 32
        assert running.app.legacy_sse is not None
        assert running.app.legacy_sse.session_count == 1


async def test_each_stream_gets_its_own_session(running: Running) -> None:
    async with running.open_stream() as first, running.open_stream() as second:
        assert first.session_id != second.session_id


async def test_endpoint_honours_root_path() -> None:
    async with running_app(root_path="/prefix") as running, running.open_stream() as stream:
        assert stream.endpoint.startswith("/prefix/messages/?session_id=")
        reply = await running.request(stream, 1, "ping")
        assert reply["result"] == {}


async def test_endpoint_honours_a_trusted_proxys_forwarded_prefix() -> None:
    async with (
        running_app(root_path="/mcp", trusted_proxies=["127.0.0.1"]) as running,
        running.open_stream(**{"x-forwarded-prefix": "/api/"}) as stream,
    ):
        assert stream.endpoint.startswith("/api/mcp/messages/?session_id=")


async def test_endpoint_ignores_forwarded_prefix_from_an_untrusted_peer(running: Running) -> None:
    async with running.open_stream(**{"x-forwarded-prefix": "/api"}) as stream:
        assert stream.endpoint.startswith("/messages/?session_id=")


async def test_endpoint_ignores_a_forwarded_prefix_that_names_another_host() -> None:
    async with (
        running_app(trusted_proxies=["127.0.0.1"]) as running,
        running.open_stream(**{"x-forwarded-prefix": "//evil.example"}) as stream,
    ):
        assert stream.endpoint.startswith("/messages/?session_id=")


async def test_idle_stream_gets_keepalive_comments() -> None:
    async with (
        running_app(keepalive_seconds=0.05) as running,
        running.client.stream("GET", running.url + "/sse") as response,
    ):
        received = b""
        async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
            async for chunk in response.aiter_bytes():
                received += chunk
                if received.count(b": ping\n\n") >= 2:
                    break
        assert received.startswith(b"event: endpoint\ndata: /messages/?session_id=")


# ---------------------------------------------------------------------- messages


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_every_supported_revision_is_negotiated_over_the_legacy_transport(
    running: Running, version: str
) -> None:
    # The transport is 2024-11-05's; the revision is whatever the client asks for (the
    # official SDKs' SSE clients ask for their latest). README's revision table says so.
    async with running.open_stream() as stream:
        reply = await running.request(
            stream,
            0,
            "initialize",
            protocolVersion=version,
            capabilities={},
            clientInfo={"name": "test", "version": "1"},
        )
    assert reply["result"]["protocolVersion"] == version


async def test_initialize_list_and_call_tools_over_post_and_stream(running: Running) -> None:
    async with running.open_stream() as stream:
        reply = await running.initialize(stream)
        assert reply["result"]["protocolVersion"] == "2024-11-05"
        tools = await running.request(stream, 1, "tools/list")
        assert "echo" in {tool["name"] for tool in tools["result"]["tools"]}
        called = await running.request(
            stream, 2, "tools/call", name="echo", arguments={"text": "hi"}
        )
        assert called["result"]["content"] == [{"type": "text", "text": "hi"}]


async def test_messages_path_without_trailing_slash_works_too(running: Running) -> None:
    async with running.open_stream() as stream:
        response = await running.client.post(
            running.url + "/messages?session_id=" + stream.session_id,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
        assert response.status_code == 202
        assert (await stream.message())["id"] == 1


async def test_messages_ride_the_stream_as_message_events(running: Running) -> None:
    async with running.open_stream() as stream:
        await running.initialize(stream)
        await running.post(
            stream,
            {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "logging/setLevel",
                "params": {"level": "debug"},
            },
        )
        assert (await stream.message())["id"] == 7
        response = await running.post(
            stream,
            {
                "jsonrpc": "2.0",
                "id": 8,
                "method": "tools/call",
                "params": {"name": "chatty", "arguments": {}, "_meta": {"progressToken": "p"}},
            },
        )
        assert response.status_code == 202
        assert response.text == "Accepted"
        methods = [(await stream.message()).get("method") for _ in range(3)]
        assert methods == ["notifications/message", "notifications/progress", None]


async def test_client_response_to_sampling_reaches_the_waiting_tool(running: Running) -> None:
    async with running.open_stream() as stream:
        await running.initialize(stream, capabilities={"sampling": {}})
        response = await running.post(
            stream,
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask"}},
        )
        assert response.status_code == 202
        sampling = await stream.message()
        assert sampling["method"] == "sampling/createMessage"
        answer = await running.post(
            stream,
            {
                "jsonrpc": "2.0",
                "id": sampling["id"],
                "result": {
                    "role": "assistant",
                    "content": {"type": "text", "text": "forty-two"},
                    "model": "test",
                },
            },
        )
        assert answer.status_code == 202
        reply = await stream.message()
        assert reply["id"] == 1
        assert reply["result"]["content"] == [{"type": "text", "text": "forty-two"}]


@pytest.mark.parametrize(
    ("message", "answer_id"),
    [
        ({"jsonrpc": "1.0", "id": 5, "method": "ping"}, 5),
        ({"a": 1}, None),
        ({"jsonrpc": "2.0", "id": 6}, 6),
    ],
)
async def test_json_that_is_not_a_jsonrpc_message_gets_400_and_nothing_on_the_stream(
    running: Running, message: dict[str, object], answer_id: int | None
) -> None:
    # As Streamable HTTP answers it (spec 2025-11-25 basic/transports: input the server
    # cannot accept gets "an HTTP error status code (e.g., 400 Bad Request)").
    async with running.open_stream() as stream:
        response = await running.post(stream, message)
        assert response.status_code == 400
        assert response.json()["id"] == answer_id
        assert response.json()["error"]["code"] == -32600
        await running.post(stream, {"jsonrpc": "2.0", "id": 7, "method": "ping"})
        assert (await stream.message())["id"] == 7


async def test_hundred_requests_in_flight_are_each_answered_once(running: Running) -> None:
    async with running.open_stream() as stream:
        await running.initialize(stream)
        responses = await asyncio.gather(
            *(
                running.post(
                    stream,
                    {
                        "jsonrpc": "2.0",
                        "id": index,
                        "method": "tools/call",
                        "params": {"name": "gate_tool", "arguments": {"index": index}},
                    },
                )
                for index in range(1, IN_FLIGHT + 1)
            )
        )
        # Every POST was answered 202 while its tool still waited at the gate.
        assert [response.status_code for response in responses] == [202] * IN_FLIGHT
        replies = [await stream.message() for _ in range(IN_FLIGHT)]
        assert sorted(reply["id"] for reply in replies) == list(range(1, IN_FLIGHT + 1))
        for reply in replies:
            assert reply["result"]["content"] == [{"type": "text", "text": str(reply["id"])}]
        # Nothing is delivered twice: the next message is the next reply.
        assert (await running.request(stream, IN_FLIGHT + 1, "ping"))["result"] == {}


async def test_hundred_sessions_each_get_only_their_own_answers(running: Running) -> None:
    running.probes.expected = SESSIONS
    # A client each, as 100 real clients would be (one httpx pool juggling 200 connections is
    # slow on its own); loading the CA bundle once keeps 100 clients cheap to build.
    tls = ssl.create_default_context()

    async def one_session(index: int) -> list[Any]:
        async with httpx.AsyncClient(timeout=EVENT_TIMEOUT_SECONDS, verify=tls) as client:
            own = Running(running.url, running.app, client, running.probes)
            async with own.open_stream() as stream:
                await own.initialize(stream)
                response = await own.post(
                    stream,
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "tools/call",
                        "params": {"name": "gate_tool", "arguments": {"index": index}},
                    },
                )
                assert response.status_code == 202
                first = await stream.message()
                second = await own.request(
                    stream, 2, "tools/call", name="echo", arguments={"text": f"session {index}"}
                )
                return [first, second]

    results = await asyncio.gather(*(one_session(index) for index in range(SESSIONS)))
    for index, (first, second) in enumerate(results):
        assert first["id"] == 1
        assert first["result"]["content"] == [{"type": "text", "text": str(index)}]
        assert second["result"]["content"] == [{"type": "text", "text": f"session {index}"}]


class HeldStream:
    """A stream's ASGI ``send`` that records each body and holds the writes (not the end of
    the response) while ``is_held``, as a client that stops reading would."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.ended = False
        self._open = asyncio.Event()
        self._open.set()
        self._wrote = asyncio.Event()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    @property
    def written(self) -> bytes:
        return b"".join(self.bodies)

    async def send(self, message: Any) -> None:
        if message["type"] != "http.response.body":
            return
        assert not self.ended, "a body after the end of the response"
        if not message.get("more_body", False):
            self.ended = True
            return
        await self._open.wait()
        self.bodies.append(message["body"])
        self._wrote.set()

    async def wait_for(self, needle: bytes) -> None:
        """Return once ``needle`` has been written (a body at all, for ``b""``)."""
        async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
            while needle not in self.written or not self.bodies:
                self._wrote.clear()
                await self._wrote.wait()


def notification(name: str) -> Notification:
    return Notification(f"notifications/{name}")


def new_session(max_queued_messages: int = 256, **options: int) -> _Session:
    return _Session(
        Server("unit", "0"),
        "session-id",
        None,
        max_queued_messages,
        FrameCache(_message_event),
        Flusher(),
        **options,
    )


async def open_session(max_queued_messages: int = 256) -> tuple[_Session, HeldStream]:
    session = new_session(max_queued_messages)
    stream = HeldStream()
    await session.writer.start(stream.send, [], b"endpoint-event")
    return session, stream


async def test_full_stream_makes_producers_wait_until_it_drains() -> None:
    session, stream = await open_session(max_queued_messages=1)
    stream.hold()
    writing = asyncio.create_task(session.writer.send(notification("first")))
    await settle()
    # The first producer writes itself, the second queues, the third finds the queue full.
    await asyncio.wait_for(session.writer.send(notification("second")), EVENT_TIMEOUT_SECONDS)
    waiting = asyncio.create_task(session.writer.send(notification("third")))
    await settle()
    assert not writing.done()
    assert not waiting.done()
    assert session.writer.queued_count == 1
    stream.release()
    await asyncio.wait_for(asyncio.gather(writing, waiting), EVENT_TIMEOUT_SECONDS)
    await settle()
    written = stream.written
    assert written.startswith(b"endpoint-event")
    assert (
        written.index(b"notifications/first")
        < written.index(b"notifications/second")
        < written.index(b"notifications/third")
    )
    session.close()


async def test_closing_a_full_stream_frees_its_waiting_producers() -> None:
    session, stream = await open_session(max_queued_messages=1)
    stream.hold()
    writing = asyncio.create_task(session.writer.send(notification("first")))
    await settle()
    await session.writer.send(notification("second"))
    waiting = asyncio.create_task(session.writer.send(notification("third")))
    await settle()
    assert not waiting.done()
    session.close()
    await asyncio.wait_for(waiting, EVENT_TIMEOUT_SECONDS)
    # Once closed, nothing more is queued.
    await session.writer.send(notification("fourth"))
    assert session.writer.send_nowait(notification("fifth"))
    assert session.writer.queued_count == 1
    stream.release()
    await asyncio.wait_for(writing, EVENT_TIMEOUT_SECONDS)
    await settle()
    assert b"notifications/third" not in stream.written
    assert b"notifications/fourth" not in stream.written


async def test_notifications_past_the_longer_bound_close_the_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = new_session(1, max_queued_notifications=3)
    stream = HeldStream()
    await session.writer.start(stream.send, [], b"endpoint-event")
    stream.hold()
    assert session.writer.send_nowait(notification("first"))
    await settle()  # the flusher is now writing "first", and waits on the reader
    # Past the bound of producers that await, notifications still queue: a fan-out's burst.
    for name in ("second", "third", "fourth"):
        assert session.writer.send_nowait(notification(name))
    assert session.writer.queued_count == 3
    assert not session.is_closed
    with caplog.at_level(logging.WARNING, logger="ssemcp.transports.sse_writer"):
        assert session.writer.send_nowait(notification("fifth"))
    assert session.is_closed
    assert session.writer.queued_count == 0
    # HeldStream's send is no server's that can be aborted: the stream's task must give up
    # on the write rather than wait for it.
    assert session.writer.is_stalled
    assert "its reader is 3 events behind" in caplog.text


async def test_a_stream_stalled_behind_its_reader_ends_without_waiting_for_the_write() -> None:
    transport = LegacySSETransport(
        Server("unit", "0"), max_queued_messages=1, max_queued_notifications=4
    )
    opened, stream = await open_transport_stream(transport)
    stream.hold()
    for index in range(10):
        assert opened.session.writer.send_nowait(notification(f"n{index}"))
        await settle()
    # The GET's task returns with its response unfinished (the server then closes the
    # connection), and the session is gone.
    await asyncio.wait_for(opened.task, EVENT_TIMEOUT_SECONDS)
    assert transport.session_count == 0
    assert not stream.ended


async def test_a_reader_that_never_reads_is_cut_off_not_buffered_without_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Server("legacy-sse-test", "0.0.1")

    @server.resource("big://{name}")
    def big(name: str) -> str:
        return name

    uri = "big://" + "x" * 4000
    app = create_app(server)
    async with live_app(app) as live:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((live.url.split("//")[1].split(":")[0], live.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        try:
            writer.write(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), EVENT_TIMEOUT_SECONDS)
            assert head.startswith(b"HTTP/1.1 200 ")
            endpoint = await asyncio.wait_for(reader.readuntil(b"\n\n"), EVENT_TIMEOUT_SECONDS)
            path = endpoint.split(b"data: ")[1].strip().decode()
            async with live.client() as client:
                for message in (
                    INITIALIZE,
                    {"jsonrpc": "2.0", "method": "notifications/initialized"},
                    {
                        "jsonrpc": "2.0",
                        "id": 2,
                        "method": "resources/subscribe",
                        "params": {"uri": uri},
                    },
                ):
                    assert (await client.post(path, json=message)).status_code == 202
                await wait_until(lambda: server.subscriber_count(uri) == 1)
                # From here on the client reads nothing.
                tasks_before = len(asyncio.all_tasks())
                posted = 0
                with caplog.at_level(logging.WARNING, logger="ssemcp.transports.sse_writer"):
                    while app.legacy_sse is not None and app.legacy_sse.session_count:
                        assert posted < 100_000, "a reader that never reads was never cut off"
                        for _ in range(100):
                            server.notify_resource_updated(uri)
                        posted += 100
                        # No task per notification piles up while the session lasts.
                        assert len(asyncio.all_tasks()) <= tasks_before + 2
                        await asyncio.sleep(0.001)
                assert "events behind" in caplog.text
                # The session is gone, and so is its connection: what the server had sent
                # before the cut is followed by its end (a reset: the rest was dropped).
                assert (await client.post(path, json=INITIALIZE)).status_code == 404
            with contextlib.suppress(ConnectionError):
                while await asyncio.wait_for(reader.read(65536), EVENT_TIMEOUT_SECONDS):
                    pass
            assert server.subscriber_count(uri) == 0
        finally:
            writer.close()


async def test_a_producer_cancelled_mid_write_does_not_take_queued_events_with_it() -> None:
    session, stream = await open_session()
    stream.hold()
    writing = asyncio.create_task(session.writer.send(notification("cancelled")))
    await settle()
    await session.writer.send(notification("queued"))
    writing.cancel()
    await asyncio.gather(writing, return_exceptions=True)
    stream.release()
    await stream.wait_for(b"notifications/queued")
    assert b"notifications/cancelled" not in stream.written
    session.close()


async def test_messages_sent_before_the_endpoint_event_come_after_it() -> None:
    session = new_session()
    early = asyncio.create_task(session.writer.send(notification("early")))
    assert session.writer.send_nowait(notification("earlier-still"))
    await settle()
    stream = HeldStream()
    await session.writer.start(stream.send, [], b"endpoint-event")
    await asyncio.wait_for(early, EVENT_TIMEOUT_SECONDS)
    await stream.wait_for(b"notifications/early")
    assert stream.bodies[0] == b"endpoint-event"
    session.close()


async def test_a_slow_reader_does_not_hold_up_a_fan_out_to_the_others() -> None:
    server = Server("unit", "0")
    transport = LegacySSETransport(server)
    slow, slow_stream = await open_transport_stream(transport)
    fast, fast_stream = await open_transport_stream(transport)
    slow_stream.hold()
    update = notification("resources/updated")
    assert slow.session.writer.send_nowait(update)
    assert fast.session.writer.send_nowait(update)
    await fast_stream.wait_for(b"notifications/resources/updated")
    assert b"notifications/resources/updated" not in slow_stream.written
    slow_stream.release()
    await slow_stream.wait_for(b"notifications/resources/updated")
    transport.close()
    await asyncio.wait_for(asyncio.gather(slow.task, fast.task), EVENT_TIMEOUT_SECONDS)


@dataclass
class TransportStream:
    """A ``GET /sse`` served by ``handle_stream`` in a task, on fake ASGI callables."""

    task: asyncio.Task[None]
    session: _Session
    disconnect: asyncio.Event


async def open_transport_stream(
    transport: LegacySSETransport,
) -> tuple[TransportStream, HeldStream]:
    stream = HeldStream()
    disconnect = asyncio.Event()
    request_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    before = set(transport._sessions)
    scope = {"type": "http", "method": "GET", "path": "/sse", "query_string": b""}
    task = asyncio.create_task(transport.handle_stream(scope, receive, stream.send))
    await stream.wait_for(b"")
    (session_id,) = set(transport._sessions) - before
    return TransportStream(task, transport._sessions[session_id], disconnect), stream


@pytest.mark.parametrize("ending", ["transport closes", "client disconnects"])
async def test_a_stream_ending_while_a_write_waits_ends_its_response_after_it(
    ending: str,
) -> None:
    transport = LegacySSETransport(Server("unit", "0"))
    opened, stream = await open_transport_stream(transport)
    stream.hold()
    # A producer that is not one of the session's requests (those are cancelled): its write
    # goes on, and the response may end only after it.
    writing = asyncio.create_task(opened.session.writer.send(notification("reply")))
    await settle()
    if ending == "transport closes":
        transport.close()
    else:
        opened.disconnect.set()
    await settle()
    assert not opened.task.done()
    assert not stream.ended
    stream.release()
    await asyncio.wait_for(asyncio.gather(opened.task, writing), EVENT_TIMEOUT_SECONDS)
    assert stream.ended
    assert b"notifications/reply" in stream.written
    assert transport.session_count == 0


async def test_closing_a_stream_drops_what_its_queue_still_holds() -> None:
    transport = LegacySSETransport(Server("unit", "0"))
    opened, stream = await open_transport_stream(transport)
    stream.hold()
    assert opened.session.writer.send_nowait(notification("written"))
    await settle()
    assert opened.session.writer.send_nowait(notification("queued"))
    transport.close()
    stream.release()
    await asyncio.wait_for(opened.task, EVENT_TIMEOUT_SECONDS)
    assert stream.ended
    assert b"notifications/queued" not in stream.written


async def test_a_fanned_out_notification_is_encoded_once_per_loop_turn() -> None:
    frames = FrameCache(_message_event)
    update = Notification("notifications/resources/updated", {"uri": "a://1"})
    first = frames.frame(update)
    assert frames.frame(update) is first
    await settle()
    # A message object changed and sent again later is not sent stale.
    assert update.params is not None
    update.params["uri"] = "a://2"
    assert b"a://2" in frames.frame(update)


@pytest.mark.parametrize(
    "message",
    [
        Notification("notifications/message", {"data": "line one\nline two\r\nthree\rfour"}),
        Notification("notifications/message", {"data": "caf\u00e9 \u2028 \U0001f600"}),
        Response(1, {"content": [{"type": "text", "text": "x" * 1000}]}),
    ],
)
def test_message_event_is_what_encode_event_builds(message: Message) -> None:
    assert _message_event(message) == encode_event(serialize(message).decode(), event="message")


async def test_shutdown_ends_open_streams(running: Running) -> None:
    async with running.open_stream() as stream:
        await running.initialize(stream)
        assert running.app.legacy_sse is not None
        running.app.legacy_sse.close()
        with pytest.raises(StopAsyncIteration):
            await stream.next_event()
        assert running.app.legacy_sse.session_count == 0


# ---------------------------------------------------------------------- statuses


async def test_post_without_session_id_gets_400(running: Running) -> None:
    response = await running.client.post(
        running.url + "/messages/", content=b"{}", headers=JSON_HEADERS
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600


@pytest.mark.parametrize("query", ["session_id", "session_id=a&session_id=b", "session_id=%ff"])
async def test_post_with_malformed_query_gets_400(running: Running, query: str) -> None:
    response = await running.client.post(
        running.url + "/messages/?" + query, content=b"{}", headers=JSON_HEADERS
    )
    assert response.status_code == 400


async def test_post_with_unknown_session_id_gets_404(running: Running) -> None:
    response = await running.client.post(
        running.url + "/messages/?session_id=nope", content=b"{}", headers=JSON_HEADERS
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32600


async def test_post_after_stream_closed_gets_404(running: Running) -> None:
    async with running.open_stream() as stream:
        await running.initialize(stream)
    assert running.app.legacy_sse is not None
    transport = running.app.legacy_sse

    async def session_is_gone() -> bool:
        return transport.session_count == 0

    await wait_until(session_is_gone)
    response = await running.post(stream, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 404


async def test_closing_the_stream_cancels_running_requests(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    async with running.open_stream() as stream:
        await running.initialize(stream)
        response = await running.post(
            stream,
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow"}},
        )
        assert response.status_code == 202
    await asyncio.wait_for(running.probes.slow_cancelled.wait(), EVENT_TIMEOUT_SECONDS)
    # The request ran on in its POST's task after the 202: its cancellation is the session's
    # normal end, never an error the ASGI server would log.
    await settle()
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_post_with_a_percent_encoded_session_id_finds_the_session(running: Running) -> None:
    async with running.open_stream() as stream:
        encoded = "".join(f"%{ord(character):02X}" for character in stream.session_id)
        response = await running.client.post(
            running.url + "/messages/?cache=1&session_id=" + encoded,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
        assert response.status_code == 202
        assert (await stream.message())["id"] == 1


async def test_bad_body_gets_400_parse_error_and_session_stays_usable(running: Running) -> None:
    async with running.open_stream() as stream:
        await running.initialize(stream)
        response = await running.post(stream, b"{not json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == -32700
        assert (await running.request(stream, 1, "ping"))["result"] == {}


async def test_oversized_body_gets_413(running: Running) -> None:
    async with running.open_stream() as stream:
        too_big = b" " * (MAX_BODY_BYTES + 1)
        response = await running.post(stream, too_big)
        assert response.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b" " * (MAX_BODY_BYTES // 2)

        chunked = await running.client.post(stream.post_url, content=chunks(), headers=JSON_HEADERS)
        assert chunked.status_code == 413
        await running.initialize(stream)


async def test_post_that_is_not_json_gets_415(running: Running) -> None:
    async with running.open_stream() as stream:
        response = await running.post(stream, b"{}", **{"content-type": "text/plain"})
        assert response.status_code == 415


async def test_wrong_methods_get_405(running: Running) -> None:
    response = await running.client.post(running.url + "/sse")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    response = await running.client.get(running.url + "/messages/?session_id=x")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_streams_past_max_sessions_get_503() -> None:
    async with (
        running_app(max_sessions=2) as running,
        running.open_stream(),
        running.open_stream(),
    ):
        response = await running.client.get(running.url + "/sse")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"


async def test_requests_past_max_pending_get_503(running: Running) -> None:
    legacy = running.app.legacy_sse
    assert legacy is not None
    running.app.legacy_sse = LegacySSETransport(legacy._server, max_pending_requests=1)
    async with running.open_stream() as stream:
        await running.initialize(stream)
        slow = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow"}}
        assert (await running.post(stream, slow)).status_code == 202
        refused = await running.post(stream, {**slow, "id": 2})
        assert refused.status_code == 503


@pytest.mark.parametrize("path", ["/sse", "/messages/?session_id=x"])
async def test_host_and_origin_checks_apply_to_both_paths(running: Running, path: str) -> None:
    method = "GET" if path == "/sse" else "POST"
    response = await running.client.request(
        method, running.url + path, headers={"host": "evil.example"}
    )
    assert response.status_code == 421
    response = await running.client.request(
        method, running.url + path, headers={"origin": "http://evil.example"}
    )
    assert response.status_code == 403


async def test_post_from_another_principal_gets_404() -> None:
    alice = {"authorization": "Bearer alice-token-0123456789"}
    bob = {"authorization": "Bearer bob-token-0123456789"}
    async with (
        running_app(tokens=["alice-token-0123456789", "bob-token-0123456789"]) as running,
        running.open_stream(**alice) as stream,
    ):
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        refused = await running.post(stream, ping, **bob)
        assert refused.status_code == 404
        unknown = await running.client.post(
            running.url + "/messages/?session_id=nope", json=ping, headers=bob
        )
        # Indistinguishable from a session that does not exist.
        assert refused.content == unknown.content
        assert refused.headers.items() == unknown.headers.items()
        assert (await running.post(stream, ping)).status_code == 401
        assert (await running.post(stream, ping, **alice)).status_code == 202
        assert (await stream.message())["id"] == 1


async def test_legacy_sse_can_be_turned_off() -> None:
    async with running_app(legacy_sse=False) as running:
        assert (await running.client.get(running.url + "/sse")).status_code == 404


# ---------------------------------------------------------------------- interop


@pytest.mark.interop
async def test_official_python_sdk_sse_client(running: Running) -> None:
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    logged: list[Any] = []
    progress: list[float] = []

    async def on_log(params: Any) -> None:
        logged.append(params.data)

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with (
        sse_client(running.url + "/sse") as (read_stream, write_stream),
        ClientSession(
            read_stream, write_stream, read_timeout_seconds=30.0, logging_callback=on_log
        ) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        assert {"echo", "chatty"} <= {tool.name for tool in tools.tools}
        result = await session.call_tool("echo", {"text": "hello"})
        assert not result.is_error
        assert result.content[0].text == "hello"
        chatty = await session.call_tool("chatty", {}, progress_callback=on_progress)
        assert chatty.content[0].text == "done"
        assert logged == ["working"]
        assert progress == [1]
