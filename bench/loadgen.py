"""The asyncio load generator for what wrk cannot do: scenarios c, d, e and g (SSE streams).

One process on uvloop, HTTP/1.1 parsed by httptools (C), JSON by orjson: kept cheap so that
the server, not this, is the limit (``run.py`` reports this process's CPU next to the
server's). Every answer is checked (status, id, echoed text); failures are counted.

- ``legacy``: scenario c. N legacy sessions (``GET /sse``), each initialized, then looping:
  POST ``tools/call echo`` to its ``/messages/`` URL (expects 202) and await the answer with
  that id on its own stream. Latency is POST sent to answer read.
- ``idle``: scenario d. Open streams (``GET /sse``, or ``GET /mcp`` each on its own
  initialized session) in steps (1 000, then 5 000 in all), reading the server's RSS from
  ``/proc/PID/status`` at each step; then close them (and DELETE the ``/mcp`` sessions) and
  read it again once it stops falling.
- ``fanout``: scenario e. N legacy sessions, each initialized and subscribed to
  ``bench://fanout``; session 0 calls the ``notify_all`` tool; the time from that POST to the
  last session's ``notifications/resources/updated``, several times.
- ``listen``: scenario g. N MCP 2026-07-28 ``subscriptions/listen`` streams (a POST each, its
  ``_meta`` and routing headers, ``resourceSubscriptions: ["bench://fanout"]``), each
  acknowledged; then a 2026-07-28 ``tools/call notify_all`` on a connection of its own; the
  time from that POST to the last stream's ``notifications/resources/updated`` (which must
  carry its subscription id), several times.

Prints one JSON object on stdout. Run by ``run.py``; by hand:
``python bench/loadgen.py legacy --port 8100 --sessions 32 --duration 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import sys
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

import httptools
import orjson
import uvloop

ECHO_TEXT: Final = "ssemcp-bench-echo 0123456789"
FANOUT_URI: Final = "bench://fanout"
PROTOCOL_VERSION: Final = "2025-11-25"
LEGACY_PROTOCOL_VERSION: Final = "2024-11-05"
MODERN_PROTOCOL_VERSION: Final = "2026-07-28"
_UPDATED_MARKER: Final = b"notifications/resources/updated"
_ACKNOWLEDGED_MARKER: Final = b"notifications/subscriptions/acknowledged"
_SUBSCRIPTION_ID_MARKER: Final = b"io.modelcontextprotocol/subscriptionId"
_ECHO_NEEDLE: Final = b'"text":"' + ECHO_TEXT.encode() + b'"'
# How many connections are being opened at once (the servers' listen backlog is 2048).
_OPEN_CONCURRENCY: Final = 64


class HTTPError(Exception):
    """An answer that is not the one expected."""


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[bytes, bytes], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection: one request at a time, or one endless stream.

    A stream (``stream()``) returns once its head is read; its body is split into SSE events
    handed to ``on_event(event_name, data)``. ``on_raw`` (if set) sees every body chunk first.
    """

    def __init__(self, host: bytes) -> None:
        self._host = host
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._headers: dict[bytes, bytes] = {}
        self._body: list[bytes] = []
        self._waiter: asyncio.Future[Response] | None = None
        self._streaming = False
        self._sse_buffer = b""
        self.on_event: Callable[[bytes, bytes], None] | None = None
        self.on_raw: Callable[[bytes], None] | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HTTPError(f"unparsable answer: {exc}"))
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(HTTPError("connection closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        if self._streaming and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(Response(self._parser.get_status_code(), self._headers, b""))

    def on_body(self, body: bytes) -> None:
        if not self._streaming:
            self._body.append(body)
            return
        if self.on_raw is not None:
            self.on_raw(body)
        if self.on_event is None:
            return
        buffer = self._sse_buffer + body
        # WHATWG: CR, LF and CRLF all end a line; a CR at the very end may be half a CRLF.
        keep = b""
        if buffer.endswith(b"\r"):
            buffer, keep = buffer[:-1], b"\r"
        buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *events, rest = buffer.split(b"\n\n")
        self._sse_buffer = rest + keep
        for block in events:
            name = b"message"
            data: list[bytes] = []
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    data.append(line[5:].removeprefix(b" "))
                elif line.startswith(b"event:"):
                    name = line[6:].strip()
            if data:
                self.on_event(name, b"\n".join(data))

    def on_message_complete(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(
                Response(self._parser.get_status_code(), self._headers, b"".join(self._body))
            )

    # API
    def _send(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> asyncio.Future[Response]:
        assert self.transport is not None
        if self.transport.is_closing():
            raise HTTPError("connection closed")
        self._headers = {}
        self._body = []
        self._waiter = asyncio.get_running_loop().create_future()
        head = [method, b" ", target, b" HTTP/1.1\r\nhost: ", self._host, b"\r\n"]
        for name, value in headers:
            head += [name, b": ", value, b"\r\n"]
        if body or method == b"POST":
            head += [b"content-length: ", str(len(body)).encode(), b"\r\n"]
        head += [b"\r\n", body]
        self.transport.write(b"".join(head))
        return self._waiter

    async def request(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b""
    ) -> Response:
        return await self._send(method, target, headers, body)

    async def stream(
        self,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        method: bytes = b"GET",
        body: bytes = b"",
    ) -> Response:
        self._streaming = True
        return await self._send(method, target, headers, body)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(host: str, port: int) -> Connection:
    loop = asyncio.get_running_loop()
    host_header = f"{host}:{port}".encode()
    _, protocol = await loop.create_connection(lambda: Connection(host_header), host, port)
    return protocol


def _jsonrpc(request_id: int | None, method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if request_id is not None:
        message["id"] = request_id
    if params is not None:
        message["params"] = params
    return orjson.dumps(message)


def _initialize_params(version: str) -> dict[str, Any]:
    return {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "ssemcp-bench", "version": "1"},
    }


def _echo_params() -> dict[str, Any]:
    return {"name": "echo", "arguments": {"message": ECHO_TEXT}}


def _check_result(message: dict[str, Any], request_id: int, *, echo: bool) -> None:
    if message.get("id") != request_id or "result" not in message:
        raise HTTPError(f"expected the result of {request_id}, got {str(message)[:200]}")
    if echo:
        result = message["result"]
        content = result.get("content") or [{}]
        if result.get("isError") or content[0].get("text") != ECHO_TEXT:
            raise HTTPError(f"wrong echo: {str(message)[:200]}")


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (0: none), from /proc/PID/stat."""
    if not pid:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_usage(pid: int) -> tuple[int, int]:
    """Nanoseconds on a CPU and context switches of every thread of ``pid`` so far (each
    thread's /proc/PID/task/TID/schedstat and status: finer than stat's clock ticks, which
    are as long as a fan-out's share of a process)."""
    run_ns = switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                run_ns += int(schedstat.read().split()[0])
            with open(f"/proc/{pid}/task/{task}/status") as status:
                for line in status:
                    if "ctxt_switches:" in line:  # voluntary and nonvoluntary
                        switches += int(line.split()[1])
    return run_ns, switches


def _watched(spec: str) -> dict[str, list[int]]:
    """``--watch name=pid+pid,name=pid``: the processes whose usage a fan-out reports."""
    watched: dict[str, list[int]] = {}
    for item in filter(None, spec.split(",")):
        name, _, pids = item.partition("=")
        watched[name] = [int(pid) for pid in pids.split("+")]
    return watched


def _usage(watched: dict[str, list[int]]) -> dict[str, tuple[int, int]]:
    usage: dict[str, tuple[int, int]] = {}
    for name, pids in watched.items():
        per_pid = [_process_usage(pid) for pid in pids]
        usage[name] = (sum(ns for ns, _ in per_pid), sum(count for _, count in per_pid))
    return usage


async def _settled_rss_kib(pid: int, timeout_seconds: float = 5.0) -> int:
    """The server's RSS once it has stopped changing for half a second (or at the timeout)."""
    deadline = time.monotonic() + timeout_seconds
    last = _rss_kib(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = _rss_kib(pid)
        if abs(now - last) < 64:
            return now
        last = now
    return last


class LegacySession:
    """A 2024-11-05 HTTP+SSE session: its stream, its POST connection, its pending ids."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.stream: Connection | None = None
        self.post: Connection | None = None
        self.endpoint: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.updated_at: list[float] = []
        self.ids = itertools.count(1)
        self.errors = 0

    def _on_event(self, name: bytes, data: bytes) -> None:
        if name == b"endpoint":
            if not self.endpoint.done():
                self.endpoint.set_result(data)
            return
        if _UPDATED_MARKER in data:
            return  # counted by _on_raw, the cheap path
        message = orjson.loads(data)
        future = self.pending.pop(message.get("id"), None)
        if future is not None and not future.done():
            future.set_result(message)

    def _on_raw(self, chunk: bytes) -> None:
        if _UPDATED_MARKER in chunk:
            self.updated_at.append(time.perf_counter())

    async def open(self) -> None:
        self.stream = await connect(self.host, self.port)
        self.stream.on_event = self._on_event
        self.stream.on_raw = self._on_raw
        head = await self.stream.stream(b"/sse", [(b"accept", b"text/event-stream")])
        if head.status != 200:
            raise HTTPError(f"GET /sse: {head.status}")
        self.target = await asyncio.wait_for(self.endpoint, 10)
        if not self.target.startswith(b"/"):
            self.target = (
                urlsplit(self.target).path.encode() + b"?" + urlsplit(self.target).query.encode()
            )
        self.post = await connect(self.host, self.port)

    async def fresh_post(self) -> None:
        """Replace the POST connection (uvicorn closes one idle for 5 s)."""
        if self.post is not None:
            self.post.close()
        self.post = await connect(self.host, self.port)

    async def call(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        assert self.post is not None
        request_id = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        response = await self.post.request(
            b"POST",
            self.target,
            [(b"content-type", b"application/json")],
            _jsonrpc(request_id, method, params),
        )
        if response.status != 202:
            self.pending.pop(request_id, None)
            raise HTTPError(f"POST {method}: {response.status} {response.body[:200]!r}")
        message = await asyncio.wait_for(future, 30)
        _check_result(message, request_id, echo=method == "tools/call" and params == _echo_params())
        return message

    async def notify(self, method: str) -> None:
        assert self.post is not None
        response = await self.post.request(
            b"POST", self.target, [(b"content-type", b"application/json")], _jsonrpc(None, method)
        )
        if response.status != 202:
            raise HTTPError(f"POST {method}: {response.status}")

    async def initialize(self) -> None:
        await self.call("initialize", _initialize_params(LEGACY_PROTOCOL_VERSION))
        await self.notify("notifications/initialized")

    def close(self) -> None:
        for connection in (self.stream, self.post):
            if connection is not None:
                connection.close()


async def _open_all(count: int, opener: Callable[[], Any]) -> list[Any]:
    """Run ``opener`` ``count`` times, at most _OPEN_CONCURRENCY at once."""
    limit = asyncio.Semaphore(_OPEN_CONCURRENCY)

    async def one() -> Any:
        async with limit:
            return await opener()

    return list(await asyncio.gather(*(one() for _ in range(count))))


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def legacy(options: argparse.Namespace) -> dict[str, Any]:
    """Scenario c: sessions echoing through POST /messages/ and their own streams."""

    async def open_session() -> LegacySession:
        session = LegacySession(options.host, options.port)
        await session.open()
        await session.initialize()
        return session

    sessions = await _open_all(options.sessions, open_session)
    latencies: list[float] = []
    errors = 0
    first_error = ""
    warmup_end = time.perf_counter() + options.warmup
    end = warmup_end + options.duration
    cpu_start = os.times()

    async def worker(session: LegacySession) -> None:
        nonlocal errors, first_error
        params = _echo_params()
        while True:
            before = time.perf_counter()
            if before >= end:
                return
            try:
                await session.call("tools/call", params)
            except (TimeoutError, HTTPError) as exc:
                errors += 1
                first_error = first_error or str(exc)
                await asyncio.sleep(0.01)
                continue
            if before >= warmup_end:
                latencies.append(time.perf_counter() - before)

    server_cpu_start = 0.0

    async def mark_start() -> None:
        nonlocal cpu_start, server_cpu_start
        await asyncio.sleep(options.warmup)
        cpu_start = os.times()
        server_cpu_start = _cpu_seconds(options.server_pid)

    await asyncio.gather(mark_start(), *(worker(session) for session in sessions))
    cpu_end = os.times()
    server_cpu = _cpu_seconds(options.server_pid) - server_cpu_start
    for session in sessions:
        session.close()
    latencies.sort()
    return {
        "requests": len(latencies),
        "ok": len(latencies),
        "errors": errors,
        "duration_us": int(options.duration * 1e6),
        "p50_us": int(_percentile(latencies, 0.50) * 1e6),
        "p90_us": int(_percentile(latencies, 0.90) * 1e6),
        "p99_us": int(_percentile(latencies, 0.99) * 1e6),
        "max_us": int((latencies[-1] if latencies else 0) * 1e6),
        "generator_cpu_seconds": (cpu_end.user + cpu_end.system)
        - (cpu_start.user + cpu_start.system),
        "server_cpu_seconds": server_cpu,
        "sample": first_error,
    }


async def _open_mcp_stream(host: str, port: int, post: Connection) -> tuple[Connection, bytes]:
    """Initialize a Streamable HTTP session over ``post``; open its GET stream."""
    base = [
        (b"content-type", b"application/json"),
        (b"accept", b"application/json, text/event-stream"),
    ]
    response = await post.request(
        b"POST", b"/mcp", base, _jsonrpc(1, "initialize", _initialize_params(PROTOCOL_VERSION))
    )
    session_id = response.headers.get(b"mcp-session-id")
    if response.status != 200 or session_id is None:
        raise HTTPError(f"initialize: {response.status} {response.body[:200]!r}")
    headers = [
        *base,
        (b"mcp-session-id", session_id),
        (b"mcp-protocol-version", PROTOCOL_VERSION.encode()),
    ]
    response = await post.request(
        b"POST", b"/mcp", headers, _jsonrpc(None, "notifications/initialized")
    )
    if response.status != 202:
        raise HTTPError(f"initialized: {response.status}")
    stream = await connect(host, port)
    head = await stream.stream(
        b"/mcp",
        [
            (b"accept", b"text/event-stream"),
            (b"mcp-session-id", session_id),
            (b"mcp-protocol-version", PROTOCOL_VERSION.encode()),
        ],
    )
    if head.status != 200:
        raise HTTPError(f"GET /mcp: {head.status}")
    return stream, session_id


async def idle(options: argparse.Namespace) -> dict[str, Any]:
    """Scenario d: RSS with 0, then each step's count of open idle streams, then closed."""
    host, port, pid = options.host, options.port, options.server_pid
    steps = [int(step) for step in options.steps.split(",")]
    result: dict[str, Any] = {"kind": options.kind, "errors": 0, "sample": ""}
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    if options.kind == "mcp":
        for _ in range(_OPEN_CONCURRENCY):
            pool.put_nowait(await connect(host, port))
    streams: list[Connection] = []
    session_ids: list[bytes] = []

    async def open_one() -> None:
        try:
            if options.kind == "sse":
                session = LegacySession(host, port)
                await session.open()
                assert session.stream is not None
                if session.post is not None:
                    session.post.close()
                streams.append(session.stream)
            else:
                post = await pool.get()
                try:
                    stream, session_id = await _open_mcp_stream(host, port, post)
                finally:
                    pool.put_nowait(post)
                streams.append(stream)
                session_ids.append(session_id)
        except (TimeoutError, HTTPError, OSError) as exc:
            result["errors"] += 1
            result["sample"] = result["sample"] or str(exc)

    delete_headers = [(b"mcp-protocol-version", PROTOCOL_VERSION.encode())]

    async def delete(session_id: bytes) -> None:
        post = await pool.get()
        try:
            response = await post.request(
                b"DELETE", b"/mcp", [*delete_headers, (b"mcp-session-id", session_id)]
            )
            if response.status not in (200, 204):
                raise HTTPError(f"DELETE: {response.status}")
        except HTTPError as exc:
            result["errors"] += 1
            result["sample"] = result["sample"] or str(exc)
        finally:
            pool.put_nowait(post)

    async def close_all() -> None:
        for stream in streams:
            stream.close()
        if session_ids:
            await asyncio.gather(*(delete(session_id) for session_id in session_ids))
        streams.clear()
        session_ids.clear()
        await asyncio.sleep(0.5)

    result["rss_start_kib"] = await _settled_rss_kib(pid)
    opened = 0
    began = time.perf_counter()
    for step in steps:
        await _open_all(step - opened, open_one)
        opened = step
        result[f"rss_{step}_kib"] = await _settled_rss_kib(pid, 3.0)
        result[f"open_{step}"] = sum(1 for s in streams if not s.closed.done())
    result["open_seconds"] = time.perf_counter() - began
    await close_all()
    result["rss_end_kib"] = await _settled_rss_kib(pid, 8.0)
    # A second cycle of the first step's count: memory that a closed stream keeps shows up as
    # growth here; memory that the allocator merely holds on to is reused and does not.
    result["reopened"] = steps[0]
    await _open_all(steps[0], open_one)
    await close_all()
    result["rss_reopened_kib"] = await _settled_rss_kib(pid, 8.0)
    while not pool.empty():
        pool.get_nowait().close()
    return result


async def fanout(options: argparse.Namespace) -> dict[str, Any]:
    """Scenario e: one notification to every subscribed session; time to the last one."""

    async def open_session() -> LegacySession:
        session = LegacySession(options.host, options.port)
        await session.open()
        await session.initialize()
        await session.call("resources/subscribe", {"uri": FANOUT_URI})
        return session

    sessions = await _open_all(options.sessions, open_session)
    trigger = sessions[0]
    times: list[float] = []
    errors = 0
    first_error = ""
    watched = _watched(options.watch)
    # Per watched process, per fan-out: CPU microseconds and context switches, from before
    # the trigger's connection opens to the end of the pause after the last update.
    cpu_us: dict[str, list[float]] = {name: [] for name in watched}
    switches: dict[str, list[int]] = {name: [] for name in watched}
    # Time to the first session's update: what the fan-out waits for before any stream is
    # written (the trigger's hops), as the last one's is that plus the writing.
    firsts: list[float] = []
    cpu_start = os.times()
    for repeat in range(options.repeats):
        for session in sessions:
            session.updated_at.clear()
        usage_before = _usage(watched)
        await trigger.fresh_post()
        began = time.perf_counter()
        await trigger.call("tools/call", {"name": "notify_all", "arguments": {}})
        deadline = began + 30
        while time.perf_counter() < deadline:
            if all(session.updated_at for session in sessions):
                break
            await asyncio.sleep(0.001)
        missing = sum(1 for session in sessions if len(session.updated_at) != 1)
        if missing:
            errors += missing
            first_error = first_error or f"repeat {repeat}: {missing} sessions got no single update"
            continue
        times.append(max(session.updated_at[0] for session in sessions) - began)
        firsts.append(min(session.updated_at[0] for session in sessions) - began)
        await asyncio.sleep(0.2)
        usage_after = _usage(watched)
        for name, (run_ns, count) in usage_after.items():
            cpu_us[name].append(round((run_ns - usage_before[name][0]) / 1e3, 1))
            switches[name].append(count - usage_before[name][1])
    cpu_end = os.times()
    for session in sessions:
        session.close()
    times.sort()
    return {
        "sessions": len(sessions),
        "errors": errors,
        "fanout_ms": [round(value * 1e3, 2) for value in times],
        "fanout_median_ms": round(_percentile(times, 0.5) * 1e3, 2),
        "fanout_first_ms": sorted(round(value * 1e3, 2) for value in firsts),
        "fanout_cpu_us": cpu_us,
        "fanout_switches": switches,
        "generator_cpu_seconds": (cpu_end.user + cpu_end.system)
        - (cpu_start.user + cpu_start.system),
        "sample": first_error,
    }


def _modern_meta() -> dict[str, Any]:
    """The ``_meta`` every 2026-07-28 request carries (no client capabilities)."""
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN_PROTOCOL_VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def _modern_headers(method: str, name: str | None = None) -> list[tuple[bytes, bytes]]:
    """The headers of a 2026-07-28 POST, which must agree with its body."""
    headers = [
        (b"content-type", b"application/json"),
        (b"accept", b"application/json, text/event-stream"),
        (b"mcp-protocol-version", MODERN_PROTOCOL_VERSION.encode()),
        (b"mcp-method", method.encode()),
    ]
    if name is not None:
        headers.append((b"mcp-name", name.encode()))
    return headers


def _one_message(response: Response) -> dict[str, Any]:
    """The JSON-RPC message of a reply: a JSON body, or the last ``data:`` of an SSE one."""
    body = response.body
    if body.lstrip().startswith(b"{"):
        return dict(orjson.loads(body))
    lines = [
        line for line in body.replace(b"\r\n", b"\n").split(b"\n") if line.startswith(b"data:")
    ]
    if not lines:
        raise HTTPError(f"no message in the reply: {body[:200]!r}")
    return dict(orjson.loads(lines[-1][5:]))


class ListenSubscription:
    """One 2026-07-28 ``subscriptions/listen`` stream on its own connection."""

    def __init__(self, host: str, port: int, subscription_id: int) -> None:
        self.host = host
        self.port = port
        self.subscription_id = subscription_id
        self.stream: Connection | None = None
        self.acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.updated_at: list[float] = []
        self.untagged = 0

    def _on_raw(self, chunk: bytes) -> None:
        if _UPDATED_MARKER in chunk:
            self.updated_at.append(time.perf_counter())
            if _SUBSCRIPTION_ID_MARKER not in chunk:
                self.untagged += 1
        elif _ACKNOWLEDGED_MARKER in chunk and not self.acknowledged.done():
            self.acknowledged.set_result(None)

    async def open(self) -> None:
        self.stream = await connect(self.host, self.port)
        self.stream.on_raw = self._on_raw
        body = _jsonrpc(
            self.subscription_id,
            "subscriptions/listen",
            {
                "_meta": _modern_meta(),
                "notifications": {"resourceSubscriptions": [FANOUT_URI]},
            },
        )
        head = await self.stream.stream(
            b"/mcp", _modern_headers("subscriptions/listen"), b"POST", body
        )
        if head.status != 200:
            raise HTTPError(f"subscriptions/listen: {head.status}")
        await asyncio.wait_for(self.acknowledged, 10)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


async def listen(options: argparse.Namespace) -> dict[str, Any]:
    """Scenario g: one notification to every listen stream; time to the last one."""
    ids = itertools.count(1)

    async def open_subscription() -> ListenSubscription:
        subscription = ListenSubscription(options.host, options.port, next(ids))
        await subscription.open()
        return subscription

    subscriptions = await _open_all(options.sessions, open_subscription)
    trigger_headers = _modern_headers("tools/call", "notify_all")
    times: list[float] = []
    errors = 0
    first_error = ""
    cpu_start = os.times()
    for repeat in range(options.repeats):
        for subscription in subscriptions:
            subscription.updated_at.clear()
        # A fresh connection per trigger (uvicorn closes one idle for 5 s).
        trigger = await connect(options.host, options.port)
        request_id = 1_000_000 + repeat
        body = _jsonrpc(
            request_id,
            "tools/call",
            {"name": "notify_all", "arguments": {}, "_meta": _modern_meta()},
        )
        began = time.perf_counter()
        try:
            response = await trigger.request(b"POST", b"/mcp", trigger_headers, body)
            if response.status != 200:
                raise HTTPError(f"notify_all: {response.status} {response.body[:200]!r}")
            _check_result(_one_message(response), request_id, echo=False)
        except (TimeoutError, HTTPError) as exc:
            errors += 1
            first_error = first_error or str(exc)
            trigger.close()
            continue
        trigger.close()
        deadline = began + 30
        while time.perf_counter() < deadline:
            if all(subscription.updated_at for subscription in subscriptions):
                break
            await asyncio.sleep(0.001)
        missing = sum(1 for subscription in subscriptions if len(subscription.updated_at) != 1)
        if missing:
            errors += missing
            first_error = first_error or f"repeat {repeat}: {missing} streams got no single update"
            continue
        times.append(max(subscription.updated_at[0] for subscription in subscriptions) - began)
        await asyncio.sleep(0.2)
    cpu_end = os.times()
    untagged = sum(subscription.untagged for subscription in subscriptions)
    if untagged:
        errors += untagged
        first_error = first_error or f"{untagged} updates without their subscription id"
    for subscription in subscriptions:
        subscription.close()
    times.sort()
    return {
        "sessions": len(subscriptions),
        "errors": errors,
        "fanout_ms": [round(value * 1e3, 2) for value in times],
        "fanout_median_ms": round(_percentile(times, 0.5) * 1e3, 2),
        "generator_cpu_seconds": (cpu_end.user + cpu_end.system)
        - (cpu_start.user + cpu_start.system),
        "sample": first_error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=("legacy", "idle", "fanout", "listen"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--kind", choices=("sse", "mcp"), default="sse")
    parser.add_argument("--steps", default="1000,5000")
    parser.add_argument("--server-pid", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--watch",
        default="",
        help="fanout: name=pid+pid,... processes whose CPU and switches each fan-out reports",
    )
    options = parser.parse_args()
    scenario = {"legacy": legacy, "idle": idle, "fanout": fanout, "listen": listen}[
        options.scenario
    ]
    with contextlib.suppress(KeyboardInterrupt):
        result = uvloop.run(scenario(options))
        sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
