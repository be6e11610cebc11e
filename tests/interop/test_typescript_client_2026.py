"""The official v2 TypeScript client (pinned ``@modelcontextprotocol/client`` 2.4.0) with
``versionNegotiation: {mode: "auto"}`` negotiates MCP 2026-07-28 with ssemcp, over Streamable
HTTP and over stdio, and answers ``ctx.elicit`` and ``ctx.sample`` through its handlers by
multi-round-trip requests; in its default ``legacy`` mode it still gets a 2025-11-25 session.

Owns the judgement of what ``node/client2.mjs`` saw: each test hands that script a JSON
command (transport, mode, handler answers, steps), runs it once against a real ssemcp (an
in-process uvicorn, or ``python -m ssemcp stdio``) and asserts on the one JSON record it
prints. The record's shape is the script's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Final

import pytest
from live_server import live_server

from ssemcp import Context, Server

pytestmark = pytest.mark.interop

MODERN: Final = "2026-07-28"
LEGACY: Final = "2025-11-25"
NODE_DIRECTORY: Final = Path(__file__).with_name("node")
CLIENT_SCRIPT: Final = NODE_DIRECTORY / "client2.mjs"
FIXTURE_TARGET: Final = f"{Path(__file__).with_name('fixture_app.py')}:server"
SCENARIO_TIMEOUT_SECONDS: Final = 90.0
AUTO: Final = {"mode": "auto"}
NAME_SCHEMA: Final = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}
ELICIT_ANSWER: Final = {"action": "accept", "content": {"name": "Ada"}}
SAMPLE_ANSWER: Final = {
    "role": "assistant",
    "content": {"type": "text", "text": "Paris"},
    "model": "ts-fake-model",
    "stopReason": "endTurn",
}

Record = dict[str, Any]


def build_server() -> Server:
    server = Server("ts-client-2026-probe", "1.0.0")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def whoami(ctx: Context) -> str:
        """The revision and client the request was served under."""
        return f"{ctx.protocol_version} {ctx.client_info.get('name')}"

    @server.tool()
    async def greet(ctx: Context) -> str:
        """Ask the user's name (elicitation), then greet them."""
        answer = await ctx.elicit("Your name?", NAME_SCHEMA)
        return f"hello {answer.content['name'] if answer.content else answer.action}"

    @server.tool()
    async def ask_model(prompt: str, ctx: Context) -> str:
        """Ask the client's model (sampling); 'model: text'."""
        result = await ctx.sample(prompt, max_tokens=20)
        return f"{result.model}: {result.text}"

    @server.resource("note://greeting", mime_type="text/plain")
    def greeting() -> str:
        """A greeting."""
        return "hello"

    @server.prompt()
    def review(code: str) -> str:
        """Ask for a review of some code.

        Args:
            code: the code to review.
        """
        return f"Please review:\n{code}"

    return server


def call(name: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "method": "callTool", "params": {"name": tool, "arguments": arguments}}


