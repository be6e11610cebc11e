"""An in-memory client for a ServerConnection: no sockets, no subprocess.

Everything the server sends on the session's channel (or on a request's stream) lands in
``sent``; ``request`` returns the reply, as a transport would write it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ssemcp._types import JSONObject, JSONValue
from ssemcp.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    Response,
    parse,
    serialize,
)
from ssemcp.server import Server, ServerConnection


class FakeClient:
    def __init__(self, server: Server) -> None:
        self.sent: list[Message] = []
        self.connection = ServerConnection(server, self._send)
        self._next_id = 1000
        self.message_arrived = asyncio.Event()

    async def _send(self, message: Message) -> None:
        # Through the wire format and back, as a real transport would.
        reparsed = parse(serialize(message))
        assert not isinstance(reparsed, list)
        self.sent.append(reparsed)
        self.message_arrived.set()

    async def raw(self, payload: bytes) -> Any:
        reply = await self.connection.receive(parse(payload))
        if reply is None:
            return None
        return parse(serialize(reply))

    async def initialize(
        self, version: str = "2025-11-25", capabilities: JSONObject | None = None
    ) -> JSONObject:
        reply = await self.request(
            "initialize",
            {
                "protocolVersion": version,
                "capabilities": capabilities or {},
                "clientInfo": {"name": "fake", "version": "1"},
            },
        )
        assert isinstance(reply, Response), reply
        await self.notify("notifications/initialized")
        assert isinstance(reply.result, dict)
        return reply.result

    async def request(
        self, method: str, params: JSONObject | None = None, *, request_id: int | str | None = None
    ) -> Response | ErrorResponse | None:
        if request_id is None:
            self._next_id += 1
            request_id = self._next_id
        reply = await self.connection.receive(Request(request_id, method, params))
        assert not isinstance(reply, list)
        return reply

    async def result(self, method: str, params: JSONObject | None = None) -> JSONObject:
        reply = await self.request(method, params)
        assert isinstance(reply, Response), reply
        assert isinstance(reply.result, dict)
        return reply.result

    async def error(self, method: str, params: JSONObject | None = None) -> JSONObject:
        reply = await self.request(method, params)
        assert isinstance(reply, ErrorResponse), reply
        return reply.error

    async def call(self, name: str, arguments: JSONValue = None, **params: Any) -> JSONObject:
        body: JSONObject = {"name": name}
        if arguments is not None:
            body["arguments"] = arguments
        body.update(params)
        return await self.result("tools/call", body)

    async def notify(self, method: str, params: JSONObject | None = None) -> None:
        reply = await self.connection.receive(Notification(method, params))
        assert reply is None

    async def answer(self, request_id: int | str, result: JSONValue) -> None:
        assert await self.connection.receive(Response(request_id, result)) is None

    async def next_sent(self, deadline_seconds: float = 5.0) -> Message:
        async with asyncio.timeout(deadline_seconds):
            while not self.sent:
                self.message_arrived.clear()
                await self.message_arrived.wait()
        return self.sent.pop(0)

    def notifications(self, method: str) -> list[Notification]:
        return [m for m in self.sent if isinstance(m, Notification) and m.method == method]
