"""Run every benchmark scenario against the ceiling, ssemcp and the official MCP Python SDK.

``python bench/run.py`` (full: 3 interleaved rounds, median, ~11 minutes) or
``python bench/run.py --quick`` (1 round, short durations, ~2 minutes). ``--profile`` instead
runs scenario (a) against ssemcp under py-spy and prints where the time goes.

Each server runs alone, pinned to CPU 0 (``taskset -c 0``); the load generator (wrk for a, b
and f, ``bench/loadgen.py`` for c, d, e and g) and this script are pinned to CPU 1. Every figure is
printed with its ratio to the ceiling (``bench/ceiling.py``) measured in the same run, and with
the server's and the generator's CPU (``/proc/PID/stat`` utime + stime over the window), so a
reader sees which one was the limit. Raw results go to a JSON file under /tmp.

Scenarios (see bench/README.md): a) tools/call echo on one Streamable HTTP session over 32
keep-alive connections; b) a session per operation (initialize, initialized, tools/call,
DELETE), 32 workers; c) legacy HTTP+SSE, 32 sessions echoing; d) idle streams, RSS per
stream; e) fan-out of one notification to 1 000 legacy sessions; f) a's call as MCP 2026-07-28
sends it, with no session, over 32 keep-alive connections; g) e's fan-out to 1 000 MCP
2026-07-28 ``subscriptions/listen`` streams, triggered by a 2026-07-28 call.

Peers: the official SDK (``mcp==2.3.0``) runs from the project virtualenv when it has that
version pinned, else from a virtualenv this script makes under /tmp. wrk comes from the
system (``apt-get install -y wrk``); py-spy (``--profile``) from a /tmp virtualenv.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

BENCH: Final = Path(__file__).resolve().parent
REPO: Final = BENCH.parent
PROJECT_PYTHON: Final = REPO / ".venv" / "bin" / "python"
PEER_VENV: Final = Path(tempfile.gettempdir()) / "ssemcp-bench-peers"
TOOLS_VENV: Final = Path(tempfile.gettempdir()) / "ssemcp-bench-tools"
PEER_PINS: Final = ("mcp==2.3.0", "uvicorn[standard]==0.54.0")
PY_SPY_PIN: Final = "py-spy==0.4.3"
SERVER_CPU: Final = "0"
GENERATOR_CPU: Final = "1"
ECHO_TEXT: Final = "ssemcp-bench-echo 0123456789"
CONNECTIONS: Final = 32
CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ServerSpec:
    """One server under test: how to start it and which transports it serves."""

    name: str
    argv: tuple[str, ...]  # {python} and {port} are filled in
    streamable: bool
    legacy: bool
    modern: bool  # serves 2026-07-28 requests, with no session, on /mcp (scenarios f and g)
    column: str  # the server family, for the table

    def command(self, python: Path, port: int) -> list[str]:
        return [part.format(python=python, port=port) for part in self.argv]

    def serves(self, scenario: str) -> bool:
        """Whether this server takes part in the throughput scenario (a, b, c or f)."""
        if scenario == "c":
            return self.legacy
        return self.modern if scenario == "f" else self.streamable


def _specs() -> list[ServerSpec]:
    ssemcp_target = f"{BENCH / 'servers' / 'ssemcp_echo.py'}:server"
    sdk = str(BENCH / "servers" / "sdk_echo.py")
    return [
        ServerSpec(
            "ceiling",
            ("{python}", str(BENCH / "ceiling.py"), "--port", "{port}"),
            streamable=True,
            legacy=True,
            modern=True,
            column="ceiling",
        ),
        ServerSpec(
            "ssemcp",
            (
                "{python}",
                "-m",
                "ssemcp",
                "serve",
                ssemcp_target,
                "--port",
                "{port}",
                "--log-level",
                "warning",
            ),
            streamable=True,
            legacy=True,
            modern=True,
            column="ssemcp",
        ),
        # The same server with the access log and metrics both off, and both on (the access
        # log needs INFO: one line a call to the server's log file), for their cost (#18).
        # "ssemcp" itself runs serve's defaults at WARNING: metrics on, access lines hidden.
        *(
            ServerSpec(
                name,
                ("{python}", "-m", "ssemcp", "serve", ssemcp_target, "--port", "{port}", *flags),
                streamable=True,
                legacy=True,
                modern=True,
                column=name,
            )
            for name, flags in (
                ("ssemcp-off", ("--log-level", "warning", "--no-access-log", "--no-metrics")),
                ("ssemcp-on", ("--log-level", "info")),
            )
        ),
        ServerSpec(
            "sdk",
            ("{python}", sdk, "--mode", "streamable", "--port", "{port}"),
            streamable=True,
            legacy=False,
            modern=True,
            column="sdk",
        ),
        ServerSpec(
            "sdk-json",
            ("{python}", sdk, "--mode", "json", "--port", "{port}"),
            streamable=True,
            legacy=False,
            modern=True,
            column="sdk-json",
        ),
        ServerSpec(
            "sdk-sse",
            ("{python}", sdk, "--mode", "sse", "--port", "{port}"),
            streamable=False,
            legacy=True,
            modern=False,
            column="sdk",
        ),
    ]


@dataclass(frozen=True)
class Settings:
    rounds: int
    call_seconds: float  # a, b, c, f
    warmup_seconds: float
    idle_steps: str  # d
    idle_rounds: int
    fanout_sessions: int  # e and g
    fanout_repeats: int


FULL: Final = Settings(3, 10.0, 1.0, "1000,5000", 1, 1000, 5)
QUICK: Final = Settings(1, 3.0, 1.0, "200,1000", 1, 1000, 3)


# ---------------------------------------------------------------- setup


def _python_has_peers(python: Path) -> bool:
    check = (
        "import importlib.metadata as m, uvloop, httptools, orjson;"
        "assert m.version('mcp') == '2.3.0', m.version('mcp')"
    )
    return (
        python.exists()
        and subprocess.run([python, "-c", check], capture_output=True).returncode == 0
    )


def peer_python() -> Path:
    """A Python with the pinned official SDK: the project's, else a /tmp virtualenv."""
    if _python_has_peers(PROJECT_PYTHON):
        return PROJECT_PYTHON
    python = PEER_VENV / "bin" / "python"
    if not _python_has_peers(python):
        print(f"setting up {PEER_VENV} with {' '.join(PEER_PINS)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", *PEER_PINS, "orjson", "httptools"],
            check=True,
        )
    return python


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get) ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench/run.py needs wrk: apt-get install -y wrk")
    return found


