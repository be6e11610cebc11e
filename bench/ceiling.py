"""The ceiling: the fastest an MCP-shaped server on this stack can answer, for the ratios.

A raw ASGI app (no framework) on the same uvicorn + uvloop + httptools as the servers under
test, access log off. It parses each POST body with the standard library's ``json`` and
answers with a fixed result carrying the request's id; it checks nothing else:

- ``POST`` (any path but ``/messages/``): a notification (no ``id``) gets 202; ``initialize``
  gets a fixed result and a ``uuid4`` ``Mcp-Session-Id``; anything else a fixed ``tools/call``
  result whose text is :data:`ECHO_TEXT` (the text every load generator sends), in the shape
  of 2026-07-28 (``resultType``, ``serverInfo``) when its params carry ``_meta``.
- ``GET`` (any path but ``/sse``): an endless SSE stream, held until the client goes.
- ``DELETE``: 200.
- ``GET /sse``: an SSE stream whose first event is ``endpoint``
  (``/messages/?session_id=<uuid4 hex>``).
- ``POST /messages/?session_id=…``: 202, and the fixed answer written onto that session's
  stream as a ``message`` event. A ``tools/call`` of ``notify_all`` first writes one
  ``notifications/resources/updated`` to every open ``/sse`` stream (the fan-out scenario).
- ``POST`` of ``subscriptions/listen`` (MCP 2026-07-28): an SSE stream whose first event is
  ``notifications/subscriptions/acknowledged``, held until the client goes. A 2026-07-28
  ``tools/call`` of ``notify_all`` on ``/mcp`` first writes one
  ``notifications/resources/updated`` to every open listen stream, each tagged with its
  subscription id (its event made once, when the stream opens), then answers (scenario g).

The POST handler writes straight onto the stream's ``send``: one task per stream, no queue.

Run: ``python bench/ceiling.py --port 8100``.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# The message every load generator sends to echo, so a fixed answer passes their checks.
ECHO_TEXT: Final = "ssemcp-bench-echo 0123456789"
FANOUT_URI: Final = "bench://fanout"

_INITIALIZE_RESULT: Final = json.dumps(
    {
        "protocolVersion": "2025-11-25",
        "capabilities": {"tools": {}, "resources": {"subscribe": True}},
        "serverInfo": {"name": "ceiling", "version": "1"},
    },
    separators=(",", ":"),
).encode()
_CALL_RESULT: Final = json.dumps(
    {"content": [{"type": "text", "text": ECHO_TEXT}], "isError": False},
    separators=(",", ":"),
).encode()
# MCP 2026-07-28 (basic/index): every result carries resultType, and serverInfo in _meta.
_MODERN_CALL_RESULT: Final = json.dumps(
    {
        "content": [{"type": "text", "text": ECHO_TEXT}],
        "isError": False,
        "resultType": "complete",
        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "ceiling", "version": "1"}},
    },
    separators=(",", ":"),
).encode()
_UPDATED_EVENT: Final = (
    b"event: message\r\ndata: "
    + json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "notifications/resources/updated",
            "params": {"uri": FANOUT_URI},
        },
        separators=(",", ":"),
    ).encode()
    + b"\r\n\r\n"
)
_SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
_JSON_HEADERS: Final = [(b"content-type", b"application/json")]
_SSE_HEADERS: Final = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
]
_EMPTY: Final = [(b"content-length", b"0")]


def _listen_event(method: str, params: dict[str, Any], subscription_id: Any) -> bytes:
    """One SSE event of a listen stream: ``method`` tagged with ``subscription_id``."""
    tagged = {**params, "_meta": {_SUBSCRIPTION_ID: subscription_id}}
    message = {"jsonrpc": "2.0", "method": method, "params": tagged}
    return (
        b"event: message\r\ndata: "
        + json.dumps(message, separators=(",", ":")).encode()
        + b"\r\n\r\n"
    )


def _answer(request: dict[str, Any]) -> bytes | None:
    """The fixed JSON-RPC answer to ``request``, or None for a notification."""
    if "id" not in request:
        return None
    if request.get("method") == "initialize":
        result = _INITIALIZE_RESULT
    elif "_meta" in (request.get("params") or {}):  # a 2026-07-28 request stands alone
        result = _MODERN_CALL_RESULT
    else:
        result = _CALL_RESULT
    return (
        b'{"jsonrpc":"2.0","id":'
        + json.dumps(request["id"]).encode()
        + b',"result":'
        + result
        + b"}"
    )


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    parts = [body]
    while message.get("more_body"):
        message = await receive()
        parts.append(message.get("body", b""))
    return b"".join(parts)


async def _hold(receive: Receive) -> None:
    """Wait until the client goes."""
    while (await receive())["type"] != "http.disconnect":
        pass


class CeilingApp:
    """The ceiling ASGI app; one per process, its legacy streams in :attr:`streams`."""

    def __init__(self) -> None:
        self.streams: dict[str, Send] = {}
        # Open subscriptions/listen streams: each one's send and its updated event.
        self.listens: dict[int, tuple[Send, bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        path = scope["path"]
        if method == "POST":
            if path.startswith("/messages"):
                await self._legacy_post(scope, receive, send)
            else:
                await self._post(receive, send)
        elif method == "GET":
            if path == "/sse":
                await self._legacy_stream(receive, send)
            else:
                await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
                await send({"type": "http.response.body", "body": b"", "more_body": True})
                await _hold(receive)
        else:  # DELETE, and anything else
            await send({"type": "http.response.start", "status": 200, "headers": _EMPTY})
            await send({"type": "http.response.body", "body": b""})

    async def _post(self, receive: Receive, send: Send) -> None:
        request = json.loads(await _read_body(receive))
        method = request.get("method")
        if method == "subscriptions/listen":
            await self._listen(request, receive, send)
            return
        params = request.get("params")
        if (
            method == "tools/call"
            and isinstance(params, dict)
            and params.get("name") == "notify_all"
        ):
            for stream, event in list(self.listens.values()):
                await stream({"type": "http.response.body", "body": event, "more_body": True})
        answer = _answer(request)
        if answer is None:
            await send({"type": "http.response.start", "status": 202, "headers": _EMPTY})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [*_JSON_HEADERS, (b"content-length", str(len(answer)).encode())]
        if request.get("method") == "initialize":
            headers.append((b"mcp-session-id", uuid.uuid4().hex.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _listen(self, request: dict[str, Any], receive: Receive, send: Send) -> None:
        subscription_id = request.get("id")
        honoured = {"resourceSubscriptions": [FANOUT_URI]}
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        acknowledgement = _listen_event(
            "notifications/subscriptions/acknowledged",
            {"notifications": honoured},
            subscription_id,
        )
        await send({"type": "http.response.body", "body": acknowledgement, "more_body": True})
        updated = _listen_event(
            "notifications/resources/updated", {"uri": FANOUT_URI}, subscription_id
        )
        key = id(send)
        self.listens[key] = (send, updated)
        try:
            await _hold(receive)
        finally:
            del self.listens[key]

    async def _legacy_stream(self, receive: Receive, send: Send) -> None:
        session_id = uuid.uuid4().hex
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        endpoint = f"event: endpoint\r\ndata: /messages/?session_id={session_id}\r\n\r\n"
        await send({"type": "http.response.body", "body": endpoint.encode(), "more_body": True})
        self.streams[session_id] = send
        try:
            await _hold(receive)
        finally:
            del self.streams[session_id]

    async def _legacy_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = json.loads(await _read_body(receive))
        session_id = scope["query_string"].decode().partition("session_id=")[2]
        stream = self.streams.get(session_id)
        await send({"type": "http.response.start", "status": 202, "headers": _EMPTY})
        await send({"type": "http.response.body", "body": b""})
        if stream is None:
            return
        params = request.get("params")
        if (
            request.get("method") == "tools/call"
            and isinstance(params, dict)
            and params.get("name") == "notify_all"
        ):
            for other in list(self.streams.values()):
                await other(
                    {"type": "http.response.body", "body": _UPDATED_EVENT, "more_body": True}
                )
        answer = _answer(request)
        if answer is not None:
            event = b"event: message\r\ndata: " + answer + b"\r\n\r\n"
            await stream({"type": "http.response.body", "body": event, "more_body": True})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    options = parser.parse_args()
    uvicorn.run(
        CeilingApp(),
        host=options.host,
        port=options.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        # As ssemcp's command does: no X-Forwarded-* rewriting (uvicorn's default is on).
        proxy_headers=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
