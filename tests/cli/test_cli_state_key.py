"""``--state-key`` / ``SSEMCP_STATE_KEY``: two server processes that share it can each serve
any round of a multi round-trip request (MCP 2026-07-28); without it, each seals with its own
key. Real ``ssemcp stdio`` processes, one request line each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest

SERVER_MODULE: Final = """
from ssemcp import Context, Server

server = Server("state-key-test", "1.0.0")


@server.tool()
async def greet(ctx: Context) -> str:
    '''Ask a name, then greet.'''
    answer = await ctx.elicit(
        "Name?", {"type": "object", "properties": {"name": {"type": "string"}}}, key="who"
    )
    return "hello " + (answer.content or {}).get("name", "?")
"""
META: Final = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
}
KEY: Final = "a-shared-secret-of-some-length"


def one_call(target: str, params: dict[str, Any], *args: str, **env: str) -> dict[str, Any]:
    """Start ``ssemcp stdio``, send one tools/call line, and return its reply."""
    line = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": META, **params}}
    )
    completed = subprocess.run(
        [sys.executable, "-m", "ssemcp", "stdio", *args, target],
        input=line + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **env},
    )
    reply: dict[str, Any] = json.loads(completed.stdout.splitlines()[0])
    return reply


@pytest.fixture
def target(tmp_path: Path) -> str:
    module = tmp_path / "state_key_server.py"
    module.write_text(SERVER_MODULE)
    return f"{module}:server"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_second_process_with_the_same_key_serves_round_two(target: str, how: str) -> None:
    args, env = (("--state-key", KEY), {}) if how == "option" else ((), {"SSEMCP_STATE_KEY": KEY})
    first = one_call(target, {"name": "greet"}, *args, **env)["result"]
    assert first["resultType"] == "input_required"
    retry = {
        "name": "greet",
        "inputResponses": {"who": {"action": "accept", "content": {"name": "Kim"}}},
        "requestState": first["requestState"],
    }
    second = one_call(target, retry, *args, **env)["result"]
    assert second["content"] == [{"type": "text", "text": "hello Kim"}]


def test_without_a_shared_key_another_process_refuses_the_state(target: str) -> None:
    first = one_call(target, {"name": "greet"})["result"]
    retry = {
        "name": "greet",
        "inputResponses": {"who": {"action": "decline"}},
        "requestState": first["requestState"],
    }
    error = one_call(target, retry)["error"]
    assert error["code"] == -32602
    assert "integrity" in error["message"]
