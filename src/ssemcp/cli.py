"""The ``ssemcp`` command: serve the built-in server or your own, over stdio or HTTP, or
bridge a stdio server to HTTP.

Owns argument parsing, logging set-up and loading a user's server (``module:attribute`` or
``path/to/file.py:attribute``). Serving is the transports' job.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import functools
import importlib
import importlib.util
import ipaddress
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click
from click.core import ParameterSource

from ssemcp._version import __version__
from ssemcp.asgi import DEFAULT_KEEPALIVE_SECONDS, DEFAULT_MAX_BODY_BYTES
from ssemcp.auth.settings import AuthSettings, auth_options
from ssemcp.bridge import (
    DEFAULT_CHILD_TIMEOUT_SECONDS,
    DEFAULT_MAX_CHILDREN,
    DEFAULT_STARTUP_TIMEOUT_SECONDS,
)
from ssemcp.client.cli import CLIENT_COMMANDS
from ssemcp.errors import LocalProtocolError
from ssemcp.http.timeouts import DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_HEADER_TIMEOUT_SECONDS
from ssemcp.install import CLIENTS, DEFAULT_NAME
from ssemcp.observe.settings import ObserveSettings
from ssemcp.protocol.request_state import RequestStateKeys
from ssemcp.server.registry import Server
from ssemcp.toolsets import (
    DEFAULT_TOOLSETS,
    TOOLSETS,
    build_server,
    settings_defaults,
    settings_variables,
)
from ssemcp.transports.drain import DEFAULT_SHUTDOWN_GRACE_SECONDS
from ssemcp.transports.streamable import DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from ssemcp.http.app import MCPApp

__all__ = ["load_server", "main"]

logger = logging.getLogger("ssemcp")

_LOG_LEVELS: Final = ("debug", "info", "warning", "error")


def load_server(target: str) -> Server:
    """The ``Server`` named by ``target``: ``package.module:name`` or ``file.py:name``.

    ``name`` may be a Server or a function that returns one; it defaults to ``server``. A
    module is looked for in the current directory first, as uvicorn and python -m do.

    Raises:
        click.ClickException: the target cannot be loaded, lacks ``name``, or is no Server.
    """
    location, _, attribute = target.partition(":")
    attribute = attribute or "server"
    try:
        if location.endswith(".py") or "/" in location:
            path = Path(location).resolve()
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise click.ClickException(f"cannot load {location}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
        else:
            # The installed `ssemcp` script has its own directory on sys.path, not the
            # current one, so `ssemcp serve myapp:server` would not find ./myapp.py.
            working_directory = os.getcwd()
            if working_directory not in sys.path:
                sys.path.insert(0, working_directory)
            module = importlib.import_module(location)
    except (ImportError, FileNotFoundError) as exc:
        raise click.ClickException(f"cannot import {location}: {exc}") from None
    if not hasattr(module, attribute):
        raise click.ClickException(f"{location} has no attribute {attribute!r}")
    value = getattr(module, attribute)
    if callable(value) and not isinstance(value, Server):
        value = value()
    if not isinstance(value, Server):
        raise click.ClickException(f"{target} is not an ssemcp Server")
    return value


def _configure_logging(level: str, log_format: str = "text") -> None:
    # Logs go to stderr always: on stdio, stdout belongs to the protocol. The handler writes
    # access lines itself while it is the only one to see them (ssemcp.observe.access_log).
    from ssemcp.observe.access_log import AccessLogHandler

    handler = AccessLogHandler(sys.stderr, log_format)
    if log_format == "json":
        # ssemcp.observe: one JSON object a line, access lines with their fields; uvicorn's
        # own lines too (_serve_http then gives uvicorn no logging configuration of its own).
        uvicorn_logger = logging.getLogger("uvicorn")
        uvicorn_logger.addHandler(handler)
        uvicorn_logger.propagate = False
    package_logger = logging.getLogger("ssemcp")
    package_logger.addHandler(handler)
    package_logger.setLevel(level.upper())
    package_logger.propagate = False


def _choose_server(
    target: str | None,
    toolsets: str | None,
    settings: tuple[str, ...] = (),
    file_settings: Mapping[str, str] | None = None,
) -> Server:
    if target is not None:
        if toolsets is not None or settings:
            raise click.UsageError(
                "--toolsets and --setting apply to the built-in server, not to TARGET"
            )
        return load_server(target)
    names = DEFAULT_TOOLSETS if toolsets is None else _toolset_names(toolsets)
    try:
        return build_server(names, _settings_environ(settings, file_settings))
    except LocalProtocolError as exc:
        raise click.UsageError(str(exc)) from None


def _toolset_names(toolsets: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in toolsets.split(",") if name.strip())


def _settings_environ(
    settings: tuple[str, ...], file_settings: Mapping[str, str] | None = None
) -> Mapping[str, str]:
    """The process environment with each ``--setting NAME=VALUE`` laid over it, and the
    ``[settings]`` of a configuration file under it (flags, then environment, then file).

    Raises:
        click.UsageError: a malformed pair, or a NAME no tool set reads.
    """
    if not settings and not file_settings:
        return os.environ
    known = {name for variables in settings_variables().values() for name in variables}
    overrides: dict[str, str] = {}
    for setting in settings:
        name, separator, value = setting.partition("=")
        name = name.strip()
        if not separator or not name:
            raise click.UsageError(f"--setting takes NAME=VALUE, not {setting!r}")
        if name not in known:
            raise click.UsageError(f"unknown setting {name!r}; `ssemcp settings` lists every one")
        overrides[name] = value
    return {**(file_settings or {}), **os.environ, **overrides}


# The environment variable that may hold bearer tokens, comma-separated. Safer than --token:
# a command line is visible to every user of the machine (ps), the environment is not.
TOKEN_ENV: Final = "SSEMCP_TOKEN"


def _tokens(from_options: tuple[str, ...]) -> tuple[str, ...]:
    """Every token from ``--token`` and from ``SSEMCP_TOKEN``; both sources count."""
    from_env = os.environ.get(TOKEN_ENV, "").split(",")
    return tuple(dict.fromkeys(t.strip() for t in (*from_options, *from_env) if t.strip()))


def _is_loopback(host: str) -> bool:
    """Whether binding ``host`` is reachable from this machine only: 127.0.0.0/8, ::1, localhost."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # another name, or "" (every interface): not provably loopback
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _url_host(host: str) -> str:
    """``host`` as a URL writes it: every interface as 0.0.0.0 (as uvicorn shows it), an
    IPv6 literal in brackets (RFC 3986 section 3.2.2)."""
    if not host:
        return "0.0.0.0"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _refuse_exposure_without_token(
    host: str, auth_methods: tuple[str, ...], insecure: bool
) -> None:
    """Refuse to listen beyond loopback with no token, unless told ``--insecure-no-auth``.

    spec 2025-11-25 basic/transports, "Security Warning": "When running locally, servers
    SHOULD bind only to localhost (127.0.0.1) rather than all network interfaces (0.0.0.0)",
    and "Servers SHOULD implement proper authentication for all connections".

    Raises:
        click.UsageError: ``host`` is not loopback, no way to authenticate is configured
            (``AuthSettings.methods``), and no override.
    """
    if _is_loopback(host) or auth_methods:
        return
    if not insecure:
        raise click.UsageError(
            f"refusing to listen on {host!r} without a token: anyone who can reach that "
            f"address could use every tool of this server. Pass --token (or set {TOKEN_ENV}), "
            "--token-file, --auth-issuer or --auth-introspection-url, "
            "or --insecure-no-auth to accept the risk."
        )
    logger.warning("listening on %r with NO authentication (--insecure-no-auth)", host)


