"""SIGTERM drains a real ``ssemcp serve`` process (``ssemcp.transports.drain``,
``MCPApp.drain``, ``ssemcp.http.uvicorn_server``).

Each test starts the command in a subprocess on a free 127.0.0.1 port, puts work in flight
with tools that wait on marker files (``drain_server.py``), sends SIGTERM by process id and
watches what clients see: a new connection refused, 503 on a kept-alive connection, calls
finishing within the grace or cut with a JSON-RPC error, streams ending with their last
event, and the exit status. Nothing waits on a guessed time: every wait polls for a state or
reads until a marker, with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from live_server import HOST, ServerProcess, serve_subprocess, wait_until

TARGET: Final = f"{Path(__file__).with_name('drain_server.py')}:server"
# Each wait's deadline: ample on a loaded 2-core machine, well inside pytest's 120 s.
STEP_SECONDS: Final = 20.0
# Longer than any test runs: a call ends because the test releases it, not by the grace.
LONG_GRACE: Final = "60"
# Short, for the tests whose calls are cut.
SHORT_GRACE_SECONDS: Final = 1.0
# After the grace, the cut calls' errors, the streams' last events and uvicorn's own stop
# (``AFTER_DRAIN_SECONDS``, 2 s at most) leave: a bound, not a measurement.
EXIT_MARGIN_SECONDS: Final = 5.0
LISTEN: Final = "subscriptions/listen"
ACCEPT_BOTH: Final = "application/json, text/event-stream"
POST_HEADERS: Final = {"accept": ACCEPT_BOTH, "content-type": "application/json"}
MODERN: Final = "2026-07-28"
MODERN_META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}


@pytest.fixture
def markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory the server's slow tools mark and wait in (``serve_subprocess`` passes
    the environment on)."""
    directory = tmp_path / "markers"
    directory.mkdir()
    monkeypatch.setenv("DRAIN_MARKERS", str(directory))
    return directory


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, grace: str) -> AsyncIterator[ServerProcess]:
    async with serve_subprocess(
        TARGET, "--shutdown-grace", grace, "--log-level", "info", log_dir=tmp_path
    ) as process:
        yield process


