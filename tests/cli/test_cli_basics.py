"""The ssemcp command: version, help, and the errors a user meets before anything serves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ssemcp import Server, __version__
from ssemcp.cli import load_server, main


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ssemcp, version {__version__}"


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output
    assert "stdio" in result.output


def test_python_dash_m_runs_the_same_command() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ssemcp", "--version"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0
    assert __version__ in completed.stdout


def test_unknown_toolset_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["stdio", "--toolsets", "utilities,nope"])
    assert result.exit_code == 2
    assert "unknown toolset(s): nope" in result.output


def test_toolsets_and_a_target_together_are_refused(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text("from ssemcp import Server\nserver = Server('mine')\n")
    result = CliRunner().invoke(main, ["stdio", f"{app}:server", "--toolsets", "utilities"])
    assert result.exit_code == 2
    assert "--toolsets and --setting apply to the built-in server" in result.output


def test_target_file_with_a_server_or_a_factory_loads(tmp_path: Path) -> None:
    app = tmp_path / "myapp.py"
    app.write_text(
        "from ssemcp import Server\n"
        "server = Server('mine')\n"
        "def make():\n    return Server('made')\n"
    )
    assert load_server(f"{app}:server").name == "mine"
    assert load_server(f"{app}:make").name == "made"
    assert isinstance(load_server(str(app)), Server)  # the attribute defaults to `server`


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_xyz:server", "cannot import no_such_module_xyz"),
        ("ssemcp.errors:ToolError", "is not an ssemcp Server"),
        ("ssemcp.errors:nothing", "ssemcp.errors has no attribute 'nothing'"),
    ],
)
def test_bad_targets_are_explained(target: str, message: str) -> None:
    result = CliRunner().invoke(main, ["stdio", target])
    assert result.exit_code == 1
    assert message in result.output


def test_file_target_with_a_missing_attribute_names_the_attribute(tmp_path: Path) -> None:
    app = tmp_path / "myapp.py"
    app.write_text("from ssemcp import Server\nserver = Server('mine')\n")
    result = CliRunner().invoke(main, ["stdio", f"{app}:srv"])
    assert result.exit_code == 1
    assert f"{app} has no attribute 'srv'" in result.output
    assert "is not an ssemcp Server" not in result.output


def test_module_target_is_found_in_the_current_directory(tmp_path: Path) -> None:
    # The installed `ssemcp` script, not `python -m` (which puts the current directory on
    # sys.path by itself): what a user types.
    (tmp_path / "cwd_target_app.py").write_text(
        "from ssemcp import Server\nserver = Server('from-cwd')\n"
    )
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("ssemcp")), "stdio", "cwd_target_app:server"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "cannot import" not in completed.stderr


def test_settings_lists_every_tool_set_variable_and_hides_tokens() -> None:
    result = CliRunner().invoke(main, ["settings"], env={"GITHUB_TOKEN": "secret-value"})
    assert result.exit_code == 0
    for name in ("SSEMCP_HN_API_URL", "SSEMCP_ALGOLIA_API_URL", "SSEMCP_OPEN_METEO_URL"):
        assert name in result.output
    assert "SSEMCP_GITHUB_API_URL" in result.output
    assert "secret-value" not in result.output


def settings_lines(env: dict[str, str | None]) -> dict[str, str]:
    """``ssemcp settings`` output: each variable -> the line under it (default and value)."""
    result = CliRunner().invoke(main, ["settings"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    return {
        line.split()[0]: lines[index + 1].strip()
        for index, line in enumerate(lines)
        if line.startswith("  ") and not line.startswith("   ")
    }


def test_settings_show_each_default_and_that_it_is_in_use() -> None:
    unset: dict[str, str | None] = dict.fromkeys(["SSEMCP_HN_API_URL", "GITHUB_TOKEN"])
    lines = settings_lines(unset)
    assert lines["SSEMCP_HN_API_URL"] == "default https://hacker-news.firebaseio.com/v0 (in use)"
    assert lines["SSEMCP_HN_ITEMS_TTL_SECONDS"] == "default 300 (in use)"
    assert lines["SSEMCP_GITHUB_BACKOFF_SECONDS"] == "default 0.5 (in use)"
    assert lines["GITHUB_TOKEN"] == "no default (not set)"


def test_settings_show_the_current_value_beside_the_default_and_hide_tokens() -> None:
    lines = settings_lines({"SSEMCP_HN_ITEMS_TTL_SECONDS": "60", "GITHUB_TOKEN": "secret-value"})
    assert lines["SSEMCP_HN_ITEMS_TTL_SECONDS"] == "default 300, set to 60"
    assert lines["GITHUB_TOKEN"] == "no default, set (hidden)"


def test_every_setting_has_the_default_its_tool_set_really_uses() -> None:
    # Setting a variable to the default shown must change nothing: the shown one is the real
    # one. And every variable a tool set reads has one shown.
    from ssemcp import cli
    from ssemcp.toolsets import settings_defaults, settings_variables
    from ssemcp.toolsets.github import GitHubSettings
    from ssemcp.toolsets.hackernews import HackerNewsSettings
    from ssemcp.toolsets.weather import WeatherSettings

    readers = {
        "hackernews": HackerNewsSettings.from_env,
        "weather": WeatherSettings.from_env,
        "github": GitHubSettings.from_env,
    }
    defaults = settings_defaults()
    for toolset, variables in settings_variables().items():
        for name in variables:
            assert name in defaults, name
            default = defaults[name]
            if default is not None:
                shown = {name: cli._show_setting(default)}
                assert readers[toolset](shown) == readers[toolset]({}), name
    assert set(defaults) == {name for names in settings_variables().values() for name in names}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("NOPE=1", "unknown setting 'NOPE'"),
        ("SSEMCP_HN_API_URL", "--setting takes NAME=VALUE"),
        ("=x", "--setting takes NAME=VALUE"),
        ("SSEMCP_HN_MAX_CONCURRENCY=many", "SSEMCP_HN_MAX_CONCURRENCY='many' is not an integer"),
    ],
)
def test_bad_settings_are_usage_errors(setting: str, message: str) -> None:
    result = CliRunner().invoke(main, ["stdio", "--setting", setting])
    assert result.exit_code == 2
    assert message in result.output


def test_a_setting_overrides_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from ssemcp import cli

    monkeypatch.setenv("SSEMCP_HN_API_URL", "http://127.0.0.1:1/from-env")
    environ = cli._settings_environ(("SSEMCP_HN_API_URL=http://127.0.0.1:2/from-flag",))
    assert environ["SSEMCP_HN_API_URL"] == "http://127.0.0.1:2/from-flag"
    from ssemcp.toolsets.hackernews import HackerNewsSettings

    assert HackerNewsSettings.from_env(environ).api_url == "http://127.0.0.1:2/from-flag"