def _check_security_options(
    tokens: tuple[str, ...], cors_origins: tuple[str, ...], trusted_proxies: tuple[str, ...]
) -> None:
    """A malformed --token, --cors or --trusted-proxy is a usage error, not a traceback."""
    from ssemcp.http.auth import BearerAuth
    from ssemcp.http.cors import CORSPolicy
    from ssemcp.http.proxy import TrustedProxies

    try:
        if tokens:
            BearerAuth(tokens)
        CORSPolicy(cors_origins)
        TrustedProxies(trusted_proxies)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


# The `serve` options that only HTTP uses: with --stdio they would be ignored, so giving one
# is a usage error rather than a silent surprise (--max-body-bytes also bounds a stdio line).
_HTTP_ONLY_PARAMETERS: Final = frozenset(
    {
        "host",
        "port",
        "allowed_hosts",
        "allowed_origins",
        "tokens",
        "insecure_no_auth",
        "cors_origins",
        "trusted_proxies",
        "body_timeout",
        "header_timeout",
        "stateless",
        "json_response",
        "keepalive",
        "session_idle_timeout",
        "max_sessions",
        "state",
        "state_prefix",
        # ssemcp.auth.settings.auth_options
        "token_files",
        "api_key_header",
        "auth_issuers",
        "auth_audience",
        "auth_jwks_url",
        "auth_introspection_url",
        "auth_required_scopes",
        "list_all_tools",
        # ssemcp.observe: GET /metrics
        "metrics",
        "metrics_public",
    }
)


def _refuse_http_options_with_stdio(context: click.Context) -> None:
    """Raises:
    click.UsageError: an HTTP-only option was given on the command line with --stdio."""
    given = [
        parameter.opts[0]
        for parameter in context.command.params
        if parameter.name in _HTTP_ONLY_PARAMETERS
        and context.get_parameter_source(parameter.name) is ParameterSource.COMMANDLINE
    ]
    if given:
        raise click.UsageError(
            f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} to HTTP; "
            "--stdio serves on stdin/stdout"
        )


