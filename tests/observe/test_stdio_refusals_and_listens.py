"""``ssemcp stdio``'s access log (stderr, JSON lines) for what no handler answers: input that
is no request, 2026-07-28 requests refused before their handler, and a
``subscriptions/listen`` when it ends. A real ``ssemcp stdio`` process each."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Final

EVERYTHING: Final = Path(__file__).parents[1] / "conformance" / "everything_server.py"
META: Final = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
DEADLINE_SECONDS: Final = 20.0


class StdioPeer:
    """``ssemcp stdio`` with JSON access lines, driven line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls) -> StdioPeer:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ssemcp",
            "stdio",
            f"{EVERYTHING}:server",
            "--log-format",
            "json",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def send(self, message: dict[str, Any] | bytes) -> None:
        assert self.process.stdin is not None
        line = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.process.stdin.write(line + b"\n")
        await self.process.stdin.drain()

    async def receive(self) -> Any:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), DEADLINE_SECONDS)
        return json.loads(line)

    async def access_lines(self) -> list[dict[str, Any]]:
        """Close the input; the access lines the process wrote before it exited."""
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        stderr = await asyncio.wait_for(self.process.stderr.read(), DEADLINE_SECONDS)
        assert await asyncio.wait_for(self.process.wait(), DEADLINE_SECONDS) == 0
        entries = [json.loads(line) for line in stderr.splitlines() if line.startswith(b"{")]
        return [entry for entry in entries if entry["logger"] == "ssemcp.access"]

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def test_input_that_is_no_request_and_2026_refusals_get_lines_with_their_codes() -> None:
    peer = await StdioPeer.start()
    try:
        await peer.send(b"{not json")
        assert (await peer.receive())["error"]["code"] == -32700
        await peer.send({"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"_meta": META}})
        assert (await peer.receive())["error"]["code"] == -32601
        wrong = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "bad": 1}
        wrong["io.modelcontextprotocol/clientCapabilities"] = "none"
        await peer.send(
            {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": wrong}}
        )
        assert (await peer.receive())["error"]["code"] == -32602
        # An error from a handler is logged once, by dispatch.
        await peer.send(
            {
                "jsonrpc": "2.0",
                "id": 4,
                "method": "tools/call",
                "params": {"_meta": META, "name": "no_such_tool"},
            }
        )
        assert (await peer.receive())["error"]["code"] == -32602
        lines = await peer.access_lines()
    finally:
        peer.kill()
    assert [(line.get("rpc"), line.get("id"), line["outcome"], line["code"]) for line in lines] == [
        (None, None, "error", -32700),
        ("ping", 2, "error", -32601),
        ("tools/list", 3, "error", -32602),
        ("tools/call", 4, "error", -32602),
    ]
    assert all(line["transport"] == "stdio" for line in lines)


async def test_a_listen_gets_its_line_when_it_ends() -> None:
    peer = await StdioPeer.start()
    try:
        await peer.send(
            {
                "jsonrpc": "2.0",
                "id": 50,
                "method": "subscriptions/listen",
                "params": {"_meta": META, "notifications": {"toolsListChanged": True}},
            }
        )
        assert (await peer.receive())["method"] == "notifications/subscriptions/acknowledged"
        await peer.send(
            {
                "jsonrpc": "2.0",
                "id": 51,
                "method": "tools/call",
                "params": {"_meta": META, "name": "test_trigger_tool_change"},
            }
        )
        received = [await peer.receive(), await peer.receive()]
        assert {message.get("method") for message in received} == {
            None,
            "notifications/tools/list_changed",
        }
        await peer.send(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 50}}
        )
        lines = await peer.access_lines()
    finally:
        peer.kill()
    [listen] = [line for line in lines if line["rpc"] == "subscriptions/listen"]
    assert (listen["id"], listen["outcome"], listen["notifications"]) == (50, "ok", 1)
    assert listen["duration_ms"] > 0


async def test_a_line_that_is_no_message_gets_its_line_with_its_code() -> None:
    peer = await StdioPeer.start()
    try:
        await peer.send({"jsonrpc": "2.0", "id": 5})  # no method, no result: not a message
        reply = await peer.receive()
        assert (reply["id"], reply["error"]["code"]) == (5, -32600)
        lines = await peer.access_lines()
    finally:
        peer.kill()
    assert [(line.get("rpc"), line["outcome"], line["code"]) for line in lines] == [
        (None, "error", -32600)
    ]
