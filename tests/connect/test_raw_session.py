"""``ssemcp.client.RawSession``, the message-level entry point connect relays through, against
a real ssemcp server on loopback: what it sends goes as it is, and every message the server
sends (answers, notifications, the server's own requests) reaches ``on_message``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from connect_remote import build_server
from live_server import LiveServer, live_server

from ssemcp.client import AuthError, ConnectError, RawSession, SessionExpired, TransportClosed
from ssemcp.jsonrpc import Message, Notification, Request, RequestId, Response

DEADLINE_SECONDS = 10.0
INITIALIZE_PARAMS = {
    "protocolVersion": "2025-11-25",
    "capabilities": {"elicitation": {}},
    "clientInfo": {"name": "raw", "version": "1"},
}


class Inbox:
    """What a RawSession delivered, and a way to wait for a given message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.failures: list[tuple[RequestId | None, Exception]] = []
        self._arrived = asyncio.Event()

    def receive(self, message: Message) -> None:
        self.messages.append(message)
        self._arrived.set()

    def fail(self, request_id: RequestId | None, error: Exception) -> None:
        self.failures.append((request_id, error))

    async def answer_to(self, request_id: RequestId) -> Message:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while True:
                for message in self.messages:
                    if isinstance(message, Response) and message.id == request_id:
                        return message
                self._arrived.clear()
                await self._arrived.wait()

    async def request_from_server(self) -> Request:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while True:
                for message in self.messages:
                    if isinstance(message, Request):
                        return message
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
async def live() -> AsyncIterator[LiveServer]:
    async with live_server(build_server()) as running:
        yield running


def raw_session(url: str, inbox: Inbox, **options: object) -> RawSession:
    return RawSession(
        url,
        transport="streamable",
        timeout_seconds=DEADLINE_SECONDS,
        on_message=inbox.receive,
        on_failure=inbox.fail,
        **options,  # type: ignore[arg-type]
    )


async def test_a_raw_session_relays_a_handshake_and_the_servers_own_request(
    live: LiveServer,
) -> None:
    inbox = Inbox()
    session = raw_session(live.mcp_url, inbox)
    try:
        await session.start()
        await session.send(Request("init-1", "initialize", INITIALIZE_PARAMS))
        answer = await inbox.answer_to("init-1")
        assert isinstance(answer, Response) and isinstance(answer.result, dict)
        await session.send(Notification("notifications/initialized"))
        await session.session_opened(str(answer.result["protocolVersion"]))

        await session.send(Request(7, "tools/call", {"name": "greet", "arguments": {}}))
        question = await inbox.request_from_server()
        assert question.method == "elicitation/create"
        # The caller answers the server's request itself, with the server's id.
        await session.send(Response(question.id, {"action": "accept", "content": {"name": "Ada"}}))
        result = await inbox.answer_to(7)
        assert isinstance(result, Response)
        assert result.result["content"][0]["text"] == "hello Ada"  # type: ignore[index,call-overload]
        assert inbox.failures == []
    finally:
        await session.close()
        await session.close()  # idempotent


async def test_a_session_the_server_forgot_is_session_expired(live: LiveServer) -> None:
    inbox = Inbox()
    session = raw_session(live.mcp_url, inbox)
    try:
        await session.send(Request(1, "initialize", INITIALIZE_PARAMS))
        await inbox.answer_to(1)
        assert session.session_id is not None
        async with live.client() as http:
            await http.delete("/mcp", headers={"Mcp-Session-Id": session.session_id})
        with pytest.raises(SessionExpired):
            await session.send(Request(2, "ping"))
    finally:
        await session.close()
    with pytest.raises(TransportClosed, match="closed"):
        await session.send(Request(3, "ping"))


async def test_errors_are_the_clients(live: LiveServer) -> None:
    inbox = Inbox()
    refused = raw_session("http://127.0.0.1:1/mcp", inbox)
    with pytest.raises(ConnectError):
        await refused.send(Request(1, "initialize", INITIALIZE_PARAMS))
    await refused.close()
    async with live_server(build_server(), tokens=["t"]) as guarded:
        unauthorized = raw_session(guarded.mcp_url, inbox, token="wrong")
        with pytest.raises(AuthError) as caught:
            await unauthorized.send(Request(1, "initialize", INITIALIZE_PARAMS))
        await unauthorized.close()
    assert caught.value.www_authenticate.startswith("Bearer")
