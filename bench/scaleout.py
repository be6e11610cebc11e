"""Scale-out benchmark (issue #17): scenarios a, c and e through nginx round-robin to 1, 2 and
3 ssemcp replicas on Redis, next to one replica in memory behind the same nginx.

``python bench/scaleout.py`` (3 interleaved rounds, median) or ``--quick`` (1 round, 3 s
windows). Every deployment is docs/deploy/compose.yaml's replicas and
docs/deploy/nginx-replicas.conf, rendered for loopback by the scale-out tests' harness
(tests/scaleout/scaleout_harness.py), serving bench/servers/ssemcp_echo.py; the in-memory
reference is the same command without ``--state``. Nothing runs with a token (the compose
file's SSEMCP_TOKEN is left out, for every deployment alike): authentication is not what is
measured. Everything on the server side (the replicas, nginx, redis-server) is pinned to
CPU 0, the load generator (wrk, ``bench/loadgen.py``) and this script to CPU 1, as in
bench/run.py; the server CPU shown is the sum of all of those processes. With two cores
this measures what Redis and the extra hops cost, not how far more replicas carry: they share
one core.

Figures are printed with their ratio to the in-memory single replica measured in the same
run. Targets: one replica on Redis >= 0.6x of one in memory (a and c, calls/s); e to 1 000
sessions over 3 replicas <= 2x the in-memory single replica's time.

For e, loadgen also reads each server-side process's CPU time and context switches around
every fan-out (``--watch``, from /proc/PID/task/*/schedstat and status), and the time to the
first session's update (what the trigger's hops cost before any stream is written). From
those a second table prints a MODEL next to the measured time: the busiest replica's CPU plus
nginx's plus redis-server's per fan-out, what it would take if each process had a core of its
own and nothing overlapped. It never replaces the measured time. ``--rounds``,
``--fanout-repeats`` and ``--fanout-sessions`` change the settings for A/B runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

BENCH: Final = Path(__file__).resolve().parent
REPO: Final = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "tests" / "support"), str(REPO / "tests" / "scaleout")]

import run as bench_run  # noqa: E402  (bench/run.py: wrk, loadgen, CPU accounting)
from redis_server import redis_server  # noqa: E402
from scaleout_harness import (  # noqa: E402
    nginx_binary,
    replicas_behind_nginx,
)

ECHO_TARGET: Final = f"{BENCH / 'servers' / 'ssemcp_echo.py'}:server"
SERVER_CPU: Final = {0}
GENERATOR_CPU: Final = {1}
# e's 1 000 legacy streams pass through nginx: two connections each, plus headroom.
NGINX_WORKER_CONNECTIONS: Final = 4096
# nginx closes a client's keep-alive connection after 1 000 requests by default; loadgen's
# sessions keep one connection for all their POSTs and do not reconnect.
NGINX_KEEPALIVE_REQUESTS: Final = 10_000_000


@dataclass(frozen=True)
class Deployment:
    """How many replicas, and whether their state is on Redis."""

    name: str
    replicas: int
    on_redis: bool


DEPLOYMENTS: Final = (
    Deployment("memory-1", 1, on_redis=False),
    Deployment("redis-1", 1, on_redis=True),
    Deployment("redis-2", 2, on_redis=True),
    Deployment("redis-3", 3, on_redis=True),
)
REFERENCE: Final = "memory-1"


@dataclass
class Target:
    """What bench/run.py's wrk and loadgen runners need: the port to load (nginx's) and a
    pid (unused here: the CPU of every server-side process is summed around each run)."""

    port: int
    pid: int


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(child) for child in text.split()]
    return []


def _pin(pids: list[int]) -> None:
    for pid in pids:
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task), SERVER_CPU)


@dataclass
class Running:
    target: Target
    pids: list[int]
    log_dir: Path
    # Each server-side process by role (replica-1.., nginx: master and worker, redis), for
    # loadgen's per-fan-out CPU and context switches (``--watch``).
    roles: dict[str, list[int]]

    def watch_argument(self) -> str:
        return ",".join(f"{role}={'+'.join(map(str, pids))}" for role, pids in self.roles.items())

    def cpu_seconds(self) -> float:
        return sum(bench_run.cpu_seconds(pid) for pid in self.pids)

    def tracebacks(self) -> int:
        return sum(
            path.read_bytes().count(b"Traceback") for path in self.log_dir.glob("replica-*.log")
        )


@contextlib.contextmanager
def deployed(
    deployment: Deployment, redis_url: str, redis_pid: int, log_dir: Path
) -> Iterator[Running]:
    with replicas_behind_nginx(
        log_dir,
        redis_url,
        ECHO_TARGET,
        count=deployment.replicas,
        in_memory=not deployment.on_redis,
        with_token=False,
        worker_connections=NGINX_WORKER_CONNECTIONS,
        keepalive_requests=NGINX_KEEPALIVE_REQUESTS,
        command_prefix=("taskset", "-c", "0"),
        extra_arguments=("--log-level", "warning"),
    ) as (replicas, proxy):
        nginx_pids = [proxy.process.pid, *_children(proxy.process.pid)]
        pids = [replica.pid for replica in replicas] + nginx_pids
        roles = {f"replica-{index}": [replica.pid] for index, replica in enumerate(replicas, 1)}
        roles["nginx"] = nginx_pids
        if deployment.on_redis:
            pids.append(redis_pid)
            roles["redis"] = [redis_pid]
        _pin(pids)
        port = int(proxy.url.rpartition(":")[2])
        yield Running(Target(port, replicas[0].pid), pids, log_dir, roles)


def _measured(running: Running, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``run()``'s result, with the server CPU share of every server-side process, and CPU
    0's share busy with anything else (bench/run.py counts one server process there)."""
    before = running.cpu_seconds()
    busy_before = bench_run.busy_seconds()[0]
    began = time.monotonic()
    result = run()
    wall = time.monotonic() - began
    server_cpu = running.cpu_seconds() - before
    result["server_cpu"] = server_cpu / wall
    result["other_cpu0"] = max(0.0, bench_run.busy_seconds()[0] - busy_before - server_cpu) / wall
    return result


