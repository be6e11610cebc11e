"""``ssemcp serve --config FILE``, ``ssemcp config check`` and ``ssemcp config example``.

The schema is derived from the ``serve`` command's parameters, so the central test walks every
one of them (and a flag the command does not have yet) through a file. Serving runs in-process
through ``CliRunner`` with ``uvicorn_server.run`` replaced by a recorder, so nothing binds; the
deploy tests (tests/deploy) run ``serve --config`` as a real process behind nginx.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import pytest
from click.core import ParameterSource
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from ssemcp import cli
from ssemcp.cli import main, serve
from ssemcp.config import (
    CONFIG_PARAMETER,
    ConfigError,
    check_values,
    example_config,
    load_config,
)
from ssemcp.http import uvicorn_server

STATE_KEY_FILE = "file-state-key-0123456789"
STATE_KEY_ENV = "envi-state-key-0123456789"


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record ``uvicorn_server.run`` instead of serving; no token or config in the env."""
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


@pytest.fixture
def built_environ(monkeypatch: pytest.MonkeyPatch) -> list[Mapping[str, str]]:
    """The settings environment each built-in server is built from."""
    environs: list[Mapping[str, str]] = []
    real_build_server = cli.build_server

    def record(names: Any, environ: Mapping[str, str]) -> Any:
        environs.append(environ)
        return real_build_server(("utilities",), environ)

    monkeypatch.setattr(cli, "build_server", record)
    return environs