def py_spy_path() -> Path:
    path = TOOLS_VENV / "bin" / "py-spy"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        subprocess.run([TOOLS_VENV / "bin" / "pip", "install", "--quiet", PY_SPY_PIN], check=True)
    return path


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 12_000:
        print(f"warning: open-file limit {hard}; scenario d needs ~11 000", flush=True)


# ---------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def busy_seconds() -> tuple[float, float]:
    """Busy time of CPU 0 and CPU 1 (all processes), from /proc/stat."""
    busy = [0.0, 0.0]
    with open("/proc/stat") as stat:
        for line in stat:
            name, *ticks = line.split()
            if name in ("cpu0", "cpu1"):
                user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, ticks[:8])
                busy[int(name[3])] = (user + nice + system + irq + softirq + steal) / CLOCK_TICKS
    return busy[0], busy[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RunningServer:
    """A server process pinned to CPU 0, its log in the run's log directory."""

    def __init__(self, spec: ServerSpec, python: Path, log_dir: Path, label: str) -> None:
        self.spec = spec
        self.port = _free_port()
        self.log_path = log_dir / f"{label}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *spec.command(python, self.port)],
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.pid = self.process.pid  # taskset execs: this is the server itself
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{spec.name} exited; see {self.log_path}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{spec.name} did not listen; see {self.log_path}")
            time.sleep(0.05)

    def stop(self) -> int:
        """Stop the server; return how many tracebacks its log holds."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        return self.log_path.read_bytes().count(b"Traceback")


def _generator(argv: list[str]) -> list[str]:
    return ["taskset", "-c", GENERATOR_CPU, *argv]


def open_session(port: int) -> str:
    """Initialize one Streamable HTTP session (for scenario a); return its id."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    body = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "ssemcp-bench", "version": "1"},
        },
    }
    connection.request("POST", "/mcp", json.dumps(body), headers)
    response = connection.getresponse()
    response.read()
    session_id = response.getheader("mcp-session-id")
    if response.status != 200 or not session_id:
        raise RuntimeError(f"initialize: {response.status}")
    headers |= {"mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    connection.request("POST", "/mcp", json.dumps(notification), headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 202:
        raise RuntimeError(f"initialized: {response.status}")
    return session_id


def _benchjson(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            return dict(json.loads(line[len("BENCHJSON ") :]))
    raise RuntimeError(f"no BENCHJSON line in wrk output:\n{output[-2000:]}")


def run_wrk(
    wrk: str, server: RunningServer, script: str, threads: int, seconds: float, args: list[str]
) -> dict[str, Any]:
    """Run wrk on CPU 1; return its summary with server and generator CPU seconds."""
    argv = _generator(
        [
            wrk,
            f"-t{threads}",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "wrk" / script),
            f"http://127.0.0.1:{server.port}/mcp",
            "--",
            *args,
        ]
    )
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = cpu_seconds(server.pid)
    busy_before = busy_seconds()
    began = time.monotonic()
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.monotonic() - began
    busy_after = busy_seconds()
    server_after = cpu_seconds(server.pid)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = _benchjson(completed.stdout)
    server_cpu = server_after - server_before
    generator_cpu = (
        children_after.ru_utime
        + children_after.ru_stime
        - children_before.ru_utime
        - children_before.ru_stime
    )
    # The rates come from wrk's own window; CPU shares from ours (wrk's plus its start-up).
    result["server_cpu"] = server_cpu / wall
    result["generator_cpu"] = generator_cpu / wall
    result["other_cpu0"] = max(0.0, busy_after[0] - busy_before[0] - server_cpu) / wall
    result["other_cpu1"] = max(0.0, busy_after[1] - busy_before[1] - generator_cpu) / wall
    return result


def run_loadgen(python: Path, server: RunningServer, args: list[str]) -> dict[str, Any]:
    argv = _generator(
        [
            str(python),
            str(BENCH / "loadgen.py"),
            *args,
            "--port",
            str(server.port),
            "--server-pid",
            str(server.pid),
        ]
    )
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = cpu_seconds(server.pid)
    busy_before = busy_seconds()
    began = time.monotonic()
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.monotonic() - began
    busy_after = busy_seconds()
    server_after = cpu_seconds(server.pid)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"loadgen {args[0]} failed:\n{completed.stderr[-3000:]}")
    result = dict(json.loads(completed.stdout.strip().splitlines()[-1]))
    generator_cpu = (
        children_after.ru_utime
        + children_after.ru_stime
        - children_before.ru_utime
        - children_before.ru_stime
    )
    # Whole-run shares (set-up included): how busy each CPU was with something else.
    result["other_cpu0"] = (
        max(0.0, busy_after[0] - busy_before[0] - (server_after - server_before)) / wall
    )
    result["other_cpu1"] = max(0.0, busy_after[1] - busy_before[1] - generator_cpu) / wall
    if "server_cpu_seconds" in result:
        result["server_cpu"] = result["server_cpu_seconds"] / (result["duration_us"] / 1e6)
    else:
        result["server_cpu"] = (server_after - server_before) / wall
    if "generator_cpu_seconds" in result and "duration_us" in result:
        result["generator_cpu"] = result["generator_cpu_seconds"] / (result["duration_us"] / 1e6)
    return result


