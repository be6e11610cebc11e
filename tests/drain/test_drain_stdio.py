"""The stdio transport drains too: on SIGTERM (or SIGINT) it reads no more input, and at the
end of input, or after the signal, requests in flight get ``--shutdown-grace`` to finish;
those still running then are answered with a JSON-RPC error. A real ``ssemcp stdio`` process,
its slow tools waiting on marker files (``drain_server.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
from live_server import wait_until

TARGET: Final = f"{Path(__file__).with_name('drain_server.py')}:server"
STEP_SECONDS: Final = 20.0
LONG_GRACE: Final = "60"
SHORT_GRACE_SECONDS: Final = 0.5
# After the grace: the cut errors and the process's own exit. A bound, not a measurement.
EXIT_MARGIN_SECONDS: Final = 5.0


class StdioProcess:
    def __init__(self, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()

    async def reply_to(self, request_id: int) -> dict[str, Any]:
        """The next line on stdout that answers ``request_id`` (others are skipped)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(STEP_SECONDS):
            while True:
                line = await self.process.stdout.readline()
                assert line, f"stdout ended before the reply to {request_id}:\n{self.log()}"
                message: dict[str, Any] = json.loads(line)
                if message.get("id") == request_id:
                    return message

    async def exit_code(self) -> int:
        async with asyncio.timeout(STEP_SECONDS):
            return await self.process.wait()


@contextlib.asynccontextmanager
async def stdio_server(tmp_path: Path, markers: Path, grace: str) -> AsyncIterator[StdioProcess]:
    log_path = tmp_path / "ssemcp-stdio.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ssemcp",
            "stdio",
            TARGET,
            "--shutdown-grace",
            grace,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
            env={**os.environ, "DRAIN_MARKERS": str(markers), "PYTHONUNBUFFERED": "1"},
        )
    running = StdioProcess(process, log_path)
    try:
        await running.send(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "drain-test", "version": "1"},
                },
            }
        )
        await running.reply_to(0)
        await running.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    directory = tmp_path / "markers"
    directory.mkdir()
    return directory


def slow_call(request_id: int, name: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "wait_for_release", "arguments": {"name": name}},
    }


async def started(markers: Path, name: str) -> None:
    await wait_until(
        (markers / f"{name}.started").exists,
        timeout_seconds=STEP_SECONDS,
        message=f"call {name} never started",
    )


async def test_sigterm_lets_a_call_in_flight_finish_and_exits_0(
    tmp_path: Path, markers: Path
) -> None:
    async with stdio_server(tmp_path, markers, LONG_GRACE) as server:
        await server.send(slow_call(5, "slow"))
        await started(markers, "slow")
        server.process.send_signal(signal.SIGTERM)
        await wait_until(
            lambda: "SIGTERM: reading no more input" in server.log(),
            timeout_seconds=STEP_SECONDS,
            message="SIGTERM was not seen",
        )
        (markers / "slow.release").touch()
        reply = await server.reply_to(5)
        code = await server.exit_code()
    assert reply["result"]["content"][0]["text"] == "released slow"
    assert code == 0, server.log()
    assert "drained: 1 call(s) finished, 0 cut" in server.log()


async def test_end_of_input_cuts_a_call_longer_than_the_grace_with_an_error(
    tmp_path: Path, markers: Path
) -> None:
    async with stdio_server(tmp_path, markers, str(SHORT_GRACE_SECONDS)) as server:
        await server.send(slow_call(6, "never"))
        await started(markers, "never")
        assert server.process.stdin is not None
        server.process.stdin.close()
        closed = time.monotonic()
        reply = await server.reply_to(6)
        code = await server.exit_code()
        elapsed = time.monotonic() - closed
    assert reply["error"]["code"] == -32603
    assert f"cut after the {SHORT_GRACE_SECONDS:g} s shutdown grace" in reply["error"]["message"]
    assert code == 0, server.log()
    assert elapsed < SHORT_GRACE_SECONDS + EXIT_MARGIN_SECONDS
    log = server.log()
    assert len([line for line in log.splitlines() if "shutdown: cut" in line]) == 1, log
    assert "drained: 0 call(s) finished, 1 cut" in log
    assert "Traceback" not in log


async def test_a_second_sigterm_cuts_at_once(tmp_path: Path, markers: Path) -> None:
    async with stdio_server(tmp_path, markers, LONG_GRACE) as server:
        await server.send(slow_call(7, "never"))
        await started(markers, "never")
        server.process.send_signal(signal.SIGTERM)
        await wait_until(
            lambda: "shutting down: refusing new requests" in server.log(),
            timeout_seconds=STEP_SECONDS,
            message="the drain did not begin",
        )
        server.process.send_signal(signal.SIGTERM)
        reply = await server.reply_to(7)
        code = await server.exit_code()
    assert reply["error"]["code"] == -32603
    assert code == 0, server.log()