def _serve_http(
    app: MCPApp,
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    log_level: str,
    header_timeout: float,
    body_timeout: float,
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE_SECONDS,
    log_format: str = "text",
) -> None:
    """Serve ``app`` with uvicorn until SIGINT or SIGTERM (``serve`` and ``bridge``), then
    drain it for up to ``shutdown_grace`` seconds (``MCPApp.drain``)."""
    from ssemcp.http import uvicorn_server
    from ssemcp.http.uvicorn_protocol import http_protocol
    from ssemcp.http.uvicorn_server import ListenError

    if not _is_loopback(host) and not allowed_hosts:
        # The Host allowlist stays loopback-only (DNS rebinding): a remote client's Host names
        # this machine some other way, and would get 421 until allowed.
        logger.warning(
            "listening on %r, but only Host 127.0.0.1, localhost and [::1] are accepted: "
            "pass --allow-host for each name clients use to reach this server",
            host,
        )

    def announce(bound_port: int) -> None:
        # Only once the sockets listen: an address in use is an error, never after "serving".
        base_url = f"http://{_url_host(host)}:{bound_port}"
        logger.info(
            "serving %s",
            ", ".join(f"{name} on {base_url}{path}" for path, name in app.endpoints.items()),
        )

    if app.observer is not None:
        # ssemcp.observe: the metrics' watcher in the context uvicorn's tasks copy, so that
        # no request has to set it.
        app.observer.watch_this_context()

    # SIGTERM drains: no new connection or request, calls in flight get shutdown_grace
    # seconds, then the streams end with their last event (ssemcp.http.uvicorn_server).
    try:
        uvicorn_server.run(
            app,
            shutdown_grace_seconds=shutdown_grace,
            on_started=announce,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            loop="uvloop",
            # httptools with deadlines on request heads and bodies and a size bound on heads
            # (uvicorn has none of them).
            http=http_protocol(
                header_timeout_seconds=header_timeout, body_timeout_seconds=body_timeout
            ),
            # uvicorn's own X-Forwarded-* handling is on by default and trusts 127.0.0.1 (or
            # $FORWARDED_ALLOW_IPS); ssemcp.http.proxy decides instead, from --trusted-proxy.
            proxy_headers=False,
            # No "server: uvicorn" on every response: naming the software and inviting a
            # probe for its known flaws tells a client nothing it needs (RFC 9110 section
            # 10.2.4: "An origin server MAY generate a Server header field"; OWASP's header
            # guidance says to leave it out). Date stays: RFC 9110 section 6.6.1 asks for it.
            server_header=False,
            # --log-format json: uvicorn's loggers write through ours (_configure_logging).
            **({"log_config": None} if log_format == "json" else {}),
        )
    except ListenError as exc:
        hint = " (another process uses it: stop that, or pick another --port)"
        raise click.ClickException(
            f"{exc}{hint if exc.errno == errno.EADDRINUSE else ''}"
        ) from None


def _run_stdio(
    server: Server,
    max_line_bytes: int = DEFAULT_MAX_BODY_BYTES,
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE_SECONDS,
    observe: ObserveSettings | None = None,
) -> None:
    from ssemcp.transports.stdio import serve_stdio

    # ssemcp.observe: a kind=mcp line per request on stderr (no metrics: no HTTP to serve them).
    watcher = None
    if observe is not None and observe.access_log:
        from ssemcp.observe.access_log import StdioWatcher, access_log_enabled

        if access_log_enabled():
            watcher = StdioWatcher(log_arguments=observe.log_arguments)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_stdio(
                server,
                max_line_bytes=max_line_bytes,
                shutdown_grace_seconds=shutdown_grace,
                stop_on_signals=True,
                watcher=watcher,
            )
        )


# The environment variable that may name the configuration file (containers, units).
CONFIG_ENV: Final = "SSEMCP_CONFIG"
# Where --config leaves the file's [settings] for `serve`: they go under the environment,
# not over it as --setting does, so they cannot travel as --setting's default.
_FILE_SETTINGS_KEY: Final = "ssemcp.config.settings"


def _read_config_file(
    context: click.Context, parameter: click.Parameter, path: Path | None
) -> None:
    """Make the file's values the command's defaults (click's ``default_map``), so that the
    command line and the environment override them.

    Raises:
        click.BadParameter: the file cannot be read or checked; every problem is listed.
    """
    if path is None:
        return
    from ssemcp.config import ConfigError, load_config

    try:
        config = load_config(path, context.command)
    except ConfigError as exc:
        raise click.BadParameter(f"\n{exc}", ctx=context, param=parameter) from None
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)
    context.default_map = {**(context.default_map or {}), **config.values}
    context.meta[_FILE_SETTINGS_KEY] = config.settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ssemcp")
def main() -> None:
    """ssemcp: a Model Context Protocol server (stdio, HTTP+SSE, Streamable HTTP)."""


