"""What a turn of the loop writes leaves at its end, in one write per connection
(ssemcp.http.response_writer), and never later: the writer alone, then behind a live uvicorn
with the bounded protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from live_server import LiveServer, live_app

from ssemcp import Server
from ssemcp.asgi import ASGIReceive, ASGISend, Scope
from ssemcp.http import create_app, uvicorn_protocol
from ssemcp.http.response_writer import (
    MAX_HELD_BYTES,
    MAX_HELD_CONNECTIONS,
    HeldWrites,
    ResponseWriter,
)

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n"
READ_TIMEOUT_SECONDS = 5.0
BODY_DELAY_SECONDS = 0.5


class RecordingTransport:
    """What the writer hands its transport: one entry per call, writelines joined."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []
        self.closing = False
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.calls.append(data)

    def writelines(self, pieces: Iterable[bytes]) -> None:
        assert not self.closed
        self.calls.append(b"".join(pieces))

    def is_closing(self) -> bool:
        return self.closing or self.closed

    def close(self) -> None:
        self.closed = True


def writer_and_transport() -> tuple[ResponseWriter, RecordingTransport]:
    transport = RecordingTransport()
    held_writes = HeldWrites(asyncio.get_running_loop())
    writer = ResponseWriter(transport, held_writes)  # type: ignore[arg-type]
    return writer, transport


async def next_turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


# ---------------------------------------------------------------------- the writer alone


async def test_writes_of_a_turn_leave_together_at_its_end() -> None:
    writer, transport = writer_and_transport()
    writer.write(HEAD)
    writer.write(b"body")
    assert transport.calls == []
    await next_turn()
    assert transport.calls == [HEAD + b"body"]
    # The next turn's writes are held again, and leave at its end.
    writer.write(b"data: event\n\n")
    assert transport.calls == [HEAD + b"body"]
    await next_turn()
    assert transport.calls == [HEAD + b"body", b"data: event\n\n"]


async def test_held_bytes_leave_at_once_past_the_bound() -> None:
    writer, transport = writer_and_transport()
    writer.write(HEAD)
    writer.write(b"x" * (MAX_HELD_BYTES - len(HEAD) - 1))
    assert transport.calls == []
    writer.write(b"y")  # the bound reached: the transport takes it, and may pause the app
    assert transport.calls == [HEAD + b"x" * (MAX_HELD_BYTES - len(HEAD) - 1) + b"y"]
    writer.write(b"z" * (2 * MAX_HELD_BYTES))  # one write past the bound leaves alone
    assert transport.calls[1:] == [b"z" * (2 * MAX_HELD_BYTES)]
    await next_turn()
    assert len(transport.calls) == 2


async def test_close_writes_what_is_held_first() -> None:
    writer, transport = writer_and_transport()
    writer.write(HEAD)
    writer.close()
    assert transport.calls == [HEAD]
    assert transport.closed
    await next_turn()
    assert transport.calls == [HEAD]


async def test_close_goes_through_the_owners_close_and_nothing_is_written_after() -> None:
    transport = RecordingTransport()
    closes: list[str] = []
    writer = ResponseWriter(
        transport,  # type: ignore[arg-type]
        HeldWrites(asyncio.get_running_loop()),
        lambda: closes.append("lingering"),
    )
    writer.write(HEAD)
    writer.close()
    assert transport.calls == [HEAD]
    assert closes == ["lingering"]
    assert not transport.closed  # the owner's close decides when the transport closes
    assert writer.is_closing()
    writer.write(b"late")
    await next_turn()
    assert transport.calls == [HEAD]


async def test_end_writes_what_is_held_and_drops_what_comes_after() -> None:
    writer, transport = writer_and_transport()
    writer.write(HEAD)
    writer.end()
    assert transport.calls == [HEAD]
    assert writer.is_closing()
    assert not transport.closed
    writer.write(b"late")
    await next_turn()
    assert transport.calls == [HEAD]


async def test_held_bytes_are_dropped_when_the_connection_closes_first() -> None:
    writer, transport = writer_and_transport()
    writer.write(HEAD)
    transport.closing = True  # closed by the protocol (a deadline) or the peer
    assert writer.is_closing()
    await next_turn()
    assert transport.calls == []


async def test_flush_before_a_write_of_the_protocols_own_keeps_the_order() -> None:
    writer, transport = writer_and_transport()
    writer.write(HEAD)
    writer.flush()
    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert transport.calls == [HEAD, b"HTTP/1.1 400 Bad Request\r\n\r\n"]


