"""``ssemcp stdio`` with stdin or stdout that is not a pipe: /dev/null and regular files.

What ``docker run`` without ``-i``, ``nohup`` and systemd hand a process is /dev/null on
stdin; shell redirections hand it regular files. epoll refuses both, so the process must read
and write them without the event loop's watchers. Each test runs the real command in a
subprocess, since what is checked is the process's: its exit status, its stderr, its files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Starting Python and importing ssemcp takes about a second; a hang fails well before pytest's.
EXIT_DEADLINE_SECONDS = 20.0
BUILTIN_ARGS = ("--toolsets", "utilities")
PING = b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n'


def run_stdio(stdin: object, stdout: object, stderr_path: Path) -> int:
    """Run ``python -m ssemcp stdio`` to its end; its stderr goes to ``stderr_path``."""
    with stderr_path.open("wb") as stderr:
        completed = subprocess.run(
            [sys.executable, "-m", "ssemcp", "stdio", *BUILTIN_ARGS],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            timeout=EXIT_DEADLINE_SECONDS,
            check=False,
        )
    return completed.returncode


def test_stdin_from_dev_null_reads_eof_and_exits_zero_without_a_traceback(
    tmp_path: Path,
) -> None:
    stderr_path = tmp_path / "stderr.log"
    returncode = run_stdio(subprocess.DEVNULL, subprocess.PIPE, stderr_path)
    stderr = stderr_path.read_text(errors="replace")
    assert returncode == 0, stderr
    assert "Traceback" not in stderr


def test_stdin_and_stdout_as_regular_files_serve_every_line_and_exit_zero(
    tmp_path: Path,
) -> None:
    requests_path = tmp_path / "requests.jsonl"
    requests_path.write_bytes(PING + PING.replace(b'"id":1', b'"id":2'))
    responses_path = tmp_path / "out.txt"
    stderr_path = tmp_path / "stderr.log"
    with requests_path.open("rb") as stdin, responses_path.open("wb") as stdout:
        returncode = run_stdio(stdin, stdout, stderr_path)
    stderr = stderr_path.read_text(errors="replace")
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    responses = [json.loads(line) for line in responses_path.read_bytes().splitlines()]
    assert sorted(response["id"] for response in responses) == [1, 2]
    assert all(response["result"] == {} for response in responses)


def test_stdout_to_dev_null_still_exits_zero_when_stdin_closes(tmp_path: Path) -> None:
    stderr_path = tmp_path / "stderr.log"
    requests_path = tmp_path / "requests.jsonl"
    requests_path.write_bytes(PING)
    with requests_path.open("rb") as stdin:
        returncode = run_stdio(stdin, subprocess.DEVNULL, stderr_path)
    stderr = stderr_path.read_text(errors="replace")
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
