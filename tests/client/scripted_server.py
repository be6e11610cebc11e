"""An HTTP server that answers as a test scripts it, for the client's bad paths: statuses,
bodies and streams that no well-behaved server sends.

``ScriptedServer(handler)`` is an ASGI app; ``handler(method, path, headers, body)`` returns a
``Reply``: a status, headers, and either a body or a list of SSE chunks (a stream that then
ends). ``requests`` records what came in.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] | None = None  # an SSE stream, sent chunk by chunk, then ended


def json_reply(message: Any, status: int = 200) -> Reply:
    return Reply(status, [("content-type", "application/json")], json.dumps(message).encode())


def sse_reply(*frames: bytes) -> Reply:
    return Reply(200, [("content-type", "text/event-stream")], chunks=list(frames))


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


Handler = Callable[[Request], Awaitable[Reply] | Reply]


class ScriptedServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        request = Request(
            scope["method"], scope["path"], headers, json.loads(body) if body else None
        )
        self.requests.append(request)
        reply = self.handler(request)
        if not isinstance(reply, Reply):
            reply = await reply
        raw_headers = [(name.encode(), value.encode()) for name, value in reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        if reply.chunks is None:
            await send({"type": "http.response.body", "body": reply.body})
            return
        for chunk in reply.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
