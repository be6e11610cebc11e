"""Calls/s of a stdio MCP server called directly, through ``ssemcp bridge``, and through
supergateway, in the same run.

``python bench/bridge.py`` (3 interleaved rounds of 10 s, median), ``--quick`` (1 round of
3 s), or ``--alternate 30`` (every way's process tree started once, then 30 cycles of one 2 s
window per way: the steadier reading on a machine whose speed drifts). The stdio server is
an ``echo`` tool: ssemcp's (``ssemcp stdio bench/servers/ssemcp_echo.py:server``) and the
official SDK's (``mcp==2.3.0``, ``bench/servers/sdk_echo_stdio.py``); ``--children`` picks
them.

Ways to call it, each a fresh process tree per window (per run with ``--alternate``), all
pinned to CPU 0 (the child inherits the gateway's affinity), the load and this script pinned
to CPU 1:

- ``direct``: this script starts the child and keeps 32 ``tools/call`` requests in flight on
  its stdin (uvloop, orjson), each answer read from its stdout and checked;
- ``bridge-shared``: ``ssemcp bridge --shared -- CMD`` (one child for every session);
- ``bridge``: ``ssemcp bridge -- CMD`` (one child per session, the default);
- ``floor-uvicorn`` and ``floor-raw``: ``bench/servers/relay_floor.py`` on uvicorn and on a
  bare uvloop protocol: the least a relay in Python spends (no MCP, no security);
- ``supergateway``: ``supergateway --stdio CMD --outputTransport streamableHttp --stateful``
  (npm, pinned below, installed under /tmp; one child per session, as ``bridge``).

The HTTP ones get the same load: one Streamable HTTP session (2025-11-25), ``tools/call
echo`` over 32 keep-alive connections by wrk with ``bench/wrk/call.lua`` (every answer
checked). Server CPU is the gateway's and its children's together (``/proc``); the ratio that
the target is about is each gateway's calls/s over ``direct``'s in the same round. See
bench/BRIDGE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import http.client
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inprocess
import orjson
import run
import uvloop

BENCH: Final = run.BENCH
REPO: Final = run.REPO
PYTHON: Final = run.PROJECT_PYTHON
SUPERGATEWAY_PIN: Final = "supergateway@4.0.0"
SUPERGATEWAY_DIR: Final = Path(tempfile.gettempdir()) / "ssemcp-bench-peers" / "supergateway"
IN_FLIGHT: Final = run.CONNECTIONS
ECHO_TEXT: Final = run.ECHO_TEXT
WAYS: Final = ("direct", "bridge-shared", "bridge", "floor-uvicorn", "floor-raw", "supergateway")


@dataclass(frozen=True)
class Child:
    """A stdio echo server: the command every way runs."""

    name: str
    argv: tuple[str, ...]


def _children() -> dict[str, Child]:
    return {
        "ssemcp": Child(
            "ssemcp",
            (
                str(PYTHON),
                "-m",
                "ssemcp",
                "stdio",
                f"{BENCH / 'servers' / 'ssemcp_echo.py'}:server",
                "--log-level",
                "warning",
            ),
        ),
        "sdk": Child("sdk", (str(PYTHON), str(BENCH / "servers" / "sdk_echo_stdio.py"))),
    }


@dataclass(frozen=True)
class Settings:
    rounds: int
    seconds: float
    warmup_seconds: float


FULL: Final = Settings(3, 10.0, 1.0)
QUICK: Final = Settings(1, 3.0, 1.0)
# --alternate's window: short, so that the ways of a cycle see the machine alike.
ALTERNATE_SECONDS: Final = 2.0


def supergateway_entry() -> Path:
    """supergateway's entry point, installed under /tmp with npm (pinned) when missing."""
    entry = SUPERGATEWAY_DIR / "node_modules" / "supergateway" / "dist" / "index.js"
    if not entry.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("bench/bridge.py needs npm (and node) for supergateway")
        print(f"installing {SUPERGATEWAY_PIN} into {SUPERGATEWAY_DIR} ...", flush=True)
        SUPERGATEWAY_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(SUPERGATEWAY_DIR), SUPERGATEWAY_PIN], check=True
        )
    return entry


