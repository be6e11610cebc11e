"""``ssemcp list``, ``call``, ``read``, ``prompt``: human and ``--json`` output, arguments,
exit codes, against a real server on 127.0.0.1 and a stdio child."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fixture_server import build_server
from live_server import HOST, LiveServer, live_server

from ssemcp.cli import main
from ssemcp.client.cli import (
    EXIT_AUTH,
    EXIT_CONNECTION,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_TOOL_ERROR,
    EXIT_USAGE,
    parse_tool_arguments,
)

FIXTURE = Path(__file__).with_name("fixture_server.py")
STDIO = [
    "--",
    sys.executable,
    "-m",
    "ssemcp",
    "stdio",
    f"{FIXTURE}:server",
    "--log-level",
    "warning",
]
TOKEN = "a-token-long-enough-1234"


async def invoke(*arguments: str, env: dict[str, str] | None = None) -> Result:
    """Run the command in a thread, so this test's event loop keeps serving."""
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, main, list(arguments), env=env)


@pytest.fixture
async def live() -> AsyncIterator[LiveServer]:
    async with live_server(build_server()) as running:
        yield running


async def test_list_json_prints_every_page_of_one_kind(live: LiveServer) -> None:
    result = await invoke("list", live.mcp_url, "resources", "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert [item["uri"] for item in json.loads(result.stdout)] == [
        "fixture://static", "fixture://second", "fixture://third",
    ]  # fmt: skip


async def test_list_without_a_kind_shows_a_table_of_each_kind_the_server_has(
    live: LiveServer,
) -> None:
    result = await invoke("list", live.mcp_url)
    assert result.exit_code == EXIT_OK, result.output
    for heading in ("tools (7)", "resources (3)", "templates (1)", "prompts (1)"):
        assert heading in result.stdout
    assert "Add two integers." in result.stdout
    assert "language [code]" in result.stdout  # an optional prompt argument in brackets


@pytest.mark.parametrize("transport", ["auto", "streamable", "sse"])
async def test_call_with_key_value_arguments_typed_by_the_schema(
    live: LiveServer, transport: str
) -> None:
    url = live.url + ("/sse" if transport == "sse" else "/mcp")
    result = await invoke("call", url, "add", "a=2", "b=40", "--json", "--transport", transport)
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.stdout)["structuredContent"] == {"result": 42}
    # "123" stays a string for a string argument.
    echoed = await invoke("call", url, "echo", "text=123", "--transport", transport)
    assert echoed.exit_code == EXIT_OK, echoed.output
    assert echoed.stdout.strip() == "123"


async def test_call_with_args_json(live: LiveServer) -> None:
    result = await invoke("call", live.mcp_url, "add", "--args", '{"a": 1, "b": 1}', "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.stdout)["content"] == [{"type": "text", "text": '{"result":2}'}]


async def test_call_of_a_failing_tool_exits_6_and_prints_its_error(live: LiveServer) -> None:
    result = await invoke("call", live.mcp_url, "fail", "reason=out of cheese")
    assert result.exit_code == EXIT_TOOL_ERROR
    assert "The tool reported an error" in result.stdout
    assert "out of cheese" in result.stdout


async def test_unknown_tool_exits_5_with_the_json_rpc_error(live: LiveServer) -> None:
    result = await invoke("call", live.mcp_url, "no_such_tool")
    assert result.exit_code == EXIT_PROTOCOL
    assert "code -32602" in result.stderr


async def test_read_and_prompt_print_contents_and_messages(live: LiveServer) -> None:
    read = await invoke("read", live.mcp_url, "fixture://items/9")
    assert read.exit_code == EXIT_OK, read.output
    assert read.stdout.strip() == "item 9"
    prompt = await invoke("prompt", live.mcp_url, "review", "language=rust", "code=fn main() {}")
    assert prompt.exit_code == EXIT_OK, prompt.output
    assert prompt.stdout.splitlines()[-2:] == ["user:", "Review this rust: fn main() {}"]
    as_json = await invoke("prompt", live.mcp_url, "review", "language=go", "--json")
    assert json.loads(as_json.stdout)["messages"][0]["role"] == "user"


async def test_elicitation_without_a_terminal_is_declined(live: LiveServer) -> None:
    result = await invoke("call", live.mcp_url, "greet")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.strip() == "no name (decline)"


async def test_log_level_prints_the_servers_log_messages_on_stderr(live: LiveServer) -> None:
    result = await invoke("call", live.mcp_url, "steps", "count=2", "--log-level", "info")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.strip() == "2 steps"
    assert "[info] did step 1" in result.stderr
    assert "[info] did step 2" in result.stderr


async def test_refused_connection_exits_3() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    result = await invoke("list", f"http://{HOST}:{port}/mcp", "tools")
    assert result.exit_code == EXIT_CONNECTION
    assert "cannot connect" in result.stderr


async def test_auth_failure_exits_4_and_the_token_option_and_variable_work() -> None:
    async with live_server(build_server(), tokens=[TOKEN]) as live:
        refused = await invoke("list", live.mcp_url, "prompts")
        assert refused.exit_code == EXIT_AUTH
        assert "401" in refused.stderr and "Bearer" in refused.stderr
        with_option = await invoke("list", live.mcp_url, "prompts", "--token", TOKEN)
        assert with_option.exit_code == EXIT_OK, with_option.output
        with_variable = await invoke(
            "list", live.mcp_url, "prompts", env={"SSEMCP_CLIENT_TOKEN": TOKEN}
        )
        assert with_variable.exit_code == EXIT_OK, with_variable.output
        with_header = await invoke(
            "list", live.mcp_url, "prompts", "-H", f"Authorization: Bearer {TOKEN}"
        )
        assert with_header.exit_code == EXIT_OK, with_header.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["list"], "give the target first"),
        (["list", "not-a-url"], "give the target first"),
        (["list", "--", *[]], "command after --"),
        (["call", "http://127.0.0.1:1/mcp", "--header", "nocolon"], "NAME:VALUE"),
        (["list", "--transport", "sse", *STDIO], "needs a URL target"),
        (["list", "--timeout", "0", "http://127.0.0.1:1/mcp"], "0"),
    ],
)
async def test_usage_errors_exit_2(arguments: list[str], message: str) -> None:
    result = await invoke(*arguments)
    assert result.exit_code == EXIT_USAGE, result.output
    assert message in result.output


