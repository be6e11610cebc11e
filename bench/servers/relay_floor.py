"""The least an HTTP-to-stdio relay in Python can do: the floors ``bench/bridge.py`` measures
``ssemcp bridge`` against (its ``floor-uvicorn`` and ``floor-raw`` ways). Not a server: no
MCP, no sessions, no bounds, no security, one child; it relays exactly what the bench sends.

Each POST's body goes to the child as a line, unchanged; each line the child writes goes back
as the 200 answer to the request of the same JSON-RPC id (found with ``orjson``, as any relay
must find it), and a body without an id (a notification) is answered 202 at once. Two
front-ends:

- ``--front uvicorn``: a raw ASGI app on the uvicorn + uvloop + httptools that ssemcp runs on
  (as ``bench/ceiling.py`` is), access log off: what any gateway built on uvicorn pays.
- ``--front raw``: a bare uvloop protocol parsing with httptools, as uvicorn parses: no
  ASGI, no task per request.

What ``ssemcp bridge`` spends beyond ``uvicorn`` is its own: sessions, the MCP rules, ids
rewritten, bounds, deadlines and observability (bench/BRIDGE.md, session 11).

Run: ``python bench/servers/relay_floor.py --front uvicorn --port 8110 -- CMD ARGS...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any, Final

import httptools
import orjson
import uvicorn
import uvloop

_ANSWER_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nmcp-session-id: floor\r\n"
    b"content-length: %d\r\n\r\n"
)
_ACCEPTED: Final = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"
_ANSWER_HEADERS: Final = [(b"content-type", b"application/json"), (b"mcp-session-id", b"floor")]


class _Child(asyncio.SubprocessProtocol):
    """The child's pipes: each line it writes handed to whoever waits for its id."""

    def __init__(self) -> None:
        self.waiting: dict[object, Callable[[bytes], None]] = {}
        self.stdin: asyncio.WriteTransport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.stdin = transport.get_pipe_transport(0)  # type: ignore[attr-defined]

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            answer = self.waiting.pop(orjson.loads(line).get("id"), None)
            if answer is not None:
                answer(line)

    def relay(self, body: bytes, answer: Callable[[bytes], None]) -> bool:
        """Send ``body`` to the child, ``answer`` called with the line answering it; False
        for a notification, which nothing answers."""
        assert self.stdin is not None
        request_id = orjson.loads(body).get("id")
        if request_id is not None:
            self.waiting[request_id] = answer
        self.stdin.write(body + b"\n")
        return request_id is not None


async def _start_child(command: list[str]) -> _Child:
    _, child = await asyncio.get_running_loop().subprocess_exec(_Child, *command, stderr=None)
    return child


# ---------------------------------------------------------------- --front raw


class _Connection(asyncio.Protocol):
    def __init__(self, child: _Child) -> None:
        self._child = child
        self._parser = httptools.HttpRequestParser(self)
        self._body: list[bytes] = []
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            assert self._transport is not None
            self._transport.close()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self._body)
        self._body = []
        assert self._transport is not None
        if not self._child.relay(body, self._answer):
            self._transport.write(_ACCEPTED)

    def _answer(self, line: bytes) -> None:
        transport = self._transport
        assert transport is not None
        if not transport.is_closing():  # (wrk closes its connections with calls in flight)
            transport.write(_ANSWER_HEAD % len(line) + line)


async def _serve_raw(port: int, command: list[str]) -> None:
    child = await _start_child(command)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(child), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


# ---------------------------------------------------------------- --front uvicorn


def _resolve(future: asyncio.Future[bytes], line: bytes) -> None:
    if not future.done():
        future.set_result(line)


class _App:
    """The relay as a raw ASGI app; its child started on the first request."""

    def __init__(self, command: list[str]) -> None:
        self._command = command
        self._child: _Child | None = None
        # Shared by every request that arrives while the child starts: one child, not one each.
        self._starting: asyncio.Future[_Child] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        child = self._child
        if child is None:
            if self._starting is None:
                self._starting = asyncio.ensure_future(_start_child(self._command))
            child = self._child = await self._starting
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        answered: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        if not child.relay(body, functools.partial(_resolve, answered)):
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        line = await answered
        headers = [*_ANSWER_HEADERS, (b"content-length", b"%d" % len(line))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": line})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--front", choices=("uvicorn", "raw"), default="uvicorn")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("command", nargs="+", help="the child's command, after --")
    options = parser.parse_args()
    if options.front == "raw":
        with contextlib.suppress(KeyboardInterrupt):  # the bench stops it with SIGINT
            uvloop.run(_serve_raw(options.port, options.command))
        return
    uvicorn.run(
        _App(options.command),
        host="127.0.0.1",
        port=options.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