def gateway_spec(way: str, child: Child) -> run.ServerSpec:
    """The gateway process for ``way``, as run.RunningServer starts it ({port} filled in)."""
    if way == "supergateway":
        node = shutil.which("node") or "node"
        argv: tuple[str, ...] = (
            node,
            str(supergateway_entry()),
            "--stdio",
            " ".join(child.argv),  # supergateway runs it through a shell
            "--port",
            "{port}",
            "--outputTransport",
            "streamableHttp",
            "--stateful",
            "--logLevel",
            "none",
        )
    elif way.startswith("floor-"):
        argv = (
            str(PYTHON),
            str(BENCH / "servers" / "relay_floor.py"),
            "--front",
            way.removeprefix("floor-"),
            "--port",
            "{port}",
            "--",
            *child.argv,
        )
    else:
        shared = ("--shared",) if way == "bridge-shared" else ()
        argv = (
            str(PYTHON),
            "-m",
            "ssemcp",
            "bridge",
            "--port",
            "{port}",
            "--log-level",
            "warning",
            *shared,
            "--",
            *child.argv,
        )
    return run.ServerSpec(way, argv, streamable=True, legacy=False, modern=False, column=way)


# ---------------------------------------------------------------- process trees


def descendants(pid: int) -> list[int]:
    """``pid``'s live descendants, from /proc/PID/task/TID/children."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(kid) for kid in children.read().split()]
            except FileNotFoundError:
                continue
            found += kids
            pending += kids
    return found


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of each of its live descendants."""
    seconds: dict[int, float] = {}
    for member in (pid, *descendants(pid)):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            seconds[member] = run.cpu_seconds(member)
    return seconds


def cpu_over(before: dict[int, float], after: dict[int, float], pid: int) -> tuple[float, float]:
    """(gateway, children) CPU seconds between two ``tree_cpu`` readings."""
    gateway = after.get(pid, 0.0) - before.get(pid, 0.0)
    children = sum(value - before.get(member, 0.0) for member, value in after.items()) - gateway
    return gateway, children


# ---------------------------------------------------------------- direct: a driver on pipes


class _Driver(asyncio.SubprocessProtocol):
    """Keeps ``in_flight`` echo calls outstanding on a child's stdin; checks each answer."""

    def __init__(self, in_flight: int) -> None:
        self.in_flight = in_flight
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.buffer = b""
        self.next_id = 1
        self.sent_at: dict[int, float] = {}
        self.loading = False
        self.counting = False
        self.ok = 0
        self.errors = 0
        self.first_error = ""
        self.latencies: list[float] = []
        self.waiters: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.exited = asyncio.get_running_loop().create_future()
        # Set when the last call in flight is answered after loading stopped.
        self.drained: asyncio.Future[None] | None = None
        prefix = b'{"jsonrpc":"2.0","id":'
        self._prefix = prefix
        self._suffix = (
            b',"method":"tools/call","params":{"name":"echo","arguments":{"message":"'
            + ECHO_TEXT.encode()
            + b'"}}}\n'
        )
        self._needle = b'"text":"' + ECHO_TEXT.encode() + b'"'

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        assert self.transport is not None
        self.stdin = self.transport.get_pipe_transport(0)  # type: ignore[assignment]

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        now = time.perf_counter()
        for line in lines:
            if line:
                self._answer(line, now)

    def _answer(self, line: bytes, now: float) -> None:
        message = orjson.loads(line)
        request_id = message.get("id")
        waiter = self.waiters.pop(request_id, None)
        if waiter is not None:
            waiter.set_result(message)
            return
        sent = self.sent_at.pop(request_id, None)
        if sent is None:
            return  # a notification
        good = "result" in message and self._needle in line and b'"isError":true' not in line
        if self.counting:
            if good:
                self.ok += 1
                self.latencies.append(now - sent)
            else:
                self.errors += 1
                self.first_error = self.first_error or line[:200].decode(errors="replace")
        if self.loading:
            self.send_call()
        elif not self.sent_at and self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def send_call(self) -> None:
        assert self.stdin is not None
        request_id = self.next_id
        self.next_id += 1
        self.sent_at[request_id] = time.perf_counter()
        self.stdin.write(self._prefix + str(request_id).encode() + self._suffix)

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.stdin is not None
        request_id = self.next_id
        self.next_id += 1
        waiter = asyncio.get_running_loop().create_future()
        self.waiters[request_id] = waiter
        self.stdin.write(
            orjson.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
            + b"\n"
        )
        return await asyncio.wait_for(waiter, 30)

    def notify(self, method: str) -> None:
        assert self.stdin is not None
        self.stdin.write(orjson.dumps({"jsonrpc": "2.0", "method": method}) + b"\n")

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