# ---------------------------------------------------------------- scenarios


@dataclass
class Results:
    """Every measurement: results[scenario][server name] is a list, one per round."""

    rows: dict[str, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    tracebacks: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, scenario: str, server: str, result: dict[str, Any]) -> None:
        self.rows[scenario][server].append(result)


def _calls(
    wrk: str, server: RunningServer, script: str, args: list[str], settings: Settings
) -> dict[str, Any]:
    """A call scenario (a or f): wrk's warm-up, then its measured window."""
    run_wrk(wrk, server, script, 1, settings.warmup_seconds, args)
    result = run_wrk(wrk, server, script, 1, settings.call_seconds, args)
    result["rate"] = result["ok"] / (result["duration_us"] / 1e6)
    return result


def throughput_round(
    spec: ServerSpec,
    settings: Settings,
    python: Path,
    wrk: str,
    log_dir: Path,
    label: str,
    scenarios: set[str],
    round_index: int,
) -> dict[str, dict[str, Any]]:
    """Those of scenarios a, b, c and f in ``scenarios`` against one fresh server process."""
    out: dict[str, dict[str, Any]] = {}
    server = RunningServer(spec, python, log_dir, label)
    try:
        # a and f take turns going first, so that neither always runs on the process the
        # other has warmed.
        for scenario in ("a", "f") if round_index % 2 == 0 else ("f", "a"):
            if scenario not in scenarios:
                continue
            if scenario == "a" and spec.streamable:
                session_id = open_session(server.port)
                out["a"] = _calls(wrk, server, "call.lua", [session_id, ECHO_TEXT], settings)
            elif scenario == "f" and spec.modern:
                out["f"] = _calls(wrk, server, "call_2026_07_28.lua", [ECHO_TEXT], settings)
        if spec.streamable and "b" in scenarios:
            # One connection per wrk thread: each thread's Lua state is that connection's.
            session_args = [ECHO_TEXT]
            run_wrk(wrk, server, "session.lua", CONNECTIONS, settings.warmup_seconds, session_args)
            result = run_wrk(
                wrk, server, "session.lua", CONNECTIONS, settings.call_seconds, session_args
            )
            result["rate"] = result["operations"] / (result["duration_us"] / 1e6)
            out["b"] = result
        if spec.legacy and "c" in scenarios:
            result = run_loadgen(
                python,
                server,
                [
                    "legacy",
                    "--sessions",
                    str(CONNECTIONS),
                    "--duration",
                    f"{settings.call_seconds:g}",
                    "--warmup",
                    f"{settings.warmup_seconds:g}",
                ],
            )
            result["rate"] = result["ok"] / (result["duration_us"] / 1e6)
            out["c"] = result
    finally:
        tracebacks = server.stop()
    for result in out.values():
        result["tracebacks"] = tracebacks
    return out


