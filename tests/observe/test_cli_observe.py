"""The observation flags as a user gives them: ``ssemcp serve`` and ``ssemcp stdio`` run as
processes (their stderr read back), the configuration file, and ``ssemcp bridge``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, Final

import httpx
from click.testing import CliRunner
from live_server import serve_subprocess
from observe_support import SECRET_ARGUMENT, TOKEN, MCPClient, parse_text

from ssemcp.cli import main

HERE: Final = Path(__file__).resolve().parent
TARGET: Final = str(HERE / "observe_server.py") + ":server"
AUTH: Final = {"authorization": f"Bearer {TOKEN}"}
STDIO_DEADLINE_SECONDS: Final = 20.0


def access_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "ssemcp.access" in line]


async def _traffic(url: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        client = MCPClient(http)
        await client.initialize()
        response = await client.call("login", user="ada", password=SECRET_ARGUMENT)
        assert response.status_code == 200


async def test_serve_writes_json_access_lines_and_guards_metrics(tmp_path: Path) -> None:
    async with serve_subprocess(
        TARGET, "--token", TOKEN, "--log-format", "json", log_dir=tmp_path
    ) as process:
        await _traffic(process.url, AUTH)
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
            assert (await http.get("/metrics")).status_code == 401
            scraped = await http.get("/metrics", headers=AUTH)
            assert scraped.status_code == 200
            assert 'ssemcp_mcp_requests_total{method="tools/call",name="login"} 1.0' in scraped.text
    entries = [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]
    assert entries, process.log()
    # Every line is JSON, uvicorn's included.
    assert all(line.startswith("{") for line in process.log().splitlines() if line.strip())
    [call] = [entry for entry in entries if entry.get("rpc") == "tools/call"]
    assert (call["tool"], call["status"], call["outcome"]) == ("login", 200, "ok")
    assert call["principal"] and call["principal"] != TOKEN
    assert any(entry.get("path") == "/metrics" and entry["status"] == 401 for entry in entries)
    assert TOKEN not in process.log()
    assert SECRET_ARGUMENT not in process.log()


async def test_serve_without_access_log_or_metrics(tmp_path: Path) -> None:
    async with serve_subprocess(
        TARGET, "--no-access-log", "--no-metrics", log_dir=tmp_path
    ) as process:
        await _traffic(process.url, {})
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
            assert (await http.get("/metrics")).status_code == 404
    assert access_lines(process.log()) == []


async def test_serve_with_log_arguments_and_public_metrics(tmp_path: Path) -> None:
    async with serve_subprocess(
        TARGET, "--token", TOKEN, "--log-arguments", "--metrics-public", log_dir=tmp_path
    ) as process:
        await _traffic(process.url, AUTH)
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
            assert (await http.get("/metrics")).status_code == 200
    [line] = [line for line in access_lines(process.log()) if "rpc=tools/call" in line]
    fields = parse_text(line.partition("ssemcp.access: ")[2])
    assert json.loads(fields["arguments"]) == {"user": "ada", "password": SECRET_ARGUMENT}
    assert TOKEN not in process.log()


async def test_serve_reads_the_flags_from_the_configuration_file(tmp_path: Path) -> None:
    config = tmp_path / "ssemcp.toml"
    config.write_text('access_log = false\nmetrics = false\nlog_format = "json"\n')
    async with serve_subprocess(TARGET, "--config", str(config), log_dir=tmp_path) as process:
        await _traffic(process.url, {})
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
            assert (await http.get("/metrics")).status_code == 404
    assert '"logger":"ssemcp.access"' not in process.log()


def test_config_check_knows_the_observation_keys(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        'access_log = false\nlog_format = "json"\nlog_arguments = true\n'
        "metrics = true\nmetrics_public = true\n"
    )
    result = CliRunner().invoke(main, ["config", "check", str(good)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('log_format = "xml"\nacess_log = false\n')
    result = CliRunner().invoke(main, ["config", "check", str(bad)])
    assert result.exit_code == 1
    assert "log_format" in result.output and "xml" in result.output
    assert "did you mean 'access_log'" in result.output


def test_config_example_lists_the_observation_keys() -> None:
    result = CliRunner().invoke(main, ["config", "example"])
    assert result.exit_code == 0
    for key in ("access_log", "log_format", "log_arguments", "metrics", "metrics_public"):
        assert f"{key} =" in result.output


def test_metrics_flags_are_refused_with_stdio() -> None:
    result = CliRunner().invoke(main, ["serve", "--stdio", "--metrics-public"])
    assert result.exit_code == 2
    assert "--metrics-public" in result.output and "only applies to HTTP" in result.output


def test_bridge_takes_the_observation_flags() -> None:
    result = CliRunner().invoke(main, ["bridge", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--no-access-log",
        "--log-format",
        "--log-arguments",
        "--no-metrics",
        "--metrics-public",
    ):
        assert flag in result.output


async def _run_stdio(*options: str, lines: list[dict[str, Any]]) -> tuple[list[Any], str]:
    """``ssemcp stdio`` with ``lines`` on its stdin: what it answered, and its stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ssemcp",
        "stdio",
        TARGET,
        *options,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(HERE)},
    )
    try:
        payload = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        async with asyncio.timeout(STDIO_DEADLINE_SECONDS):
            stdout, stderr = await process.communicate(payload)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return [json.loads(line) for line in stdout.splitlines()], stderr.decode()


