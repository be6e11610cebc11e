"""A whole response in one step through uvicorn's httptools cycle (ssemcp.http.whole_response,
called through ssemcp.asgi.shortcuts): the same bytes and the same end of the cycle as
uvicorn's ASGI ``send``, the cases that must take the ASGI path instead, and the answers a live
server gives through it."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from live_server import INITIALIZE, live_app
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from ssemcp import Server
from ssemcp.asgi import ASGIMessage
from ssemcp.asgi.shortcuts import header_lines, send_whole_response
from ssemcp.http import (
    create_app,
    whole_response,  # noqa: F401  (registers uvicorn's shortcuts)
)
from ssemcp.transports import legacy_sse, streamable

DEFAULT_HEADERS = [(b"date", b"Tue, 24 Nov 2026 12:00:00 GMT"), (b"server", b"uvicorn")]
READ_TIMEOUT_SECONDS = 5.0


class RecordingTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class Cycle:
    """A real uvicorn ``RequestResponseCycle`` on a recording transport."""

    def __init__(self, method: str = "POST", keep_alive: bool = True) -> None:
        self.transport = RecordingTransport()
        self.responses_completed = 0
        self.cycle = RequestResponseCycle(
            scope={"type": "http", "method": method},  # type: ignore[typeddict-item]
            transport=self.transport,  # type: ignore[arg-type]
            flow=FlowControl(self.transport),  # type: ignore[arg-type]
            logger=logging.getLogger("test.cycle"),
            access_logger=logging.getLogger("test.cycle.access"),
            access_log=False,
            default_headers=DEFAULT_HEADERS,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=keep_alive,
            on_response=self._on_response,
        )

    def _on_response(self) -> None:
        self.responses_completed += 1

    @property
    def bytes_written(self) -> bytes:
        return b"".join(self.transport.written)

    def state(self) -> tuple[Any, ...]:
        cycle = self.cycle
        return (
            cycle.response_started,
            cycle.response_complete,
            cycle.message_event.is_set(),
            self.transport.closed,
            self.responses_completed,
        )


RESPONSES = [
    pytest.param(202, [(b"content-type", b"text/plain; charset=utf-8")], b"Accepted", id="202"),
    pytest.param(202, [], b"", id="202-empty"),
    pytest.param(
        200,
        [(b"content-type", b"application/json"), (b"mcp-session-id", b"abc-DEF_123")],
        b'{"jsonrpc":"2.0","id":1,"result":{}}',
        id="json",
    ),
]


@pytest.mark.parametrize(("status", "headers", "body"), RESPONSES)
@pytest.mark.parametrize("method", ["POST", "HEAD"])
@pytest.mark.parametrize("keep_alive", [True, False], ids=["keep-alive", "close"])
async def test_writes_what_the_two_asgi_messages_write(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, method: str, keep_alive: bool
) -> None:
    through_asgi = Cycle(method, keep_alive)
    # content-length last, where send_whole_response puts it (uvicorn keeps the message's order).
    asgi_headers = [*headers, (b"content-length", str(len(body)).encode())]
    await through_asgi.cycle.send(
        {"type": "http.response.start", "status": status, "headers": asgi_headers}
    )
    await through_asgi.cycle.send({"type": "http.response.body", "body": body})

    at_once = Cycle(method, keep_alive)
    assert send_whole_response(at_once.cycle.send, status, header_lines(headers), body)

    assert at_once.bytes_written == through_asgi.bytes_written
    assert at_once.state() == through_asgi.state() == (True, True, True, not keep_alive, 1)
    # One write: head and body in the same bytes.
    assert len(at_once.transport.written) == 1


async def test_a_response_already_started_takes_the_asgi_path() -> None:
    started = Cycle()
    await started.cycle.send({"type": "http.response.start", "status": 200, "headers": []})
    before = started.bytes_written
    assert not send_whole_response(started.cycle.send, 202, b"", b"")
    assert started.bytes_written == before
    assert started.responses_completed == 0


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(lambda cycle: setattr(cycle, "access_log", True), id="access-log"),
        pytest.param(lambda cycle: cycle.flow.pause_writing(), id="write-paused"),
    ],
)
async def test_what_the_asgi_path_must_handle_is_left_to_it(
    setup: Callable[[RequestResponseCycle], None],
) -> None:
    # An access log line to write, or a reader to wait for: nothing is written here.
    test_cycle = Cycle()
    setup(test_cycle.cycle)
    assert not send_whole_response(test_cycle.cycle.send, 202, b"", b"")
    assert test_cycle.bytes_written == b""
    assert not test_cycle.cycle.response_started


async def test_a_response_after_the_client_left_is_dropped_as_uvicorn_drops_it() -> None:
    left = Cycle()
    left.cycle.disconnected = True
    assert send_whole_response(left.cycle.send, 202, b"", b"")
    assert left.bytes_written == b""
    assert left.responses_completed == 0


async def test_any_other_send_takes_the_asgi_path() -> None:
    sent: list[ASGIMessage] = []

    async def plain_send(message: ASGIMessage) -> None:
        sent.append(message)

    class Wrapper:
        async def send(self, message: ASGIMessage) -> None:
            sent.append(message)

    assert not send_whole_response(plain_send, 202, b"", b"")
    assert not send_whole_response(Wrapper().send, 202, b"", b"")
    assert sent == []


def test_header_lines_are_lowercase_crlf_lines() -> None:
    assert header_lines([(b"Content-Type", b"application/json"), (b"X-A", b"1, 2")]) == (
        b"content-type: application/json\r\nx-a: 1, 2\r\n"
    )
    assert header_lines([]) == b""


@pytest.mark.parametrize(
    "header",
    [
        (b"", b"x"),
        (b"bad name", b"x"),
        (b"bad:name", b"x"),
        (b"x-split", b"a\r\nset-cookie: b"),
        (b"x-nul", b"a\x00b"),
        (b"Content-Length", b"5"),
        (b"transfer-encoding", b"chunked"),
        (b"connection", b"close"),
    ],
)
def test_header_lines_refuse_what_would_break_or_reframe_the_response(
    header: tuple[bytes, bytes],
) -> None:
    with pytest.raises(ValueError, match=r"not a header|the response's own"):
        header_lines([header])


# ---------------------------------------------------------------------- behind a live uvicorn


@pytest.fixture
def shortcuts_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each transport's calls of send_whole_response returned."""
    taken: list[bool] = []

    def recording(*args: Any) -> bool:
        result = send_whole_response(*args)
        taken.append(result)
        return result

    monkeypatch.setattr(streamable, "send_whole_response", recording)
    monkeypatch.setattr(legacy_sse, "send_whole_response", recording)
    return taken