_target_argument = click.argument("target", required=False)
_setting_option = click.option(
    "--setting",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a built-in tool set setting, overriding the environment variable of that "
    "name (repeatable), e.g. --setting SSEMCP_HN_API_URL=http://127.0.0.1:9000/v0. "
    "`ssemcp settings` lists them all.",
)
_toolsets_option = click.option(
    "--toolsets",
    metavar="NAMES",
    help=f"Comma-separated built-in tool sets (available: {', '.join(TOOLSETS)}; "
    f"default: {', '.join(DEFAULT_TOOLSETS)}).",
)
_state_key_option = click.option(
    "--state-key",
    "state_keys",
    multiple=True,
    envvar="SSEMCP_STATE_KEY",
    metavar="KEY",
    help="Secret that seals the requestState of multi round-trip requests (MCP 2026-07-28), "
    "16 characters or more; repeat it (or separate keys by spaces in SSEMCP_STATE_KEY) to "
    "rotate: the first seals, every one opens. Replicas that share it can each serve any "
    "round. Default: a random key per process.",
)
_shutdown_grace_option = click.option(
    "--shutdown-grace",
    type=click.FloatRange(min=0),
    default=DEFAULT_SHUTDOWN_GRACE_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM or SIGINT (and, on stdio, at the end of input): calls in flight get "
    "this long to finish, then are cut with a JSON-RPC error; new ones are refused "
    "meanwhile (HTTP: 503, and the port is closed).",
)
_log_level_option = click.option(
    "--log-level",
    type=click.Choice(_LOG_LEVELS),
    default="info",
    show_default=True,
    help="Server log level (logs go to stderr).",
)
_otel_option = click.option(
    "--otel",
    is_flag=True,
    help="OpenTelemetry: a span per MCP request, exported as the OTEL_* variables say (OTLP "
    "over HTTP to localhost:4318 by default). Needs ssemcp[otel].",
)


def _turn_on_tracing(server: Server) -> None:
    """``--otel``: give ``server`` the tracer provider the ``OTEL_*`` variables describe."""
    try:
        from ssemcp.otel.environment import (
            TracingSetupError,
            flush_spans,
            tracer_provider_from_environment,
        )
    except ImportError:
        raise click.UsageError("--otel needs OpenTelemetry: pip install 'ssemcp[otel]'") from None
    try:
        provider = tracer_provider_from_environment()
    except TracingSetupError as exc:
        raise click.UsageError(str(exc)) from None
    server.tracer_provider = provider
    server.add_cleanup(functools.partial(flush_spans, provider))


_log_format_option = click.option(
    "--log-format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="Log lines as text, or as one JSON object each (access lines with their fields).",
)
_access_log_option = click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="One line per HTTP request and per MCP request (logger ssemcp.access, INFO): peer, "
    "method and path, status, JSON-RPC method, tool, session, principal, bytes, duration. "
    "Never a token.",
)
_log_arguments_option = click.option(
    "--log-arguments",
    is_flag=True,
    help="Add tool and prompt arguments to the access log (they may hold private data).",
)


def _observe_settings(
    access_log: bool,
    log_arguments: bool,
    metrics: bool = False,
    metrics_public: bool = False,
) -> ObserveSettings:
    return ObserveSettings(
        access_log=access_log,
        log_arguments=log_arguments,
        metrics=metrics,
        metrics_public=metrics_public,
    )


