"""The official TypeScript clients run whole sessions against three replicas behind nginx
round-robin: ``@modelcontextprotocol/client`` 2.4.0 over MCP 2026-07-28, and
``@modelcontextprotocol/sdk`` 1.32.2 over a 2025-11-25 Streamable HTTP session and the
2024-11-05 legacy SSE transport (tests/interop/node pins both; ``scaleout_client.mjs`` drives
them: whoami six times, progress, sampling, and in a session a resource subscription told of
changes made on every replica).

Owns the judgement of the one JSON record the script prints; its shape is the script's.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

import pytest
from scaleout_harness import TOKEN, Cluster

pytestmark = pytest.mark.interop

NODE_DIRECTORY: Final = Path(__file__).parents[1] / "interop" / "node"
CLIENT_SCRIPT: Final = Path(__file__).with_name("scaleout_client.mjs")
SCENARIO_TIMEOUT_SECONDS: Final = 60.0
WATCHED: Final = "scaleout://watched"

Record = dict[str, Any]


def run_client(replicas: Cluster, mode: str) -> Record:
    """``scaleout_client.mjs MODE`` against the cluster; its record, once it says ``ok``."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIRECTORY / "node_modules" / "@modelcontextprotocol" / "client").is_dir():
        pytest.fail(f"{NODE_DIRECTORY}/node_modules is missing: run ./scripts/test first")
    # --eval resolves bare imports from the working directory: tests/interop/node's packages.
    completed = subprocess.run(
        [
            node,
            "--input-type=module",
            "--eval",
            CLIENT_SCRIPT.read_text(encoding="utf-8"),
            "--",
            mode,
            replicas.url,
            TOKEN,
        ],
        cwd=NODE_DIRECTORY,
        capture_output=True,
        timeout=SCENARIO_TIMEOUT_SECONDS,
        check=False,
    )
    stdout = completed.stdout.decode(errors="replace")
    stderr = completed.stderr.decode(errors="replace")
    lines = stdout.splitlines()
    assert completed.returncode == 0 and len(lines) == 1, (
        f"node exited {completed.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    )
    record: Record = json.loads(lines[0])
    assert record["ok"] is True, record
    return record


def is_late_progress(error: str) -> bool:
    """SDK 1.32.2 reports progress read in the same chunk as its response through onerror
    (typescript-sdk issue #2580; seen over legacy SSE, where both arrive on one stream)."""
    return error.startswith("Error: Received a progress notification for an unknown token")


def check_session(record: Record, replicas: Cluster, *, legacy: bool = False) -> None:
    """What every mode must show: six whoami calls, never the same replica twice in a row
    and all three used (over legacy SSE, the POSTs alternate and the stream's holder runs
    every call); progress in order; sampling answered; every replica in nginx's record of
    the exchanges; and no 4xx or 5xx anywhere."""
    pids = {f"pid={replica.pid}" for replica in replicas.replicas}
    served = record["whoami"]
    if legacy:
        assert len(set(served)) == 1 and set(served) <= pids, served
        posts = [r["servedBy"] for r in record["httpRequests"] if r["rpcMethod"] == "tools/call"]
        served = posts[: len(served)]
        pids = {replica.address for replica in replicas.replicas}
    assert set(served) == pids, served
    assert all(first != second for first, second in itertools.pairwise(served))
    assert record["count"].endswith("counted 3")
    expected = [(1, 3), (2, 3), (3, 3)]
    delivered = [(p["progress"], p["total"]) for p in record["progress"]]
    late = [error for error in record["clientErrors"] if is_late_progress(error)]
    if legacy:
        assert delivered == expected[: len(delivered)]
        assert len(late) == len(expected) - len(delivered)
    else:
        assert delivered == expected
    assert record["askModel"].endswith(": ts-fake-model: Paris")
    [asked] = record["samplingRequests"]
    assert asked["messages"][0]["content"]["text"] == "Capital of France?"
    addresses = {request["servedBy"] for request in record["httpRequests"]}
    assert addresses == {replica.address for replica in replicas.replicas}
    assert all(request["status"] < 400 for request in record["httpRequests"]), record
    assert [error for error in record["clientErrors"] if not is_late_progress(error)] == []


def test_typescript_v2_client_2026_07_28_alternates_replicas(replicas: Cluster) -> None:
    record = run_client(replicas, "modern")
    assert record["protocolVersion"] == "2026-07-28"
    assert record["sessionId"] is None
    check_session(record, replicas)


def test_typescript_sdk_streamable_http_session_alternates_replicas(replicas: Cluster) -> None:
    record = run_client(replicas, "streamable")
    assert record["sessionId"]
    check_session(record, replicas)
    assert record["updates"] == [{"uri": WATCHED}] * len(record["touchedBy"])


def test_typescript_sdk_legacy_sse_session_alternates_replicas(replicas: Cluster) -> None:
    record = run_client(replicas, "sse")
    check_session(record, replicas, legacy=True)
    assert record["updates"] == [{"uri": WATCHED}] * len(record["touchedBy"])