def idle_round(
    spec: ServerSpec, settings: Settings, python: Path, log_dir: Path, label: str
) -> dict[str, dict[str, Any]]:
    """Scenario d (each kind on a fresh process); e after the legacy streams."""
    out: dict[str, dict[str, Any]] = {}
    kinds = [kind for kind, served in (("mcp", spec.streamable), ("sse", spec.legacy)) if served]
    for kind in kinds:
        server = RunningServer(spec, python, log_dir, f"{label}-d-{kind}")
        try:
            result = run_loadgen(
                python, server, ["idle", "--kind", kind, "--steps", settings.idle_steps]
            )
        finally:
            tracebacks = server.stop()
        result["tracebacks"] = tracebacks
        out[f"d-{kind}"] = result
    return out


def fanout_round(
    spec: ServerSpec, settings: Settings, python: Path, log_dir: Path, label: str
) -> dict[str, Any]:
    server = RunningServer(spec, python, log_dir, f"{label}-e")
    try:
        result = run_loadgen(
            python,
            server,
            [
                "fanout",
                "--sessions",
                str(settings.fanout_sessions),
                "--repeats",
                str(settings.fanout_repeats),
            ],
        )
    finally:
        tracebacks = server.stop()
    result["tracebacks"] = tracebacks
    return result


def listen_round(
    spec: ServerSpec, settings: Settings, python: Path, log_dir: Path, label: str
) -> dict[str, Any]:
    """Scenario g against one fresh server process."""
    server = RunningServer(spec, python, log_dir, f"{label}-g")
    try:
        result = run_loadgen(
            python,
            server,
            [
                "listen",
                "--sessions",
                str(settings.fanout_sessions),
                "--repeats",
                str(settings.fanout_repeats),
            ],
        )
    finally:
        tracebacks = server.stop()
    result["tracebacks"] = tracebacks
    return result


