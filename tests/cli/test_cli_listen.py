"""``ssemcp serve`` start-up: "serving" comes only once the sockets listen, and names every
endpoint; an address that cannot be listened on is one error line and a non-zero exit.

Each test runs the real command in a subprocess (``serve_subprocess`` when it must start),
since what is checked is the process's: its stderr and its exit status.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from live_server import HOST, serve_subprocess, wait_until

EXIT_DEADLINE_SECONDS = 30.0
SERVE = (sys.executable, "-m", "ssemcp", "serve", "--toolsets", "utilities")


def write_app(directory: Path) -> str:
    app = directory / "listen_app.py"
    app.write_text("from ssemcp import Server\nserver = Server('listen-test')\n")
    return f"{app}:server"


def test_port_in_use_is_one_error_line_and_a_nonzero_exit_with_nothing_served() -> None:
    with socket.socket() as occupant:
        occupant.bind((HOST, 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        completed = subprocess.run(
            [*SERVE, "--host", HOST, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=EXIT_DEADLINE_SECONDS,
            check=False,
        )
    assert completed.returncode != 0
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert f"cannot listen on {HOST}:{port}: address already in use" in lines[0]
    assert "--port" in lines[0]
    assert completed.stdout == ""


def test_unknown_host_is_one_error_line_and_a_nonzero_exit() -> None:
    completed = subprocess.run(
        [*SERVE, "--host", "no-such-host.invalid", "--insecure-no-auth", "--allow-host", "x"],
        capture_output=True,
        text=True,
        timeout=EXIT_DEADLINE_SECONDS,
        check=False,
    )
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, completed.stderr
    assert "cannot listen on no-such-host.invalid:8000" in errors[0]
    assert "serving" not in completed.stderr


async def test_serving_line_names_every_endpoint_at_the_bound_port(tmp_path: Path) -> None:
    async with serve_subprocess(write_app(tmp_path), log_dir=tmp_path) as running:
        expected = [
            f"Streamable HTTP on {running.url}/mcp",
            f"HTTP+SSE (2024-11-05) on {running.url}/sse",
            f"health on {running.url}/healthz",
        ]

        def announced() -> bool:
            return any(line for line in running.log().splitlines() if "serving" in line)

        await wait_until(announced, message="no serving line in the log")
        (line,) = [line for line in running.log().splitlines() if "serving" in line]
        for endpoint in expected:
            assert endpoint in line
