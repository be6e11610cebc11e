"""2026-07-28 over stdio: ``subscriptions/listen`` (its acknowledgement, a notification another
request causes, and the two ends of a subscription on stdio: the client's
notifications/cancelled, the input closing) and the cancellation of a request that stands
alone. A real ``ssemcp stdio`` process each."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, Final

from ssemcp import Server
from ssemcp.jsonrpc import Request
from ssemcp.server.listen import DEFAULT_MAX_BACKLOG, ListenStream
from ssemcp.transports.stdio import _Listening

FIXTURE: Final = Path(__file__).parents[1] / "conformance" / "everything_server.py"
META: Final = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
READ_TIMEOUT_SECONDS: Final = 20.0


class StdioPeer:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()

    async def receive(self) -> Any:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), READ_TIMEOUT_SECONDS)
        return json.loads(line)


async def start(target: str = f"{FIXTURE}:server") -> StdioPeer:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ssemcp",
        "stdio",
        target,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return StdioPeer(process)


async def test_a_listen_hears_a_change_and_ends_when_cancelled_then_at_eof() -> None:
    peer = await start()
    try:
        await peer.send(
            {
                "jsonrpc": "2.0",
                "id": 50,
                "method": "subscriptions/listen",
                "params": {"_meta": META, "notifications": {"toolsListChanged": True}},
            }
        )
        ack = await peer.receive()
        assert ack["method"] == "notifications/subscriptions/acknowledged"
        assert ack["params"]["_meta"] == {SUBSCRIPTION_ID: 50}
        await peer.send(
            {
                "jsonrpc": "2.0",
                "id": 51,
                "method": "tools/call",
                "params": {"_meta": META, "name": "test_trigger_tool_change"},
            }
        )
        first, second = await peer.receive(), await peer.receive()
        by_kind = {("id" in message): message for message in (first, second)}
        assert by_kind[True]["id"] == 51
        assert by_kind[False] == {
            "jsonrpc": "2.0",
            "method": "notifications/tools/list_changed",
            "params": {"_meta": {SUBSCRIPTION_ID: 50}},
        }
        # Cancelled: no final result, and the process goes on serving.
        await peer.send(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 50}}
        )
        await peer.send(
            {"jsonrpc": "2.0", "id": 52, "method": "tools/list", "params": {"_meta": META}}
        )
        assert (await peer.receive())["id"] == 52
        # A second listen, then the input closes: the process exits at once, quietly.
        await peer.send(
            {
                "jsonrpc": "2.0",
                "id": 53,
                "method": "subscriptions/listen",
                "params": {"_meta": META, "notifications": {"toolsListChanged": True}},
            }
        )
        assert (await peer.receive())["params"]["_meta"] == {SUBSCRIPTION_ID: 53}
        assert peer.process.stdin is not None
        closed_at = time.monotonic()
        peer.process.stdin.close()
        assert await asyncio.wait_for(peer.process.wait(), READ_TIMEOUT_SECONDS) == 0
        assert time.monotonic() - closed_at < 5  # not held up by the open subscription
        assert peer.process.stdout is not None
        assert await peer.process.stdout.read() == b""
    finally:
        if peer.process.returncode is None:
            peer.process.kill()
            await peer.process.wait()


SLEEPY_SERVER: Final = (
    "import asyncio\n"
    "from ssemcp import Server\n"
    "server = Server('sleepy', '1.0.0')\n"
    "@server.tool()\n"
    "async def sleepy() -> str:\n"
    "    '''Sleep a long time.'''\n"
    "    await asyncio.sleep(60)\n"
    "    return 'woke'\n"
)


async def test_a_cancelled_request_gets_no_reply_and_the_process_goes_on(tmp_path: Path) -> None:
    module = tmp_path / "sleepy_server.py"
    module.write_text(SLEEPY_SERVER)
    peer = await start(f"{module}:server")
    try:
        call = {"_meta": META, "name": "sleepy"}
        await peer.send({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": call})
        await peer.send(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}}
        )
        await peer.send(
            {"jsonrpc": "2.0", "id": 6, "method": "tools/list", "params": {"_meta": META}}
        )
        # The next line is the answer to 6: the cancelled 5 is never answered.
        assert (await peer.receive())["id"] == 6
        assert peer.process.stdin is not None
        closed_at = time.monotonic()
        peer.process.stdin.close()
        assert await asyncio.wait_for(peer.process.wait(), READ_TIMEOUT_SECONDS) == 0
        assert time.monotonic() - closed_at < 5  # nothing left running to wait for
        assert peer.process.stdout is not None
        assert await peer.process.stdout.read() == b""
    finally:
        if peer.process.returncode is None:
            peer.process.kill()
            await peer.process.wait()


async def test_a_listen_whose_stdout_reader_falls_behind_is_cut_off() -> None:
    server = Server("s")

    @server.resource("a://{name}")
    def item(name: str) -> str:
        return name

    stream = ListenStream(
        server,
        Request(1, "subscriptions/listen", {"notifications": {"resourceSubscriptions": ["a://1"]}}),
    )
    listening = _Listening(stream)
    stream.open(listening.deliver)
    for _ in range(DEFAULT_MAX_BACKLOG):
        server.notify_resource_updated("a://1")
    assert not listening.is_cut_off
    assert len(await asyncio.wait_for(listening.next_batch(), 1)) == DEFAULT_MAX_BACKLOG
    for _ in range(DEFAULT_MAX_BACKLOG + 1):
        server.notify_resource_updated("a://1")
    assert listening.is_cut_off
    assert await asyncio.wait_for(listening.next_batch(), 1) == []
    assert server.subscriber_count("a://1") == 0