def echo_server() -> Server:
    server = Server("whole-response-test")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    return server


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes], bytes]:
    async with asyncio.timeout(READ_TIMEOUT_SECONDS):
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head[:-4].split(b"\r\n")
        headers = dict(line.split(b": ", 1) for line in lines)
        body = await reader.readexactly(int(headers[b"content-length"]))
    return status_line, headers, body


def post(path: bytes, message: Any, *headers: bytes, version: bytes = b"1.1") -> bytes:
    body = json.dumps(message).encode()
    return b"\r\n".join(
        [
            b"POST " + path + b" HTTP/" + version,
            b"Host: 127.0.0.1",
            b"Accept: application/json, text/event-stream",
            b"Content-Type: application/json",
            b"Content-Length: " + str(len(body)).encode(),
            *headers,
            b"",
            body,
        ]
    )


@pytest.mark.parametrize(
    "body_timeout_seconds",
    [
        # As ssemcp serve runs: the protocol bounds the body, the app is given uvicorn's send.
        pytest.param(None, id="protocol-deadline"),
        # The app's own body deadline (create_app's default) wraps send and keeps the shortcut.
        pytest.param(30.0, id="app-deadline"),
    ],
)
async def test_streamable_answers_on_a_kept_alive_connection(
    shortcuts_taken: list[bool], body_timeout_seconds: float | None
) -> None:
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi"}},
    }
    app = create_app(echo_server(), body_timeout_seconds=body_timeout_seconds)
    async with live_app(app) as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(post(b"/mcp", INITIALIZE))
            status_line, headers, body = await read_response(reader)
            assert status_line == b"HTTP/1.1 200 OK"
            assert headers[b"content-type"] == b"application/json"
            assert b"date" in headers and b"connection" not in headers
            assert json.loads(body)["id"] == INITIALIZE["id"]
            session = b"Mcp-Session-Id: " + headers[b"mcp-session-id"]
            version = b"Mcp-Protocol-Version: " + INITIALIZE["params"]["protocolVersion"].encode()

            # The same connection carries the next two: a notification (202), then a call.
            writer.write(
                post(b"/mcp", {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
                + post(b"/mcp", call, session, version)
            )
            assert (await read_response(reader))[::2] == (b"HTTP/1.1 202 Accepted", b"")
            status_line, headers, body = await read_response(reader)
            assert status_line == b"HTTP/1.1 200 OK"
            assert json.loads(body)["result"]["content"] == [{"type": "text", "text": "hi"}]

            # Still kept alive after them: a DELETE (204, through ASGI) ends the session.
            writer.write(b"DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n" + session + b"\r\n\r\n")
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                deleted = await reader.readuntil(b"\r\n\r\n")
            assert deleted.startswith(b"HTTP/1.1 204 ")
        finally:
            writer.close()
    assert shortcuts_taken == [True, True, True]


async def test_an_http_1_0_answer_says_close_and_closes(shortcuts_taken: list[bool]) -> None:
    async with live_app(create_app(echo_server(), body_timeout_seconds=None)) as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(post(b"/mcp", INITIALIZE, version=b"1.0"))
            status_line, headers, _ = await read_response(reader)
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                rest = await reader.read()
        finally:
            writer.close()
    assert status_line == b"HTTP/1.1 200 OK"
    assert headers[b"connection"] == b"close"
    assert rest == b""
    assert shortcuts_taken == [True]


async def test_a_legacy_post_is_answered_202_whole_and_its_reply_goes_on_the_stream(
    shortcuts_taken: list[bool],
) -> None:
    initialize = {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "2024-11-05"}}
    async with live_app(create_app(echo_server(), body_timeout_seconds=None)) as live:
        stream_reader, stream_writer = await live.open_connection()
        post_reader, post_writer = await live.open_connection()
        try:
            stream_writer.write(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                received = await stream_reader.readuntil(b"\n\n")
            endpoint = re.search(rb"data: (\S+)", received)
            assert endpoint is not None
            post_writer.write(post(endpoint[1], initialize))
            status_line, headers, body = await read_response(post_reader)
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                event = await stream_reader.readuntil(b"\n\n")
        finally:
            stream_writer.close()
            post_writer.close()
    assert (status_line, body) == (b"HTTP/1.1 202 Accepted", b"Accepted")
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert b"event: message" in event and b'"id":1' in event.replace(b" ", b"")
    assert shortcuts_taken == [True]