@main.command()
@_target_argument
@click.option(
    "--stdio",
    "use_stdio",
    is_flag=True,
    help="Serve on stdin/stdout (then the HTTP-only options are refused).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Beyond loopback it needs authentication (--token, --token-file, "
    "--auth-issuer or --auth-introspection-url; or --insecure-no-auth), and "
    "--allow-host for each name clients use (only loopback names are allowed by default).",
)
@click.option("--port", type=int, default=8000, show_default=True, help="Port to bind.")
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Allow this Host header (repeatable; default: 127.0.0.1, localhost, [::1]).",
)
@click.option(
    "--allow-origin",
    "allowed_origins",
    multiple=True,
    metavar="SCHEME://HOST[:PORT]",
    help="Allow this Origin header (repeatable; default: http(s) on the loopback names).",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="TOKEN",
    help="Require 'Authorization: Bearer TOKEN' on every request but GET /healthz "
    f"(repeatable; also ${TOKEN_ENV}, comma-separated, which ps cannot show).",
)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Allow --host beyond loopback without a token (anyone who reaches it may use it).",
)
@click.option(
    "--cors",
    "cors_origins",
    multiple=True,
    metavar="SCHEME://HOST[:PORT]",
    help="Answer CORS for this browser origin, e.g. the MCP Inspector's (repeatable; "
    "also allows it as an Origin). No '*'.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="IP|CIDR",
    help="Believe X-Forwarded-For/-Proto/-Host/-Prefix from this peer (repeatable); "
    "ignored from any other.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_BODY_TIMEOUT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="Time to receive a whole request body; past it, 408 and the connection closes.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_HEADER_TIMEOUT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="Time to receive a request line and headers; past it, the connection closes.",
)
@click.option(
    "--stateless",
    is_flag=True,
    help="Streamable HTTP without sessions: every POST stands alone; GET and DELETE get 405; "
    "sampling and elicitation cannot work.",
)
@click.option(
    "--json-response",
    is_flag=True,
    help="Answer every POST with one JSON body, never an SSE stream; what a tool emits "
    "meanwhile goes to the session's GET stream, if one is open.",
)
@click.option(
    "--keepalive",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_KEEPALIVE_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="Send a comment on an SSE stream idle this long (keeps proxies from cutting it).",
)
@click.option(
    "--session-idle-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="Close a Streamable HTTP session idle this long (nothing in flight, no GET stream "
    "open); 0: never.",
)
@click.option(
    "--state",
    envvar="SSEMCP_STATE",
    metavar="URL",
    help="Share sessions, event logs and notifications with other replicas through Redis "
    "(redis://HOST:PORT/DB; needs ssemcp[redis]), so that a load balancer may send any "
    "request to any replica, without stickiness. Give every replica the same --state-key too "
    "(2026-07-28 requestState). Default: this process only. Also $SSEMCP_STATE.",
)
@click.option(
    "--state-prefix",
    default="ssemcp",
    show_default=True,
    metavar="PREFIX",
    help="Put before every Redis key and channel of --state (letters, digits, _ . : { } -), "
    "so that several servers can share one Redis.",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1024),
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    metavar="BYTES",
    help="Largest request body (413 past it), and largest stdio line.",
)
@click.option(
    "--max-sessions",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_SESSIONS,
    show_default=True,
    metavar="N",
    help="Live sessions per transport at most; past it, new ones get 503.",
)
@_shutdown_grace_option
@click.option(
    "--metrics/--no-metrics",
    default=True,
    show_default=True,
    help="Serve GET /metrics (Prometheus text format), behind the same authorization as /mcp.",
)
@click.option(
    "--metrics-public",
    is_flag=True,
    help="Serve GET /metrics without a token (it still passes the Host check).",
)
@auth_options
@_toolsets_option
@_setting_option
@_state_key_option
@_log_level_option
@_otel_option
@_log_format_option
@_access_log_option
@_log_arguments_option
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_ENV,
    is_eager=True,
    expose_value=False,
    callback=_read_config_file,
    metavar="FILE",
    help="Read these options from a TOML file (`ssemcp config example` writes one); flags "
    f"and environment variables override it. Also ${CONFIG_ENV}.",
)
def serve(
    target: str | None,
    use_stdio: bool,
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    tokens: tuple[str, ...],
    insecure_no_auth: bool,
    cors_origins: tuple[str, ...],
    trusted_proxies: tuple[str, ...],
    body_timeout: float,
    header_timeout: float,
    stateless: bool,
    json_response: bool,
    keepalive: float,
    session_idle_timeout: float,
    state: str | None,
    state_prefix: str,
    max_body_bytes: int,
    max_sessions: int,
    shutdown_grace: float,
    toolsets: str | None,
    settings: tuple[str, ...],
    state_keys: tuple[str, ...],
    log_level: str,
    otel: bool,
    auth: AuthSettings,
    metrics: bool,
    metrics_public: bool,
    log_format: str,
    access_log: bool,
    log_arguments: bool,
) -> None:
    """Serve the built-in server, or TARGET (module:attribute or file.py:attribute).

    \b
    Authorization (see README, "Protect a server"):
      static secrets  --token / $SSEMCP_TOKEN, --token-file (sha256:<hex> lines allowed),
                      also in a header of your choice with --api-key-header X-API-Key
      OAuth (JWT)     --auth-issuer URL: tokens signed by the issuer's keys, naming this
                      server (--auth-audience, default the MCP URL) in 'aud'
      OAuth (opaque)  --auth-introspection-url URL with $SSEMCP_AUTH_CLIENT_ID and
                      $SSEMCP_AUTH_CLIENT_SECRET (RFC 7662)
    With any of them, /.well-known/oauth-protected-resource tells clients where to get a
    token, and tools declared with scopes=[...] need those scopes.
    """
    context = click.get_current_context()
    file_settings: Mapping[str, str] = context.meta.get(_FILE_SETTINGS_KEY, {})
    if target is not None and context.get_parameter_source("target") is not (
        ParameterSource.DEFAULT_MAP
    ):
        # A TARGET on the command line replaces the file's choice of the built-in server.
        file_settings = {}
        if context.get_parameter_source("toolsets") is ParameterSource.DEFAULT_MAP:
            toolsets = None
    elif context.get_parameter_source("target") is ParameterSource.DEFAULT_MAP and (
        context.get_parameter_source("toolsets") is ParameterSource.COMMANDLINE
    ):
        target = None  # and --toolsets on the command line replaces the file's TARGET
    if use_stdio:
        _refuse_http_options_with_stdio(context)
    _configure_logging(log_level, log_format)
    observe = _observe_settings(access_log, log_arguments, metrics, metrics_public)
    auth = dataclasses.replace(auth, tokens=_tokens(tokens))
    if not use_stdio:
        _check_http_security(auth, host, insecure_no_auth, cors_origins, trusted_proxies)
    server = _choose_server(target, toolsets, settings, file_settings)
    _use_state_keys(server, state_keys)
    if otel:
        _turn_on_tracing(server)
    if use_stdio:
        _run_stdio(
            server, max_line_bytes=max_body_bytes, shutdown_grace=shutdown_grace, observe=observe
        )
        return

    app = _create_app(
        server,
        allowed_hosts=allowed_hosts or None,
        allowed_origins=allowed_origins or None,
        auth=auth,
        cors_origins=cors_origins,
        trusted_proxies=trusted_proxies,
        stateless=stateless,
        json_response=json_response,
        keepalive_seconds=keepalive,
        session_idle_timeout_seconds=session_idle_timeout or None,
        max_body_bytes=max_body_bytes,
        max_sessions=max_sessions,
        state=state,
        state_prefix=state_prefix,
        observe=observe,
    )
    _serve_http(
        app,
        host,
        port,
        allowed_hosts,
        log_level,
        header_timeout,
        body_timeout,
        shutdown_grace,
        log_format,
    )