class RecordingLoop:
    """The one loop method HeldWrites uses; the callbacks it got, to run by hand."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], object]] = []

    def call_soon(self, callback: Callable[[], object]) -> None:
        self.callbacks.append(callback)

    def run_turn(self) -> None:
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()


async def test_connections_writing_in_one_turn_share_one_callback() -> None:
    loop = RecordingLoop()
    held_writes = HeldWrites(loop)  # type: ignore[arg-type]
    transports = [RecordingTransport() for _ in range(3)]
    for number, transport in enumerate(transports):
        writer = ResponseWriter(transport, held_writes)  # type: ignore[arg-type]
        writer.write(b"head %d" % number)
    assert len(loop.callbacks) == 1
    loop.run_turn()
    assert [transport.calls for transport in transports] == [[b"head 0"], [b"head 1"], [b"head 2"]]
    # The next turn's first write schedules a callback again.
    writer.write(b"next head")
    assert len(loop.callbacks) == 1


async def test_a_turn_writes_out_its_connections_in_batches_of_the_bound() -> None:
    loop = RecordingLoop()
    held_writes = HeldWrites(loop)  # type: ignore[arg-type]
    transports = [RecordingTransport() for _ in range(MAX_HELD_CONNECTIONS + 1)]
    for transport in transports:
        ResponseWriter(transport, held_writes).write(b"event")  # type: ignore[arg-type]
    # The first MAX_HELD_CONNECTIONS left as the last of them was added; the one after waits.
    assert all(transport.calls == [b"event"] for transport in transports[:-1])
    assert transports[-1].calls == []
    loop.run_turn()
    assert transports[-1].calls == [b"event"]


class FailingTransport(RecordingTransport):
    def writelines(self, pieces: Iterable[bytes]) -> None:
        raise RuntimeError("unable to perform operation on a closed handle")


async def test_a_failing_flush_does_not_keep_the_other_connections_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = RecordingLoop()
    held_writes = HeldWrites(loop)  # type: ignore[arg-type]
    failing, working = FailingTransport(), RecordingTransport()
    for transport in (failing, working):
        writer = ResponseWriter(transport, held_writes)  # type: ignore[arg-type]
        writer.write(HEAD)
    loop.run_turn()
    assert working.calls == [HEAD]
    assert "writing a response failed" in caplog.text


# ---------------------------------------------------------------------- behind uvicorn


class RecordedTransport:
    """A live connection's transport, recording each write call on its way through."""

    def __init__(self, transport: Any, calls: list[bytes]) -> None:
        self._transport = transport
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def write(self, data: bytes) -> None:
        self._calls.append(bytes(data))
        self._transport.write(data)

    def writelines(self, pieces: Iterable[bytes]) -> None:
        pieces = tuple(pieces)
        self._calls.append(b"".join(pieces))
        self._transport.writelines(pieces)


@pytest.fixture
def recorded_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The write calls that reach the transports of the live servers in this test."""
    calls: list[bytes] = []

    def recording_writer(
        transport: Any, held_writes: HeldWrites, close: Callable[[], object]
    ) -> ResponseWriter:
        return ResponseWriter(RecordedTransport(transport, calls), held_writes, close)

    monkeypatch.setattr(uvicorn_protocol, "ResponseWriter", recording_writer)
    return calls


def raw_post(path: bytes, body: bytes, headers: bytes = b"") -> bytes:
    return (
        b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Accept: application/json, text/event-stream\r\n"
        b"Content-Length: %d\r\n" % len(body) + headers + b"\r\n" + body
    )


INITIALIZE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    b'"capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}'
)


async def test_a_json_reply_leaves_in_one_write(recorded_writes: list[bytes]) -> None:
    server = Server("one-write", "1")
    async with live_app(create_app(server)) as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(raw_post(b"/mcp", INITIALIZE))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_SECONDS)
            length = int(head.lower().partition(b"content-length: ")[2].partition(b"\r\n")[0])
            body = await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT_SECONDS)
        finally:
            writer.close()
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b'"protocolVersion":"2025-11-25"' in body
    assert recorded_writes == [head + body]


async def get(
    live: LiveServer, body_bytes: int, head_timeout_seconds: float = READ_TIMEOUT_SECONDS
) -> tuple[bytes, bytes]:
    """GET / on a new connection: the response's head, and the first ``body_bytes`` of its
    body."""
    reader, writer = await live.open_connection()
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), head_timeout_seconds)
        body = await asyncio.wait_for(reader.readexactly(body_bytes), READ_TIMEOUT_SECONDS)
    finally:
        writer.close()
    return head, body


async def delayed_body_app(scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-length", b"4")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await asyncio.sleep(BODY_DELAY_SECONDS)
    await send({"type": "http.response.body", "body": b"late"})


async def test_a_head_whose_body_is_late_is_not_held_back(recorded_writes: list[bytes]) -> None:
    async with live_app(delayed_body_app) as live:
        head, body = await get(live, 4, head_timeout_seconds=BODY_DELAY_SECONDS / 2)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b"late"
    assert recorded_writes == [head, body]


async def test_expect_100_continue_still_gets_its_interim_response() -> None:
    # The first write of this exchange is "100 Continue", sent while the app waits for a
    # body that the client sends only once it has it.
    async with live_app(create_app(Server("continue", "1"))) as live:
        reader, writer = await live.open_connection()
        try:
            request = raw_post(b"/mcp", INITIALIZE, b"Expect: 100-continue\r\n")
            head, _, body = request.partition(b"\r\n\r\n")
            writer.write(head + b"\r\n\r\n")
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_SECONDS)
            writer.write(body)
            answer = await asyncio.wait_for(reader.readuntil(b"}}"), READ_TIMEOUT_SECONDS)
        finally:
            writer.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert answer.startswith(b"HTTP/1.1 200 ")


async def test_a_stream_head_leaves_before_its_first_event() -> None:
    done = asyncio.Event()

    async def idle_stream_app(scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            return
        start = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
        await send(start)
        await done.wait()
        await send({"type": "http.response.body", "body": b""})

    async with live_app(idle_stream_app) as live:
        try:
            head, _ = await get(live, 0)
        finally:
            done.set()
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding: chunked" in head


async def test_a_streamed_body_reaches_the_transport_in_bounded_pieces(
    recorded_writes: list[bytes],
) -> None:
    chunk = b"0123456789abcdef" * 1024  # 16 KiB, 256 of them: 4 MiB sent without a pause
    chunks = 256

    async def streaming_app(scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            return
        length = str(len(chunk) * chunks).encode()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]}
        )
        for _ in range(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async with live_app(streaming_app) as live:
        head, body = await get(live, len(chunk) * chunks)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == chunk * chunks
    # Never more held than the bound and one write: the transport's own limits still apply.
    assert max(len(call) for call in recorded_writes) < MAX_HELD_BYTES + len(chunk)
    assert b"".join(recorded_writes) == head + body