def write(tmp_path: Path, text: str, name: str = "ssemcp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def run(*args: str, env: Mapping[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def check(path: Path) -> Result:
    return run("config", "check", str(path))


# -- every parameter, by name


def _sample_scalar(parameter: click.Parameter, default: object) -> object:
    """One value valid for ``parameter``'s type, other than ``default``."""
    click_type = parameter.type
    if isinstance(click_type, click.Choice):
        return next(str(choice) for choice in reversed(click_type.choices) if choice != default)
    if isinstance(click_type, click.types.IntParamType | click.types.FloatParamType):
        low = getattr(click_type, "min", None)
        high = getattr(click_type, "max", None)
        base = default if isinstance(default, int | float) and not isinstance(default, bool) else 0
        value = max(base, low if low is not None else base) + 1
        value = min(value, high) if high is not None else value
        if value == default:  # the default sits at the top of the range
            value = value - 1
        return value if isinstance(click_type, click.types.FloatParamType) else int(value)
    if isinstance(click_type, click.Path):
        # An option that must name an existing file or directory gets one.
        return str(Path(__file__) if click_type.file_okay else Path(__file__).parent)
    return f"sample-{parameter.name}-0123456789"


def _sample(parameter: click.Parameter) -> tuple[object, object]:
    """A value for ``parameter`` that is valid for its type and differs from its default:
    (as written in TOML, as the command receives it: click's own conversion of it)."""
    context = click.Context(serve)
    default = parameter.get_default(context, call=True)
    if parameter.name == "toolsets":
        return ["utilities", "weather"], "utilities,weather"
    if isinstance(parameter, click.Option) and parameter.is_flag:
        return (not default), (not default)
    if parameter.multiple:
        written: object = [_sample_scalar(parameter, None)]
    else:
        written = _sample_scalar(parameter, default)
    return written, parameter.type_cast_value(context, written)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _parameters(command: click.Command) -> list[click.Parameter]:
    return [p for p in command.params if p.name not in (CONFIG_PARAMETER, "settings")]


@pytest.mark.parametrize("parameter", _parameters(serve), ids=lambda p: str(p.name))
def test_every_serve_parameter_is_settable_from_the_file(
    tmp_path: Path, parameter: click.Parameter
) -> None:
    written, received = _sample(parameter)
    path = write(tmp_path, f"{parameter.name} = {_toml(written)}\n")
    context = serve.make_context("serve", ["--config", str(path)])
    assert parameter.name is not None
    assert context.params[parameter.name] == received
    assert context.get_parameter_source(parameter.name) is ParameterSource.DEFAULT_MAP


def test_the_settings_parameter_is_the_settings_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[settings]\nSSEMCP_WEATHER_TIMEOUT_SECONDS = 3\n")
    context = serve.make_context("serve", ["--config", str(path)])
    assert context.meta["ssemcp.config.settings"] == {"SSEMCP_WEATHER_TIMEOUT_SECONDS": "3.0"}


def test_a_flag_serve_does_not_have_yet_is_a_key_with_no_change(tmp_path: Path) -> None:
    # What another option added to `serve` gets: its name is a key, its type is checked.
    grown = click.Command(
        "serve",
        params=[
            *serve.params,
            click.Option(["--access-log/--no-access-log"], default=True),
            click.Option(["--log-format"], type=click.Choice(["text", "json"]), default="text"),
            click.Option(["--jwks-file"], type=click.Path(exists=True, dir_okay=False)),
            click.Option(["--scope", "scopes"], multiple=True),
        ],
    )
    text = (
        f'access_log = false\nlog_format = "json"\njwks_file = "{__file__}"\n'
        'scopes = ["read", "write"]\n'
    )
    config = load_config(write(tmp_path, text), grown)
    assert config.values == {
        "access_log": False,
        "log_format": "json",
        "jwks_file": __file__,
        "scopes": ["read", "write"],
    }
    with pytest.raises(ConfigError, match=r":1: jwks_file: File '/no/such/file' does not exist"):
        load_config(write(tmp_path, 'jwks_file = "/no/such/file"\n'), grown)
    with pytest.raises(ConfigError, match=r"log_format: expected one of 'text', 'json'"):
        load_config(write(tmp_path, 'log_format = "xml"\n'), grown)
    with pytest.raises(ConfigError, match=r"did you mean 'access_log'"):
        load_config(write(tmp_path, "no_access_log = false\n"), grown)


# -- precedence: flags, then environment, then file, then defaults


def test_flags_override_the_file_and_the_file_overrides_defaults(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    path = write(tmp_path, 'port = 9000\nkeepalive = 2.5\ntoolsets = ["utilities"]\n')
    result = run("serve", "--config", str(path), "--port", "9001")
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["port"] == 9001
    assert uvicorn_calls[0]["app"].transport._keepalive_seconds == 2.5


def test_the_config_environment_variable_names_the_file(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    path = write(tmp_path, 'port = 9002\ntoolsets = "utilities"\n')
    result = run("serve", env={"SSEMCP_CONFIG": str(path)})
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["port"] == 9002


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, f'state_keys = ["{STATE_KEY_FILE}"]\n')
    os.environ["SSEMCP_STATE_KEY"] = STATE_KEY_ENV
    try:
        context = serve.make_context("serve", ["--config", str(path)])
    finally:
        del os.environ["SSEMCP_STATE_KEY"]
    assert context.params["state_keys"] == (STATE_KEY_ENV,)
    assert context.get_parameter_source("state_keys") is ParameterSource.ENVIRONMENT


def test_file_tokens_protect_the_server_and_a_public_host_needs_them(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    refused = write(tmp_path, 'host = "0.0.0.0"\ntoolsets = "utilities"\n', "open.toml")
    result = run("serve", "--config", str(refused))
    assert result.exit_code == 2
    assert "refusing to listen" in result.output
    allowed = write(
        tmp_path, 'host = "0.0.0.0"\ntoolsets = "utilities"\ntokens = ["file-token-0123"]\n'
    )
    result = run("serve", "--config", str(allowed))
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["app"]._auth is not None


def test_settings_come_from_flags_then_environment_then_file(
    tmp_path: Path,
    uvicorn_calls: list[dict[str, Any]],
    built_environ: list[Mapping[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write(
        tmp_path,
        "[settings]\n"
        "SSEMCP_WEATHER_TIMEOUT_SECONDS = 1\n"
        "SSEMCP_WEATHER_MAX_ATTEMPTS = 2\n"
        "SSEMCP_GITHUB_MAX_ATTEMPTS = 4\n",
    )
    monkeypatch.setenv("SSEMCP_WEATHER_MAX_ATTEMPTS", "5")
    result = run("serve", "--config", str(path), "--setting", "SSEMCP_GITHUB_MAX_ATTEMPTS=6")
    assert result.exit_code == 0, result.output
    environ = built_environ[0]
    assert environ["SSEMCP_WEATHER_TIMEOUT_SECONDS"] == "1.0"  # the file's
    assert environ["SSEMCP_WEATHER_MAX_ATTEMPTS"] == "5"  # the environment's
    assert environ["SSEMCP_GITHUB_MAX_ATTEMPTS"] == "6"  # the flag's


def test_a_target_on_the_command_line_replaces_the_files_built_in_server(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    (tmp_path / "my_target.py").write_text(
        "from ssemcp import Server\nserver = Server('mine')\n", encoding="utf-8"
    )
    path = write(tmp_path, 'toolsets = ["weather"]\n[settings]\nSSEMCP_WEATHER_MAX_ATTEMPTS = 2\n')
    result = run("serve", "--config", str(path), f"{tmp_path / 'my_target.py'}:server")
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["app"]._server.name == "mine"


def test_toolsets_on_the_command_line_replace_the_files_target(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    path = write(tmp_path, 'target = "no_such_module_anywhere:server"\n')
    result = run("serve", "--config", str(path), "--toolsets", "utilities")
    assert result.exit_code == 0, result.output
    assert uvicorn_calls[0]["app"]._server.name == "ssemcp"


def test_serve_with_a_bad_file_is_a_usage_error_and_nothing_starts(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    path = write(tmp_path, 'port = "eighty"\nprot = 1\n')
    result = run("serve", "--config", str(path))
    assert result.exit_code == 2
    assert f"{path}:1: port: expected an integer, got a string ('eighty')" in result.output
    assert f"{path}:2: unknown key 'prot'; did you mean 'port'?" in result.output
    assert "Traceback" not in result.output
    assert uvicorn_calls == []


def test_serve_with_a_missing_file_is_a_usage_error(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    result = run("serve", "--config", str(tmp_path / "absent.toml"))
    assert result.exit_code == 2
    assert "cannot read it: No such file or directory" in result.output
    assert uvicorn_calls == []


# -- ssemcp config check


def test_check_accepts_a_good_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'host = "127.0.0.1"\nport = 8080\nkeepalive = 5\nallowed_hosts = ["mcp.example.com"]\n'
        'trusted_proxies = ["10.0.0.0/8"]\ntoolsets = ["utilities", "weather"]\n'
        "[settings]\nSSEMCP_WEATHER_MAX_ATTEMPTS = 2\n",
    )
    result = check(path)
    assert result.exit_code == 0, result.output
    assert result.output == f"{path}: OK (6 options, 1 settings)\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('port = 80\nhost = "x\n', ":2: invalid TOML: Illegal character '\\n'"),
        ("port = \n", ":1: invalid TOML: Invalid value"),
        ("[settings]\n[settings]\n", ":2: invalid TOML: Cannot declare ('settings',) twice"),
        ("\n\nprot = 80\n", ":3: unknown key 'prot'; did you mean 'port'?"),
        ('allow-host = ["a"]\n', ":1: unknown key 'allow-host'; did you mean 'allowed_hosts'?"),
        ('token = ["secret-value"]\n', ":1: unknown key 'token'; did you mean 'tokens'?"),
        ("zzz = 1\n", ":1: unknown key 'zzz'"),
        ('port = "80"\n', ":1: port: expected an integer, got a string ('80')"),
        ("port = 80.5\n", ":1: port: expected an integer, got a float (80.5)"),
        ("stateless = 1\n", ":1: stateless: expected true or false, got an integer (1)"),
        ('keepalive = "fast"\n', ":1: keepalive: expected a number, got a string ('fast')"),
        ('allowed_hosts = "a"\n', ":1: allowed_hosts: expected an array of strings, got a string"),
        ('allowed_hosts = ["a", 2]\n', ":1: allowed_hosts[1]: expected a string, got an integer"),
        ("tokens = [12345]\n", ":1: tokens[0]: expected a string, got an integer\n"),
        ('log_level = "loud"\n', ":1: log_level: expected one of 'debug', 'info', 'warning'"),
        ("max_sessions = 0\n", ":1: max_sessions: 0 is not in the range x>=1."),
        ("keepalive = 0\n", ":1: keepalive: 0.0 is not in the range x>0."),
        ("settings = 3\n", ":1: settings: expected a table of settings, got an integer (3)"),
        (
            "[settings]\nSSEMCP_HN_TIMEOUT_SECOND = 3\n",
            ":2: unknown setting 'SSEMCP_HN_TIMEOUT_SECOND'; did you mean "
            "'SSEMCP_HN_TIMEOUT_SECONDS'?",
        ),
        (
            "[settings]\nport = 8000\n",
            ":2: unknown setting 'port'; 'port' is a serve key: put it above the [settings] table",
        ),
        (
            '[settings]\nSSEMCP_HN_MAX_ATTEMPTS = "3"\n',
            ":2: SSEMCP_HN_MAX_ATTEMPTS: expected an integer, got a string ('3')",
        ),
        (
            "[settings]\nSSEMCP_HN_API_URL = 3\n",
            ":2: SSEMCP_HN_API_URL: expected a string, got an integer (3)",
        ),
        ('trusted_proxies = ["10.0.0.0/33"]\n', ":1: trusted_proxies: a trusted proxy is an IP"),
        ('state_keys = ["short"]\n', ":1: state_keys: each key must be 16 characters or more"),
        ('toolsets = ["weather", "nope"]\n', ":1: toolsets: unknown tool set(s) nope; available:"),
        (
            "[settings]\nSSEMCP_HN_TIMEOUT_SECONDS = -1\n",
            ":2: SSEMCP_HN_TIMEOUT_SECONDS: toolset hackernews: SSEMCP_HN_TIMEOUT_SECONDS='-1.0' "
            "must be at least 0.001",
        ),
        (
            '[settings]\nSSEMCP_GITHUB_API_URL = "ftp://x"\n',
            ":2: SSEMCP_GITHUB_API_URL: toolset github: not an http(s) base URL: 'ftp://x'",
        ),
        (
            'target = "app:server"\ntoolsets = ["weather"]\n',
            ":1: target: toolsets and [settings] apply to the built-in server, not to a target",
        ),
    ],
)
def test_check_names_each_problem_with_its_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    result = check(path)
    assert result.exit_code == 1
    assert f"{path}{expected}" in result.output
    assert "Traceback" not in result.output


def test_check_never_repeats_a_secret_in_an_error(tmp_path: Path) -> None:
    result = check(write(tmp_path, 'tokens = "my-secret-token-value"\nstate_keys = 5\n'))
    assert result.exit_code == 1
    assert "my-secret-token-value" not in result.output
    assert "tokens: expected an array of strings, got a string\n" in result.output


def test_check_lists_every_problem_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, 'zzz = 1\nport = "x"\n[settings]\nNOPE = 1\n')
    lines = check(path).output.splitlines()
    assert [line.split(":")[1] for line in lines] == ["1", "2", "4"]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: tmp / "absent.toml", "cannot read it: No such file or directory"),
        (lambda tmp: tmp, "cannot read it: Is a directory"),
    ],
)
def test_check_of_an_unreadable_file_says_why(tmp_path: Path, make: Any, expected: str) -> None:
    result = check(make(tmp_path))
    assert result.exit_code == 1
    assert expected in result.output


def test_check_of_a_file_that_is_not_utf8_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'port = 80\nhost = "caf\xe9"\n')
    result = check(path)
    assert result.exit_code == 1
    assert f"{path}:2: not UTF-8 text" in result.output


def test_check_warns_about_tokens_others_may_read(tmp_path: Path) -> None:
    path = write(tmp_path, 'tokens = ["file-token-0123"]\n')
    assert "warning" not in check(path).output
    path.chmod(0o644)
    result = check(path)
    assert result.exit_code == 0
    assert "warning:" in result.output
    assert "chmod 600" in result.output
    assert "file-token-0123" not in result.output


# -- ssemcp config example


def test_example_is_valid_as_it_stands_and_names_every_parameter(tmp_path: Path) -> None:
    result = run("config", "example")
    assert result.exit_code == 0
    text = result.output
    for parameter in _parameters(serve):
        assert re.search(rf"^# {parameter.name} = ", text, re.MULTILINE), parameter.name
    assert "[settings]" in text
    assert "# SSEMCP_HN_API_URL = " in text
    assert text == example_config(serve)
    assert check(write(tmp_path, text)).exit_code == 0


def test_each_example_value_is_valid_when_uncommented(tmp_path: Path) -> None:
    text = example_config(serve)
    lines = text.splitlines()
    assignments = [n for n, line in enumerate(lines) if re.match(r"^# [A-Za-z_]+ = ", line)]
    assert len(assignments) > 40
    for number in assignments:
        edited = [*lines]
        edited[number] = edited[number].removeprefix("# ")
        result = check(write(tmp_path, "\n".join(edited) + "\n"))
        assert result.exit_code == 0, (lines[number], result.output)


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_the_readme_configuration_examples_pass_the_check(tmp_path: Path, readme: str) -> None:
    text = (Path(__file__).resolve().parents[2] / readme).read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.DOTALL)
    assert blocks
    for block in blocks:
        result = check(write(tmp_path, block))
        assert result.exit_code == 0, result.output


_TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)


