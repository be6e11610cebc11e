"""The configuration file of ``ssemcp serve --config``: TOML whose keys are the command's own
parameter names, with the built-in tool sets' settings in a ``[settings]`` table.

Owns reading the file (tomllib), its schema and type checks (pydantic), error messages with a
line number and a suggestion, and the commented example. The schema is derived from the click
command's parameters, so a new ``serve`` option is a valid key with no change here. Applying
the values is click's: they become the command's ``default_map``, below the command line and
the environment. What each value means stays the command's business.
"""

from __future__ import annotations

import difflib
import re
import textwrap
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast

import click
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError
from pydantic import create_model as create_pydantic_model

__all__ = [
    "CONFIG_PARAMETER",
    "SETTINGS_TABLE",
    "ConfigError",
    "ServeConfig",
    "check_values",
    "example_config",
    "load_config",
]

# The parameter that names the file itself: not a key of it.
CONFIG_PARAMETER: Final = "config"
# The table of tool set settings: environment variable name -> value.
SETTINGS_TABLE: Final = "settings"
# The key whose flag (--toolsets a,b) takes a comma-separated string; in TOML, also an array.
_TOOLSETS_KEY: Final = "toolsets"
# Values of keys whose name contains one of these are never repeated in an error message.
_SECRET_WORDS: Final = ("token", "key", "secret", "password")
# tomllib (3.11) ends a decode error with "(at line L, column C)".
_TOML_POSITION: Final = re.compile(r"\s*\(at line (\d+), column \d+\)$")
_TABLE_HEADER: Final = re.compile(r"^\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_EXAMPLE_WIDTH: Final = 92
# The setting a tool set's ValueError names: "SSEMCP_HN_TIMEOUT_SECONDS='abc' is not ...".
_SETTING_IN_MESSAGE: Final = re.compile(r"\b([A-Z][A-Z0-9_]*)=")


class ConfigError(Exception):
    """A configuration file that cannot be read, parsed or accepted: one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """A checked configuration file.

    Attributes:
        path: where it was read from.
        values: parameter name -> value as click takes it (a flag's bool, a list for a
            repeatable option): the command's ``default_map``.
        settings: the ``[settings]`` table as environment strings.
        warnings: what is accepted but unwise (tokens in a file others may read).
    """

    path: Path
    values: Mapping[str, object]
    settings: Mapping[str, str]
    warnings: tuple[str, ...] = ()
    _text: str = field(default="", repr=False)

    def problem(self, key: str, message: str, *, table: str | None = None) -> str:
        """``message`` about ``key`` as an error line: ``FILE:LINE: key: message``."""
        return _problem(self.path, _line_of(self._text, table, key), f"{key}: {message}")


@dataclass(frozen=True, slots=True)
class _Key:
    """One key of the file: its type for pydantic and what it expects, in words."""

    annotation: Any  # a type pydantic understands
    expects: str
    item_expects: str = ""  # for an array: what each item is


def _problem(path: Path, line: int | None, message: str) -> str:
    return f"{path}:{line}: {message}" if line is not None else f"{path}: {message}"


def _scalar_type(parameter: click.Parameter) -> tuple[object, str, str]:
    """The pydantic type of one value of ``parameter``, and its name, singular and plural."""
    click_type = parameter.type
    if isinstance(parameter, click.Option) and parameter.is_flag and not parameter.count:
        return StrictBool, "true or false", "booleans"
    if isinstance(click_type, click.Choice):
        choices = tuple(str(choice) for choice in click_type.choices)
        names = ", ".join(repr(choice) for choice in choices)
        return Literal[choices], f"one of {names}", f"strings among {names}"
    if isinstance(click_type, click.types.BoolParamType):
        return StrictBool, "true or false", "booleans"
    if isinstance(click_type, click.types.IntParamType):
        return StrictInt, "an integer", "integers"
    if isinstance(click_type, click.types.FloatParamType):
        # Strict pydantic takes an int for a float: keepalive = 5 reads as 5.0, as it should.
        return float, "a number", "numbers"
    return StrictStr, "a string", "strings"


def _parameter_key(parameter: click.Parameter) -> _Key:
    annotation, singular, plural = _scalar_type(parameter)
    if parameter.multiple or parameter.nargs == -1:
        expects = f"an array of {plural}"
        return _Key(list[annotation], expects, singular)  # type: ignore[valid-type]
    if parameter.name == _TOOLSETS_KEY:
        # --toolsets a,b: in TOML an array of names reads better; a string is also taken.
        expects = "an array of tool set names"
        return _Key(list[StrictStr] | StrictStr, expects, "a string")
    return _Key(annotation, singular)


def _setting_keys() -> dict[str, _Key]:
    from ssemcp.toolsets import settings_defaults, settings_variables

    defaults = settings_defaults()
    keys: dict[str, _Key] = {}
    for variables in settings_variables().values():
        for name in variables:
            default = defaults.get(name)
            if isinstance(default, int) and not isinstance(default, bool):
                keys[name] = _Key(StrictInt, "an integer")
            elif isinstance(default, float):
                keys[name] = _Key(float, "a number")
            else:
                keys[name] = _Key(StrictStr, "a string")
    return keys


def _parameters(command: click.Command) -> dict[str, click.Parameter]:
    return {
        parameter.name: parameter
        for parameter in command.params
        if parameter.name is not None and parameter.name != CONFIG_PARAMETER
    }


def _model(keys: Mapping[str, _Key], name: str) -> type[BaseModel]:
    fields: dict[str, object] = {key: (spec.annotation | None, None) for key, spec in keys.items()}
    return create_pydantic_model(  # type: ignore[call-overload, no-any-return]
        name, __config__=ConfigDict(extra="forbid", strict=True), **fields
    )


def _line_of(text: str, table: str | None, key: str) -> int | None:
    """The line that sets ``key`` in ``table`` (None: top level), when a plain scan finds it.

    tomllib reports no positions for values it parsed; this finds ``key =`` (bare or quoted)
    after the right table header, which is where nearly every file writes it.
    """
    pattern = re.compile(rf"^(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = _TABLE_HEADER.match(stripped)
        if header is not None:
            current = header.group(1)
        elif current == table and pattern.match(stripped):
            return number
    return None


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _shown(key: str, value: object) -> str:
    """``value`` for an error message, unless ``key`` may hold a secret."""
    if any(word in key.lower() for word in _SECRET_WORDS) or isinstance(value, (list, dict)):
        return _toml_type(value)
    text = repr(value)
    return f"{_toml_type(value)} ({text if len(text) <= 40 else text[:37] + '...'})"


def _suggest(key: str, candidates: Mapping[str, str]) -> str:
    """``; did you mean 'x'?`` for the candidate nearest ``key`` (candidates: spelling ->
    key), or ``""``."""
    spelling = key.strip().lower().replace("-", "_").lstrip("_")
    if spelling in candidates:
        return f"; did you mean {candidates[spelling]!r}?"
    close = difflib.get_close_matches(spelling, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {candidates[close[0]]!r}?" if close else ""


def _spellings(parameters: Mapping[str, click.Parameter]) -> dict[str, str]:
    """Every way a user might write a key (its name, its flags) -> the key."""
    spellings: dict[str, str] = {}
    for name, parameter in parameters.items():
        for flag in (*parameter.opts, *parameter.secondary_opts):
            spellings[flag.lstrip("-").replace("-", "_").lower()] = name
        spellings[name.lower()] = name
    return spellings


def _type_problems(
    path: Path,
    text: str,
    errors: Iterable[Mapping[str, object]],
    keys: Mapping[str, _Key],
    setting_keys: Mapping[str, _Key],
    parameters: Mapping[str, click.Parameter],
) -> list[str]:
    problems: list[tuple[int, str]] = []  # (line, problem), to list them in file order
    reported: set[tuple[object, ...]] = set()
    for error in errors:
        location = cast(tuple[object, ...], error["loc"])
        key = str(location[0])
        if key == SETTINGS_TABLE and len(location) > 1 and key in keys:
            table: str | None = SETTINGS_TABLE
            key, rest = str(location[1]), location[2:]
            known = setting_keys
        else:
            table, rest, known = None, location[1:], keys
        index = rest[0] if rest and isinstance(rest[0], int) else None
        where = (table, key, index)
        if where in reported:
            continue  # a union reports each of its arms: one line per key is enough
        reported.add(where)
        line = _line_of(text, table, key)
        if error["type"] == "extra_forbidden":
            if table == SETTINGS_TABLE:
                hint = _suggest(key, {name.lower(): name for name in setting_keys})
                if not hint and key in parameters:
                    hint = f"; {key!r} is a serve key: put it above the [settings] table"
                problems.append((line or 0, _problem(path, line, f"unknown setting {key!r}{hint}")))
            else:
                hint = _suggest(key, _spellings(parameters))
                problems.append((line or 0, _problem(path, line, f"unknown key {key!r}{hint}")))
            continue
        spec = known[key]
        if index is not None:
            item = spec.item_expects or spec.expects
            message = f"{key}[{index}]: expected {item}, got {_shown(key, error['input'])}"
        else:
            message = f"{key}: expected {spec.expects}, got {_shown(key, error['input'])}"
        problems.append((line or 0, _problem(path, line, message)))
    return [problem for _, problem in sorted(problems, key=lambda pair: pair[0])]


def _read(path: Path) -> tuple[str, dict[str, object]]:
    """Raises:
    ConfigError: the file cannot be read, is not UTF-8, or is not TOML."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read it: {exc.strerror or exc}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([_problem(path, line, "not UTF-8 text (TOML is UTF-8)")]) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        decode_line = int(position.group(1)) if position else None
        message = message[: position.start()] if position else message
        raise ConfigError([_problem(path, decode_line, f"invalid TOML: {message}")]) from None
    return text, document


def load_config(path: Path, command: click.Command) -> ServeConfig:
    """Read and check the configuration file at ``path`` for ``command`` (``ssemcp serve``).

    Every key is the name of one of the command's parameters (``port``, ``allowed_hosts``,
    ``tokens``, ``target``, ...), of the type its option takes; ``[settings]`` maps tool set
    setting names (``ssemcp settings``) to values. Values are converted and range-checked by
    the command's own click types, so the file accepts exactly what the flags accept.

    Raises:
        ConfigError: every problem found, one line each, with a line number where known.
    """
    text, document = _read(path)
    parameters = _parameters(command)
    keys = {name: _parameter_key(parameter) for name, parameter in parameters.items()}
    setting_keys = _setting_keys()
    settings_model = _model(setting_keys, "Settings")
    keys[SETTINGS_TABLE] = _Key(settings_model, "a table of settings")
    try:
        checked = _model(keys, "ServeConfig").model_validate(document)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise ConfigError(
            _type_problems(path, text, errors, keys, setting_keys, parameters)
        ) from None

    given = checked.model_dump(exclude_unset=True)
    settings = {name: str(value) for name, value in (given.pop(SETTINGS_TABLE, None) or {}).items()}
    problems: list[str] = []
    context = click.Context(command)
    values: dict[str, object] = {}
    for name, value in given.items():
        if name == _TOOLSETS_KEY and isinstance(value, list):
            value = ",".join(value)
        try:
            # The option's own conversion: ranges and choices exactly as on the command line.
            parameters[name].type_cast_value(context, value)
        except click.BadParameter as exc:
            line = _line_of(text, None, name)
            problems.append(_problem(path, line, f"{name}: {exc.message}"))
            continue
        values[name] = value
    if problems:
        raise ConfigError(problems)
    return ServeConfig(path, values, settings, _warnings(path, {**values, **settings}), text)


def check_values(config: ServeConfig) -> list[str]:
    """What ``serve`` would refuse in a file whose types are right: malformed tokens, origins
    or proxies, a short state key, an unknown tool set, a bad setting value, or a target
    given with tool sets. Each check is the one ``serve`` runs (its classes, not a copy).

    Returns:
        One line per problem, as :class:`ConfigError` lists them; empty when all is well.
    """
    from ssemcp.errors import LocalProtocolError
    from ssemcp.http.auth import BearerAuth
    from ssemcp.http.cors import CORSPolicy
    from ssemcp.http.proxy import TrustedProxies
    from ssemcp.protocol.request_state import RequestStateKeys
    from ssemcp.toolsets import TOOLSETS, build_server

    values = config.values
    problems: list[str] = []
    checks: dict[str, Callable[[list[str]], object]] = {
        "tokens": BearerAuth,
        "cors_origins": CORSPolicy,
        "trusted_proxies": TrustedProxies,
        "state_keys": lambda keys: RequestStateKeys([key.encode() for key in keys]),
    }
    for key, check in checks.items():
        given = _strings(values.get(key))
        try:
            if given:
                check(given)
        except ValueError as exc:
            message = str(exc) if key != "state_keys" else "each key must be 16 characters or more"
            problems.append(config.problem(key, message))
    toolsets = values.get(_TOOLSETS_KEY)
    if values.get("target") is not None:
        if toolsets is not None or config.settings:
            message = "toolsets and [settings] apply to the built-in server, not to a target"
            problems.append(config.problem("target", message))
        return problems
    if toolsets is not None:
        names = [name.strip() for name in str(toolsets).split(",") if name.strip()]
        unknown = [name for name in names if name not in TOOLSETS]
        if unknown:
            message = f"unknown tool set(s) {', '.join(unknown)}; available: {', '.join(TOOLSETS)}"
            problems.append(config.problem(_TOOLSETS_KEY, message))
    try:
        # Every tool set reads its settings from the file alone, with its own checks, so a
        # bad value is found even for a tool set this file does not choose yet.
        build_server(tuple(TOOLSETS), config.settings)
    except LocalProtocolError as exc:
        message = str(exc)
        named = _SETTING_IN_MESSAGE.search(message)
        # Some checks name the value, not the variable: find the setting that holds it.
        quoted = (name for name, value in config.settings.items() if repr(value) in message)
        name = named.group(1) if named is not None else next(quoted, SETTINGS_TABLE)
        problems.append(config.problem(name, message, table=SETTINGS_TABLE))
    return problems


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, (list, tuple)) else []


