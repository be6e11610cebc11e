"""The ``ssemcp bridge`` command: its usage errors, and a whole bridge process as a user runs
it (token required, token kept from the child, stderr logged per session, children ended on
SIGTERM).

Owns the command line; what a bridge does for its clients is the other bridge tests'.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from bridge_support import bridge_process, is_reaped
from click.testing import CliRunner
from live_server import INITIALIZE, wait_until

from ssemcp.cli import main

MCP_HEADERS = {"accept": "application/json, text/event-stream"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--", "no-such-command-for-ssemcp"], "cannot run 'no-such-command-for-ssemcp'"),
        ([], "Missing argument '-- CMD [ARGS]...'"),
        (["--stateless", "--", "true"], "No such option '--stateless'"),
        (["--host", "0.0.0.0", "--", "true"], "refusing to listen on '0.0.0.0' without a token"),
        (["--max-children", "0", "--", "true"], "--max-children"),
        (["--child-timeout", "0", "--", "true"], "--child-timeout"),
    ],
    ids=["unknown-command", "no-command", "stateless", "exposed", "max-children", "timeout"],
)
def test_bad_command_lines_are_usage_errors(arguments: list[str], message: str) -> None:
    environment = {name: value for name, value in os.environ.items() if name != "SSEMCP_TOKEN"}
    result = CliRunner(env=environment).invoke(main, ["bridge", *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_help_names_the_bridge_options() -> None:
    result = CliRunner().invoke(main, ["bridge", "--help"])
    assert result.exit_code == 0
    for option in (
        "--shared",
        "--max-children",
        "--child-timeout",
        "--token",
        "--allow-host",
        "--max-body-bytes",
        "--auth-issuer",
        "--startup-timeout",
    ):
        assert option in result.output


@pytest.mark.interop
async def test_a_bridge_process_requires_its_token_and_keeps_it_from_the_child(
    tmp_path: Path,
) -> None:
    environ = {**os.environ, "SSEMCP_TOKEN": "bridge-secret", "BRIDGE_TEST_MARKER": "passed"}
    async with (
        bridge_process(log_dir=tmp_path, environ=environ) as bridge,
        httpx.AsyncClient(base_url=bridge.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        refused = await client.post("/mcp", json=INITIALIZE)
        authorized = {"authorization": "Bearer bridge-secret"}
        opened = await client.post("/mcp", json=INITIALIZE, headers=authorized)
        session = {**authorized, "mcp-session-id": opened.headers["mcp-session-id"]}
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "environment", "arguments": {}},
        }
        seen = await client.post("/mcp", json=call, headers=session)
        pid_call = {**call, "id": 3, "params": {"name": "pid", "arguments": {}}}
        answered = await client.post("/mcp", json=pid_call, headers=session)
        pid = int(answered.json()["result"]["content"][0]["text"])
        shout = {
            **call,
            "id": 4,
            "params": {"name": "shout", "arguments": {"text": "to the log"}},
        }
        await client.post("/mcp", json=shout, headers=session)
        session_tag = opened.headers["mcp-session-id"][:6]
        await wait_until(lambda: f"session {session_tag}…: stderr: to the log" in bridge.log())
        exit_code = await bridge.stop()
        await wait_until(lambda: is_reaped(pid))
    assert refused.status_code == 401
    assert opened.status_code == 200
    environment = json.loads(seen.json()["result"]["content"][0]["text"])
    assert environment["SSEMCP_TOKEN"] is None
    assert environment["BRIDGE_TEST_MARKER"] == "passed"
    # uvicorn raises the signal again once its graceful shutdown is done.
    assert exit_code in (0, -signal.SIGTERM), bridge.log()
    assert "bridge-secret" not in bridge.log()