class _Direct:
    """The child under this script's driver (``direct``): started once, loaded a window at a
    time."""

    def __init__(self, transport: asyncio.SubprocessTransport, driver: _Driver) -> None:
        self.transport = transport
        self.driver = driver
        self.pid = transport.get_pid()  # taskset execs: this is the server itself

    @classmethod
    async def start(cls, child: Child, log_path: Path) -> _Direct:
        loop = asyncio.get_running_loop()
        with log_path.open("wb") as log:
            transport, driver = await loop.subprocess_exec(
                lambda: _Driver(IN_FLIGHT),
                "taskset",
                "-c",
                run.SERVER_CPU,
                *child.argv,
                cwd=REPO,
                stderr=log,
            )
        direct = cls(transport, driver)
        try:
            answer = await driver.request(
                "initialize",
                {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "ssemcp-bench", "version": "1"},
                },
            )
            if "result" not in answer:
                raise RuntimeError(f"initialize: {answer}")
            driver.notify("notifications/initialized")
        except BaseException:
            await direct.stop()
            raise
        return direct

    async def window(self, seconds: float, warmup_seconds: float) -> dict[str, Any]:
        """``IN_FLIGHT`` calls kept outstanding for ``warmup_seconds``, then counted for
        ``seconds``; returns once the calls still in flight have been answered."""
        driver = self.driver
        driver.ok = driver.errors = 0
        driver.latencies = []
        driver.loading = True
        for _ in range(driver.in_flight):
            driver.send_call()
        await asyncio.sleep(warmup_seconds)
        driver.counting = True
        busy_before = run.busy_seconds()
        server_before = run.cpu_seconds(self.pid)
        own_before = os.times()
        began = time.perf_counter()
        await asyncio.sleep(seconds)
        driver.counting = False
        wall = time.perf_counter() - began
        own_after = os.times()
        server_after = run.cpu_seconds(self.pid)
        busy_after = run.busy_seconds()
        driver.loading = False
        if driver.sent_at:  # the next window starts on a quiet CPU
            driver.drained = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(driver.drained, 10)
        server_cpu = server_after - server_before
        generator_cpu = (own_after.user + own_after.system) - (own_before.user + own_before.system)
        latencies = sorted(driver.latencies)
        return {
            "rate": driver.ok / wall,
            "ok": driver.ok,
            "errors": driver.errors,
            "sample": driver.first_error,
            "p50_us": _percentile(latencies, 0.50) * 1e6,
            "p99_us": _percentile(latencies, 0.99) * 1e6,
            "server_cpu": server_cpu / wall,
            "gateway_cpu": 0.0,
            "child_cpu": server_cpu / wall,
            "generator_cpu": generator_cpu / wall,
            "other_cpu0": max(0.0, busy_after[0] - busy_before[0] - server_cpu) / wall,
            "other_cpu1": max(0.0, busy_after[1] - busy_before[1] - generator_cpu) / wall,
        }

    async def stop(self) -> None:
        self.transport.close()  # closes stdin: the child ends on EOF, else is killed
        await asyncio.wait_for(self.driver.exited, 10)


async def _direct(child: Child, settings: Settings, log_path: Path) -> dict[str, Any]:
    direct = await _Direct.start(child, log_path)
    try:
        return await direct.window(settings.seconds, settings.warmup_seconds)
    finally:
        await direct.stop()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


# ---------------------------------------------------------------- through a gateway


