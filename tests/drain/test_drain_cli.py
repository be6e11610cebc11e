"""``--shutdown-grace``: one option, one meaning, on ``serve`` (and its config file),
``bridge`` and ``stdio``; refused when negative; handed to the server that drains."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ssemcp import cli
from ssemcp.cli import bridge, main, serve, stdio
from ssemcp.http import uvicorn_server
from ssemcp.transports.drain import DEFAULT_SHUTDOWN_GRACE_SECONDS


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record ``uvicorn_server.run`` instead of serving."""
    for name in ("SSEMCP_TOKEN", "SSEMCP_CONFIG", "SSEMCP_STATE_KEY"):
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


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", [serve, bridge, stdio], ids=lambda c: str(c.name))
def test_every_serving_command_takes_the_same_shutdown_grace(command: Any) -> None:
    (option,) = [p for p in command.params if p.name == "shutdown_grace"]
    assert option.opts == ["--shutdown-grace"]
    assert option.default == DEFAULT_SHUTDOWN_GRACE_SECONDS


def test_serve_hands_the_grace_to_the_draining_server(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = run("serve", "--toolsets", "utilities", "--shutdown-grace", "12.5")
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["shutdown_grace_seconds"] == 12.5


def test_the_default_grace_is_five_seconds(uvicorn_calls: list[dict[str, Any]]) -> None:
    result = run("serve", "--toolsets", "utilities")
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["shutdown_grace_seconds"] == DEFAULT_SHUTDOWN_GRACE_SECONDS == 5.0


def test_the_grace_comes_from_the_config_file(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    path = tmp_path / "ssemcp.toml"
    path.write_text('shutdown_grace = 30\ntoolsets = ["utilities"]\n')
    path.chmod(0o600)
    result = run("serve", "--config", str(path))
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["shutdown_grace_seconds"] == 30.0
    example = run("config", "example")
    assert "shutdown_grace = 5.0" in example.output


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_a_bad_grace_is_a_usage_error(value: str, uvicorn_calls: list[dict[str, Any]]) -> None:
    result = run("serve", "--toolsets", "utilities", "--shutdown-grace", value)
    assert result.exit_code == 2
    assert "--shutdown-grace" in result.output
    assert uvicorn_calls == []


def test_stdio_hands_the_grace_to_the_stdio_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []
    monkeypatch.setattr(
        cli,
        "_run_stdio",
        lambda server, max_line_bytes=0, shutdown_grace=0.0, **_: seen.append(shutdown_grace),
    )
    package_logger = logging.getLogger("ssemcp")
    monkeypatch.setattr(package_logger, "handlers", list(package_logger.handlers))
    monkeypatch.setattr(package_logger, "propagate", package_logger.propagate)
    monkeypatch.setattr(package_logger, "level", package_logger.level)
    assert run("stdio", "--toolsets", "utilities", "--shutdown-grace", "2").exit_code == 0
    assert (
        run("serve", "--stdio", "--toolsets", "utilities", "--shutdown-grace", "3").exit_code == 0
    )
    assert seen == [2.0, 3.0]


def test_bridge_hands_the_grace_to_the_draining_server(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    result = run("bridge", "--shutdown-grace", "7", "--", sys.executable, "-c", "pass")
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["shutdown_grace_seconds"] == 7.0
