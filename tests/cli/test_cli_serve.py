"""``ssemcp serve`` over HTTP: refusing to listen beyond loopback without a token, and the
security options reaching the app and uvicorn.

Argument handling runs in-process through ``CliRunner`` with ``uvicorn_server.run`` replaced by a
recorder, so nothing binds. Two tests run the real command in a subprocess: one that must
refuse and start nothing, one that must start on 0.0.0.0 with ``--insecure-no-auth``
(only loopback traffic is sent to it); that one is stopped by its pid in ``finally``.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from ssemcp.cli import main
from ssemcp.http import uvicorn_server
from ssemcp.http.uvicorn_protocol import BoundedProtocol

TOKEN_A = "cli-token-a-0123456789"
TOKEN_B = "cli-token-b-9876543210"
STARTUP_DEADLINE_SECONDS = 20.0
REFUSAL = "refusing to listen on"


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record ``uvicorn_server.run`` instead of serving; no token in the environment."""
    monkeypatch.delenv("SSEMCP_TOKEN", raising=False)
    calls: list[dict[str, Any]] = []

    def record(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn_server, "run", record)
    # `serve` configures the "ssemcp" logger for a process; put it back for the next tests.
    package_logger = logging.getLogger("ssemcp")
    monkeypatch.setattr(package_logger, "handlers", list(package_logger.handlers))
    monkeypatch.setattr(package_logger, "propagate", package_logger.propagate)
    monkeypatch.setattr(package_logger, "level", package_logger.level)
    return calls


def serve(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(
        main, ["serve", "--toolsets", "utilities", *args], env=env, catch_exceptions=False
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def child_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "SSEMCP_TOKEN"}


async def status_with(app: Any, path: str, token: str | None) -> int:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return (await client.get(path, headers=headers)).status_code


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "192.0.2.10", "example.com", ""])
def test_non_loopback_host_without_a_token_is_refused_and_nothing_starts(
    uvicorn_calls: list[dict[str, Any]], host: str
) -> None:
    result = serve("--host", host)
    assert result.exit_code == 2
    assert REFUSAL in result.output
    assert "--insecure-no-auth" in result.output
    assert "--token" in result.output
    assert uvicorn_calls == []


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])
def test_loopback_host_needs_no_token(uvicorn_calls: list[dict[str, Any]], host: str) -> None:
    result = serve("--host", host)
    assert result.exit_code == 0, result.output
    assert len(uvicorn_calls) == 1


def test_non_loopback_host_with_a_token_serves(uvicorn_calls: list[dict[str, Any]]) -> None:
    result = serve("--host", "0.0.0.0", "--token", TOKEN_A)
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["host"] == "0.0.0.0"


def test_insecure_no_auth_overrides_the_refusal(uvicorn_calls: list[dict[str, Any]]) -> None:
    result = serve("--host", "0.0.0.0", "--insecure-no-auth")
    assert result.exit_code == 0, result.output
    assert len(uvicorn_calls) == 1