# ---------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def f_over_a(
    rows: dict[str, dict[str, list[dict[str, Any]]]],
    settings: Settings,
    header: Callable[[str, str], None],
    lines: list[str],
) -> None:
    """Each server's f against its own a: the ratios of each round (same process), median."""
    header(
        f"f/a) the 2026-07-28 call against a's, same server process (median of "
        f"{settings.rounds}; target for ssemcp: calls/s >= 1.00)",
        f"{'server':<10}{'calls/s':>10}{'per CPU-s':>10}{'p50':>8}{'p99':>8}",
    )
    for name in SERVER_ORDER:
        pairs = list(zip(rows["a"].get(name, []), rows["f"].get(name, []), strict=False))
        if not pairs:
            continue
        rate = _median([f["rate"] / a["rate"] for a, f in pairs])
        efficiency = _median(
            [(f["rate"] / f["server_cpu"]) / (a["rate"] / a["server_cpu"]) for a, f in pairs]
        )
        p50 = _median([f["p50_us"] / a["p50_us"] for a, f in pairs])
        p99 = _median([f["p99_us"] / a["p99_us"] for a, f in pairs])
        lines.append(f"{name:<10}{rate:>10.2f}{efficiency:>10.2f}{p50:>8.2f}{p99:>8.2f}")


def observe_cost(
    rows: dict[str, dict[str, list[dict[str, Any]]]],
    settings: Settings,
    header: Callable[[str, str], None],
    lines: list[str],
) -> None:
    """a with metrics (ssemcp: serve's defaults at WARNING) and with the access log and
    metrics (ssemcp-on) against both off (ssemcp-off): ratios round by round, median."""
    header(
        f"observe) a against ssemcp-off, the same round (median of {settings.rounds}; target "
        "for metrics: >= 0.97)",
        f"{'server':<10}{'calls/s':>10}{'per CPU-s':>10}{'p50':>8}{'p99':>8}",
    )
    baseline = rows["a"].get("ssemcp-off", [])
    for name in ("ssemcp", "ssemcp-on"):
        pairs = list(zip(baseline, rows["a"].get(name, []), strict=False))
        if not pairs:
            continue
        rate = _median([on["rate"] / off["rate"] for off, on in pairs])
        efficiency = _median(
            [
                (on["rate"] / on["server_cpu"]) / (off["rate"] / off["server_cpu"])
                for off, on in pairs
            ]
        )
        p50 = _median([on["p50_us"] / off["p50_us"] for off, on in pairs])
        p99 = _median([on["p99_us"] / off["p99_us"] for off, on in pairs])
        lines.append(f"{name:<10}{rate:>10.2f}{efficiency:>10.2f}{p50:>8.2f}{p99:>8.2f}")


SERVER_ORDER: Final = (
    "ceiling",
    "ssemcp",
    "ssemcp-off",
    "ssemcp-on",
    "sdk",
    "sdk-json",
    "sdk-sse",
)
# What runs unless --servers says otherwise: the ssemcp-off and ssemcp-on variants
# are asked for by name (--scenarios a --servers ssemcp,ssemcp-off,ssemcp-on).
DEFAULT_SERVERS: Final = ("ceiling", "ssemcp", "sdk", "sdk-json", "sdk-sse")