async def test_bad_action_arguments_exit_2(live: LiveServer) -> None:
    for arguments in (
        ["list", live.mcp_url, "gadgets"],
        ["call", live.mcp_url],
        ["call", live.mcp_url, "add", "a"],
        ["call", live.mcp_url, "add", "--args", "[1]"],
        ["call", live.mcp_url, "add", "--args", "{nope"],
        ["call", live.mcp_url, "add", "a=1", "--args", "{}"],
        ["read", live.mcp_url],
        ["prompt", live.mcp_url, "review", "language"],
    ):
        result = await invoke(*arguments)
        assert result.exit_code == EXIT_USAGE, (arguments, result.output)


def test_help_documents_the_exit_codes() -> None:
    for command in ("list", "call", "read", "prompt", "trace"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0
        for line in ("3  connection failure", "4  authentication failure", "6  the tool"):
            assert line in result.output


def test_tool_arguments_follow_the_schema_and_fall_back_to_text() -> None:
    schema = {
        "properties": {
            "name": {"type": "string"},
            "count": {"type": "integer"},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        }
    }
    assert parse_tool_arguments(
        ["name=42", "count=42", "maybe=true", "other=[1, 2]", "word=hello", "empty="], schema
    ) == {"name": "42", "count": 42, "maybe": "true", "other": [1, 2], "word": "hello", "empty": ""}


# ---------------------------------------------------------------------- as a process


async def run_ssemcp(*arguments: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ssemcp",
        *arguments,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_stdio_target_after_double_dash() -> None:
    code, stdout, stderr = await run_ssemcp("call", "add", "a=5", "b=6", "--json", *STDIO)
    assert code == EXIT_OK, stderr
    assert json.loads(stdout)["structuredContent"] == {"result": 11}
    code, stdout, _ = await run_ssemcp("call", "fail", *STDIO)
    assert code == EXIT_TOOL_ERROR
    assert "it broke" in stdout


async def test_a_stdio_command_that_does_not_exist_exits_3() -> None:
    code, _, stderr = await run_ssemcp("list", "--", "/nonexistent/server")
    assert code == EXIT_CONNECTION
    assert "cannot start" in stderr


async def test_text_from_the_server_is_never_read_as_markup(live: LiveServer) -> None:
    # rich would fail on "[/]" if server text were formatted as markup.
    result = await invoke("call", live.mcp_url, "no[/]such[bold]tool")
    assert result.exit_code == EXIT_PROTOCOL
    assert "no[/]such[bold]tool" in result.stderr
    echoed = await invoke("call", live.mcp_url, "echo", "text=[/] [red]x")
    assert echoed.exit_code == EXIT_OK, echoed.output
    assert echoed.stdout.strip() == "[/] [red]x"
