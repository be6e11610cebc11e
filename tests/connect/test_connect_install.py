"""``ssemcp install claude-desktop|cursor --connect URL``: the entry that starts
``ssemcp connect`` with this Python, and that entry run as the client would run it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from connect_remote import build_server
from live_server import INITIALIZE, live_server

from ssemcp.cli import main

ANSWER_DEADLINE_SECONDS = 20.0


def install(*args: str) -> Result:
    return CliRunner().invoke(main, ["install", *args], catch_exceptions=False)


def servers(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))["mcpServers"]


@pytest.mark.parametrize("client", ["claude-desktop", "cursor"])
def test_connect_entry_runs_ssemcp_connect_with_its_headers_and_env(
    tmp_path: Path, client: str
) -> None:
    path = tmp_path / "config.json"
    result = install(
        client,
        "--config-path",
        str(path),
        "--name",
        "remote",
        "--connect",
        "https://mcp.example.com/mcp",
        "--header",
        "X-Team: infra",
        "--env",
        "SSEMCP_CLIENT_TOKEN=secret",
    )
    assert result.exit_code == 0, result.output
    assert servers(path) == {
        "remote": {
            "command": sys.executable,
            "args": [
                "-m",
                "ssemcp",
                "connect",
                "https://mcp.example.com/mcp",
                "--header",
                "X-Team: infra",
            ],
            "env": {"SSEMCP_CLIENT_TOKEN": "secret"},
        }
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--connect", "ftp://h/mcp"], "--connect must be an http(s) URL"),
        (["--connect", "https://h/mcp", "--url", "https://h/mcp"], "--connect goes alone"),
        (["--connect", "https://h/mcp", "--", "--toolsets", "x"], "--connect goes alone"),
        (["--connect", "https://h/mcp", "--header", "no-colon"], "NAME:VALUE"),
    ],
)
def test_bad_connect_requests_are_refused_and_nothing_is_written(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    path = tmp_path / "config.json"
    result = CliRunner().invoke(
        main, ["install", "claude-desktop", *args, "--config-path", str(path)]
    )
    assert result.exit_code in (1, 2)
    assert expected in result.output
    assert not path.exists()


async def test_the_written_entry_reaches_the_remote_server(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    async with live_server(build_server()) as live:
        result = await asyncio.to_thread(
            install, "claude-desktop", "--config-path", str(path), "--connect", live.mcp_url
        )
        assert result.exit_code == 0, result.output
        entry = servers(path)["ssemcp"]
        process = await asyncio.create_subprocess_exec(
            entry["command"],
            *entry["args"],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
            async with asyncio.timeout(ANSWER_DEADLINE_SECONDS):
                answer = json.loads(await process.stdout.readline())
            process.stdin.close()
            async with asyncio.timeout(ANSWER_DEADLINE_SECONDS):
                assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert answer["result"]["serverInfo"]["name"] == "connect-remote"