def report(results: Results, settings: Settings) -> str:
    lines: list[str] = []
    rows = results.rows

    def header(title: str, columns: str) -> None:
        lines.extend(["", title, columns, "-" * len(columns)])

    names = {
        "a": "a) tools/call, 1 session, 32 conns",
        "b": "b) session per op, 32 workers",
        "c": "c) legacy HTTP+SSE, 32 sessions",
        "f": "f) 2026-07-28 tools/call, no session, 32 conns",
    }
    for scenario in ("a", "f", "b", "c"):
        if scenario not in rows:
            continue
        unit = "ops/s" if scenario == "b" else "calls/s"
        header(
            f"{names[scenario]} (median of {settings.rounds}; latency per "
            f"{'request' if scenario == 'b' else 'call'})",
            f"{'server':<10}{unit:>10}{'ratio':>8}{'per CPU-s':>10}{'ratio':>7}{'p50 ms':>9}"
            f"{'p99 ms':>9}{'p99/p50':>8}{'errors':>7}{'srv CPU':>8}{'gen CPU':>8}"
            f"{'others':>9}",
        )
        ceiling_runs = rows[scenario].get("ceiling", [])
        ceiling = _median([r["rate"] for r in ceiling_runs])
        ceiling_efficiency = _median([r["rate"] / r["server_cpu"] for r in ceiling_runs])
        for name in SERVER_ORDER:
            runs = rows[scenario].get(name)
            if not runs:
                continue
            rate = _median([r["rate"] for r in runs])
            p50 = _median([r["p50_us"] / 1e3 for r in runs])
            p99 = _median([r["p99_us"] / 1e3 for r in runs])
            errors = sum(
                r["errors"] + r.get("socket_errors", 0) + r.get("tracebacks", 0) for r in runs
            )
            server_cpu = _median([r["server_cpu"] * 100 for r in runs])
            generator_cpu = _median([r.get("generator_cpu", float("nan")) * 100 for r in runs])
            efficiency = _median([r["rate"] / r["server_cpu"] for r in runs])
            lines.append(
                f"{name:<10}{rate:>10.0f}{rate / ceiling:>8.2f}{efficiency:>10.0f}"
                f"{efficiency / ceiling_efficiency:>7.2f}{p50:>9.2f}{p99:>9.2f}"
                f"{p99 / p50 if p50 else float('nan'):>8.1f}{errors:>7}{server_cpu:>7.0f}%"
                f"{generator_cpu:>7.0f}%"
                f"{_median([r['other_cpu0'] * 100 for r in runs]):>5.0f}/"
                f"{_median([r['other_cpu1'] * 100 for r in runs]):<3.0f}"
            )
        if scenario == "f" and "a" in rows:
            f_over_a(rows, settings, header, lines)
        if scenario == "a" and "ssemcp-off" in rows["a"]:
            observe_cost(rows, settings, header, lines)
    for kind in ("mcp", "sse"):
        scenario = f"d-{kind}"
        if scenario not in rows:
            continue
        steps = [int(step) for step in settings.idle_steps.split(",")]
        path = "/mcp (each on its own session)" if kind == "mcp" else "/sse"
        columns = f"{'server':<10}{'start MiB':>10}"
        for step in steps:
            columns += f"{f'KiB/strm@{step}':>16}"
        columns += f"{'ratio':>8}{'open s':>8}{'end vs start':>14}{'leak/strm':>11}{'errors':>8}"
        header(f"d) idle GET {path} streams: server RSS", columns)
        ceiling_runs = rows[scenario].get("ceiling", [])
        last = steps[-1]

        def per_stream(run: dict[str, Any], step: int) -> float:
            return float(run[f"rss_{step}_kib"] - run["rss_start_kib"]) / step

        ceiling = _median([per_stream(r, last) for r in ceiling_runs])
        for name in SERVER_ORDER:
            runs = rows[scenario].get(name)
            if not runs:
                continue
            line = f"{name:<10}{_median([r['rss_start_kib'] / 1024 for r in runs]):>10.1f}"
            for step in steps:
                line += f"{_median([per_stream(r, step) for r in runs]):>16.1f}"
            value = _median([per_stream(r, last) for r in runs])
            end = _median([(r["rss_end_kib"] / r["rss_start_kib"] - 1) * 100 for r in runs])
            errors = sum(r["errors"] + r.get("tracebacks", 0) for r in runs)
            opened = min(r[f"open_{last}"] for r in runs)
            if opened < last:
                errors += last - opened
            leak = _median(
                [(r["rss_reopened_kib"] - r["rss_end_kib"]) / r["reopened"] for r in runs]
            )
            line += (
                f"{value / ceiling:>8.2f}{_median([r['open_seconds'] for r in runs]):>8.1f}"
                f"{end:>+13.0f}%{leak:>9.2f}Ki{errors:>8}"
            )
            lines.append(line)
    for scenario, what in (
        ("e", "legacy sessions"),
        ("g", "2026-07-28 subscriptions/listen streams"),
    ):
        if scenario not in rows:
            continue
        header(
            f"{scenario}) fan-out: one notification to {settings.fanout_sessions} {what} "
            f"(median of {settings.rounds}x{settings.fanout_repeats})",
            f"{'server':<10}{'last ms':>10}{'ratio':>8}{'min ms':>9}{'max ms':>9}{'errors':>8}"
            f"{'others':>9}",
        )
        ceiling = _median([t for r in rows[scenario].get("ceiling", []) for t in r["fanout_ms"]])
        for name in SERVER_ORDER:
            runs = rows[scenario].get(name)
            if not runs:
                continue
            times = [t for r in runs for t in r["fanout_ms"]]
            errors = sum(r["errors"] + r.get("tracebacks", 0) for r in runs)
            lines.append(
                f"{name:<10}{_median(times):>10.1f}{_median(times) / ceiling:>8.2f}"
                f"{min(times, default=float('nan')):>9.1f}{max(times, default=float('nan')):>9.1f}"
                f"{errors:>8}"
                f"{_median([r['other_cpu0'] * 100 for r in runs]):>5.0f}/"
                f"{_median([r['other_cpu1'] * 100 for r in runs]):<3.0f}"
            )
    lines.append("")
    lines.append(
        "ratio: to the ceiling in this run (a-c, f: higher is better; d, e, g: lower). "
        "f/a: f's figure over a's for the same server process (calls/s, per CPU-s: higher is "
        "better; p50, p99: lower). per CPU-s: "
        "the rate divided by the server's CPU share, i.e. per second of server CPU (the fair "
        "figure when something else also ran on CPU 0: then srv CPU is well under 100%). "
        "CPU: share of one core over the window (server on CPU 0, generator on CPU 1); "
        "others: % of CPU 0 / CPU 1 busy with processes not ours (a shared machine). "
        "errors: failed checks + socket errors + server tracebacks. d: 'end vs start' is RSS "
        "after every stream closed and its session ended; 'leak/strm' is RSS growth per "
        "stream over a second open-and-close cycle of the first step's count."
    )
    return "\n".join(lines)


