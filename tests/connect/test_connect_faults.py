"""``ssemcp connect`` when things go wrong, driven line by line over its real pipes.

Owns the fault paths: a remote that cannot be reached, one that wants a token (and says what
it asked for), a session the server lost mid-run, the local client's end of input, its stdout
closed, a garbage line, and what ``--transport 2026`` does with a 2025 handshake. The remote is
a real ssemcp server on loopback in the test's loop; connect is a real subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from connect_remote import Recorder, build_server
from live_server import HOST, INITIALIZE, LiveServer, live_app, wait_until

from ssemcp.client._protocol import modern_params
from ssemcp.http import create_app

# A line comes within milliseconds; the bound only stops a broken test from hanging.
LINE_DEADLINE_SECONDS: Final = 20.0
EXIT_DEADLINE_SECONDS: Final = 20.0
INITIALIZED: Final = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


class ConnectProcess:
    """``python -m ssemcp connect`` with its stdin, stdout and stderr (a file) ours."""

    def __init__(self, process: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.process = process
        self.stderr_path = stderr_path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_raw(json.dumps(message).encode() + b"\n")

    async def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        await self.process.stdin.drain()

    async def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        async with asyncio.timeout(LINE_DEADLINE_SECONDS):
            line = await self.process.stdout.readline()
        assert line, f"stdout ended; stderr:\n{self.stderr}"
        message = json.loads(line)
        assert isinstance(message, dict)
        return message

    async def receive_answer(self, request_id: int | str) -> dict[str, Any]:
        """The answer to ``request_id``, skipping notifications that come before it."""
        while True:
            message = await self.receive()
            if message.get("id") == request_id and "method" not in message:
                return message

    async def initialize(self) -> dict[str, Any]:
        await self.send(INITIALIZE)
        answer = await self.receive_answer(1)
        await self.send(INITIALIZED)
        return answer

    async def exit_code(self) -> int:
        async with asyncio.timeout(EXIT_DEADLINE_SECONDS):
            return await self.process.wait()


@pytest.fixture
async def remote() -> AsyncIterator[tuple[LiveServer, Recorder]]:
    recorder = Recorder(create_app(build_server()))
    async with live_app(recorder) as live:
        yield live, recorder


async def start_connect(
    stderr_path: Path, url: str, *args: str, env: dict[str, str] | None = None
) -> ConnectProcess:
    with stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ssemcp",
            "connect",
            url,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, **(env or {})},
        )
    return ConnectProcess(process, stderr_path)


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Any]:
    """Start connect processes; each is killed at the end of the test if still running."""
    started: list[ConnectProcess] = []

    async def start(url: str, *args: str, env: dict[str, str] | None = None) -> ConnectProcess:
        stderr_path = tmp_path / f"connect-stderr-{len(started)}.log"
        connect = await start_connect(stderr_path, url, *args, env=env)
        started.append(connect)
        return connect

    yield start
    for connect in started:
        if connect.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                connect.process.kill()
            await connect.process.wait()


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


async def test_unreachable_remote_answers_initialize_with_an_error_and_exits_3(spawn: Any) -> None:
    connect = await spawn(f"http://{HOST}:{free_port()}/mcp")
    await connect.send(INITIALIZE)
    answer = await connect.receive()
    assert answer["id"] == 1
    assert answer["error"]["code"] == -32000
    assert "cannot connect" in answer["error"]["message"]
    assert await connect.exit_code() == 3
    assert "cannot connect" in connect.stderr
    assert "Traceback" not in connect.stderr


async def test_401_says_what_the_server_asked_for_and_exits_4(spawn: Any) -> None:
    async with live_app(create_app(build_server(), tokens=["right-token"])) as live:
        connect = await spawn(live.mcp_url, "--token", "wrong-token", "--log-level", "debug")
        await connect.send(INITIALIZE)
        answer = await connect.receive()
        assert await connect.exit_code() == 4
    error = answer["error"]
    assert error["code"] == -32000
    assert error["data"]["httpStatus"] == 401
    challenge = error["data"]["wwwAuthenticate"]
    assert challenge.startswith("Bearer")
    assert "401" in error["message"] and challenge in error["message"]
    assert challenge in connect.stderr
    assert "wrong-token" not in connect.stderr


async def test_token_from_the_environment_is_sent_as_a_bearer(spawn: Any) -> None:
    async with live_app(create_app(build_server(), tokens=["right-token"])) as live:
        connect = await spawn(live.mcp_url, env={"SSEMCP_CLIENT_TOKEN": "right-token"})
        answer = await connect.initialize()
        assert answer["result"]["serverInfo"]["name"] == "connect-remote"
        await connect.send(call(2, "add", {"a": 1, "b": 2}))
        assert (await connect.receive_answer(2))["result"]["content"][0]["text"] == "3"
        connect.process.stdin.close()  # type: ignore[union-attr]
        assert await connect.exit_code() == 0
    assert "right-token" not in connect.stderr


async def test_stdin_eof_deletes_the_remote_session_and_exits_0(
    remote: tuple[LiveServer, Recorder], spawn: Any
) -> None:
    live, recorder = remote
    connect = await spawn(live.mcp_url)
    await connect.initialize()
    await connect.send(call(2, "add", {"a": 1, "b": 2}))
    await connect.receive_answer(2)
    [session_id] = recorder.sessions()
    assert recorder.count("DELETE") == 0
    connect.process.stdin.close()  # type: ignore[union-attr]
    assert await connect.exit_code() == 0
    assert ("DELETE", "/mcp", session_id) in recorder.requests


async def test_an_answer_in_flight_at_stdin_eof_still_arrives(
    remote: tuple[LiveServer, Recorder], spawn: Any
) -> None:
    live, _ = remote
    connect = await spawn(live.mcp_url)
    await connect.initialize()
    await connect.send(call(2, "slow", {"seconds": 0.2}))
    connect.process.stdin.close()  # type: ignore[union-attr]
    answer = await connect.receive_answer(2)
    assert answer["result"]["content"][0]["text"] == "done"
    assert await connect.exit_code() == 0


async def test_garbage_line_gets_a_parse_error_and_the_relay_goes_on(
    remote: tuple[LiveServer, Recorder], spawn: Any
) -> None:
    live, _ = remote
    connect = await spawn(live.mcp_url)
    await connect.initialize()
    await connect.send_raw(b"this is not json\n")
    error = await connect.receive()
    assert error == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": error["error"]["message"]},
    }
    await connect.send_raw(b'{"jsonrpc": "2.0", "id": 9}\n')  # JSON, but no message
    invalid = await connect.receive()
    assert invalid["error"]["code"] == -32600
    await connect.send(call(2, "add", {"a": 20, "b": 22}))
    assert (await connect.receive_answer(2))["result"]["content"][0]["text"] == "42"


async def test_a_request_before_initialize_gets_an_error(
    remote: tuple[LiveServer, Recorder], spawn: Any
) -> None:
    live, recorder = remote
    connect = await spawn(live.mcp_url)
    await connect.send(call(1, "add", {"a": 1, "b": 2}))
    answer = await connect.receive()
    assert answer["id"] == 1
    assert "initialize" in answer["error"]["message"]
    assert recorder.requests == []


async def test_a_lost_session_fails_what_was_in_flight_and_the_next_request_reopens_it(
    remote: tuple[LiveServer, Recorder], spawn: Any
) -> None:
    live, recorder = remote
    connect = await spawn(live.mcp_url)
    await connect.initialize()
    slow = call(2, "slow", {"seconds": 30})
    slow["params"]["_meta"] = {"progressToken": "slow"}
    await connect.send(slow)
    # Its first progress report: the call is running on the server.
    assert (await connect.receive())["method"] == "notifications/progress"
    [session_id] = recorder.sessions()
    # The server forgets the session (as on a restart or an expiry): DELETE it ourselves.
    async with live.client() as http:
        deleted = await http.delete("/mcp", headers={"Mcp-Session-Id": session_id})
    assert deleted.status_code in (200, 204)

    in_flight = await connect.receive_answer(2)
    assert in_flight["error"]["code"] == -32000

    # The next request meets the 404, a new session is opened, and the request goes again.
    await connect.send(call(3, "add", {"a": 1, "b": 2}))
    answer = await connect.receive_answer(3)
    assert answer["result"]["content"][0]["text"] == "3"
    assert len(recorder.sessions()) == 2
    assert "session is gone" in connect.stderr
    # The replayed handshake used connect's own id: the local client saw no second answer.
    await connect.send({"jsonrpc": "2.0", "id": 4, "method": "ping"})
    assert await connect.receive() == {"jsonrpc": "2.0", "id": 4, "result": {}}


async def test_closed_stdout_ends_connect(remote: tuple[LiveServer, Recorder]) -> None:
    live, _ = remote
    read_end, write_end = os.pipe()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ssemcp",
        "connect",
        live.mcp_url,
        stdin=asyncio.subprocess.PIPE,
        stdout=write_end,
        stderr=asyncio.subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        os.close(read_end)  # the local client stops reading
        assert process.stdin is not None
        process.stdin.write(b"not json\n")  # its answer has nowhere to go
        await process.stdin.drain()
        async with asyncio.timeout(EXIT_DEADLINE_SECONDS):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def test_transport_2026_translates_a_2025_handshake(
    remote: tuple[LiveServer, Recorder], spawn: Any
) -> None:
    live, recorder = remote
    connect = await spawn(live.mcp_url, "--transport", "2026")
    await connect.send(INITIALIZE)
    answer = await connect.receive()
    assert answer["id"] == 1
    assert answer["result"]["serverInfo"]["name"] == "connect-remote"
    # Answered from server/discover: no session was opened on the server.
    assert recorder.sessions() == []
    assert [method for method, _, _ in recorder.requests] == ["POST"]


async def test_transport_2026_to_a_server_without_it_refuses_the_handshake_clearly(
    spawn: Any,
) -> None:
    app = create_app(build_server(), sessionless=False)
    async with live_app(app) as live:
        connect = await spawn(live.mcp_url, "--transport", "2026")
        await connect.send(INITIALIZE)
        answer = await connect.receive()
    assert answer["id"] == 1
    assert "found no 2026-07-28 server" in answer["error"]["message"]


async def test_a_2026_request_is_relayed_as_it_is(
    remote: tuple[LiveServer, Recorder], spawn: Any
) -> None:
    live, recorder = remote
    connect = await spawn(live.mcp_url)
    params = modern_params({"name": "add", "arguments": {"a": 5, "b": 6}}, {}, {"name": "t"}, None)
    await connect.send({"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": params})
    answer = await connect.receive_answer("a")
    assert answer["result"]["content"][0]["text"] == "11"
    assert recorder.sessions() == []  # no session: each 2026-07-28 request stands alone


async def test_a_url_that_serves_no_mcp_fails_initialize_clearly_and_exits_3(spawn: Any) -> None:
    async with live_app(create_app(build_server())) as live, httpx.AsyncClient() as http:
        assert (await http.post(live.url + "/nowhere", json=INITIALIZE)).status_code == 404
        connect = await spawn(live.url + "/nowhere")
        await connect.send(INITIALIZE)
        # The first line is the answer: the 404's own error body (id null) is only logged.
        answer = await connect.receive()
        assert answer["id"] == 1
        assert answer["error"]["code"] == -32000
        assert "404" in answer["error"]["message"]
        assert await connect.exit_code() == 3


async def test_a_2026_request_the_local_client_cancels_is_cancelled_on_the_server(
    spawn: Any,
) -> None:
    cancelled: list[str] = []
    async with live_app(create_app(build_server(cancelled))) as live:
        connect = await spawn(live.mcp_url)
        slow = {"name": "slow", "arguments": {"seconds": 30}, "_meta": {"progressToken": "p"}}
        params = modern_params(slow, {}, {"name": "t"}, None)
        await connect.send({"jsonrpc": "2.0", "id": "s", "method": "tools/call", "params": params})
        assert (await connect.receive())["method"] == "notifications/progress"
        await connect.send(
            {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": "s", "reason": "the user stopped it"},
            }
        )
        # Over HTTP, 2026-07-28 cancels by closing the reply stream, which connect does.
        await wait_until(lambda: cancelled == ["s"], message="the server never cancelled it")
        add = modern_params({"name": "add", "arguments": {"a": 1, "b": 1}}, {}, {"name": "t"})
        await connect.send({"jsonrpc": "2.0", "id": "t", "method": "tools/call", "params": add})
        # The cancelled request is not answered ("MUST NOT send any further messages").
        answer = await connect.receive()
        assert answer["id"] == "t"
