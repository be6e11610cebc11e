"""Scenario a's and f's call pushed through ssemcp's ASGI app in process: no sockets, no uvicorn.

For deterministic comparisons on a noisy machine: the figure that matters is the instructions
one call costs (``valgrind --tool=callgrind``, two runs of different lengths, the difference
over the difference in calls), which other processes on the CPU do not change. The app is
``ssemcp serve``'s (``create_app`` with the same options as ``ssemcp.cli``) around
``bench/servers/ssemcp_echo.py``; the requests are byte for byte what ``bench/wrk/call.lua``
(a) and ``bench/wrk/call_2026_07_28.lua`` (f) send, and every answer is checked as they check
it. What this leaves out is the wire: uvicorn, httptools, the response writer.

    .venv/bin/python bench/inprocess.py --scenario f --calls 2000        # time, check
    .venv/bin/python bench/inprocess.py --instructions                   # a and f under callgrind
    .venv/bin/python bench/inprocess.py --scenario f --profile           # cProfile, top 30
    .venv/bin/python bench/inprocess.py --instructions --served          # the same, with the wire
    .venv/bin/python bench/inprocess.py --instructions --scenarios a --observe-all   # #18's cost

``--observe`` picks what the app observes (``ssemcp.observe``): ``off`` (the default),
``metrics``, ``log`` (the access log at INFO, written to /dev/null) or ``both``;
``--observe-all`` counts a's call under each and prints each one's ratio to ``off``.

``--served`` counts the whole server instead: ``ssemcp serve`` (uvicorn, httptools, the
response writer) under callgrind, sent the same requests over one keep-alive connection, one
at a time, from this process.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import os
import pstats
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Final

BENCH: Final = Path(__file__).resolve().parent
ECHO_TEXT: Final = "ssemcp-bench-echo 0123456789"
MODERN: Final = "2026-07-28"
SESSION_REVISION: Final = "2025-11-25"
_BASE_HEADERS: Final = [
    (b"host", b"127.0.0.1:8101"),
    (b"content-type", b"application/json"),
    (b"accept", b"application/json, text/event-stream"),
]
# The calls a run of --instructions makes, short then long: the difference is per call.
_SHORT_CALLS: Final = 500
_LONG_CALLS: Final = 2500

Message = MutableMapping[str, Any]


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8101),
        "client": ("127.0.0.1", 50000),
        "state": {},
    }


def _call_body(request_id: int, modern: bool) -> bytes:
    """The body wrk sends: call.lua's (a) or call_2026_07_28.lua's (f)."""
    meta = (
        ',"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
        '"io.modelcontextprotocol/clientCapabilities":{}}'
        if modern
        else ""
    )
    return (
        f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call","params":{{"name":"echo",'
        f'"arguments":{{"message":"{ECHO_TEXT}"}}{meta}}}}}'
    ).encode()


# ssemcp serve's flags for each --observe choice (the access log needs INFO to write).
OBSERVE_FLAGS: Final = {
    "off": ("--log-level", "warning", "--no-access-log", "--no-metrics"),
    "metrics": ("--log-level", "warning", "--no-access-log"),
    "log": ("--log-level", "info", "--no-metrics"),
    "both": ("--log-level", "info"),
}


def _observe_settings(observe: str) -> Any:
    from ssemcp.observe import ObserveSettings

    if observe in ("log", "both"):
        # As ssemcp.cli configures it, to a file that swallows every line.
        import logging

        from ssemcp.observe.access_log import AccessLogHandler

        handler = AccessLogHandler(open(os.devnull, "w"))  # noqa: SIM115
        package_logger = logging.getLogger("ssemcp")
        package_logger.addHandler(handler)
        package_logger.setLevel(logging.INFO)
        package_logger.propagate = False
    return {
        "off": None,
        "metrics": ObserveSettings(access_log=False),
        "log": ObserveSettings(metrics=False),
        "both": ObserveSettings(),
    }[observe]


class Driver:
    """One app, and POSTs through it one at a time, each answer checked."""

    def __init__(self, observe: str = "off") -> None:
        sys.path.insert(0, str(BENCH / "servers"))
        from ssemcp_echo import build  # type: ignore[import-not-found]

        from ssemcp.http import create_app

        # As ssemcp.cli's serve builds it (the protocol there bounds bodies, not the app).
        self.app = create_app(
            build(), body_timeout_seconds=None, observe=_observe_settings(observe)
        )
        self._status = 0
        self._body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
        else:
            self._body += message.get("body", b"")

    def _receive_of(self, body: bytes) -> Callable[[], Awaitable[Message]]:
        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        return receive

    async def post(self, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
        self._status = 0
        self._body = b""
        await self.app(_scope(headers), self._receive_of(body), self.send)
        return self._status, self._body


async def _open_session(driver: Driver) -> list[tuple[bytes, bytes]]:
    """Open a session as run.py's open_session does; a's headers for it."""
    initialize = (
        b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":'
        b'"2025-11-25","capabilities":{},"clientInfo":{"name":"ssemcp-bench","version":"1"}}}'
    )
    session_ids: list[bytes] = []
    original = driver.send

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            session_ids.extend(v for k, v in message["headers"] if k.lower() == b"mcp-session-id")
        await original(message)

    driver.send = capture  # type: ignore[method-assign]
    status, _ = await driver.post(list(_BASE_HEADERS), initialize)
    driver.send = original  # type: ignore[method-assign]
    assert status == 200 and session_ids, status
    headers = [
        *_BASE_HEADERS,
        (b"mcp-session-id", session_ids[0]),
        (b"mcp-protocol-version", SESSION_REVISION.encode()),
    ]
    status, _ = await driver.post(
        headers, b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
    )
    assert status == 202, status
    return headers


_NEEDLE: Final = f'"text":"{ECHO_TEXT}"'.encode()


async def run_calls(
    driver: Driver, scenario: str, calls: int, profiler: cProfile.Profile | None = None
) -> float:
    """``calls`` POSTs of scenario ``scenario`` (a or f), each answer checked as wrk does;
    return the seconds they took (a's session set-up and the imports left out)."""
    modern = scenario == "f"
    if modern:
        headers = [
            *_BASE_HEADERS,
            (b"mcp-protocol-version", MODERN.encode()),
            (b"mcp-method", b"tools/call"),
            (b"mcp-name", b"echo"),
        ]
    else:
        headers = await _open_session(driver)
    bodies = [_call_body(request_id, modern) for request_id in range(1, calls + 1)]
    if profiler is not None:
        profiler.enable()
    began = time.perf_counter()
    for body in bodies:
        status, answer = await driver.post(headers, body)
        if (
            status != 200
            or _NEEDLE not in answer
            or b'"error":' in answer
            or b'"isError":true' in answer
            or (modern and b'"resultType":"complete"' not in answer)
        ):
            raise SystemExit(f"{scenario}: bad answer {status} {answer[:300]!r}")
    elapsed = time.perf_counter() - began
    if profiler is not None:
        profiler.disable()
    return elapsed


def _run(
    scenario: str, calls: int, profiler: cProfile.Profile | None = None, observe: str = "off"
) -> float:
    import uvloop

    driver = Driver(observe)
    return uvloop.run(run_calls(driver, scenario, calls, profiler))


def _callgrind_instructions(scenario: str, calls: int, observe: str = "off") -> int:
    """Instructions of one process that serves ``calls`` calls (callgrind's total)."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--scenario",
                scenario,
                "--calls",
                str(calls),
                "--observe",
                observe,
            ],
            check=True,
            capture_output=True,
            # The same hash seed every time: string hashes change dict probing, and with it
            # the count.
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        match = re.search(rb"^(?:summary|totals): (\d+)", out.read_bytes(), re.MULTILINE)
        assert match is not None
        return int(match[1])


def instructions_of_server(
    command: Callable[[int], list[str]], drive: Callable[[int], None], *, cwd: Path, name: str
) -> int:
    """Instructions of the process ``command(port)`` starts, under callgrind, while ``drive``
    sends it calls on ``port`` (callgrind's total, start-up and shutdown included). ``name``
    says what failed to start. Also ``bench/bridge.py --instructions``'."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command(port)],
            cwd=cwd,
            # The same hash seed every time: string hashes change dict probing, and with it
            # the count.
            env={**os.environ, "PYTHONHASHSEED": "0"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(f"{name} did not start under valgrind") from None
                    time.sleep(0.5)
            drive(port)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(120)
        match = re.search(rb"^(?:summary|totals): (\d+)", out.read_bytes(), re.MULTILINE)
        assert match is not None
        return int(match[1])


def _served_instructions(scenario: str, calls: int, observe: str = "off") -> int:
    """Instructions of one ``ssemcp serve`` process that answers ``calls`` calls sent to it
    over one keep-alive connection (callgrind's total, start-up and shutdown included)."""

    def command(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "ssemcp",
            "serve",
            f"{BENCH / 'servers' / 'ssemcp_echo.py'}:server",
            "--port",
            str(port),
            *OBSERVE_FLAGS[observe],
        ]

    return instructions_of_server(
        command,
        lambda port: _served_calls(port, scenario, calls),
        cwd=BENCH.parent,
        name="ssemcp serve",
    )


def _served_calls(port: int, scenario: str, calls: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    base = {name.decode(): value.decode() for name, value in _BASE_HEADERS[1:]}
    modern = scenario == "f"
    if modern:
        headers = {
            **base,
            "MCP-Protocol-Version": MODERN,
            "Mcp-Method": "tools/call",
            "Mcp-Name": "echo",
        }
    else:
        connection.request(
            "POST",
            "/mcp",
            b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":'
            b'"2025-11-25","capabilities":{},"clientInfo":{"name":"ssemcp-bench","version":"1"}}}',
            base,
        )
        response = connection.getresponse()
        response.read()
        session_id = response.getheader("mcp-session-id") or ""
        headers = {
            **base,
            "mcp-session-id": session_id,
            "mcp-protocol-version": SESSION_REVISION,
        }
        connection.request(
            "POST", "/mcp", b'{"jsonrpc":"2.0","method":"notifications/initialized"}', headers
        )
        connection.getresponse().read()
    for request_id in range(1, calls + 1):
        connection.request("POST", "/mcp", _call_body(request_id, modern), headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200 or _NEEDLE not in answer or b'"error":' in answer:
            raise SystemExit(f"{scenario}: bad answer {response.status} {answer[:300]!r}")
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("a", "f"), default="f")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help=f"instructions per call of a and f under callgrind ({_SHORT_CALLS} and "
        f"{_LONG_CALLS} calls, difference)",
    )
    parser.add_argument(
        "--scenarios", default="a,f", help="with --instructions: a, f or a,f (the default)"
    )
    parser.add_argument(
        "--served",
        action="store_true",
        help="with --instructions: count ssemcp serve (300 and 1 300 calls over a socket)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the calls")
    parser.add_argument(
        "--observe",
        choices=tuple(OBSERVE_FLAGS),
        default="off",
        help="what the app observes: nothing, metrics, the access log, or both",
    )
    parser.add_argument(
        "--observe-all",
        action="store_true",
        help="with --instructions: each --observe choice in turn, and its ratio to off",
    )
    options = parser.parse_args()
    if options.instructions and options.observe_all:
        count_observed = _served_instructions if options.served else _callgrind_instructions
        short_calls, long_calls = (300, 1300) if options.served else (_SHORT_CALLS, _LONG_CALLS)
        for scenario in options.scenarios.split(","):
            baseline = 0.0
            for observe in OBSERVE_FLAGS:
                short = count_observed(scenario, short_calls, observe)
                long = count_observed(scenario, long_calls, observe)
                instructions = (long - short) / (long_calls - short_calls)
                baseline = baseline or instructions
                print(
                    f"{scenario} observe={observe}: {instructions:,.0f} instructions per call, "
                    f"{instructions / baseline:.3f} of off",
                    flush=True,
                )
        return
    if options.instructions:
        per_call: dict[str, float] = {}
        count = _served_instructions if options.served else _callgrind_instructions
        short_calls, long_calls = (300, 1300) if options.served else (_SHORT_CALLS, _LONG_CALLS)
        for scenario in options.scenarios.split(","):
            short = count(scenario, short_calls, options.observe)
            long = count(scenario, long_calls, options.observe)
            per_call[scenario] = (long - short) / (long_calls - short_calls)
            print(f"{scenario}: {per_call[scenario]:,.0f} instructions per call", flush=True)
        if len(per_call) == 2:
            difference = per_call["f"] - per_call["a"]
            print(f"f - a: {difference:+,.0f}; f/a: {per_call['f'] / per_call['a']:.3f}")
        return
    if options.profile:
        profiler = cProfile.Profile()
        _run(options.scenario, options.calls, profiler, options.observe)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    elapsed = _run(options.scenario, options.calls, observe=options.observe)
    print(
        f"{options.scenario}: {options.calls} calls, {elapsed / options.calls * 1e6:.1f} µs a call"
    )


if __name__ == "__main__":
    main()