async def run_client(command: dict[str, Any]) -> Record:
    """Run ``node client2.mjs COMMAND``; the record it printed, once it says ``ok``."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIRECTORY / "node_modules" / "@modelcontextprotocol" / "client").is_dir():
        pytest.fail(
            f"{NODE_DIRECTORY}/node_modules is missing: run ./scripts/test "
            "(it runs `npm ci` there) before the interop tests"
        )
    process = await asyncio.create_subprocess_exec(
        node,
        str(CLIENT_SCRIPT),
        json.dumps(command),
        cwd=NODE_DIRECTORY,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(SCENARIO_TIMEOUT_SECONDS):
            stdout_bytes, stderr_bytes = await process.communicate()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    stdout = stdout_bytes.decode(errors="replace")
    stderr = stderr_bytes.decode(errors="replace")
    lines = stdout.splitlines()
    assert process.returncode == 0 and len(lines) == 1, (
        f"node exited {process.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    )
    record: Record = json.loads(lines[0])
    assert record["ok"] is True, record
    assert record["clientErrors"] == []
    return record


def text_of(result: Record) -> str:
    [block] = result["content"]
    assert block["type"] == "text"
    return block["text"]  # type: ignore[no-any-return]


def exchanges(record: Record) -> list[tuple[str, str | None, int]]:
    return [
        (request["method"], request["mcpMethod"], request["status"])
        for request in record["httpRequests"]
    ]


async def test_auto_mode_negotiates_2026_07_28_over_http_in_one_round_trip() -> None:
    async with live_server(build_server()) as live:
        record = await run_client(
            {
                "transport": "http",
                "url": live.mcp_url,
                "versionNegotiation": AUTO,
                "steps": [
                    {"name": "tools", "method": "listTools"},
                    call("echo", "echo", {"text": "hi"}),
                    call("whoami", "whoami", {}),
                    {
                        "name": "read",
                        "method": "readResource",
                        "params": {"uri": "note://greeting"},
                    },
                    {
                        "name": "prompt",
                        "method": "getPrompt",
                        "params": {"name": "review", "arguments": {"code": "x = 1"}},
                    },
                ],
            }
        )
    assert record["era"] == "modern"
    assert record["protocolVersion"] == MODERN
    assert record["serverInfo"] == {"name": "ts-client-2026-probe", "version": "1.0.0"}
    assert MODERN in record["discover"]["supportedVersions"]
    assert set(record["serverCapabilities"]) >= {"tools", "resources", "prompts"}
    # The probe was answered, not refused: no initialize after it, no session, no GET stream,
    # every request a POST carrying the modern version and its method in the headers.
    assert record["sessionId"] is None
    assert exchanges(record) == [
        ("POST", "server/discover", 200),
        ("POST", "tools/list", 200),
        ("POST", "tools/call", 200),
        ("POST", "tools/call", 200),
        ("POST", "resources/read", 200),
        ("POST", "prompts/get", 200),
    ]
    assert {request["protocolVersion"] for request in record["httpRequests"]} == {MODERN}
    results = record["results"]
    assert {tool["name"] for tool in results["tools"]["tools"]} == {
        "echo",
        "whoami",
        "greet",
        "ask_model",
    }
    assert text_of(results["echo"]) == "hi"
    # The server saw the version and client identity from the request's own _meta.
    assert text_of(results["whoami"]) == f"{MODERN} ssemcp-interop-ts-client2"
    assert results["read"]["contents"] == [
        {"uri": "note://greeting", "mimeType": "text/plain", "text": "hello"}
    ]
    assert results["prompt"]["messages"] == [
        {"role": "user", "content": {"type": "text", "text": "Please review:\nx = 1"}}
    ]


async def test_auto_mode_answers_elicitation_and_sampling_in_multi_round_trips() -> None:
    async with live_server(build_server()) as live:
        record = await run_client(
            {
                "transport": "http",
                "url": live.mcp_url,
                "versionNegotiation": AUTO,
                "elicitation": ELICIT_ANSWER,
                "sampling": SAMPLE_ANSWER,
                "steps": [
                    call("greet", "greet", {}),
                    call("askModel", "ask_model", {"prompt": "Capital of France?"}),
                ],
            }
        )
    assert record["protocolVersion"] == MODERN
    assert text_of(record["results"]["greet"]) == "hello Ada"
    assert text_of(record["results"]["askModel"]) == "ts-fake-model: Paris"
    assert record["elicitationRequests"] == [
        {"message": "Your name?", "requestedSchema": NAME_SCHEMA}
    ]
    assert record["samplingRequests"] == [
        {
            "messages": [
                {"role": "user", "content": {"type": "text", "text": "Capital of France?"}}
            ],
            "maxTokens": 20,
        }
    ]
    # Each call took two plain POSTs: the first answered input_required, the second carried
    # the handler's answer back under one input key.
    calls = [request for request in record["httpRequests"] if request["mcpMethod"] == "tools/call"]
    assert [request["status"] for request in calls] == [200] * 4
    assert [request["inputResponses"] is not None for request in calls] == [
        False,
        True,
        False,
        True,
    ]
    assert all(len(calls[index]["inputResponses"]) == 1 for index in (1, 3))
    assert "GET" not in {request["method"] for request in record["httpRequests"]}


async def test_legacy_mode_still_gets_a_2025_11_25_session() -> None:
    async with live_server(build_server()) as live:
        record = await run_client(
            {
                "transport": "http",
                "url": live.mcp_url,
                "versionNegotiation": None,
                "elicitation": ELICIT_ANSWER,
                "steps": [call("whoami", "whoami", {}), call("greet", "greet", {})],
            }
        )
    assert record["era"] == "legacy"
    assert record["protocolVersion"] == LEGACY
    assert record["discover"] is None
    assert record["sessionId"]
    # No probe: the first request is initialize, which carries no 2026 headers.
    first = record["httpRequests"][0]
    assert (first["method"], first["mcpMethod"], first["protocolVersion"]) == ("POST", None, None)
    assert all(request["mcpMethod"] is None for request in record["httpRequests"])
    assert text_of(record["results"]["whoami"]) == f"{LEGACY} ssemcp-interop-ts-client2"
    # Elicitation the 2025 way: a server-to-client request, no retried call.
    assert text_of(record["results"]["greet"]) == "hello Ada"
    assert all(request["inputResponses"] is None for request in record["httpRequests"])
    assert exchanges(record)[-1] in {("DELETE", None, 200), ("DELETE", None, 204)}


async def test_auto_mode_negotiates_2026_07_28_over_stdio() -> None:
    record = await run_client(
        {
            "transport": "stdio",
            "command": sys.executable,
            "args": ["-m", "ssemcp", "stdio", FIXTURE_TARGET],
            "versionNegotiation": AUTO,
            "elicitation": {"action": "accept", "content": {"name": "Grace", "count": 2}},
            "steps": [call("add", "add", {"a": 40, "b": 2}), call("askUser", "ask_user", {})],
        }
    )
    assert record["era"] == "modern"
    assert record["protocolVersion"] == MODERN
    assert record["serverInfo"] == {
        "name": "interop-fixture",
        "version": "1.2.3",
        "title": "Interop fixture",
    }
    assert MODERN in record["discover"]["supportedVersions"]
    add = record["results"]["add"]
    assert add["structuredContent"] == {"result": 42}
    assert json.loads(text_of(add)) == {"result": 42}
    assert text_of(record["results"]["askUser"]) == "accepted: Grace x2"
    [request] = record["elicitationRequests"]
    assert request["message"] == "Who are you?"