class _Gateway:
    """A gateway (``way``) in front of ``child``, with one session open (which starts its
    child): started once, loaded a window at a time."""

    def __init__(self, way: str, child: Child, log_dir: Path, label: str) -> None:
        self.server = run.RunningServer(gateway_spec(way, child), PYTHON, log_dir, label)
        try:
            self.session_id = run.open_session(self.server.port)
        except BaseException:
            self.server.stop()
            raise

    def warm(self, wrk: str, seconds: float) -> None:
        _wrk(wrk, self.server.port, seconds, self.session_id)

    def window(self, wrk: str, seconds: float) -> dict[str, Any]:
        """wrk's load for ``seconds``: its counts, and the CPU of the gateway and of its
        children (``tracebacks`` is filled in by ``stop``)."""
        pid = self.server.pid
        tree_before = tree_cpu(pid)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy_before = run.busy_seconds()
        began = time.monotonic()
        completed = _wrk(wrk, self.server.port, seconds, self.session_id)
        wall = time.monotonic() - began
        busy_after = run.busy_seconds()
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        tree_after = tree_cpu(pid)
        result = run._benchjson(completed.stdout)
        gateway_cpu, child_cpu = cpu_over(tree_before, tree_after, pid)
        generator_cpu = (
            children_after.ru_utime
            + children_after.ru_stime
            - children_before.ru_utime
            - children_before.ru_stime
        )
        server_cpu = gateway_cpu + child_cpu
        return result | {
            "rate": result["ok"] / (result["duration_us"] / 1e6),
            "tracebacks": 0,
            "server_cpu": server_cpu / wall,
            "gateway_cpu": gateway_cpu / wall,
            "child_cpu": child_cpu / wall,
            "generator_cpu": generator_cpu / wall,
            "other_cpu0": max(0.0, busy_after[0] - busy_before[0] - server_cpu) / wall,
            "other_cpu1": max(0.0, busy_after[1] - busy_before[1] - generator_cpu) / wall,
        }

    def stop(self) -> int:
        """Stop the gateway; how many tracebacks its log holds."""
        return self.server.stop()


def _gateway(
    way: str, child: Child, settings: Settings, wrk: str, log_dir: Path, label: str
) -> dict[str, Any]:
    gateway = _Gateway(way, child, log_dir, label)
    try:
        gateway.warm(wrk, max(1, round(settings.warmup_seconds)))
        result = gateway.window(wrk, settings.seconds)
    finally:
        tracebacks = gateway.stop()
    return result | {"tracebacks": tracebacks}


def _wrk(
    wrk: str, port: int, seconds: float, session_id: str, connections: int = IN_FLIGHT
) -> subprocess.CompletedProcess[str]:
    argv = [
        "taskset",
        "-c",
        run.GENERATOR_CPU,
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "wrk" / "call.lua"),
        f"http://127.0.0.1:{port}/mcp",
        "--",
        session_id,
        ECHO_TEXT,
    ]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


# ---------------------------------------------------------------- alternating windows

# After a gateway's window, the calls wrk left in flight are answered before the next begins.
_SETTLE_SECONDS: Final = 0.2


async def alternate(
    child: Child,
    ways: list[str],
    settings: Settings,
    wrk: str,
    log_dir: Path,
    rows: dict[str, dict[str, list[dict[str, Any]]]],
) -> None:
    """``--alternate``: every way's process tree started once, then ``settings.rounds``
    cycles of one ``settings.seconds`` window per way, each cycle starting one way further
    along. A slow spell of the machine then falls on neighbouring windows of every way alike,
    so the ratio of each cycle is steadier than that of rounds of fresh trees a minute apart
    (bench/BRIDGE.md, session 11). The idle trees use no CPU."""
    direct: _Direct | None = None
    gateways: dict[str, _Gateway] = {}
    by_way = rows.setdefault(child.name, {})
    began = time.monotonic()
    try:
        for way in ways:
            label = f"alternate-{child.name}-{way}"
            if way == "direct":
                direct = await _Direct.start(child, log_dir / f"{label}.log")
                await direct.window(settings.warmup_seconds, 0.0)
            else:
                gateway = await asyncio.to_thread(_Gateway, way, child, log_dir, label)
                gateways[way] = gateway
                await asyncio.to_thread(gateway.warm, wrk, max(1, round(settings.warmup_seconds)))
        for cycle in range(settings.rounds):
            shift = cycle % len(ways)
            for way in ways[shift:] + ways[:shift]:
                if direct is not None and way == "direct":
                    result = await direct.window(settings.seconds, 0.0)
                else:
                    result = await asyncio.to_thread(gateways[way].window, wrk, settings.seconds)
                    await asyncio.sleep(_SETTLE_SECONDS)
                by_way.setdefault(way, []).append(result)
            rates = ", ".join(f"{way} {by_way[way][-1]['rate']:.0f}" for way in ways)
            print(
                f"[{time.monotonic() - began:5.0f}s] {child.name} cycle {cycle + 1}: {rates}",
                flush=True,
            )
    finally:
        for way, gateway in gateways.items():
            tracebacks = await asyncio.to_thread(gateway.stop)
            if by_way.get(way):
                by_way[way][-1]["tracebacks"] = tracebacks
        if direct is not None:
            await direct.stop()