def _warnings(path: Path, values: Mapping[str, object]) -> tuple[str, ...]:
    secret_keys = [
        key
        for key, value in values.items()
        if value and any(word in key.lower() for word in _SECRET_WORDS)
    ]
    try:
        shared = path.stat().st_mode & 0o077
    except OSError:
        return ()
    if secret_keys and shared:
        return (
            f"{path} holds {', '.join(secret_keys)} and others may read it: "
            f"chmod 600 it, or pass secrets in the environment (SSEMCP_TOKEN)",
        )
    return ()


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    # A TOML basic string escapes as JSON does for the characters defaults contain.
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _comment(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(
        " ".join(text.split()),
        width=_EXAMPLE_WIDTH,
        initial_indent=f"{indent}# ",
        subsequent_indent=f"{indent}# ",
        break_on_hyphens=False,
    )


# What the example shows for parameters whose default says nothing useful.
_EXAMPLE_VALUES: Final[Mapping[str, object]] = {
    "target": "my_package.my_server:server",
    "tokens": [],
    "allowed_hosts": ["mcp.example.com"],
    "allowed_origins": ["https://app.example.com"],
    "cors_origins": ["https://app.example.com"],
    "trusted_proxies": ["127.0.0.1"],
    "api_key_header": "X-API-Key",
    "auth_audience": "https://mcp.example.com/mcp",
    "auth_jwks_url": "https://login.example.com/.well-known/jwks.json",
    "auth_introspection_url": "https://login.example.com/oauth2/introspect",
    "state": "redis://127.0.0.1:6379/0",
}
_EXAMPLE_HELP: Final[Mapping[str, str]] = {
    "target": "Serve your own server (module:attribute or file.py:attribute) instead of the "
    "built-in tool sets.",
    "tokens": "Prefer the SSEMCP_TOKEN environment variable (an EnvironmentFile under systemd, "
    "-e under Docker): a file is easy to leak. If you do put tokens here, chmod 600 the file.",
}


def example_config(command: click.Command) -> str:
    """A commented configuration file for ``command`` with every key, each at its default
    (commented out, so the file is valid as it stands and changes nothing)."""
    from ssemcp.toolsets import DEFAULT_TOOLSETS, settings_defaults, settings_variables

    lines = [
        "# ssemcp configuration: ssemcp serve --config ssemcp.toml",
        "# Check it with: ssemcp config check ssemcp.toml",
        "#",
        "# Every key is a `ssemcp serve` option, named as in `ssemcp serve --help` with dashes",
        "# as underscores (repeatable options take arrays, their keys are plural). Command-line",
        "# flags override this file, and so do environment variables (SSEMCP_TOKEN,",
        "# SSEMCP_STATE_KEY, the tool set settings).",
        "",
    ]
    context = click.Context(command)
    for name, parameter in _parameters(command).items():
        if name == SETTINGS_TABLE:
            continue
        help_text = _EXAMPLE_HELP.get(name) or getattr(parameter, "help", None) or ""
        flags = ", ".join(parameter.opts) if isinstance(parameter, click.Option) else ""
        lines.extend(_comment(f"{help_text} ({flags})" if flags else help_text))
        if name in _EXAMPLE_VALUES:
            value = _EXAMPLE_VALUES[name]
        elif name == _TOOLSETS_KEY:
            value = list(DEFAULT_TOOLSETS)
        else:
            value = parameter.get_default(context, call=True)
            if parameter.multiple:
                # click 8.3 says "no default" with a sentinel of its own, not ().
                value = list(value) if isinstance(value, (list, tuple)) else []
            elif not isinstance(value, (str, int, float)):
                continue  # no default (None, or click's sentinel): nothing worth showing
        lines.extend((f"# {name} = {_toml_value(value)}", ""))

    lines.extend(
        [
            "# The built-in tool sets' settings (`ssemcp settings` describes them). An",
            "# environment variable of the same name overrides the value here.",
            f"[{SETTINGS_TABLE}]",
        ]
    )
    defaults = settings_defaults()
    for toolset, variables in settings_variables().items():
        lines.extend(("", f"# -- {toolset}"))
        for name, description in variables.items():
            default = defaults.get(name)
            lines.extend(_comment(description[:1].upper() + description[1:] + "."))
            shown = _toml_value("" if default is None else default)
            lines.append(f"# {name} = {shown}")
    return "\n".join(lines) + "\n"
