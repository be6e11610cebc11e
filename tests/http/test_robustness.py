"""The HTTP server against clients that misbehave, leave, or break things on purpose.

Owns what no peer may do to the server: cut a connection at any point of a request (mid
request line, mid headers, before or in the body, while its tool runs, in an SSE reply, in
a GET or legacy stream) and leave it unable to serve the next client; get a stack trace or a
file path back in any response; fill the log with tracebacks by walking away. Also: shutting
down with streams open ends within a few seconds. The cuts are made with raw sockets, so each
happens at the byte where the test says.

The server runs in-process as ``ssemcp serve`` runs it (``live_server``: our httptools
protocol, no proxy headers), on a free 127.0.0.1 port, stopped in ``finally``; one test runs
the real command in a subprocess to time its shutdown. What each transport answers to a
well-formed request is ``test_streamable_http.py``'s and ``test_legacy_sse.py``'s business;
time and size bounds are ``test_security.py``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from live_server import (
    GRACEFUL_SHUTDOWN_SECONDS,
    LiveServer,
    live_app,
    serve_subprocess,
    wait_until,
)

from ssemcp import Context, Server
from ssemcp.http import MCPApp, create_app

# How long a test waits for one step (an event, a disconnect to be noticed) before it fails.
STEP_TIMEOUT_SECONDS: Final = 10.0
# How long past the graceful-shutdown bound a shutdown may take on a slow machine.
SHUTDOWN_MARGIN_SECONDS: Final = 3.0
# ssemcp serve's graceful shutdown (ssemcp.cli: timeout_graceful_shutdown=5).
CLI_GRACEFUL_SHUTDOWN_SECONDS: Final = 5.0
ACCEPT_BOTH: Final = "application/json, text/event-stream"
STREAMABLE_HEADERS: Final = {"accept": ACCEPT_BOTH, "content-type": "application/json"}
# A path of the kind a handler's exception carries: it must stay in the server's log.
SECRET_PATH: Final = "/home/alice/project/site-packages/secret_module.py"
# What must never appear in a response body.
LEAK_MARKERS: Final = ("Traceback", 'File "', "/home", ".py", "site-packages")
SUBPROCESS_SERVER: Final = Path(__file__).with_name("subprocess_server.py")
# Streams held open at once in the shutdown tests, per kind.
OPEN_STREAMS: Final = 10


@dataclass
class Probes:
    """What the test tools let a test see and steer."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: int = 0
    finished: int = 0


def build_server(probes: Probes) -> Server:
    server = Server("robustness-test", "0.0.1")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def held() -> str:
        """Answer once the test releases it."""
        probes.started.set()
        try:
            await probes.release.wait()
        except asyncio.CancelledError:
            probes.cancelled += 1
            raise
        probes.finished += 1
        return "released"

    @server.tool()
    async def progress_then_wait(ctx: Context) -> str:
        """Report progress (the reply becomes an SSE stream), then wait to be released."""
        await ctx.report_progress(1, 2)
        probes.started.set()
        try:
            await probes.release.wait()
        except asyncio.CancelledError:
            probes.cancelled += 1
            raise
        probes.finished += 1
        return "released"

    @server.tool()
    async def raises_with_path() -> str:
        """Fail the way a real tool does: an OSError naming a file."""
        raise FileNotFoundError(2, "No such file or directory", SECRET_PATH)

    @server.tool()
    def sync_raises_with_path() -> str:
        """A sync tool (run on a worker thread) that fails with a path in its message."""
        raise ValueError(f"could not parse {SECRET_PATH}")

    @server.tool()
    async def progress_then_raises(ctx: Context) -> str:
        """Fail after the reply became an SSE stream."""
        await ctx.info("about to fail")
        raise RuntimeError(f"failed in {SECRET_PATH}")

    @server.tool()
    async def malformed_result() -> int:
        """Return what its own output schema refuses."""
        bad: Any = {"not": "an int", "from": SECRET_PATH}
        return bad  # type: ignore[no-any-return]

    @server.resource("data://broken")
    async def broken_resource() -> str:
        raise RuntimeError(f"cannot open {SECRET_PATH}")

    @server.resource("files://{name}")
    async def broken_template(name: str) -> str:
        raise KeyError(f"{name} not in {SECRET_PATH}")

    @server.prompt()
    async def broken_prompt(topic: str) -> str:
        raise RuntimeError(f"template {SECRET_PATH} is missing for {topic}")

    return server