def one_round(
    deployment: Deployment,
    settings: bench_run.Settings,
    scenarios: set[str],
    wrk: str,
    redis_url: str,
    redis_pid: int,
    log_dir: Path,
    failures: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """The scenarios against one fresh deployment; a scenario that fails is noted in
    ``failures`` (under "deployment/scenario") and the others still run."""
    out: dict[str, dict[str, Any]] = {}
    python = bench_run.PROJECT_PYTHON

    @contextlib.contextmanager
    def noting_failure(scenario: str) -> Iterator[None]:
        try:
            yield
        except (RuntimeError, AssertionError, KeyError) as error:
            reason = f"{type(error).__name__}: {str(error)[-300:]}"
            failures[f"{deployment.name}/{scenario}"] = reason

    with deployed(deployment, redis_url, redis_pid, log_dir) as running:
        target: Any = running.target
        if "a" in scenarios:
            with noting_failure("a"):
                session_id = bench_run.open_session(target.port)
                arguments = [session_id, bench_run.ECHO_TEXT]
                warmup = settings.warmup_seconds
                bench_run.run_wrk(wrk, target, "call.lua", 1, warmup, arguments)
                result = _measured(
                    running,
                    lambda: bench_run.run_wrk(
                        wrk, target, "call.lua", 1, settings.call_seconds, arguments
                    ),
                )
                result["rate"] = result["ok"] / (result["duration_us"] / 1e6)
                out["a"] = result
        if "c" in scenarios:
            legacy = [
                "legacy",
                "--sessions",
                str(bench_run.CONNECTIONS),
                "--duration",
                f"{settings.call_seconds:g}",
                "--warmup",
                f"{settings.warmup_seconds:g}",
            ]
            with noting_failure("c"):
                result = _measured(running, lambda: bench_run.run_loadgen(python, target, legacy))
                result["rate"] = result["ok"] / (result["duration_us"] / 1e6)
                out["c"] = result
        if "e" in scenarios:
            fanout = [
                "fanout",
                "--sessions",
                str(settings.fanout_sessions),
                "--repeats",
                str(settings.fanout_repeats),
                "--watch",
                running.watch_argument(),
            ]
            with noting_failure("e"):
                out["e"] = _measured(running, lambda: bench_run.run_loadgen(python, target, fanout))
        tracebacks = running.tracebacks()
    for result in out.values():
        result["tracebacks"] = tracebacks
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _per_fanout(run: dict[str, Any]) -> list[dict[str, float]]:
    """Each fan-out of one run: CPU ms of the slowest replica, of all replicas, of nginx, of
    redis, of them all; and their context switches."""
    cpu = run.get("fanout_cpu_us", {})
    switches = run.get("fanout_switches", {})
    replicas = [role for role in cpu if role.startswith("replica-")]
    out: list[dict[str, float]] = []
    for index in range(len(cpu.get("nginx", []))):
        replica_ms = [cpu[role][index] / 1e3 for role in replicas]
        nginx_ms = cpu["nginx"][index] / 1e3
        redis_ms = cpu["redis"][index] / 1e3 if "redis" in cpu else 0.0
        out.append(
            {
                "slowest": max(replica_ms),
                "replicas": sum(replica_ms),
                "nginx": nginx_ms,
                "redis": redis_ms,
                "total": sum(replica_ms) + nginx_ms + redis_ms,
                "switches": sum(values[index] for values in switches.values()),
                "cores": max(replica_ms) + nginx_ms + redis_ms,
            }
        )
    return out


def _fanout_report(
    rows: dict[str, list[dict[str, Any]]], settings: bench_run.Settings
) -> list[str]:
    columns = f"{'deployment':<11}{'last ms':>10}{'ratio':>8}{'min ms':>9}{'max ms':>9}"
    columns += f"{'first ms':>10}{'errors':>8}{'others':>9}"
    cpu_columns = (
        f"{'deployment':<11}{'slowest':>9}{'replicas':>10}{'nginx':>8}{'redis':>8}"
        f"{'total':>8}{'switches':>10}{'cores ms':>10}{'ratio':>8}"
    )
    lines = [
        "",
        f"e) fan-out: one notification to {settings.fanout_sessions} legacy sessions, "
        f"through nginx (median of {settings.rounds}x{settings.fanout_repeats})",
        columns,
        "-" * len(columns),
    ]
    reference = _median([t for r in rows.get(REFERENCE, []) for t in r["fanout_ms"]])
    for deployment in DEPLOYMENTS:
        runs = rows.get(deployment.name)
        if not runs:
            continue
        times = [t for r in runs for t in r["fanout_ms"]]
        errors = sum(r["errors"] + r.get("tracebacks", 0) for r in runs)
        lines.append(
            f"{deployment.name:<11}{_median(times):>10.1f}{_median(times) / reference:>8.2f}"
            f"{min(times, default=float('nan')):>9.1f}"
            f"{max(times, default=float('nan')):>9.1f}"
            f"{_median([t for r in runs for t in r.get('fanout_first_ms', [])]):>10.1f}"
            f"{errors:>8}"
            f"{_median([r['other_cpu0'] * 100 for r in runs]):>5.0f}/"
            f"{_median([r['other_cpu1'] * 100 for r in runs]):<3.0f}"
        )
    lines += [
        "",
        "e) CPU ms per fan-out, by process (median), and the separate-cores model",
        cpu_columns,
        "-" * len(cpu_columns),
    ]
    reference_cores = _median([f["cores"] for r in rows.get(REFERENCE, []) for f in _per_fanout(r)])
    for deployment in DEPLOYMENTS:
        fanouts = [f for r in rows.get(deployment.name, []) for f in _per_fanout(r)]
        if not fanouts:
            continue

        def median_of(key: str, fanouts: list[dict[str, float]] = fanouts) -> float:
            return _median([f[key] for f in fanouts])

        lines.append(
            f"{deployment.name:<11}{median_of('slowest'):>9.1f}{median_of('replicas'):>10.1f}"
            f"{median_of('nginx'):>8.1f}{median_of('redis'):>8.1f}{median_of('total'):>8.1f}"
            f"{median_of('switches'):>10.0f}{median_of('cores'):>10.1f}"
            f"{median_of('cores') / reference_cores:>8.2f}"
        )
    lines.append(
        "\nfirst ms: to the first session's update as the client reads it (the hops before "
        "any stream is written, then nginx's relay). "
        "CPU per fan-out: each process's time on a CPU (all its threads, "
        "/proc/PID/task/*/schedstat) from before the trigger's POST to 0.2 s after the last "
        "update; slowest: the busiest replica's. switches: context switches of all of them. "
        "cores ms: a MODEL, not a measurement: the slowest replica's CPU + nginx's + redis's, "
        "what a fan-out would take if each process had a core of its own and nothing "
        "overlapped; its ratio is to memory-1's (replica + nginx). The measured figure is "
        "'last ms' above."
    )
    return lines


def report(
    rows: dict[str, dict[str, list[dict[str, Any]]]],
    failures: dict[str, str],
    settings: bench_run.Settings,
) -> str:
    lines: list[str] = []
    names = {
        "a": "a) tools/call, 1 session, 32 conns, through nginx",
        "c": "c) legacy HTTP+SSE, 32 sessions, through nginx",
    }
    for scenario in ("a", "c"):
        if scenario not in rows:
            continue
        columns = (
            f"{'deployment':<11}{'calls/s':>10}{'ratio':>8}{'per CPU-s':>10}{'ratio':>7}"
            f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}{'srv CPU':>8}{'others':>9}"
        )
        lines += ["", f"{names[scenario]} (median of {settings.rounds})", columns]
        lines.append("-" * len(columns))
        reference_runs = rows[scenario].get(REFERENCE, [])
        reference = _median([r["rate"] for r in reference_runs])
        reference_efficiency = _median([r["rate"] / r["server_cpu"] for r in reference_runs])
        for deployment in DEPLOYMENTS:
            runs = rows[scenario].get(deployment.name)
            if not runs:
                continue
            rate = _median([r["rate"] for r in runs])
            efficiency = _median([r["rate"] / r["server_cpu"] for r in runs])
            errors = sum(
                r["errors"] + r.get("socket_errors", 0) + r.get("tracebacks", 0) for r in runs
            )
            lines.append(
                f"{deployment.name:<11}{rate:>10.0f}{rate / reference:>8.2f}{efficiency:>10.0f}"
                f"{efficiency / reference_efficiency:>7.2f}"
                f"{_median([r['p50_us'] / 1e3 for r in runs]):>9.2f}"
                f"{_median([r['p99_us'] / 1e3 for r in runs]):>9.2f}{errors:>7}"
                f"{_median([r['server_cpu'] * 100 for r in runs]):>7.0f}%"
                f"{_median([r['other_cpu0'] * 100 for r in runs]):>5.0f}/"
                f"{_median([r['other_cpu1'] * 100 for r in runs]):<3.0f}"
            )
    if "e" in rows:
        lines += _fanout_report(rows["e"], settings)
    for name, reason in failures.items():
        lines.append(f"\n{name}: not measured: {reason}")
    lines.append(
        "\nratio: to memory-1 (one replica, state in memory, behind the same nginx) in this "
        "run; a, c higher is better, e lower. per CPU-s: calls per second of server-side CPU "
        "(replicas + nginx + redis-server, all on CPU 0). srv CPU: their summed share of CPU 0 "
        "over the whole run of the generator (set-up included for c). others: % of CPU 0 / "
        "CPU 1 busy with processes not ours. Targets: redis-1 >= 0.60 (a, c); e redis-3 <= 2.00."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 3 s windows")
    parser.add_argument("--scenarios", default="a,c,e", help="comma-separated subset of a,c,e")
    parser.add_argument("--rounds", type=int, help="rounds instead of the settings' (3 or 1)")
    parser.add_argument(
        "--fanout-repeats", type=int, help="fan-outs per round in e instead of the settings'"
    )
    parser.add_argument(
        "--fanout-sessions", type=int, help="sessions e fans out to instead of 1 000"
    )
    parser.add_argument(
        "--deployments",
        default=",".join(deployment.name for deployment in DEPLOYMENTS),
        help="comma-separated subset (memory-1, the reference, always runs)",
    )
    options = parser.parse_args()
    settings = bench_run.QUICK if options.quick else bench_run.FULL
    if options.rounds:
        settings = dataclasses.replace(settings, rounds=options.rounds)
    if options.fanout_repeats:
        settings = dataclasses.replace(settings, fanout_repeats=options.fanout_repeats)
    if options.fanout_sessions:
        settings = dataclasses.replace(settings, fanout_sessions=options.fanout_sessions)
    scenarios = set(options.scenarios.split(","))
    wanted = set(options.deployments.split(",")) | {REFERENCE}
    deployments = [deployment for deployment in DEPLOYMENTS if deployment.name in wanted]
    if (os.cpu_count() or 0) < 2:
        raise SystemExit("bench/scaleout.py needs 2 CPUs: servers on CPU 0, generator on CPU 1")
    os.sched_setaffinity(0, GENERATOR_CPU)
    bench_run.raise_fd_limit()
    wrk = bench_run.wrk_path()
    nginx_binary()
    failures: dict[str, str] = {}
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_root = Path(tempfile.gettempdir()) / f"ssemcp-scaleout-bench-{stamp}"
    rows: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    began = time.monotonic()
    with redis_server() as redis:
        assert redis.pid is not None
        for round_index in range(settings.rounds):
            order = deployments[round_index % len(deployments) :]
            order += deployments[: round_index % len(deployments)]
            for deployment in order:
                print(
                    f"[{time.monotonic() - began:5.0f}s] round {round_index + 1}: "
                    f"{deployment.name}",
                    flush=True,
                )
                log_dir = log_root / f"r{round_index + 1}-{deployment.name}"
                results = one_round(
                    deployment, settings, scenarios, wrk, redis.url, redis.pid, log_dir, failures
                )
                for scenario, result in results.items():
                    rows[scenario][deployment.name].append(result)
    log_root.mkdir(parents=True, exist_ok=True)
    (log_root / "results.json").write_text(json.dumps(rows, indent=1))
    revision = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"\nssemcp scale-out bench, {stamp}, ssemcp {revision}, "
        f"{'--quick' if options.quick else 'full'}, {time.monotonic() - began:.0f} s; "
        f"servers, nginx and redis on CPU 0, generator on CPU 1"
    )
    print(report(rows, failures, settings))
    print(f"raw results and logs: {log_root}")


if __name__ == "__main__":
    main()