def _check_http_security(
    auth: AuthSettings,
    host: str,
    insecure_no_auth: bool,
    cors_origins: tuple[str, ...],
    trusted_proxies: tuple[str, ...],
) -> None:
    """What serve and bridge check before anything is built or bound, so that a refused
    command starts nothing. Any way to authenticate counts, not only a static token."""
    _refuse_exposure_without_token(host, auth.methods(), insecure_no_auth)
    _check_security_options(auth.tokens, cors_origins, trusted_proxies)
    try:
        auth.check()
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from None


def _create_app(server: Server, **options: Any) -> MCPApp:
    """``create_app(server, **options)`` as serve and bridge run it under uvicorn: the protocol
    below bounds bodies where it sees them arrive, at no cost per request, so the app does
    not; settings that only conflict once combined are usage errors."""
    from ssemcp.http import create_app

    try:
        return create_app(server, body_timeout_seconds=None, **options)
    except ValueError as exc:  # (ssemcp.http.app)
        raise click.UsageError(str(exc)) from None


@main.command()
@click.argument(
    "command", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- CMD [ARGS]..."
)
@click.option(
    "--shared",
    is_flag=True,
    help="Run one child for every session (request ids are rewritten so clients never "
    "collide), instead of one child per session.",
)
@click.option(
    "--max-children",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_CHILDREN,
    show_default=True,
    metavar="N",
    help="Live child processes at most (one per session); past it, new sessions get 503.",
)
@click.option(
    "--child-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_CHILD_TIMEOUT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="A request whose child says nothing this long fails, and the child is restarted.",
)
@click.option(
    "--startup-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_STARTUP_TIMEOUT_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="The same bound until a child has written its first line (npx may download first).",
)
@auth_options
@_log_level_option
def bridge(
    command: tuple[str, ...],
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    tokens: tuple[str, ...],
    insecure_no_auth: bool,
    cors_origins: tuple[str, ...],
    trusted_proxies: tuple[str, ...],
    body_timeout: float,
    header_timeout: float,
    json_response: bool,
    keepalive: float,
    session_idle_timeout: float,
    max_body_bytes: int,
    max_sessions: int,
    shutdown_grace: float,
    shared: bool,
    max_children: int,
    child_timeout: float,
    startup_timeout: float,
    log_level: str,
    auth: AuthSettings,
    metrics: bool,
    metrics_public: bool,
    log_format: str,
    access_log: bool,
    log_arguments: bool,
) -> None:
    """Serve the stdio MCP server CMD over HTTP (/mcp and /sse), with ssemcp's security.

    Each session gets its own CMD process (or all share one, --shared), and so does each
    principal's 2026-07-28 requests; a child that crashes or hangs fails its requests with a
    JSON-RPC error and is restarted. Children never see
    the bridge's secrets (SSEMCP_TOKEN, SSEMCP_TOKEN_FILE, SSEMCP_AUTH_*...). Example:

    \b
      ssemcp bridge --port 8000 -- npx -y @modelcontextprotocol/server-everything
    """
    _configure_logging(log_level, log_format)
    auth = dataclasses.replace(auth, tokens=_tokens(tokens))
    _check_http_security(auth, host, insecure_no_auth, cors_origins, trusted_proxies)
    if shutil.which(command[0]) is None:
        raise click.UsageError(f"cannot run {command[0]!r}: no such executable (or not on PATH)")

    from ssemcp.bridge import DEFAULT_IDLE_CHILD_SECONDS, Bridge

    hosted = Bridge(
        command,
        shared=shared,
        max_children=max_children,
        child_timeout_seconds=child_timeout,
        startup_timeout_seconds=startup_timeout,
        max_line_bytes=max_body_bytes,
        idle_seconds=session_idle_timeout or DEFAULT_IDLE_CHILD_SECONDS,
    )
    # The app's server only holds the bridge's cleanup (its children end at shutdown) and the
    # keys that seal 2026-07-28 request states: every session is the child's, and so is every
    # 2026-07-28 request (ssemcp.bridge.standalone runs it on its principal's child).
    server = Server("ssemcp-bridge", __version__)
    server.add_cleanup(hosted.aclose)
    app = _create_app(
        server,
        allowed_hosts=allowed_hosts or None,
        allowed_origins=allowed_origins or None,
        auth=auth,
        cors_origins=cors_origins,
        trusted_proxies=trusted_proxies,
        json_response=json_response,
        keepalive_seconds=keepalive,
        session_idle_timeout_seconds=session_idle_timeout or None,
        max_body_bytes=max_body_bytes,
        max_sessions=max_sessions,
        sessions=hosted.connect,
        sessionless=hosted.serve_sessionless,
        listen=hosted.open_listen,
        # Relayed requests are the child's, not dispatched here: HTTP lines and live counts.
        observe=_observe_settings(access_log, log_arguments, metrics, metrics_public),
    )
    _serve_http(
        app,
        host,
        port,
        allowed_hosts,
        log_level,
        header_timeout,
        body_timeout,
        shutdown_grace,
        log_format,
    )