async def test_tokens_from_options_and_the_environment_all_count(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = serve(
        "--host", "0.0.0.0", "--token", TOKEN_A, env={"SSEMCP_TOKEN": f" {TOKEN_B} ,, other-c "}
    )
    assert result.exit_code == 0, result.output
    app = uvicorn_calls[0]["app"]
    for token in (TOKEN_A, TOKEN_B, "other-c"):
        assert await status_with(app, "/nope", token) == 404
    assert await status_with(app, "/nope", None) == 401
    assert await status_with(app, "/nope", "unknown") == 401
    assert await status_with(app, "/healthz", None) == 200


def test_environment_token_alone_allows_a_public_host(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = serve("--host", "0.0.0.0", env={"SSEMCP_TOKEN": TOKEN_A})
    assert result.exit_code == 0, result.output


def test_uvicorn_runs_with_our_request_bounds_and_without_its_proxy_headers(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = serve("--header-timeout", "3.5", "--body-timeout", "7")
    assert result.exit_code == 0, result.output
    kwargs = uvicorn_calls[0]
    assert kwargs["proxy_headers"] is False
    assert issubclass(kwargs["http"], BoundedProtocol)
    assert kwargs["http"].header_timeout_seconds == 3.5
    assert kwargs["http"].body_timeout_seconds == 7.0
    # The protocol bounds the body; the app does not do it a second time.
    assert kwargs["app"]._body_timeout_seconds is None


async def test_cors_and_trusted_proxy_options_reach_the_app(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = serve("--cors", "http://localhost:6274", "--trusted-proxy", "10.0.0.0/8")
    assert result.exit_code == 0, result.output
    transport = httpx.ASGITransport(app=uvicorn_calls[0]["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        preflight = await client.options(
            "/mcp",
            headers={"origin": "http://localhost:6274", "access-control-request-method": "POST"},
        )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:6274"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--cors", "*", "CORS origin"),
        ("--cors", "localhost:6274", "CORS origin"),
        ("--trusted-proxy", "proxy.example", "trusted proxy"),
        ("--token", "secret with spaces", "RFC 6750"),
        ("--body-timeout", "0", "0"),
        ("--header-timeout", "-1", "-1"),
    ],
)
def test_malformed_security_options_are_usage_errors(
    uvicorn_calls: list[dict[str, Any]], option: str, value: str, message: str
) -> None:
    result = serve(option, value)
    assert result.exit_code == 2
    assert message in result.output
    assert uvicorn_calls == []
    if option == "--token":
        assert value not in result.output


def test_python_dash_m_serve_on_all_interfaces_without_a_token_exits_and_binds_nothing() -> None:
    port = free_port()
    completed = subprocess.run(
        [sys.executable, "-m", "ssemcp", "serve", "--host", "0.0.0.0", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
    )
    assert completed.returncode != 0
    assert REFUSAL in completed.stderr
    assert "Uvicorn running" not in completed.stderr
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", port))  # still free: nothing listened on it


def test_python_dash_m_serve_with_insecure_no_auth_starts_on_all_interfaces() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ssemcp",
            "serve",
            "--toolsets",
            "utilities",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--insecure-no-auth",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        response = None
        while response is None or response.status_code != 200:
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start in time"
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.1)
        # No software banner (uvicorn's "server: uvicorn"); the date every origin gives.
        assert "server" not in response.headers
        assert "date" in response.headers
    finally:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    assert "NO authentication" in stderr
    assert "--allow-host" in stderr


async def test_body_and_session_bounds_from_options_reach_the_app(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = serve("--max-body-bytes", "2048", "--max-sessions", "1")
    assert result.exit_code == 0, result.output
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {}},
    }
    transport = httpx.ASGITransport(app=uvicorn_calls[0]["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        too_large = await client.post("/mcp", content=b" " * 2049, headers=headers)
        first = await client.post("/mcp", json=initialize, headers=headers)
        second = await client.post("/mcp", json=initialize, headers=headers)
    assert too_large.status_code == 413
    assert first.status_code == 200
    assert second.status_code == 503


@pytest.mark.parametrize(("option", "value"), [("--max-body-bytes", "10"), ("--max-sessions", "0")])
def test_bounds_below_their_minimum_are_usage_errors(
    uvicorn_calls: list[dict[str, Any]], option: str, value: str
) -> None:
    result = CliRunner().invoke(main, ["serve", option, value])
    assert result.exit_code == 2
    assert uvicorn_calls == []


@pytest.mark.parametrize(
    "options",
    [("--host", "0.0.0.0"), ("--port", "9000"), ("--host", "127.0.0.1", "--port", "8000")],
)
def test_stdio_with_an_explicit_host_or_port_is_a_usage_error(
    uvicorn_calls: list[dict[str, Any]], options: tuple[str, ...]
) -> None:
    # Even the default values, given explicitly: the user meant HTTP and would be ignored.
    result = CliRunner().invoke(main, ["serve", "--stdio", *options], input="")
    assert result.exit_code == 2
    assert "--stdio" in result.output
    for option in options[::2]:
        assert option in result.output
    assert uvicorn_calls == []


def test_stdio_with_other_http_only_options_is_a_usage_error(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--stdio", "--token", TOKEN_A, "--allow-host", "x"], input=""
    )
    assert result.exit_code == 2
    assert "--token" in result.output
    assert "--allow-host" in result.output
    assert TOKEN_A not in result.output


def test_stdio_takes_the_options_that_apply_to_it(uvicorn_calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--stdio", "--toolsets", "utilities", "--max-body-bytes", "2048"],
        input="",
    )
    assert result.exit_code == 0, result.output
    assert uvicorn_calls == []