def _toml_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_literal(item) for item in value) + "]"
    return repr(value)


@settings(max_examples=150, deadline=None)
@given(
    document=st.dictionaries(
        st.sampled_from([*(p.name for p in serve.params if p.name), "zzz", "Port"]),
        st.one_of(_TOML_SCALARS, st.lists(_TOML_SCALARS, max_size=3)),
        max_size=6,
    ),
    setting_values=st.dictionaries(
        st.sampled_from(["SSEMCP_HN_API_URL", "SSEMCP_HN_MAX_ATTEMPTS", "NOPE", "port"]),
        _TOML_SCALARS,
        max_size=3,
    ),
)
def test_any_document_is_accepted_or_refused_with_config_errors_only(
    tmp_path_factory: pytest.TempPathFactory,
    document: dict[str, object],
    setting_values: dict[str, object],
) -> None:
    lines = [f"{key} = {_toml_literal(value)}" for key, value in document.items()]
    if setting_values:
        lines.append("[settings]")
        lines.extend(f"{key} = {_toml_literal(value)}" for key, value in setting_values.items())
    path = tmp_path_factory.mktemp("any") / "ssemcp.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused: tuple[str, ...] = ()
    try:
        config = load_config(path, serve)
    except ConfigError as exc:
        refused = exc.problems
        assert refused, "a refusal names its problems"
    else:
        refused = tuple(check_values(config))
    assert all(problem.startswith(f"{path}") for problem in refused)