# bridge takes serve's HTTP options themselves (one definition, one help text), after its
# argument, and --max-body-bytes: all but --stateless, which would need a child per request,
# --state and --state-prefix (a bridged session lives in its child, which no other replica
# can reach), and the authorization options, which it has from the same decorator as serve.
_BRIDGE_OWN_PARAMETERS: Final = frozenset(parameter.name for parameter in bridge.params)
_BRIDGE_SERVE_PARAMETERS: Final = (
    _HTTP_ONLY_PARAMETERS
    | {"max_body_bytes", "shutdown_grace", "log_format", "access_log", "log_arguments"}
) - {
    "stateless",
    "state",
    "state_prefix",
    *_BRIDGE_OWN_PARAMETERS,
}
bridge.params[1:1] = [
    parameter for parameter in serve.params if parameter.name in _BRIDGE_SERVE_PARAMETERS
]


@main.command()
@_target_argument
@_toolsets_option
@_setting_option
@_state_key_option
@_shutdown_grace_option
@_log_level_option
@_otel_option
@_log_format_option
@_access_log_option
@_log_arguments_option
def stdio(
    target: str | None,
    toolsets: str | None,
    settings: tuple[str, ...],
    state_keys: tuple[str, ...],
    shutdown_grace: float,
    log_level: str,
    otel: bool,
    log_format: str,
    access_log: bool,
    log_arguments: bool,
) -> None:
    """Serve on stdin/stdout (the same as `serve --stdio`)."""
    _configure_logging(log_level, log_format)
    server = _choose_server(target, toolsets, settings)
    _use_state_keys(server, state_keys)
    if otel:
        _turn_on_tracing(server)
    _run_stdio(
        server, shutdown_grace=shutdown_grace, observe=_observe_settings(access_log, log_arguments)
    )


def _use_state_keys(server: Server, state_keys: tuple[str, ...]) -> None:
    if not state_keys:
        return
    try:
        server.request_state_keys = RequestStateKeys([key.encode() for key in state_keys])
    except ValueError:
        raise click.UsageError("--state-key must be 16 characters or more") from None


