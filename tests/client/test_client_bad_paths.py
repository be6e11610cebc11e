"""What the client does when a server misbehaves: statuses and bodies no spec allows, streams
that end early, endpoints on other origins, endless rounds and cursors, garbage on stdout.
Each ends in a typed error, never a hang or a crash."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from live_server import LiveServer, live_app
from scripted_server import Reply, Request, ScriptedServer, json_reply, sse_reply

from ssemcp.client import (
    Client,
    ClientError,
    ClientTimeout,
    HTTPError,
    NegotiationError,
    RemoteError,
    TransportClosed,
)
from ssemcp.client._stdio import StdioTransport
from ssemcp.jsonrpc import Message

INITIALIZED = {
    "protocolVersion": "2025-11-25",
    "capabilities": {"tools": {}},
    "serverInfo": {"name": "scripted", "version": "0"},
}


def session_server(on_request: Callable[[Request], Reply]) -> ScriptedServer:
    """A 2025 server: discover is unknown (404), initialize works, GET has no stream (405),
    every other request goes to ``on_request``."""

    def handler(request: Request) -> Reply:
        if request.method == "GET":
            return Reply(405)
        if request.method == "DELETE":
            return Reply(204)
        body = request.body or {}
        method = body.get("method")
        if method == "server/discover":
            return Reply(404, body=b"not found")
        if method == "initialize":
            reply = json_reply({"jsonrpc": "2.0", "id": body["id"], "result": INITIALIZED})
            reply.headers.append(("mcp-session-id", "s1"))
            return reply
        if "id" not in body or "method" not in body:
            return Reply(202)
        return on_request(request)

    return ScriptedServer(handler)


@asynccontextmanager
async def serving(app: ScriptedServer) -> AsyncIterator[LiveServer]:
    async with live_app(app) as live:
        yield live


async def test_a_500_without_a_json_rpc_body_is_an_http_error() -> None:
    app = session_server(lambda request: Reply(500, body=b"upstream exploded"))
    async with serving(app) as live, Client(live.url + "/mcp", timeout_seconds=5) as client:
        with pytest.raises(HTTPError) as caught:
            await client.list_tools()
    assert caught.value.status == 500
    assert caught.value.body == "upstream exploded"


async def test_an_sse_reply_that_ends_before_its_answer_is_transport_closed() -> None:
    def on_request(request: Request) -> Reply:
        log = (
            b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":1}}'
        )
        return sse_reply(b"data: " + log + b"\n\n")

    app = session_server(on_request)
    async with serving(app) as live, Client(live.url + "/mcp", timeout_seconds=5) as client:
        with pytest.raises(TransportClosed, match="ended the stream before its answer"):
            await client.list_tools()


async def test_a_result_of_the_wrong_shape_is_a_remote_error() -> None:
    def on_request(request: Request) -> Reply:
        return json_reply(
            {"jsonrpc": "2.0", "id": request.body["id"], "result": ["not", "a", "list"]}
        )

    app = session_server(on_request)
    async with serving(app) as live, Client(live.url + "/mcp", timeout_seconds=5) as client:
        with pytest.raises(RemoteError, match='no "tools" list'):
            await client.list_tools()
        with pytest.raises(RemoteError, match="not an object"):
            await client.call_tool("x")


async def test_endless_pagination_is_refused() -> None:
    def on_request(request: Request) -> Reply:
        result = {"tools": [{"name": "t"}], "nextCursor": "same"}
        return json_reply({"jsonrpc": "2.0", "id": request.body["id"], "result": result})

    app = session_server(on_request)
    async with serving(app) as live, Client(live.url + "/mcp", timeout_seconds=5) as client:
        with pytest.raises(RemoteError, match="does not end"):
            await client.list_tools()


async def test_answers_to_unknown_ids_and_garbage_are_ignored_and_the_real_answer_wins() -> None:
    def on_request(request: Request) -> Reply:
        own = request.body["id"]
        return sse_reply(
            b"data: not json\n\n",
            b'data: {"jsonrpc":"2.0","id":"' + str(own).encode() + b'","result":{"tools":[]}}\n\n',
            b'data: {"jsonrpc":"2.0","id":999,"result":{}}\n\n',
            b'data: {"jsonrpc":"1.0"}\n\n',
            b'data: {"jsonrpc":"2.0","id":'
            + str(own).encode()
            + b',"result":{"tools":[{"name":"real"}]}}\n\n',
        )

    app = session_server(on_request)
    async with serving(app) as live, Client(live.url + "/mcp", timeout_seconds=5) as client:
        # The string id "N" is another request than N: only the last answer is ours.
        assert await client.list_tools() == [{"name": "real"}]


async def test_a_server_that_chooses_an_unknown_revision_is_a_negotiation_error() -> None:
    def handler(request: Request) -> Reply:
        body = request.body or {}
        if body.get("method") == "initialize":
            result = {**INITIALIZED, "protocolVersion": "1999-01-01"}
            return json_reply({"jsonrpc": "2.0", "id": body["id"], "result": result})
        return Reply(404)

    async with serving(ScriptedServer(handler)) as live:
        with pytest.raises(NegotiationError, match="1999-01-01"):
            async with Client(live.url + "/mcp", timeout_seconds=5):
                pass


async def test_endless_input_rounds_are_refused() -> None:
    rounds: list[int] = []

    def handler(request: Request) -> Reply:
        body = request.body or {}
        if body.get("method") == "server/discover":
            result = {
                "supportedVersions": ["2026-07-28"],
                "capabilities": {},
                "resultType": "complete",
            }
            return json_reply({"jsonrpc": "2.0", "id": body["id"], "result": result})
        if body.get("method") == "tools/list":
            return json_reply({"jsonrpc": "2.0", "id": body["id"], "result": {"tools": []}})
        rounds.append(body["id"])
        result = {
            "resultType": "input_required",
            "inputRequests": {"again": {"method": "roots/list", "params": {}}},
            "requestState": f"state-{len(rounds)}",
        }
        return json_reply({"jsonrpc": "2.0", "id": body["id"], "result": result})

    async def roots() -> list[Any]:
        return []

    async with (
        serving(ScriptedServer(handler)) as live,
        Client(live.url + "/mcp", on_roots=roots, timeout_seconds=5) as client,
    ):
        assert client.is_modern
        with pytest.raises(RemoteError, match="rounds of questions"):
            await client.call_tool("loop")
    assert len(rounds) == 32


async def test_a_question_the_client_cannot_answer_is_a_client_error() -> None:
    def handler(request: Request) -> Reply:
        body = request.body or {}
        if body.get("method") == "server/discover":
            result = {
                "supportedVersions": ["2026-07-28"],
                "capabilities": {},
                "resultType": "complete",
            }
            return json_reply({"jsonrpc": "2.0", "id": body["id"], "result": result})
        if body.get("method") == "tools/list":
            return json_reply({"jsonrpc": "2.0", "id": body["id"], "result": {"tools": []}})
        result = {
            "resultType": "input_required",
            "inputRequests": {"s": {"method": "sampling/createMessage", "params": {}}},
        }
        return json_reply({"jsonrpc": "2.0", "id": body["id"], "result": result})

    async with (
        serving(ScriptedServer(handler)) as live,
        Client(live.url + "/mcp", timeout_seconds=5) as client,
    ):
        with pytest.raises(ClientError, match="cannot answer"):
            await client.call_tool("needs_a_model")


# ---------------------------------------------------------------------- the legacy transport


def legacy_server(endpoint_frames: list[bytes]) -> ScriptedServer:
    def handler(request: Request) -> Reply:
        if request.method == "GET":
            return sse_reply(*endpoint_frames)
        return Reply(405)

    return ScriptedServer(handler)


async def test_an_endpoint_on_another_origin_is_refused() -> None:
    app = legacy_server([b"event: endpoint\ndata: http://elsewhere.example/messages\n\n"])
    async with serving(app) as live:
        with pytest.raises(ClientError, match="another origin"):
            async with Client(
                live.url + "/sse", transport="sse", token="t" * 20, timeout_seconds=5
            ):
                pass
    assert all(request.path == "/sse" for request in app.requests)  # no token went elsewhere


async def test_a_stream_that_ends_before_its_endpoint_is_transport_closed() -> None:
    app = legacy_server([b": nothing to see\n\n"])
    async with serving(app) as live:
        with pytest.raises(TransportClosed):
            async with Client(live.url + "/sse", transport="sse", timeout_seconds=5):
                pass


async def test_a_get_that_is_no_event_stream_is_an_http_error() -> None:
    app = ScriptedServer(lambda request: Reply(200, [("content-type", "text/html")], b"<html>"))
    async with serving(app) as live:
        with pytest.raises(HTTPError, match="not an event stream"):
            async with Client(live.url + "/sse", transport="sse", timeout_seconds=5):
                pass


async def test_no_endpoint_in_time_is_a_client_timeout() -> None:
    class Silent(ScriptedServer):
        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await super().__call__(scope, receive, send)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            await send({"type": "http.response.body", "body": b": hello\n\n", "more_body": True})
            while (await receive())["type"] != "http.disconnect":
                pass

    async with serving(Silent(lambda request: Reply(404))) as live:
        with pytest.raises(ClientTimeout, match="no endpoint"):
            async with Client(live.url + "/sse", transport="sse", timeout_seconds=0.5):
                pass


# ---------------------------------------------------------------------- stdio


class Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.closed_with: ClientError | None = None
        self.is_closed = asyncio.Event()

    def receive(self, message: Message) -> None:
        self.messages.append(message)

    def fail(self, request_id: Any, error: ClientError) -> None:
        pass

    def closed(self, error: ClientError) -> None:
        self.closed_with = error
        self.is_closed.set()


async def test_stdio_garbage_lines_are_skipped_and_good_ones_delivered() -> None:
    script = (
        "print('not json'); print(); print('{\"jsonrpc\": \"2.0\"}'); "
        'print(\'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":1}}\')'
    )
    sink = Collect()
    transport = StdioTransport([sys.executable, "-c", script], sink)
    await transport.start()
    await asyncio.wait_for(sink.is_closed.wait(), 20)
    await transport.close()
    assert [getattr(message, "method", None) for message in sink.messages] == [
        "notifications/message"
    ]


async def test_a_stdio_line_past_the_bound_ends_the_connection() -> None:
    sink = Collect()
    script = (
        "import sys; sys.stdout.write('x' * 5000 + '\\n'); sys.stdout.flush(); sys.stdin.read()"
    )
    transport = StdioTransport([sys.executable, "-c", script], sink, max_line_bytes=1000)
    await transport.start()
    await asyncio.wait_for(sink.is_closed.wait(), 20)
    assert sink.closed_with is not None
    assert "longer than 1000 bytes" in str(sink.closed_with)
    await transport.close()


async def test_a_child_that_ignores_its_closed_stdin_is_terminated() -> None:
    script = "import signal, time; time.sleep(60)"
    transport = StdioTransport([sys.executable, "-c", script], Collect())
    await transport.start()
    await transport.close()  # stdin closed, then SIGTERM after the grace period
    assert transport._process is not None and transport._process.returncode is not None


def resuming_server(resume_status: int) -> ScriptedServer:
    """A 2025 server whose reply stream gives an event ID and a retry, then ends before the
    answer, which a GET with that ID as Last-Event-ID brings (or ``resume_status`` refuses)."""

    def on_request(request: Request) -> Reply:
        return sse_reply(b"id: e1\nretry: 10\ndata: \n\n")

    session = session_server(on_request)

    def handler(request: Request) -> Reply:
        if request.method == "GET" and request.headers.get("last-event-id") == "e1":
            if resume_status != 200:
                return Reply(resume_status)
            answer = b'{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"resumed"}]}}'
            return sse_reply(b"id: e2\ndata: " + answer + b"\n\n")
        reply = session.handler(request)
        assert isinstance(reply, Reply)
        return reply

    return ScriptedServer(handler)


async def test_a_reply_stream_that_ends_early_is_resumed_with_last_event_id() -> None:
    app = resuming_server(200)
    async with serving(app) as live, Client(live.url + "/mcp", timeout_seconds=5) as client:
        assert await client.list_tools() == [{"name": "resumed"}]
    resumes = [request for request in app.requests if "last-event-id" in request.headers]
    assert [request.headers["last-event-id"] for request in resumes] == ["e1"]
    assert resumes[0].headers["mcp-session-id"] == "s1"


async def test_a_reply_stream_that_cannot_be_resumed_is_transport_closed() -> None:
    app = resuming_server(405)
    async with serving(app) as live, Client(live.url + "/mcp", timeout_seconds=5) as client:
        with pytest.raises(TransportClosed, match="could not be resumed"):
            await client.list_tools()