@contextlib.asynccontextmanager
async def bridging(tmp_path: Path, grace: str) -> AsyncIterator[ServerProcess]:
    """``ssemcp bridge`` whose child is ``ssemcp stdio`` serving the same tools."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    log_path = tmp_path / f"ssemcp-bridge-{port}.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "ssemcp", "bridge", "--host", HOST, "--port", str(port)),
            *("--shutdown-grace", grace, "--log-level", "info"),
            *("--", sys.executable, "-m", "ssemcp", "stdio", TARGET),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    running = ServerProcess(process, f"http://{HOST}:{port}", log_path)
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:

            async def answers_health() -> bool:
                assert process.returncode is None, f"ssemcp bridge exited:\n{running.log()}"
                try:
                    return (await client.get(running.url + "/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(answers_health, timeout_seconds=STEP_SECONDS)
        yield running
    finally:
        running.exit_code = await running.stop()


def call(request_id: int | str, tool: str, name: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {"name": name}},
    }


async def open_session(client: httpx.AsyncClient) -> dict[str, str]:
    """A 2025-11-25 session; returns the headers that name it."""
    response = await client.post(
        "/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "drain-test", "version": "1"},
            },
        },
        headers=POST_HEADERS,
    )
    assert response.status_code == 200, response.text
    session = {"mcp-session-id": response.headers["mcp-session-id"]}
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    await client.post("/mcp", json=initialized, headers={**POST_HEADERS, **session})
    return {**POST_HEADERS, **session}


async def started(markers: Path, name: str) -> None:
    await wait_until(
        (markers / f"{name}.started").exists,
        timeout_seconds=STEP_SECONDS,
        message=f"call {name} never started",
    )


def release(markers: Path, name: str) -> None:
    (markers / f"{name}.release").touch()


async def refuses_connections(process: ServerProcess) -> bool:
    port = int(process.url.rpartition(":")[2])
    try:
        _reader, writer = await asyncio.open_connection(HOST, port)
    except (ConnectionRefusedError, ConnectionResetError):
        # Reset: the handshake completed into the backlog just as the socket closed.
        return True
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return False


async def terminate(process: ServerProcess) -> float:
    """SIGTERM by process id; returns once a new connection is refused (the drain has
    begun), with the time the signal was sent."""
    sent = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    await wait_until(
        lambda: refuses_connections(process),
        timeout_seconds=STEP_SECONDS,
        message="the server still accepts connections after SIGTERM",
    )
    return sent


async def exit_code(process: ServerProcess) -> int:
    async with asyncio.timeout(STEP_SECONDS + float(LONG_GRACE)):
        return await process.process.wait()


def data_events(body: bytes) -> list[Any]:
    """The JSON-RPC message of each ``data:`` line that holds one, in order (not the legacy
    ``endpoint`` event's URL, nor a priming event's empty data)."""
    return [
        json.loads(line[len("data: ") :])
        for line in body.decode().splitlines()
        if line.startswith("data: {")
    ]


class RawConnection:
    """One HTTP/1.1 connection, kept alive, read and written as bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, process: ServerProcess) -> RawConnection:
        reader, writer = await asyncio.open_connection(HOST, int(process.url.rpartition(":")[2]))
        return cls(reader, writer)

    async def exchange(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; read its response (a ``Content-Length`` body)."""
        fields = {"host": HOST, "content-length": str(len(body)), **(headers or {})}
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in fields.items()
        )
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        async with asyncio.timeout(STEP_SECONDS):
            raw_head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *lines = raw_head.decode("latin-1").split("\r\n")
            response_headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines if line)
            }
            content = await self.reader.readexactly(int(response_headers["content-length"]))
        return int(status_line.split()[1]), response_headers, content

    async def at_eof(self) -> bool:
        async with asyncio.timeout(STEP_SECONDS):
            with contextlib.suppress(ConnectionError):
                return await self.reader.read(1) == b""
        return True

    def close(self) -> None:
        self.writer.close()


class StreamRead:
    """A streamed response read to its end in a task: what has arrived so far, and an event
    set once ``marker`` has."""

    def __init__(self, response: httpx.Response, marker: bytes) -> None:
        self.received = bytearray()
        self.opened = asyncio.Event()
        self._marker = marker
        self.task = asyncio.create_task(self._read(response))

    async def _read(self, response: httpx.Response) -> bytes:
        with contextlib.suppress(httpx.RemoteProtocolError, httpx.ReadError):
            async for chunk in response.aiter_bytes():
                self.received += chunk
                if self._marker in self.received:
                    self.opened.set()
        return bytes(self.received)

    async def wait_opened(self) -> None:
        async with asyncio.timeout(STEP_SECONDS):
            await self.opened.wait()

    async def ended(self) -> bytes:
        async with asyncio.timeout(STEP_SECONDS):
            return await self.task


# ---------------------------------------------------------------------- calls finish


async def test_a_call_in_flight_at_sigterm_finishes_and_the_process_exits_0(
    tmp_path: Path, markers: Path
) -> None:
    async with (
        serving(tmp_path, LONG_GRACE) as process,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as client,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as caller,
    ):
        headers = await open_session(client)
        in_flight = asyncio.create_task(
            caller.post("/mcp", json=call(7, "wait_for_release", "slow"), headers=headers)
        )
        await started(markers, "slow")
        await terminate(process)
        assert not in_flight.done()
        release(markers, "slow")
        response = await in_flight
        code = await exit_code(process)
    assert response.status_code == 200
    assert response.json()["id"] == 7
    assert response.json()["result"]["content"][0]["text"] == "released slow"
    assert code == 0, process.log()
    log = process.log()
    assert "drained: 1 call(s) finished, 0 cut" in log
    assert "Traceback" not in log


async def test_a_bridged_call_in_flight_at_sigterm_finishes_too(
    tmp_path: Path, markers: Path
) -> None:
    async with (
        bridging(tmp_path, LONG_GRACE) as process,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as client,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as caller,
    ):
        headers = await open_session(client)
        in_flight = asyncio.create_task(
            caller.post("/mcp", json=call(8, "wait_for_release", "bridged"), headers=headers)
        )
        await started(markers, "bridged")
        await terminate(process)
        release(markers, "bridged")
        response = await in_flight
        code = await exit_code(process)
    assert response.json()["result"]["content"][0]["text"] == "released bridged"
    assert code == 0, process.log()
    assert "drained: 1 call(s) finished, 0 cut" in process.log()
    assert "Traceback" not in process.log()


async def test_requests_on_a_kept_alive_connection_get_503_and_connection_close(
    tmp_path: Path, markers: Path
) -> None:
    async with (
        serving(tmp_path, LONG_GRACE) as process,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as client,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as caller,
    ):
        headers = await open_session(client)
        # Kept open by a call in flight, the drain lasts until the test releases it.
        in_flight = asyncio.create_task(
            caller.post("/mcp", json=call(1, "wait_for_release", "holder"), headers=headers)
        )
        await started(markers, "holder")
        mcp = await RawConnection.open(process)
        health = await RawConnection.open(process)
        try:
            status, _, _ = await mcp.exchange("GET", "/healthz")
            assert status == 200
            status, _, _ = await health.exchange("GET", "/healthz")
            assert status == 200
            await terminate(process)
            body = json.dumps(call("late", "wait_for_release", "never")).encode()
            status, response_headers, content = await mcp.exchange("POST", "/mcp", body, headers)
            assert status == 503
            assert response_headers["connection"] == "close"
            refusal = json.loads(content)
            assert refusal["id"] == "late"
            assert refusal["error"]["code"] == -32600
            assert "shutting down" in refusal["error"]["message"]
            assert await mcp.at_eof()
            # What a load balancer's health check sees: out of rotation.
            status, response_headers, _ = await health.exchange("GET", "/healthz")
            assert (status, response_headers["connection"]) == (503, "close")
            assert await health.at_eof()
        finally:
            mcp.close()
            health.close()
        assert not (markers / "never.started").exists()
        release(markers, "holder")
        assert (await in_flight).status_code == 200
        code = await exit_code(process)
    assert code == 0, process.log()


async def test_a_clients_answer_to_a_call_in_flight_still_passes_while_draining(
    tmp_path: Path, markers: Path
) -> None:
    """A notification (or a response to sampling) POSTed while draining is accepted: a call
    in flight may need it. Only new requests are refused."""
    async with (
        serving(tmp_path, LONG_GRACE) as process,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as client,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as caller,
    ):
        headers = await open_session(client)
        in_flight = asyncio.create_task(
            caller.post("/mcp", json=call(1, "wait_for_release", "holder"), headers=headers)
        )
        await started(markers, "holder")
        await terminate(process)
        async with httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as late:
            with pytest.raises(httpx.ConnectError):
                await late.get("/healthz")
        # On the session's connection opened before the signal (httpx keeps it alive).
        progress = {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}
        accepted = await client.post("/mcp", json=progress, headers=headers)
        assert accepted.status_code == 202
        release(markers, "holder")
        assert (await in_flight).status_code == 200
        assert await exit_code(process) == 0, process.log()


# ---------------------------------------------------------------------- streams end


async def test_open_streams_end_with_their_last_event(tmp_path: Path, markers: Path) -> None:
    async with (
        serving(tmp_path, LONG_GRACE) as process,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as client,
    ):
        headers = await open_session(client)
        readers: list[StreamRead] = []
        async with contextlib.AsyncExitStack() as stack:
            requests = [
                (
                    "GET",
                    "/mcp",
                    {"accept": "text/event-stream", **headers},
                    None,
                    b"retry:",  # the priming event
                ),
                ("GET", "/sse", {"accept": "text/event-stream"}, None, b"event: endpoint"),
                (
                    "POST",
                    "/mcp",
                    {**POST_HEADERS, "mcp-protocol-version": MODERN, "mcp-method": LISTEN},
                    {
                        "jsonrpc": "2.0",
                        "id": "listen-1",
                        "method": LISTEN,
                        "params": {
                            "_meta": MODERN_META,
                            "notifications": {"toolsListChanged": True},
                        },
                    },
                    b"acknowledged",
                ),
            ]
            for method, path, request_headers, body, marker in requests:
                stream_client = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS)
                )
                response = await stack.enter_async_context(
                    stream_client.stream(method, path, headers=request_headers, json=body)
                )
                assert response.status_code == 200
                readers.append(StreamRead(response, marker))
            for reader in readers:
                await reader.wait_opened()
            await terminate(process)
            get_stream, legacy_stream, listen_stream = [await reader.ended() for reader in readers]
        code = await exit_code(process)
    # 2025-11-25 GET stream: after its priming event, one more event with an id (where a
    # resumption starts) and the reconnection time, then the end.
    last_get_event = get_stream.decode().strip().split("\n\n")[-1].splitlines()
    assert [line.split(":")[0] for line in last_get_event] == ["id", "retry", "data"]
    assert "retry: 1000" in last_get_event
    # 2024-11-05 defines no last event: the stream just ends (it did: gather returned).
    assert b"event: endpoint" in legacy_stream
    # subscriptions/listen: its final result.
    assert data_events(listen_stream)[-1] == {
        "jsonrpc": "2.0",
        "id": "listen-1",
        "result": {
            "resultType": "complete",
            "_meta": {"io.modelcontextprotocol/subscriptionId": "listen-1"},
        },
    }
    assert code == 0, process.log()
    assert "drained: 0 call(s) finished, 0 cut" in process.log()
    assert "3 stream(s) ended" in process.log()


# ---------------------------------------------------------------------- calls cut


async def legacy_handshake(client: httpx.AsyncClient, endpoint: str) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": "init",
        "method": "initialize",
        "params": {
            "protocolVersion": "2024-11-05",
            "capabilities": {},
            "clientInfo": {"name": "drain-test", "version": "1"},
        },
    }
    for message in (initialize, {"jsonrpc": "2.0", "method": "notifications/initialized"}):
        response = await client.post(endpoint, json=message, headers=POST_HEADERS)
        assert response.status_code == 202


async def test_calls_longer_than_the_grace_are_cut_with_a_json_rpc_error_each(
    tmp_path: Path, markers: Path
) -> None:
    """A JSON reply, an SSE reply (progress came first), a 2026-07-28 request and a legacy
    call, none ever released: each client gets an error for its id, each cut is one log
    line, and the process exits soon after the grace."""
    grace = SHORT_GRACE_SECONDS
    async with (
        serving(tmp_path, str(grace)) as process,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        headers = await open_session(client)

        async def caller() -> httpx.AsyncClient:
            return await stack.enter_async_context(
                httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS)
            )

        json_reply = asyncio.create_task(
            (await caller()).post("/mcp", json=call(1, "wait_for_release", "json"), headers=headers)
        )
        sse_body = call(2, "progress_then_wait_for_release", "sse")
        sse_body["params"]["_meta"] = {"progressToken": "p"}
        sse_reply = asyncio.create_task(
            (await caller()).post("/mcp", json=sse_body, headers=headers)
        )
        modern_body = call(3, "wait_for_release", "modern")
        modern_body["params"]["_meta"] = MODERN_META
        modern = asyncio.create_task(
            (await caller()).post(
                "/mcp",
                json=modern_body,
                headers={
                    **POST_HEADERS,
                    "mcp-protocol-version": MODERN,
                    "mcp-method": "tools/call",
                    "mcp-name": "wait_for_release",
                },
            )
        )
        # The legacy transport: its reply (here, its error) travels on the /sse stream.
        legacy_response = await stack.enter_async_context(
            (await caller()).stream("GET", "/sse", headers={"accept": "text/event-stream"})
        )
        legacy = StreamRead(legacy_response, b"\n\n")
        await legacy.wait_opened()
        # The endpoint event's data is the URL to POST to (no initialize needed for a call:
        # the test checks where its error goes, not the handshake).
        endpoint = bytes(legacy.received).decode().split("data: ", 1)[1].split("\n", 1)[0]
        await legacy_handshake(client, endpoint)
        accepted = await client.post(
            endpoint, json=call("legacy", "wait_for_release", "legacy"), headers=POST_HEADERS
        )
        assert accepted.status_code == 202
        for name in ("json", "sse", "modern", "legacy"):
            await started(markers, name)
        sent = await terminate(process)
        code = await exit_code(process)
        elapsed = time.monotonic() - sent
        json_response, sse_response, modern_response = await asyncio.gather(
            json_reply, sse_reply, modern
        )
        legacy_stream = await legacy.ended()
    message = f"cut after the {grace:g} s shutdown grace"
    assert json_response.status_code == 200
    assert json_response.json()["id"] == 1
    assert json_response.json()["error"]["code"] == -32603
    assert message in json_response.json()["error"]["message"]
    assert sse_response.headers["content-type"] == "text/event-stream"
    sse_last = data_events(sse_response.content)[-1]
    assert (sse_last["id"], sse_last["error"]["code"]) == (2, -32603)
    assert modern_response.json()["id"] == 3
    assert modern_response.json()["error"]["code"] == -32603
    assert code == 0, process.log()
    assert elapsed < grace + EXIT_MARGIN_SECONDS, process.log()
    log = process.log()
    assert "Traceback" not in log
    cut_lines = [line for line in log.splitlines() if "shutdown: cut tools/call" in line]
    assert len(cut_lines) == 4, log
    assert "drained: 0 call(s) finished, 4 cut" in log
    legacy_errors = [event for event in data_events(legacy_stream) if "error" in event]
    assert [(event["id"], event["error"]["code"]) for event in legacy_errors] == [
        ("legacy", -32603)
    ]


async def test_a_second_sigterm_cuts_the_calls_at_once(tmp_path: Path, markers: Path) -> None:
    async with (
        serving(tmp_path, LONG_GRACE) as process,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as client,
        httpx.AsyncClient(base_url=process.url, timeout=STEP_SECONDS) as caller,
    ):
        headers = await open_session(client)
        in_flight = asyncio.create_task(
            caller.post("/mcp", json=call(9, "wait_for_release", "never"), headers=headers)
        )
        await started(markers, "never")
        await terminate(process)
        process.process.send_signal(signal.SIGTERM)
        response = await in_flight
        code = await exit_code(process)
    assert response.json()["id"] == 9
    assert response.json()["error"]["code"] == -32603
    assert code == 0, process.log()
    assert "drained: 0 call(s) finished, 1 cut" in process.log()