def _show_setting(value: str | int | float) -> str:
    """A setting's value as one would type it: 300.0 as 300, 0.5 as 0.5."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@main.command(name="settings")
def settings_command() -> None:
    """List the built-in tool sets' settings with their defaults and current values.

    Each is an environment variable, or --setting NAME=VALUE on serve and stdio.
    """
    defaults = settings_defaults()
    for toolset, variables in settings_variables().items():
        click.echo(f"{toolset}:")
        width = max(len(name) for name in variables)
        for name, description in variables.items():
            click.echo(f"  {name.ljust(width)}  {description}")
            default = defaults.get(name)
            shown_default = "no default" if default is None else f"default {_show_setting(default)}"
            current = os.environ.get(name, "").strip()
            if not current:
                in_use = " (not set)" if default is None else " (in use)"
                click.echo(f"  {' ' * width}  {shown_default}{in_use}")
            elif "TOKEN" in name:
                click.echo(f"  {' ' * width}  {shown_default}, set (hidden)")
            else:
                click.echo(f"  {' ' * width}  {shown_default}, set to {current}")


@main.group(name="config")
def config_group() -> None:
    """Check or write the configuration file of `ssemcp serve --config FILE`."""


@config_group.command(name="check")
@click.argument("file", type=click.Path(path_type=Path))
def config_check(file: Path) -> None:
    """Check FILE as `serve --config FILE` would read it; exit 1 listing every problem."""
    from ssemcp.config import ConfigError, check_values, load_config

    try:
        config = load_config(file, serve)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from None
    problems = check_values(config)
    for problem in problems:
        click.echo(problem, err=True)
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{file}: OK ({len(config.values)} options, {len(config.settings)} settings)")


@config_group.command(name="example")
def config_example() -> None:
    """Print a commented configuration file with every option at its default."""
    from ssemcp.config import example_config

    click.echo(example_config(serve), nl=False)


@main.command(name="install")
@click.argument("client", type=click.Choice(CLIENTS))
@click.argument("stdio_arguments", nargs=-1, type=click.UNPROCESSED, metavar="[-- STDIO_ARGS]")
@click.option("--name", default=DEFAULT_NAME, show_default=True, help="The server's name.")
@click.option("--url", help="A remote ssemcp (e.g. https://host/mcp) instead of a local one.")
@click.option(
    "--connect",
    "connect_url",
    metavar="URL",
    help="A remote MCP server, started as a local `ssemcp connect URL` (any client).",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="An HTTP header for --url or --connect (repeatable), e.g. 'Authorization: Bearer TOKEN'.",
)
@click.option(
    "--env",
    "env",
    multiple=True,
    metavar="NAME=VALUE",
    help="An environment variable for the local server (repeatable), e.g. GITHUB_TOKEN=...",
)
@click.option(
    "--config-path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The client's configuration file (default: where the client keeps it on this system).",
)
@click.option("--dry-run", is_flag=True, help="Print the file it would write, and where.")
def install_command(
    client: str,
    stdio_arguments: tuple[str, ...],
    name: str,
    url: str | None,
    connect_url: str | None,
    headers: tuple[str, ...],
    env: tuple[str, ...],
    config_path: Path | None,
    dry_run: bool,
) -> None:
    """Add ssemcp to CLIENT's MCP servers (claude-desktop or cursor).

    By default the client starts `ssemcp stdio` with this Python; arguments after `--` go to
    it (`ssemcp install cursor -- --toolsets utilities`). With --url the client connects to a
    running server instead (Cursor only: Claude Desktop's file holds local servers only).
    With --connect the client starts `ssemcp connect URL` (any client, Claude Desktop too),
    which relays to the remote server; --env then sets its environment (e.g.
    SSEMCP_CLIENT_TOKEN=...). Other servers in the file are kept.
    """
    from ssemcp import install

    try:
        if connect_url is not None:
            if url is not None or stdio_arguments:
                raise click.UsageError("--connect goes alone: no --url, no STDIO_ARGS")
            entry = install.connect_entry(
                connect_url, _pairs(headers, ":", "--header"), _pairs(env, "=", "--env")
            )
        elif url is not None:
            if stdio_arguments or env:
                raise click.UsageError("STDIO_ARGS and --env are for a local server, not --url")
            entry = install.remote_entry(client, url, _pairs(headers, ":", "--header"))
        else:
            if headers:
                raise click.UsageError(
                    "--header is for a remote server: pass --url or --connect too"
                )
            entry = install.stdio_entry(stdio_arguments, _pairs(env, "=", "--env"))
        path = config_path or install.config_path(client)
        installation = install.plan_installation(path, name, entry)
        if dry_run:
            click.echo(f"# would write {path}")
            click.echo(installation.text(), nl=False)
            return
        install.write_installation(installation)
    except install.InstallError as exc:
        raise click.ClickException(str(exc)) from None
    verb = "replaced" if installation.replaced else "added"
    click.echo(f"{verb} server {name!r} in {path}; restart {client} to load it")


def _pairs(items: tuple[str, ...], separator: str, option: str) -> dict[str, str]:
    """``NAME<separator>VALUE`` items as a dict.

    Raises:
        click.UsageError: an item without the separator or a name.
    """
    pairs: dict[str, str] = {}
    for item in items:
        name, found, value = item.partition(separator)
        if not found or not name.strip():
            raise click.UsageError(f"{option} takes NAME{separator}VALUE, not {item!r}")
        pairs[name.strip()] = value.strip()
    return pairs


if __name__ == "__main__":  # pragma: no cover
    main()


# The client commands: list, call, read, prompt, trace (ssemcp.client.cli).
for _command in CLIENT_COMMANDS:
    main.add_command(_command)

# ssemcp connect: a remote server as a local stdio one (ssemcp.connect.cli).
from ssemcp.connect.cli import connect_command  # noqa: E402

main.add_command(connect_command)
