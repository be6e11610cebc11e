"""Tracing off, the default: nothing of OpenTelemetry is imported, in a fresh interpreter and
in real ``ssemcp stdio`` and ``ssemcp serve`` processes that served requests carrying a
``traceparent`` (in ``_meta`` and in the HTTP header). With ``--otel`` the same processes do
load it, which shows the check can fail."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from live_server import serve_subprocess
from tracing_support import META_TRACEPARENT, TRACEPARENT

TARGET: Final = f"{Path(__file__).parent / 'otel_server.py'}:server"
MODERN: Final = "2026-07-28"
META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "traceparent": META_TRACEPARENT,
}
READ_TIMEOUT_SECONDS: Final = 20.0
# Spans go nowhere: these tests look at imports, not at exports.
NO_EXPORT: Final = {"OTEL_TRACES_EXPORTER": "none"}


def call(request_id: int, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments or {}, "_meta": META},
    }


def loaded(reply: dict[str, Any]) -> list[str]:
    """What ``loaded_opentelemetry`` answered."""
    [content] = reply["result"]["content"]
    modules: list[str] = json.loads(content["text"])
    return modules


def test_importing_ssemcp_the_server_stdio_and_the_app_imports_no_opentelemetry() -> None:
    script = (
        "import sys\n"
        "import ssemcp, ssemcp.cli\n"
        "from ssemcp import Server\n"
        "from ssemcp.http import create_app\n"
        "from ssemcp.transports.stdio import serve_stdio\n"
        "server = Server('x')\n"
        "create_app(server)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.strip() == "[]", completed.stderr


async def stdio_replies(*arguments: str, environment: dict[str, str] | None = None) -> list[Any]:
    """Run ``ssemcp stdio TARGET ARGUMENTS``, call echo then loaded_opentelemetry; the replies."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ssemcp",
        "stdio",
        TARGET,
        *arguments,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, **(environment or {})},
    )
    assert process.stdin is not None and process.stdout is not None
    replies = []
    try:
        for message in (call(1, "echo", {"text": "hi"}), call(2, "loaded_opentelemetry")):
            process.stdin.write(json.dumps(message).encode() + b"\n")
            await process.stdin.drain()
            line = await asyncio.wait_for(process.stdout.readline(), READ_TIMEOUT_SECONDS)
            replies.append(json.loads(line))
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), READ_TIMEOUT_SECONDS) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return replies


async def test_ssemcp_stdio_without_otel_serves_traced_requests_importing_none_of_it() -> None:
    echo, modules = await stdio_replies()
    assert echo["result"]["content"] == [{"type": "text", "text": "hi"}]
    assert loaded(modules) == []


async def test_ssemcp_stdio_with_otel_does_load_it() -> None:
    echo, modules = await stdio_replies("--otel", environment=NO_EXPORT)
    assert echo["result"]["content"] == [{"type": "text", "text": "hi"}]
    assert "opentelemetry.trace" in loaded(modules)


async def http_loaded_modules(*arguments: str, tmp_path: Path) -> list[str]:
    async with (
        serve_subprocess(TARGET, *arguments, log_dir=tmp_path) as running,
        httpx.AsyncClient(base_url=running.url, timeout=READ_TIMEOUT_SECONDS) as client,
    ):
        headers = {
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
            "traceparent": TRACEPARENT,
        }
        echo = await client.post(
            "/mcp", json=call(1, "echo", {"text": "hi"}), headers={**headers, "mcp-name": "echo"}
        )
        assert echo.json()["result"]["content"] == [{"type": "text", "text": "hi"}]
        modules = await client.post(
            "/mcp",
            json=call(2, "loaded_opentelemetry"),
            headers={**headers, "mcp-name": "loaded_opentelemetry"},
        )
        return loaded(modules.json())


async def test_ssemcp_serve_without_otel_imports_none_of_it(tmp_path: Path) -> None:
    assert await http_loaded_modules(tmp_path=tmp_path) == []


async def test_ssemcp_serve_with_otel_does_load_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert "opentelemetry.trace" in await http_loaded_modules("--otel", tmp_path=tmp_path)