# ---------------------------------------------------------------- profile


def profile(name: str, settings: Settings, python: Path, wrk: str, log_dir: Path) -> None:
    """Scenario a against ``name`` under py-spy; print the top functions by self and total."""
    py_spy = py_spy_path()
    spec = next(spec for spec in _specs() if spec.name == name)
    server = RunningServer(spec, python, log_dir, "profile")
    raw = log_dir / f"{name}-a.folded"
    svg = log_dir / f"{name}-a.svg"
    try:
        session_id = open_session(server.port)
        run_wrk(wrk, server, "call.lua", 1, 1, [session_id, ECHO_TEXT])
        seconds = max(3, int(settings.call_seconds))
        recorders = [
            subprocess.Popen(
                _generator(
                    [
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
                        form,
                        "-o",
                        str(path),
                    ]
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for form, path in (("raw", raw),)
        ]
        result = run_wrk(wrk, server, "call.lua", 1, seconds, [session_id, ECHO_TEXT])
        for recorder in recorders:
            recorder.wait()
        subprocess.run(
            [
                *_generator([str(py_spy), "record", "--pid", str(server.pid), "--duration", "3"]),
                "--nonblocking",
                "-o",
                str(svg),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    finally:
        server.stop()
    rate = result["ok"] / (result["duration_us"] / 1e6)
    print(
        f"{name}, scenario a under py-spy: {rate:.0f} calls/s, "
        f"server CPU {result['server_cpu']:.0%}"
    )
    print(summarise_folded(raw.read_text()))
    print(f"\nflame graph: {svg}\ncollapsed stacks: {raw}")


_FRAME: Final = re.compile(r"^(?P<function>.*?) \((?P<file>[^)]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['function']} ({path})"


def summarise_folded(text: str, top: int = 25) -> str:
    """Self and inclusive sample shares per function, and per package, of collapsed stacks."""
    self_samples: dict[str, int] = defaultdict(int)
    total_samples: dict[str, int] = defaultdict(int)
    package_samples: dict[str, int] = defaultdict(int)
    all_samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        all_samples += count
        self_samples[frames[-1]] += count
        for frame in set(frames):
            total_samples[frame] += count
        leaf = frames[-1]
        package = leaf.rpartition("(")[2].split("/")[0].rstrip(")")
        package_samples[package] += count
    lines = [f"{all_samples} samples", "", "self %  function (leaf frames: where the CPU is)"]
    for frame, count in sorted(self_samples.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * count / all_samples:6.1f}  {frame}")
    lines += ["", "total %  function (inclusive)"]
    for frame, count in sorted(total_samples.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * count / all_samples:6.1f}  {frame}")
    lines += ["", "self %  by package of the leaf frame"]
    for package, count in sorted(package_samples.items(), key=lambda item: -item[1])[:12]:
        lines.append(f"{100 * count / all_samples:6.1f}  {package}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round, short durations")
    parser.add_argument(
        "--scenarios",
        default="a,b,c,d,e,f,g",
        help="comma-separated subset of a,b,c,d,e,f,g",
    )
    parser.add_argument(
        "--servers",
        default=",".join(DEFAULT_SERVERS),
        help="comma-separated subset of " + ",".join(SERVER_ORDER),
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="ssemcp",
        metavar="SERVER",
        help="instead: profile SERVER (default ssemcp) on scenario a under py-spy",
    )
    options = parser.parse_args()
    settings = QUICK if options.quick else FULL
    scenarios = set(options.scenarios.split(","))
    wanted = set(options.servers.split(",")) | {"ceiling"}
    specs = [spec for spec in _specs() if spec.name in wanted]

    if os.cpu_count() is None or (os.cpu_count() or 0) < 2:
        raise SystemExit("bench/run.py needs 2 CPUs: server on CPU 0, generator on CPU 1")
    os.sched_setaffinity(0, {int(GENERATOR_CPU)})
    raise_fd_limit()
    python = peer_python()
    if python != PROJECT_PYTHON:
        raise SystemExit(f"ssemcp runs from {PROJECT_PYTHON}: run ./scripts/test once first")
    wrk = wrk_path()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = Path(tempfile.gettempdir()) / f"ssemcp-bench-{stamp}"
    log_dir.mkdir()
    if options.profile:
        profile(options.profile, settings, python, wrk, log_dir)
        return

    results = Results()
    began = time.monotonic()
    for round_index in range(settings.rounds):
        # Interleaved: each round visits every server, starting one further along.
        order = specs[round_index % len(specs) :] + specs[: round_index % len(specs)]
        for spec in order:
            label = f"r{round_index + 1}-{spec.name}"
            print(
                f"[{time.monotonic() - began:5.0f}s] round {round_index + 1}: {spec.name}",
                flush=True,
            )
            if any(spec.serves(scenario) for scenario in scenarios & {"a", "b", "c", "f"}):
                for scenario, result in throughput_round(
                    spec, settings, python, wrk, log_dir, label, scenarios, round_index
                ).items():
                    results.add(scenario, spec.name, result)
            if "d" in scenarios and round_index < settings.idle_rounds:
                for scenario, result in idle_round(spec, settings, python, log_dir, label).items():
                    results.add(scenario, spec.name, result)
            if "e" in scenarios and spec.legacy:
                results.add("e", spec.name, fanout_round(spec, settings, python, log_dir, label))
            if "g" in scenarios and spec.modern:
                results.add("g", spec.name, listen_round(spec, settings, python, log_dir, label))
    elapsed = time.monotonic() - began
    raw_path = log_dir / "results.json"
    raw_path.write_text(json.dumps(results.rows, indent=1, default=dict))
    revision = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"\nssemcp bench, {stamp}, ssemcp {revision}, {'--quick' if options.quick else 'full'}, "
        f"{elapsed:.0f} s; server on CPU {SERVER_CPU}, generator on CPU {GENERATOR_CPU}; "
        f"sdk = mcp 2.3.0 (its legacy rows: sse_app)"
    )
    print(report(results, settings))
    print(f"raw results and server logs: {log_dir}")


if __name__ == "__main__":
    main()
