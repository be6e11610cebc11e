"""A small SSE server for ``ssemcp trace --sse``: one endpoint per framing style, and one that
ends its stream and expects the reconnection to carry ``Last-Event-ID``.

``/named``: named events (``event: response.output_text.delta``); ``/typed``: default
``message`` events whose JSON names its type; ``/bare``: bare ``data:`` lines ending in
``[DONE]``; ``/unterminated``: a stream that ends inside an event; ``/resume``: two events
with ids and ``retry: 10``, then the rest after a reconnection from the last id, then 204
(stop); ``/plain``: not an event stream.
"""

from __future__ import annotations

from typing import Any

Scope = dict[str, Any]

NAMED = (
    b'event: response.created\ndata: {"id":"r1"}\n\n'
    b'event: response.output_text.delta\ndata: {"delta":"Hel"}\n\n'
    b'event: response.completed\ndata: {"id":"r1"}\n\n'
)
TYPED = (
    b": a comment first\n\n"
    b'data: {"type":"content_block_delta","delta":{"text":"Hi"}}\n\n'
    b'data: {"type":"message_stop"}\n\n'
)
BARE = b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n'
# The stream ends inside its second event, which no blank line closes.
UNTERMINATED = b"data: whole\n\ndata: cut off\n"


class SSEEndpoints:
    """The ASGI app; ``last_event_ids`` records the ``Last-Event-ID`` of each /resume GET."""

    def __init__(self) -> None:
        self.last_event_ids: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        headers = dict(scope["headers"])
        if path == "/resume":
            last = headers.get(b"last-event-id")
            self.last_event_ids.append(None if last is None else last.decode())
            if last is None:
                body = b"retry: 10\nid: 1\ndata: one\n\nid: 2\ndata: two\n\n"
            elif last == b"2":
                body = b"id: 3\ndata: three\n\n"
            else:
                await send({"type": "http.response.start", "status": 204, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        elif path == "/plain":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"hello"})
            return
        else:
            body = {
                "/named": NAMED,
                "/typed": TYPED,
                "/bare": BARE,
                "/unterminated": UNTERMINATED,
            }[path]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        # Frame by frame, as a server streams them.
        frames = body.split(b"\n\n")
        for frame in frames[:-1]:
            await send({"type": "http.response.body", "body": frame + b"\n\n", "more_body": True})
        if frames[-1]:
            await send({"type": "http.response.body", "body": frames[-1], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
