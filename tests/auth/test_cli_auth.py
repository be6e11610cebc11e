"""``ssemcp serve``'s authorization flags: they reach the app, count as authentication for
listening beyond loopback, are refused with ``--stdio``, and bad values are usage errors.

As in tests/cli/test_cli_serve.py, ``uvicorn_server.run`` is replaced by a recorder, so
nothing binds; the recorded app is driven through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from ssemcp.auth.static import TOKEN_FILE_CHECK_SECONDS
from ssemcp.cli import main
from ssemcp.http import uvicorn_server

TOKEN = "cli-auth-token-0123456789"
AUTH_ENV = (
    "SSEMCP_TOKEN",
    "SSEMCP_TOKEN_FILE",
    "SSEMCP_API_KEY_HEADER",
    "SSEMCP_AUTH_ISSUER",
    "SSEMCP_AUTH_AUDIENCE",
    "SSEMCP_AUTH_JWKS_URL",
    "SSEMCP_AUTH_INTROSPECTION_URL",
    "SSEMCP_AUTH_REQUIRED_SCOPES",
    "SSEMCP_AUTH_CLIENT_ID",
    "SSEMCP_AUTH_CLIENT_SECRET",
)


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    for name in AUTH_ENV:
        monkeypatch.delenv(name, raising=False)
    calls: list[dict[str, Any]] = []

    def record(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn_server, "run", record)
    package_logger = logging.getLogger("ssemcp")
    monkeypatch.setattr(package_logger, "handlers", list(package_logger.handlers))
    monkeypatch.setattr(package_logger, "propagate", package_logger.propagate)
    monkeypatch.setattr(package_logger, "level", package_logger.level)
    return calls


def serve(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["serve", "--toolsets", "utilities", *args], env=env)


async def get(app: Any, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.get(path, headers=headers)


def test_help_explains_every_auth_flag() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--token-file",
        "--api-key-header",
        "--auth-issuer",
        "--auth-audience",
        "--auth-jwks-url",
        "--auth-introspection-url",
        "--auth-required-scopes",
        "--list-all-tools",
        "SSEMCP_AUTH_CLIENT_SECRET",
    ):
        assert flag in result.output, flag


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--auth-issuer", "https://auth.example.com"], {}),
        ([], {"SSEMCP_AUTH_ISSUER": "https://auth.example.com"}),
        (
            ["--auth-introspection-url", "https://auth.example.com/introspect"],
            {"SSEMCP_AUTH_CLIENT_ID": "rs", "SSEMCP_AUTH_CLIENT_SECRET": "secret"},
        ),
    ],
)
def test_any_auth_method_allows_listening_beyond_loopback(
    uvicorn_calls: list[dict[str, Any]], args: list[str], env: dict[str, str]
) -> None:
    result = serve("--host", "0.0.0.0", "--allow-host", "mcp.example.com", *args, env=env)
    assert result.exit_code == 0, result.output
    assert len(uvicorn_calls) == 1


async def test_a_token_file_and_an_api_key_header_reach_the_app(
    uvicorn_calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"sha256:{hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
    result = serve(
        "--host", "0.0.0.0", "--token-file", str(token_file), "--api-key-header", "X-API-Key"
    )
    assert result.exit_code == 0, result.output
    app = uvicorn_calls[0]["app"]
    assert (await get(app, "/")).status_code == 401
    assert (await get(app, "/", **{"x-api-key": TOKEN})).status_code == 200
    assert (await get(app, "/", authorization=f"Bearer {TOKEN}")).status_code == 200
    metadata = await get(app, "/.well-known/oauth-protected-resource/mcp")
    assert metadata.json()["resource"] == "http://127.0.0.1/mcp"


async def test_a_rotated_token_file_takes_effect_without_a_restart(
    uvicorn_calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"{TOKEN}\n")
    result = serve("--token-file", str(token_file))
    assert result.exit_code == 0, result.output
    app = uvicorn_calls[0]["app"]
    assert (await get(app, "/", authorization=f"Bearer {TOKEN}")).status_code == 200
    rotated = tmp_path / "tokens.new"
    rotated.write_text("rotated-token-0123456789\n")
    rotated.replace(token_file)
    # Polled, not slept: the file is looked at again within TOKEN_FILE_CHECK_SECONDS.
    deadline = time.monotonic() + TOKEN_FILE_CHECK_SECONDS + 10
    while (await get(app, "/", authorization=f"Bearer {TOKEN}")).status_code != 401:
        assert time.monotonic() < deadline, "the old token is still accepted"
        await asyncio.sleep(0.05)
    assert (await get(app, "/", authorization="Bearer rotated-token-0123456789")).status_code == 200


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["--auth-introspection-url", "https://auth.example.com/introspect"],
            {},
            "--auth-introspection-url needs $SSEMCP_AUTH_CLIENT_ID and $SSEMCP_AUTH_CLIENT_SECRET",
        ),
        (["--api-key-header", "X-API-Key"], {}, "--api-key-header needs --token or --token-file"),
        (["--auth-issuer", "ftp://auth.example.com"], {}, "not an http(s) URL"),
        (["--auth-jwks-url", "https://auth.example.com/jwks"], {}, "need --auth-issuer"),
    ],
)
def test_unworkable_auth_settings_are_usage_errors(
    uvicorn_calls: list[dict[str, Any]], args: list[str], env: dict[str, str], message: str
) -> None:
    result = serve(*args, env=env)
    assert result.exit_code == 2
    assert message in result.output
    assert not uvicorn_calls


def test_oauth_with_every_host_allowed_but_no_audience_is_a_usage_error(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = serve("--allow-host", "*", "--auth-issuer", "https://auth.example.com")
    assert result.exit_code == 2
    assert "the audience must be configured" in result.output
    assert not uvicorn_calls


def test_a_bad_token_file_line_is_a_usage_error_that_shows_no_secret(
    uvicorn_calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text("good-token-0123456789\nsecret with spaces\n")
    result = serve("--token-file", str(token_file))
    assert result.exit_code == 2
    assert f"{token_file}:2" in result.output
    assert "secret with spaces" not in result.output


def test_auth_flags_are_refused_with_stdio(uvicorn_calls: list[dict[str, Any]]) -> None:
    result = serve("--stdio", "--auth-issuer", "https://auth.example.com")
    assert result.exit_code == 2
    assert "--auth-issuer only applies to HTTP" in result.output