@dataclass
class Running:
    live: LiveServer
    app: MCPApp
    probes: Probes
    client: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.live.url

    async def initialize(self) -> str:
        response = await self.client.post(
            "/mcp", json=initialize_request("2025-11-25"), headers=STREAMABLE_HEADERS
        )
        assert response.status_code == 200, response.text
        session_id = response.headers["mcp-session-id"]
        initialized = await self.client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={**STREAMABLE_HEADERS, "mcp-session-id": session_id},
        )
        assert initialized.status_code == 202
        return session_id

    async def call(self, session_id: str, request_id: int, name: str, **arguments: Any) -> Any:
        response = await self.client.post(
            "/mcp",
            json=tools_call(request_id, name, **arguments),
            headers={**STREAMABLE_HEADERS, "mcp-session-id": session_id},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def assert_serves_a_new_client(self) -> None:
        """A fresh client gets health, a Streamable session and a legacy stream, all working."""
        async with self.live.client() as client:
            health = await client.get("/healthz")
            assert health.status_code == 200
            fresh = Running(self.live, self.app, self.probes, client)
            session_id = await fresh.initialize()
            reply = await fresh.call(session_id, 1, "echo", text="still here")
            assert reply["result"]["content"] == [{"type": "text", "text": "still here"}]
            async with client.stream("GET", "/sse") as stream:
                assert stream.status_code == 200
                endpoint = await read_until(stream.aiter_raw(), b"\n\n")
                assert endpoint.startswith(b"event: endpoint"), endpoint


@asynccontextmanager
async def running_server(**options: Any) -> AsyncIterator[Running]:
    probes = Probes()
    app = create_app(build_server(probes), **options)
    async with live_app(app) as live:
        try:
            async with live.client() as client:
                yield Running(live, app, probes, client)
        finally:
            # Before uvicorn stops: a held tool would otherwise hold its shutdown.
            probes.release.set()


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    async with running_server() as running:
        yield running


@pytest.fixture
def server_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """The server's log records at INFO and above, uvicorn's included.

    ``ssemcp serve`` (and uvicorn's default logging set-up) stop their loggers from
    propagating; a test elsewhere in the run may have done so in this process.
    """
    for name in ("ssemcp", "uvicorn"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    caplog.set_level(logging.INFO)
    return caplog


def server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith(("ssemcp", "uvicorn"))]


def assert_no_traceback_logged(caplog: pytest.LogCaptureFixture) -> None:
    for record in server_records(caplog):
        assert record.exc_info is None, f"{record.name}: {record.getMessage()}"
        assert "Traceback" not in record.getMessage(), record.getMessage()
        assert record.levelno < logging.ERROR, f"{record.name}: {record.getMessage()}"


def initialize_request(version: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": {}},
    }


def tools_call(request_id: int, name: str, **arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


async def read_until(chunks: AsyncIterator[bytes], marker: bytes) -> bytes:
    """Read a streamed response (``response.aiter_raw()``, made once) until ``marker``."""
    received = b""
    async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
        async for chunk in chunks:
            received += chunk
            if marker in received:
                return received
    raise AssertionError(f"the stream ended before {marker!r}: {received!r}")


# ---------------------------------------------------------------------- raw HTTP


def raw_request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """One HTTP/1.1 request as bytes; ``Content-Length`` is the body's unless given."""
    fields = {"host": "127.0.0.1", **(headers or {})}
    if body and "content-length" not in fields and "transfer-encoding" not in fields:
        fields["content-length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in fields.items()
    )
    return (head + "\r\n").encode() + body


async def cut(writer: asyncio.StreamWriter, *, reset: bool) -> None:
    """Close the connection: a FIN (a client that exits) or a RST (one that crashes)."""
    if reset:
        # SO_LINGER with a zero timeout: close() sends RST and drops unsent data.
        writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
    writer.close()
    # The peer's reset may race our close: closed all the same.
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def read_until_raw(reader: asyncio.StreamReader, marker: bytes) -> bytes:
    received = b""
    async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
        while marker not in received:
            chunk = await reader.read(65536)
            assert chunk, f"closed before {marker!r}: {received!r}"
            received += chunk
    return received


INITIALIZED: Final = {"jsonrpc": "2.0", "method": "notifications/initialized"}
INITIALIZE_BODY: Final = json.dumps(initialize_request("2025-11-25")).encode()
POST_HEADERS: Final = {"accept": ACCEPT_BOTH, "content-type": "application/json"}

# Cuts before the app has a whole request: (name, bytes sent, then the connection closes).
EARLY_CUTS: Final = [
    ("mid request line", b"POST /mc"),
    ("after request line", b"POST /mcp HTTP/1.1\r\n"),
    ("mid header", b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: applic"),
    (
        "after headers, before the body",
        raw_request("POST", "/mcp", headers={**POST_HEADERS, "content-length": "200"}),
    ),
    (
        "mid body (Content-Length larger than sent)",
        raw_request("POST", "/mcp", headers={**POST_HEADERS, "content-length": "200"})
        + INITIALIZE_BODY[:40],
    ),
    (
        "mid chunked body",
        raw_request("POST", "/mcp", headers={**POST_HEADERS, "transfer-encoding": "chunked"})
        + b"%x\r\n" % 40
        + INITIALIZE_BODY[:40]
        + b"\r\n",
    ),
    (
        "mid legacy POST body",
        raw_request(
            "POST",
            "/messages/?session_id=unknown",
            headers={"content-type": "application/json", "content-length": "200"},
        )
        + b'{"jsonrpc"',
    ),
]


# ---------------------------------------------------------------------- dropped connections


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
@pytest.mark.parametrize(("where", "sent"), EARLY_CUTS, ids=[name for name, _ in EARLY_CUTS])
async def test_connection_cut_before_a_whole_request_leaves_the_server_serving(
    running: Running, server_log: pytest.LogCaptureFixture, where: str, sent: bytes, reset: bool
) -> None:
    _, writer = await running.live.open_connection()
    writer.write(sent)
    await writer.drain()
    await cut(writer, reset=reset)
    await running.assert_serves_a_new_client()
    assert running.app.transport.session_count == 1  # the new client's, nothing half-made
    assert_no_traceback_logged(server_log)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_connection_cut_after_the_body_while_the_tool_runs_leaves_the_session_usable(
    running: Running, server_log: pytest.LogCaptureFixture, reset: bool
) -> None:
    session_id = await running.initialize()
    _, writer = await running.live.open_connection()
    body = json.dumps(tools_call(5, "held")).encode()
    writer.write(
        raw_request("POST", "/mcp", body, headers={**POST_HEADERS, "mcp-session-id": session_id})
    )
    await writer.drain()
    async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
        await running.probes.started.wait()
    await cut(writer, reset=reset)
    # The same session answers its next request; the abandoned call finishes into the void.
    reply = await running.call(session_id, 6, "echo", text="next")
    assert reply["result"]["content"] == [{"type": "text", "text": "next"}]
    running.probes.release.set()
    await wait_until(lambda: running.probes.finished == 1, timeout_seconds=STEP_TIMEOUT_SECONDS)
    await running.assert_serves_a_new_client()
    assert_no_traceback_logged(server_log)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_connection_cut_mid_sse_reply_leaves_the_session_usable(
    running: Running, server_log: pytest.LogCaptureFixture, reset: bool
) -> None:
    session_id = await running.initialize()
    reader, writer = await running.live.open_connection()
    request = tools_call(5, "progress_then_wait")
    request["params"]["_meta"] = {"progressToken": "p"}
    writer.write(
        raw_request(
            "POST",
            "/mcp",
            json.dumps(request).encode(),
            headers={**POST_HEADERS, "mcp-session-id": session_id},
        )
    )
    await writer.drain()
    received = await read_until_raw(reader, b"notifications/progress")
    assert b"text/event-stream" in received
    await cut(writer, reset=reset)
    reply = await running.call(session_id, 6, "echo", text="next")
    assert reply["result"]["content"] == [{"type": "text", "text": "next"}]
    running.probes.release.set()
    await wait_until(lambda: running.probes.finished == 1, timeout_seconds=STEP_TIMEOUT_SECONDS)
    await running.assert_serves_a_new_client()
    assert_no_traceback_logged(server_log)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_connection_cut_mid_get_stream_lets_the_session_open_a_new_one(
    running: Running, server_log: pytest.LogCaptureFixture, reset: bool
) -> None:
    session_id = await running.initialize()
    reader, writer = await running.live.open_connection()
    writer.write(
        raw_request(
            "GET", "/mcp", headers={"accept": "text/event-stream", "mcp-session-id": session_id}
        )
    )
    await writer.drain()
    head = await read_until_raw(reader, b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    await cut(writer, reset=reset)

    async def new_stream_opens() -> bool:
        # 409 while the server has not yet seen the first stream go.
        headers = {"accept": "text/event-stream", "mcp-session-id": session_id}
        async with running.client.stream("GET", "/mcp", headers=headers) as again:
            assert again.status_code in (200, 409), again.status_code
            return again.status_code == 200

    await wait_until(new_stream_opens, timeout_seconds=STEP_TIMEOUT_SECONDS)
    await running.assert_serves_a_new_client()
    assert_no_traceback_logged(server_log)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_connection_cut_mid_legacy_stream_ends_its_session(
    running: Running, server_log: pytest.LogCaptureFixture, reset: bool
) -> None:
    reader, writer = await running.live.open_connection()
    writer.write(raw_request("GET", "/sse"))
    await writer.drain()
    received = await read_until_raw(reader, b"session_id=")
    received += await read_until_raw(reader, b"\n\n") if b"\n\n" not in received else b""
    session_id = received.partition(b"session_id=")[2].split(b"\r")[0].split(b"\n")[0]
    # A tool is running on the session when its stream goes.
    post_url = "/messages/?session_id=" + session_id.decode()
    initialize = await running.client.post(post_url, json=initialize_request("2024-11-05"))
    assert initialize.status_code == 202
    await read_until_raw(reader, b'"protocolVersion"')
    await running.client.post(
        post_url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}
    )
    assert (await running.client.post(post_url, json=tools_call(1, "held"))).status_code == 202
    async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
        await running.probes.started.wait()
    await cut(writer, reset=reset)

    assert running.app.legacy_sse is not None
    legacy = running.app.legacy_sse
    await wait_until(lambda: legacy.session_count == 0, timeout_seconds=STEP_TIMEOUT_SECONDS)
    gone = await running.client.post(post_url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert gone.status_code == 404
    # The session's end cancelled its running tool.
    await wait_until(lambda: running.probes.cancelled == 1, timeout_seconds=STEP_TIMEOUT_SECONDS)
    await running.assert_serves_a_new_client()
    assert_no_traceback_logged(server_log)


# ---------------------------------------------------------------------- abandoned requests


@pytest.mark.parametrize("reply", ["json", "sse"], ids=["json reply", "sse reply"])
async def test_streamable_client_leaving_mid_call_logs_no_traceback(
    running: Running, server_log: pytest.LogCaptureFixture, reply: str
) -> None:
    session_id = await running.initialize()
    tool = "held" if reply == "json" else "progress_then_wait"
    server_log.clear()
    async with running.live.client() as leaving:
        call = asyncio.ensure_future(
            leaving.post(
                "/mcp",
                json=tools_call(5, tool),
                headers={**STREAMABLE_HEADERS, "mcp-session-id": session_id},
            )
        )
        async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
            await running.probes.started.wait()
        call.cancel()  # the client gives up: httpx closes the connection
        await asyncio.gather(call, return_exceptions=True)
    running.probes.release.set()
    await wait_until(lambda: running.probes.finished == 1, timeout_seconds=STEP_TIMEOUT_SECONDS)
    # Then the session ends with nothing left running.
    deleted = await running.client.delete("/mcp", headers={"mcp-session-id": session_id})
    assert deleted.status_code == 204
    assert_no_traceback_logged(server_log)
    about_it = [
        record
        for record in server_records(server_log)
        if "deleted" not in record.getMessage()  # the DELETE's own line
    ]
    assert len(about_it) <= 1, [record.getMessage() for record in about_it]


async def test_legacy_client_leaving_mid_call_logs_one_line_and_no_traceback(
    running: Running, server_log: pytest.LogCaptureFixture
) -> None:
    async with running.live.client() as leaving, leaving.stream("GET", "/sse") as stream:
        chunks = stream.aiter_raw()
        endpoint = await read_until(chunks, b"\n\n")
        post_url = endpoint.partition(b"data: ")[2].split(b"\r")[0].split(b"\n")[0].decode()
        await leaving.post(post_url, json=initialize_request("2024-11-05"))
        await read_until(chunks, b'"protocolVersion"')
        await leaving.post(post_url, json=INITIALIZED)
        assert (await leaving.post(post_url, json=tools_call(1, "held"))).status_code == 202
        async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
            await running.probes.started.wait()
        server_log.clear()
    # The stream is closed: its session ends and the tool is cancelled.
    await wait_until(lambda: running.probes.cancelled == 1, timeout_seconds=STEP_TIMEOUT_SECONDS)
    assert running.app.legacy_sse is not None
    legacy = running.app.legacy_sse
    await wait_until(lambda: legacy.session_count == 0, timeout_seconds=STEP_TIMEOUT_SECONDS)
    assert_no_traceback_logged(server_log)
    messages = [record.getMessage() for record in server_records(server_log)]
    assert len(messages) <= 1, messages


# ---------------------------------------------------------------------- nothing leaks


def assert_no_leak(label: str, body: bytes) -> None:
    text = body.decode("utf-8", errors="replace")
    for marker in LEAK_MARKERS:
        assert marker not in text, f"{label}: {marker!r} in {text[:500]!r}"


def streamable_post(body: Any, session_id: str | None = None) -> dict[str, Any]:
    """A POST to /mcp: ``body`` as bytes, or as JSON."""
    headers = dict(STREAMABLE_HEADERS)
    if session_id is not None:
        headers["mcp-session-id"] = session_id
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {"method": "POST", "url": "/mcp", "content": content, "headers": headers}


def rpc(method: str, request_id: Any = 1, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


# Bodies that are not JSON-RPC a server can act on, each on a live session.
MALFORMED_BODIES: Final[list[Any]] = [
    b"",
    b"{",
    b"nul",
    b"\xff\xfe{}",
    b'{"jsonrpc": "2.0", "id": 1, "method": "\xff"}',
    b"[" * 100_000,
    b'{"a":' * 10_000,
    b"1e999999",
    b"[]",
    b"[1, 2, 3]",
    b'"a string"',
    b"42",
    b"null",
    b"{}",
    b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "method": "ping"}',
    b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"\\u0000": 1}}',
    {"jsonrpc": "1.0", "id": 1, "method": "ping"},
    {"jsonrpc": "2.0", "id": 1},
    {"jsonrpc": "2.0", "id": 1, "method": 5},
    {"jsonrpc": "2.0", "id": {"nested": True}, "method": "ping"},
    {"jsonrpc": "2.0", "id": True, "method": "ping"},
    {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
    {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]},
    {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": "x"},
    {"jsonrpc": "2.0", "id": 99, "result": {}},
    {"jsonrpc": "2.0", "id": 99, "error": {"code": "x"}},
    {"jsonrpc": "2.0", "method": "notifications/unknown", "params": {"x": 1}},
    [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, 1, {"bad": True}],
    rpc("no/such/method"),
    rpc("tools/call"),
    rpc("tools/call", name=5),
    rpc("tools/call", name="no_such_tool"),
    rpc("tools/call", name="echo", arguments=[1, 2]),
    rpc("tools/call", name="echo", arguments={"text": 5}),
    rpc("tools/call", name="echo", arguments={"wrong": "x"}),
    rpc("tools/call", name="echo", arguments={"text": "x" * 100_000}),
    rpc("resources/read"),
    rpc("resources/read", uri=5),
    rpc("resources/read", uri="nothing://here"),
    rpc("prompts/get", name="no_such_prompt"),
    rpc("prompts/get", name="broken_prompt", arguments={"topic": 5}),
    rpc("completion/complete", ref={"type": "ref/prompt", "name": "x"}, argument={}),
    rpc("resources/subscribe", uri=["not", "a", "string"]),
    rpc("logging/setLevel", level="loudest"),
    rpc("initialize", protocolVersion=None),
]

# Handlers that raise with a path in their message: (method, params).
FAILING_HANDLERS: Final = [
    ("tools/call", {"name": "raises_with_path", "arguments": {}}),
    ("tools/call", {"name": "sync_raises_with_path", "arguments": {}}),
    ("tools/call", {"name": "progress_then_raises", "arguments": {}}),
    ("tools/call", {"name": "malformed_result", "arguments": {}}),
    ("resources/read", {"uri": "data://broken"}),
    ("resources/read", {"uri": "files://report"}),
    ("prompts/get", {"name": "broken_prompt", "arguments": {"topic": "x"}}),
]

# Raw bytes the HTTP parser itself refuses, or requests the routes refuse.
RAW_REQUESTS: Final = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n",
    b"GET /heal\x00thz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (128 * 1024) + b"\r\n\r\n",
    b"GET /" + b"a" * (128 * 1024) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
]


async def test_no_response_carries_a_stack_trace_or_a_file_path(
    running: Running, server_log: pytest.LogCaptureFixture
) -> None:
    session_id = await running.initialize()
    answered: list[tuple[str, bytes]] = []

    async def send(label: str, **request: Any) -> httpx.Response:
        response = await running.client.request(**request)
        answered.append((label, response.content))
        return response

    for index, body in enumerate(MALFORMED_BODIES):
        response = await send(f"malformed body {index}", **streamable_post(body, session_id))
        assert response.status_code in (200, 202, 400), (index, response.status_code)

    for method, params in FAILING_HANDLERS:
        request = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
        response = await send(f"{method} {params}", **streamable_post(request, session_id))
        assert response.status_code == 200
        assert SECRET_PATH not in response.text
        if method == "tools/call":
            assert '"isError":true' in response.text.replace(" ", ""), response.text
        else:
            assert '"code":-32603' in response.text.replace(" ", ""), response.text

    bad_requests: list[tuple[str, dict[str, Any]]] = [
        ("no content type", {**streamable_post(rpc("ping"), session_id), "headers": {}}),
        (
            "text/plain",
            {
                **streamable_post(rpc("ping"), session_id),
                "headers": {"accept": ACCEPT_BOTH, "content-type": "text/plain"},
            },
        ),
        (
            "accepts only json",
            {
                **streamable_post(rpc("ping"), session_id),
                "headers": {"accept": "application/json", "content-type": "application/json"},
            },
        ),
        ("unknown session", streamable_post(rpc("ping"), "no-such-session")),
        ("no session", streamable_post(rpc("ping"))),
        (
            "bad protocol version",
            {
                **streamable_post(rpc("ping"), session_id),
                "headers": {
                    **STREAMABLE_HEADERS,
                    "mcp-session-id": session_id,
                    "mcp-protocol-version": "../../etc/passwd",
                },
            },
        ),
        (
            "unresumable Last-Event-ID",
            {
                "method": "GET",
                "url": "/mcp",
                "headers": {
                    "accept": "text/event-stream",
                    "mcp-session-id": session_id,
                    "last-event-id": "x" * 5000,
                },
            },
        ),
        ("GET without accept", {"method": "GET", "url": "/mcp"}),
        ("DELETE without session", {"method": "DELETE", "url": "/mcp"}),
        ("PUT", {"method": "PUT", "url": "/mcp", "content": b"{}"}),
        ("PATCH", {"method": "PATCH", "url": "/mcp"}),
        ("HEAD", {"method": "HEAD", "url": "/mcp"}),
        ("OPTIONS", {"method": "OPTIONS", "url": "/mcp"}),
        ("unknown path", {"method": "GET", "url": "/nothing/here"}),
        ("below the endpoint", {"method": "POST", "url": "/mcp/extra"}),
        ("POST /sse", {"method": "POST", "url": "/sse"}),
        ("GET /messages/", {"method": "GET", "url": "/messages/?session_id=x"}),
        ("no session_id", {"method": "POST", "url": "/messages/", "json": rpc("ping")}),
        ("bad query", {"method": "POST", "url": "/messages/?session_id=%zz&&=", "json": {}}),
        (
            "two session ids",
            {"method": "POST", "url": "/messages/?session_id=a&session_id=b", "json": {}},
        ),
        (
            "many query fields",
            {"method": "POST", "url": "/messages/?" + "&".join(["a=1"] * 50), "json": {}},
        ),
        (
            "unknown legacy session",
            {"method": "POST", "url": "/messages/?session_id=x", "json": {}},
        ),
        ("wrong Host", {"method": "GET", "url": "/mcp", "headers": {"host": "evil.example"}}),
        (
            "wrong Origin",
            {"method": "GET", "url": "/healthz", "headers": {"origin": "http://evil.example"}},
        ),
        (
            "too large",
            {**streamable_post(b"[" + b" " * (5 * 1024 * 1024) + b"]", session_id)},
        ),
    ]
    for label, request in bad_requests:
        response = await send(label, **request)
        assert response.status_code >= 400, (label, response.status_code)

    # A legacy session: its errors travel on the stream, which is scanned too.
    async with running.client.stream("GET", "/sse") as stream:
        chunks = stream.aiter_raw()
        endpoint = await read_until(chunks, b"\n\n")
        post_url = endpoint.partition(b"data: ")[2].split(b"\r")[0].split(b"\n")[0].decode()
        await send(
            "legacy initialize", method="POST", url=post_url, json=initialize_request("2024-11-05")
        )
        await send("legacy initialized", method="POST", url=post_url, json=INITIALIZED)
        for index, body in enumerate(MALFORMED_BODIES[:20]):
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            await send(
                f"legacy malformed body {index}",
                method="POST",
                url=post_url,
                content=content,
                headers={"content-type": "application/json"},
            )
        for index, (method, params) in enumerate(FAILING_HANDLERS):
            await send(
                f"legacy {method}",
                method="POST",
                url=post_url,
                json={
                    "jsonrpc": "2.0",
                    "id": f"handler {index}",
                    "method": method,
                    "params": params,
                },
            )
        # Each request runs in a task of its own: replies come in any order.
        markers = [f'"id":"handler {index}"'.encode() for index in range(len(FAILING_HANDLERS))]
        streamed = b""
        async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
            async for chunk in chunks:
                streamed += chunk
                if all(marker in streamed for marker in markers):
                    break
        assert all(marker in streamed for marker in markers), streamed
    answered.append(("the legacy stream", streamed))
    assert streamed.count(b'"isError":true') >= 4, streamed

    for raw in RAW_REQUESTS:
        reader, writer = await running.live.open_connection()
        try:
            writer.write(raw)
            await writer.drain()
            async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
                answer = await reader.read()
        except ConnectionError:
            answer = b""  # refused by a reset: nothing to leak
        finally:
            writer.close()
        answered.append((f"raw {raw[:40]!r}", answer))
        assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), (raw[:40], answer[:200])

    for label, body in answered:
        assert_no_leak(label, body)
    # The details went where they belong: the server's own log.
    assert SECRET_PATH in server_log.text
    await running.assert_serves_a_new_client()


# ---------------------------------------------------------------------- shutdown


@asynccontextmanager
async def open_streams(live: LiveServer, session_ids: list[str]) -> AsyncIterator[list[Any]]:
    """For each session, a GET stream, a legacy stream and an SSE reply in flight, raw.

    Yields the readers; every connection is closed on exit.
    """
    writers: list[asyncio.StreamWriter] = []
    readers: list[asyncio.StreamReader] = []

    async def open_one(request: bytes, marker: bytes) -> None:
        reader, writer = await live.open_connection()
        writers.append(writer)
        readers.append(reader)
        writer.write(request)
        await writer.drain()
        await read_until_raw(reader, marker)

    try:
        for session_id in session_ids:
            session = {"mcp-session-id": session_id}
            await open_one(
                raw_request("GET", "/mcp", headers={"accept": "text/event-stream", **session}),
                b"\r\n\r\n",
            )
            await open_one(raw_request("GET", "/sse"), b"session_id=")
            request = tools_call(1, "progress_then_wait")
            request["params"]["_meta"] = {"progressToken": "p"}
            body = json.dumps(request).encode()
            await open_one(
                raw_request("POST", "/mcp", body, headers={**POST_HEADERS, **session}),
                b"notifications/progress",
            )
        yield readers
    finally:
        for writer in writers:
            writer.close()


async def shut_down_with_streams_open(
    caplog: pytest.LogCaptureFixture,
) -> tuple[float, MCPApp]:
    """Open streams of every kind, stop the server; how long the stop took, and the app."""
    probes = Probes()
    app = create_app(build_server(probes))
    async with live_app(app) as live:
        async with live.client() as client:
            fresh = Running(live, app, probes, client)
            session_ids = [await fresh.initialize() for _ in range(OPEN_STREAMS)]
        async with open_streams(live, session_ids) as readers:
            caplog.clear()
            started = time.monotonic()
            async with asyncio.timeout(GRACEFUL_SHUTDOWN_SECONDS + SHUTDOWN_MARGIN_SECONDS):
                await live.stop()
                # Every stream was ended by the server, none is left hanging.
                for reader in readers:
                    with contextlib.suppress(ConnectionError):
                        while await reader.read(65536):
                            pass
            elapsed = time.monotonic() - started
    return elapsed, app


async def test_shutdown_with_streams_open_ends_them_within_the_graceful_bound(
    server_log: pytest.LogCaptureFixture,
) -> None:
    elapsed, app = await shut_down_with_streams_open(server_log)
    assert elapsed < GRACEFUL_SHUTDOWN_SECONDS + SHUTDOWN_MARGIN_SECONDS
    assert app.transport.session_count == 0
    assert app.legacy_sse is not None and app.legacy_sse.session_count == 0


async def test_shutdown_with_streams_open_logs_no_traceback(
    server_log: pytest.LogCaptureFixture,
) -> None:
    await shut_down_with_streams_open(server_log)
    assert_no_traceback_logged(server_log)


async def test_ssemcp_serve_exits_on_sigterm_with_streams_open(tmp_path: Path) -> None:
    target = f"{SUBPROCESS_SERVER}:server"
    async with (
        serve_subprocess(target, "--log-level", "warning", log_dir=tmp_path) as process,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_TIMEOUT_SECONDS) as client,
    ):
        response = await client.post(
            "/mcp", json=initialize_request("2025-11-25"), headers=STREAMABLE_HEADERS
        )
        session = {"mcp-session-id": response.headers["mcp-session-id"]}
        await client.post("/mcp", json=INITIALIZED, headers={**STREAMABLE_HEADERS, **session})
        host, port = process.url.removeprefix("http://").split(":")
        streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            request = tools_call(1, "progress_then_wait")
            request["params"]["_meta"] = {"progressToken": "p"}
            for raw, marker in [
                (
                    raw_request("GET", "/mcp", headers={"accept": "text/event-stream", **session}),
                    b"\r\n\r\n",
                ),
                (raw_request("GET", "/sse"), b"session_id="),
                (
                    raw_request(
                        "POST",
                        "/mcp",
                        json.dumps(request).encode(),
                        headers={**POST_HEADERS, **session},
                    ),
                    b"notifications/progress",
                ),
            ]:
                reader, writer = await asyncio.open_connection(host, int(port))
                streams.append((reader, writer))
                writer.write(raw)
                await writer.drain()
                await read_until_raw(reader, marker)
            started = time.monotonic()
            exit_code = await process.stop()
            elapsed = time.monotonic() - started
        finally:
            for _, writer in streams:
                writer.close()
    # A drain that ended is a clean stop (ssemcp.http.uvicorn_server): uvicorn does not
    # raise the signal again, and the process exits 0.
    assert exit_code == 0, process.log()
    assert elapsed < CLI_GRACEFUL_SHUTDOWN_SECONDS + SHUTDOWN_MARGIN_SECONDS
    # Sessions end as shutdown begins: the streams finish, none is cancelled with a traceback.
    assert "Traceback" not in process.log()
