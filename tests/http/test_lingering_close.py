"""A connection refused or closed mid-request closes lingering (ssemcp.http.uvicorn_protocol):
half-closed after its answer, the rest of the request discarded, closed at the client's EOF or
after the linger bound. Without it, the kernel answers the client's next bytes with a reset,
and a client still sending loses the answer it had already received."""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import socket
import time
from collections.abc import AsyncIterator
from typing import Final

import pytest
from live_server import LiveServer, live_app, wait_until

from ssemcp import Server
from ssemcp.http import create_app

SHORT_TIMEOUT_SECONDS: Final = 0.3
LINGER_SECONDS: Final = 1.0
# Generous against a loaded machine, short against the 120 s test timeout.
MARGIN_SECONDS: Final = 5.0
POST_HEAD: Final = (
    b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
)


def peer_has_closed_its_side(sock: socket.socket) -> bool:
    """Whether the server's FIN has arrived (POLLRDHUP sees it behind unread data)."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLRDHUP)
    return any(events & select.POLLRDHUP for _, events in poller.poll(0))


def connection_is_reset(sock: socket.socket) -> bool:
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLERR)
    return any(events & select.POLLERR for _, events in poller.poll(0))


@contextlib.asynccontextmanager
async def server_with(refusal: str) -> AsyncIterator[LiveServer]:
    """A live server that refuses what ``refusal`` names, quickly."""
    if refusal == "app-408":
        # The app keeps the deadline: uvicorn's request cycle writes the 408 and closes.
        app = create_app(Server("t"), body_timeout_seconds=SHORT_TIMEOUT_SECONDS)
        options = {"body_timeout_seconds": None}
    else:
        app = create_app(Server("t"), body_timeout_seconds=None)
        options = {"body_timeout_seconds": SHORT_TIMEOUT_SECONDS}
    async with live_app(
        app, max_header_bytes=1024, linger_seconds=LINGER_SECONDS, **options
    ) as live:
        yield live


# What each refusal's client sends first, and the status it must read.
REFUSALS: Final = {
    "protocol-408": (POST_HEAD + b'{"jsonrpc"', 408),
    "app-408": (POST_HEAD + b'{"jsonrpc"', 408),
    "431": (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 4096, 431),
    "400": (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n", 400),
}


async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), MARGIN_SECONDS)


@pytest.mark.parametrize("refusal", list(REFUSALS))
async def test_a_client_still_sending_after_its_refusal_reads_the_whole_answer(
    refusal: str,
) -> None:
    first, status = REFUSALS[refusal]
    async with server_with(refusal) as live:
        reader, writer = await live.open_connection()
        sock = writer.get_extra_info("socket")
        try:
            writer.write(first)
            await writer.drain()
            await wait_until(
                lambda: peer_has_closed_its_side(sock),
                timeout_seconds=MARGIN_SECONDS,
                message="the server did not answer and close its side",
            )
            # The client has not looked yet and goes on sending its request. Against a plain
            # close, the first write draws a reset and the second fails, taking the received
            # answer with it.
            writer.write(b" " * 1000)
            await writer.drain()
            await asyncio.sleep(0.1)  # time for a reset to come back, if one comes
            assert not connection_is_reset(sock)
            writer.write(b" " * 1000)
            await writer.drain()
            answer = await read_to_end(reader)
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 %d " % status)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    assert json.loads(body)["jsonrpc"] == "2.0"


async def test_a_refused_connection_closes_at_the_clients_eof() -> None:
    async with server_with("protocol-408") as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(REFUSALS["protocol-408"][0])
            await writer.drain()
            answer = await read_to_end(reader)
            assert answer.startswith(b"HTTP/1.1 408 ")
            assert len(live.uvicorn_server.server_state.connections) == 1  # lingering
            started = time.monotonic()
            writer.write_eof()
            await wait_until(
                lambda: not live.uvicorn_server.server_state.connections,
                timeout_seconds=MARGIN_SECONDS,
                message="the lingering connection outlived the client's EOF",
            )
        finally:
            writer.close()
    # Well before the linger bound: the EOF, not the bound, closed it.
    assert time.monotonic() - started < LINGER_SECONDS


async def test_a_client_that_never_stops_sending_is_closed_at_the_linger_bound() -> None:
    async with server_with("protocol-408") as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(REFUSALS["protocol-408"][0])
            await writer.drain()
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 408 ")
            lingering_since = time.monotonic()
            # Keep sending, a little at a time, until the server closes for good.
            with contextlib.suppress(ConnectionError):
                while live.uvicorn_server.server_state.connections:
                    assert time.monotonic() - lingering_since < LINGER_SECONDS + MARGIN_SECONDS
                    writer.write(b" " * 100)
                    await writer.drain()
                    await asyncio.sleep(0.05)
            closed_after = time.monotonic() - lingering_since
        finally:
            writer.close()
    assert closed_after >= LINGER_SECONDS * 0.9


async def test_a_complete_request_answered_with_connection_close_is_closed_at_once() -> None:
    # Nothing is left to read: no linger, the server closes as soon as it has answered.
    async with server_with("protocol-408") as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            await writer.drain()
            answer = await read_to_end(reader)
            await wait_until(
                lambda: not live.uvicorn_server.server_state.connections,
                timeout_seconds=LINGER_SECONDS / 2,
                message="a finished connection lingered",
            )
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 200 ")