STDIO_SESSION: Final = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "login", "arguments": {"user": "ada", "password": SECRET_ARGUMENT}},
    },
]


async def test_stdio_writes_an_mcp_line_per_request_to_stderr() -> None:
    answers, stderr = await _run_stdio(lines=STDIO_SESSION)
    assert [answer["id"] for answer in answers] == [1, 2]  # stdout: JSON-RPC only
    hello, line = access_lines(stderr)
    # initialize is answered by the session itself, with no handler: logged all the same.
    greeted = parse_text(hello.partition("ssemcp.access: ")[2])
    assert (greeted["rpc"], greeted["id"], greeted["outcome"]) == ("initialize", 1, "ok")
    fields = parse_text(line.partition("ssemcp.access: ")[2])
    assert fields["kind"] == "mcp" and fields["transport"] == "stdio"
    assert (fields["rpc"], fields["tool"], fields["id"], fields["outcome"]) == (
        "tools/call",
        "login",
        2,
        "ok",
    )
    assert fields["duration_ms"] >= 0
    assert SECRET_ARGUMENT not in stderr


async def test_stdio_logs_the_requests_a_session_answers_itself() -> None:
    lines = [
        *STDIO_SESSION[:2],
        {"jsonrpc": "2.0", "id": 3, "method": "ping"},
        {"jsonrpc": "2.0", "id": 4, "method": "logging/setLevel", "params": {"level": "loud"}},
    ]
    answers, stderr = await _run_stdio(lines=lines)
    assert [answer["id"] for answer in answers] == [1, 3, 4]
    fields = [parse_text(line.partition("ssemcp.access: ")[2]) for line in access_lines(stderr)]
    assert [(entry["rpc"], entry["id"], entry["outcome"]) for entry in fields] == [
        ("initialize", 1, "ok"),
        ("ping", 3, "ok"),
        ("logging/setLevel", 4, "error"),
    ]
    assert fields[2]["code"] == answers[2]["error"]["code"] == -32602


async def test_stdio_json_lines_with_arguments() -> None:
    _answers, stderr = await _run_stdio(
        "--log-format", "json", "--log-arguments", lines=STDIO_SESSION
    )
    entries = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    [entry] = [entry for entry in entries if entry.get("rpc") == "tools/call"]
    assert json.loads(entry["arguments"])["password"] == SECRET_ARGUMENT


async def test_stdio_without_access_log() -> None:
    answers, stderr = await _run_stdio("--no-access-log", lines=STDIO_SESSION)
    assert len(answers) == 2
    assert access_lines(stderr) == []


async def test_bridge_logs_its_exchanges_and_serves_metrics(tmp_path: Path) -> None:
    tiny = HERE.parent / "bridge" / "tiny_server.py"
    port_probe = __import__("socket").socket()
    port_probe.bind(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    log_path = tmp_path / "bridge.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ssemcp",
            "bridge",
            "--port",
            str(port),
            "--",
            sys.executable,
            str(tiny),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            async with asyncio.timeout(STDIO_DEADLINE_SECONDS):
                while True:
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.05)
            client = MCPClient(http)
            await client.initialize()
            assert (await client.call("echo", text="hi")).status_code == 200
            scraped = await http.get("/metrics")
            assert scraped.status_code == 200
            assert 'ssemcp_sessions{transport="streamable_http"} 1.0' in scraped.text
    finally:
        process.terminate()
        async with asyncio.timeout(STDIO_DEADLINE_SECONDS):
            await process.wait()
    lines = [
        parse_text(line.partition("ssemcp.access: ")[2])
        for line in access_lines(log_path.read_text())
    ]
    assert [(line["method"], line["status"]) for line in lines if line["path"] == "/mcp"] == [
        ("POST", 200),
        ("POST", 202),
        ("POST", 200),
    ]