# ---------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(
    rows: dict[str, dict[str, list[dict[str, Any]]]], settings: Settings, unit: str = "round"
) -> str:
    lines: list[str] = []
    columns = (
        f"{'way':<14}{'calls/s':>9}{'x direct':>9}{'per CPU-s':>10}{'x direct':>9}"
        f"{'gw us':>7}{'child us':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'srv CPU':>8}"
        f"{'gw/child':>10}{'gen CPU':>8}{'others':>9}"
    )
    for child, by_way in rows.items():
        lines += [
            "",
            f"{child} echo over stdio: tools/call, 32 in flight (median of {settings.rounds} "
            f"{unit}s; x direct: per {unit}, then median)",
            columns,
            "-" * len(columns),
        ]
        direct = by_way.get("direct", [])
        for way in WAYS:
            runs = by_way.get(way)
            if not runs:
                continue
            pairs = list(zip(runs, direct, strict=False))
            rate_ratio = _median([r["rate"] / d["rate"] for r, d in pairs])
            efficiency_ratio = _median(
                [(r["rate"] / r["server_cpu"]) / (d["rate"] / d["server_cpu"]) for r, d in pairs]
            )
            errors = sum(
                r["errors"] + r.get("socket_errors", 0) + r.get("tracebacks", 0) for r in runs
            )
            lines.append(
                f"{way:<14}{_median([r['rate'] for r in runs]):>9.0f}{rate_ratio:>9.2f}"
                f"{_median([r['rate'] / r['server_cpu'] for r in runs]):>10.0f}"
                f"{efficiency_ratio:>9.2f}"
                f"{_median([r['gateway_cpu'] / r['rate'] * 1e6 for r in runs]):>7.1f}"
                f"{_median([r['child_cpu'] / r['rate'] * 1e6 for r in runs]):>9.1f}"
                f"{_median([r['p50_us'] / 1e3 for r in runs]):>8.2f}"
                f"{_median([r['p99_us'] / 1e3 for r in runs]):>8.2f}{errors:>7}"
                f"{_median([r['server_cpu'] * 100 for r in runs]):>7.0f}%"
                f"{_median([r['gateway_cpu'] * 100 for r in runs]):>5.0f}/"
                f"{_median([r['child_cpu'] * 100 for r in runs]):<4.0f}"
                f"{_median([r['generator_cpu'] * 100 for r in runs]):>7.0f}%"
                f"{_median([r['other_cpu0'] * 100 for r in runs]):>5.0f}/"
                f"{_median([r['other_cpu1'] * 100 for r in runs]):<3.0f}"
            )
        peer = by_way.get("supergateway", [])
        for way in ("bridge-shared", "bridge"):
            pairs = list(zip(by_way.get(way, []), peer, strict=False))
            if pairs:
                rate = _median([o["rate"] / p["rate"] for o, p in pairs])
                efficiency = _median(
                    [
                        (o["rate"] / o["server_cpu"]) / (p["rate"] / p["server_cpu"])
                        for o, p in pairs
                    ]
                )
                lines.append(
                    f"{way} / supergateway: calls/s {rate:.2f}, per CPU-s {efficiency:.2f}"
                )
    lines += [
        "",
        f"x direct: calls/s over direct's in the same {unit} (target for bridge: >= 0.67, i.e. "
        "at most 1.5x direct's time per call); per CPU-s: calls per second of server CPU "
        "(gateway and its children on CPU 0), the fair figure when others is high. gw us / "
        "child us: CPU microseconds per call of the gateway and of the stdio child. srv CPU: "
        "gateway + children's share of one core (gw/child split). gen CPU: wrk's, or this "
        "script's for direct (CPU 1). others: % of CPU 0 / CPU 1 busy with processes not "
        "ours. errors: failed checks + socket errors + gateway tracebacks.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- profile


def profile(way: str, child: Child, settings: Settings, wrk: str, log_dir: Path) -> None:
    """``way``'s gateway (an ssemcp bridge) under py-spy during a window of load."""
    py_spy = run.py_spy_path()
    server = run.RunningServer(gateway_spec(way, child), PYTHON, log_dir, f"profile-{way}")
    raw = log_dir / f"{way}.folded"
    try:
        session_id = run.open_session(server.port)
        _wrk(wrk, server.port, 1, session_id)
        seconds = max(3, round(settings.seconds))
        recorder = subprocess.Popen(
            [
                "taskset",
                "-c",
                run.GENERATOR_CPU,
                str(py_spy),
                "record",
                "--pid",
                str(server.pid),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                "raw",
                "-o",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        completed = _wrk(wrk, server.port, seconds, session_id)
        recorder.wait()
    finally:
        server.stop()
    result = run._benchjson(completed.stdout)
    print(f"{way} ({child.name} child) under py-spy: {result['ok'] / seconds:.0f} calls/s")
    print(run.summarise_folded(raw.read_text(), top=40))
    print(f"\ncollapsed stacks: {raw}")


# ---------------------------------------------------------------- wake-ups


def wakeups(
    way: str, child: Child, in_flight: list[int], settings: Settings, wrk: str, log_dir: Path
) -> None:
    """``way``'s gateway under ``perf stat`` (task-clock, context switches) during a window of
    load at each number of calls in flight: its CPU per call against how often it is woken
    per call (bench/BRIDGE.md, session 9)."""
    perf = shutil.which("perf")
    if perf is None:
        raise SystemExit("--wakeups needs perf (apt-get install -y linux-perf)")
    print(f"{way}, {child.name} child: in flight, calls/s, gateway CPU us and switches a call")
    for connections in in_flight:
        label = f"wakeups-{way}-{child.name}-c{connections}"
        server = run.RunningServer(gateway_spec(way, child), PYTHON, log_dir, label)
        stat = log_dir / f"{label}.perf"
        try:
            session_id = run.open_session(server.port)
            _wrk(wrk, server.port, 1, session_id, connections)
            counted = ("task-clock,context-switches", "-x", ",", "-p", str(server.pid))
            recorder = subprocess.Popen(
                [perf, "stat", "-e", *counted, "-o", str(stat)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            completed = _wrk(wrk, server.port, settings.seconds, session_id, connections)
            recorder.send_signal(signal.SIGINT)
            recorder.wait()
        finally:
            server.stop()
        calls = run._benchjson(completed.stdout)["ok"]
        counters = {
            fields[2]: float(fields[0])
            for line in stat.read_text().splitlines()
            if len(fields := line.split(",")) > 2 and fields[0].replace(".", "", 1).isdigit()
        }
        cpu_us = counters.get("task-clock", float("nan")) * 1000 / max(calls, 1)
        switches = counters.get("context-switches", float("nan")) / max(calls, 1)
        print(
            f"{connections:>4} {calls / settings.seconds:>9.0f} {cpu_us:>8.1f} {switches:>6.2f}",
            flush=True,
        )


# ---------------------------------------------------------------- instructions

# The calls a run of --instructions makes, short then long: the difference is per call.
_SHORT_CALLS: Final = 200
_LONG_CALLS: Final = 1200


def _served_gateway_instructions(way: str, child: Child, calls: int) -> int:
    """Instructions of one gateway process (its children not counted) that relays ``calls``
    echo calls sent one at a time over one keep-alive connection (callgrind's total, start-up
    and shutdown included)."""
    return inprocess.instructions_of_server(
        lambda port: gateway_spec(way, child).command(PYTHON, port),
        lambda port: _sequential_calls(port, calls),
        cwd=REPO,
        name=way,
    )


def _sequential_calls(port: int, calls: int) -> None:
    session_id = run.open_session(port)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
        "mcp-session-id": session_id,
        "mcp-protocol-version": "2025-11-25",
    }
    needle = b'"text":"' + ECHO_TEXT.encode() + b'"'
    for request_id in range(1, calls + 1):
        body = orjson.dumps(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"message": ECHO_TEXT}},
            }
        )
        connection.request("POST", "/mcp", body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200 or needle not in answer or b'"error":' in answer:
            raise SystemExit(f"call {request_id}: {response.status} {answer[:200]!r}")
    connection.close()


def instructions(way: str, children: list[Child]) -> None:
    """Instructions per call of the gateway process alone (``--instructions``): the figure
    for A/B comparisons on a noisy machine (its children run natively, uncounted)."""
    for child in children:
        short = _served_gateway_instructions(way, child, _SHORT_CALLS)
        long = _served_gateway_instructions(way, child, _LONG_CALLS)
        per_call = (long - short) / (_LONG_CALLS - _SHORT_CALLS)
        print(f"{way}, {child.name} child: {per_call:,.0f} instructions per call", flush=True)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s windows")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, --quick 1)")
    parser.add_argument("--seconds", type=float, help="window per measurement")
    parser.add_argument("--children", default="ssemcp,sdk", help="subset of ssemcp,sdk")
    parser.add_argument("--ways", default=",".join(WAYS), help="subset of " + ",".join(WAYS))
    parser.add_argument(
        "--profile",
        choices=("bridge-shared", "bridge"),
        help="instead: that gateway under py-spy (with the first of --children)",
    )
    parser.add_argument(
        "--wakeups",
        choices=("bridge-shared", "bridge"),
        help="instead: that gateway under perf stat at each --in-flight (CPU and context "
        "switches per call), for each of --children",
    )
    parser.add_argument("--in-flight", default="1,4,32", help="calls in flight for --wakeups")
    parser.add_argument(
        "--alternate",
        type=int,
        metavar="CYCLES",
        help="instead of rounds of fresh process trees: every way's tree started once, then "
        "CYCLES cycles of one window per way (--seconds, default 2)",
    )
    parser.add_argument(
        "--instructions",
        choices=("bridge-shared", "bridge", "floor-uvicorn", "floor-raw"),
        help=f"instead: that gateway under callgrind, {_SHORT_CALLS} then {_LONG_CALLS} calls "
        "one at a time; its instructions per call, for each of --children",
    )
    options = parser.parse_args()
    settings = QUICK if options.quick else FULL
    settings = Settings(options.rounds or settings.rounds, options.seconds or settings.seconds, 1.0)
    if options.alternate:
        settings = Settings(options.alternate, options.seconds or ALTERNATE_SECONDS, 1.0)
    children = [_children()[name] for name in options.children.split(",")]
    ways = [way for way in WAYS if way in options.ways.split(",")]
    if options.instructions:
        instructions(options.instructions, children)
        return
    if (os.cpu_count() or 0) < 2:
        raise SystemExit("bench/bridge.py needs 2 CPUs: servers on CPU 0, load on CPU 1")
    if not PYTHON.exists():
        raise SystemExit(f"needs {PYTHON}: run ./scripts/test once first")
    os.sched_setaffinity(0, {int(run.GENERATOR_CPU)})
    run.raise_fd_limit()
    wrk = run.wrk_path()
    if "supergateway" in ways:
        supergateway_entry()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = Path(tempfile.gettempdir()) / f"ssemcp-bench-bridge-{stamp}"
    log_dir.mkdir()
    if options.profile:
        profile(options.profile, children[0], settings, wrk, log_dir)
        return
    if options.wakeups:
        counts = [int(count) for count in options.in_flight.split(",")]
        for child in children:
            wakeups(options.wakeups, child, counts, settings, wrk, log_dir)
        return
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    began = time.monotonic()
    if options.alternate:
        for child in children:
            uvloop.run(alternate(child, ways, settings, wrk, log_dir, rows))
    for round_index in range(0 if options.alternate else settings.rounds):
        for child in children:
            shift = round_index % len(ways)
            for way in ways[shift:] + ways[:shift]:
                label = f"r{round_index + 1}-{child.name}-{way}"
                print(f"[{time.monotonic() - began:5.0f}s] {label}", flush=True)
                if way == "direct":
                    result = uvloop.run(_direct(child, settings, log_dir / f"{label}.log"))
                else:
                    result = _gateway(way, child, settings, wrk, log_dir, label)
                rows.setdefault(child.name, {}).setdefault(way, []).append(result)
    (log_dir / "results.json").write_text(json.dumps(rows, indent=1))
    revision = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    unit = "cycle" if options.alternate else "round"
    method = "of live process trees, alternated" if options.alternate else "of fresh process trees"
    print(
        f"\nssemcp bridge bench, {stamp}, ssemcp {revision}, {SUPERGATEWAY_PIN}, "
        f"{settings.rounds} {unit}(s) of {settings.seconds:.0f} s windows {method}, "
        f"{time.monotonic() - began:.0f} s; gateways and children on CPU {run.SERVER_CPU}, "
        f"load on CPU {run.GENERATOR_CPU}"
    )
    print(report(rows, settings, unit))
    print(f"raw results and logs: {log_dir}")


if __name__ == "__main__":
    main()
