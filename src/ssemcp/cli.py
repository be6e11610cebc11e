"""The ``ssemcp`` command: serve the built-in server or your own, over stdio or HTTP.

Owns argument parsing, logging set-up and loading a user's server (``module:attribute`` or
``path/to/file.py:attribute``). Serving is the transports' job.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Final

import click

from ssemcp._version import __version__
from ssemcp.errors import LocalProtocolError
from ssemcp.server.registry import Server
from ssemcp.toolsets import DEFAULT_TOOLSETS, TOOLSETS, build_server

__all__ = ["load_server", "main"]

logger = logging.getLogger("ssemcp")

_LOG_LEVELS: Final = ("debug", "info", "warning", "error")


def load_server(target: str) -> Server:
    """The ``Server`` named by ``target``: ``package.module:name`` or ``file.py:name``.

    ``name`` may be a Server or a function that returns one; it defaults to ``server``.

    Raises:
        click.ClickException: the target cannot be loaded, or is no Server.
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
            module = importlib.import_module(location)
    except (ImportError, FileNotFoundError) as exc:
        raise click.ClickException(f"cannot import {location}: {exc}") from None
    value = getattr(module, attribute, None)
    if callable(value) and not isinstance(value, Server):
        value = value()
    if not isinstance(value, Server):
        raise click.ClickException(f"{target} is not an ssemcp Server")
    return value


def _configure_logging(level: str) -> None:
    # Logs go to stderr always: on stdio, stdout belongs to the protocol.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package_logger = logging.getLogger("ssemcp")
    package_logger.addHandler(handler)
    package_logger.setLevel(level.upper())
    package_logger.propagate = False


def _choose_server(target: str | None, toolsets: str | None) -> Server:
    if target is not None:
        if toolsets is not None:
            raise click.UsageError("--toolsets applies to the built-in server, not to TARGET")
        return load_server(target)
    names = (
        DEFAULT_TOOLSETS
        if toolsets is None
        else tuple(name.strip() for name in toolsets.split(",") if name.strip())
    )
    try:
        return build_server(names)
    except LocalProtocolError as exc:
        raise click.UsageError(str(exc)) from None


def _run_stdio(server: Server) -> None:
    from ssemcp.transports.stdio import serve_stdio

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_stdio(server))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ssemcp")
def main() -> None:
    """ssemcp: a Model Context Protocol server (stdio, HTTP+SSE, Streamable HTTP)."""


_target_argument = click.argument("target", required=False)
_toolsets_option = click.option(
    "--toolsets",
    metavar="NAMES",
    help=f"Comma-separated built-in tool sets (available: {', '.join(TOOLSETS)}; "
    f"default: {', '.join(DEFAULT_TOOLSETS)}).",
)
_log_level_option = click.option(
    "--log-level",
    type=click.Choice(_LOG_LEVELS),
    default="info",
    show_default=True,
    help="Server log level (logs go to stderr).",
)


@main.command()
@_target_argument
@click.option("--stdio", "use_stdio", is_flag=True, help="Serve on stdin/stdout.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
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
@_toolsets_option
@_log_level_option
def serve(
    target: str | None,
    use_stdio: bool,
    host: str,
    port: int,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    toolsets: str | None,
    log_level: str,
) -> None:
    """Serve the built-in server, or TARGET (module:attribute or file.py:attribute)."""
    _configure_logging(log_level)
    server = _choose_server(target, toolsets)
    if use_stdio:
        _run_stdio(server)
        return
    import uvicorn

    from ssemcp.http import create_app

    app = create_app(
        server,
        allowed_hosts=allowed_hosts or None,
        allowed_origins=allowed_origins or None,
    )
    logger.info("serving Streamable HTTP on http://%s:%d/mcp", host, port)
    # Open GET streams never end by themselves; after 5 s of shutdown they are cancelled.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
    )


@main.command()
@_target_argument
@_toolsets_option
@_log_level_option
def stdio(target: str | None, toolsets: str | None, log_level: str) -> None:
    """Serve on stdin/stdout (the same as `serve --stdio`)."""
    _configure_logging(log_level)
    _run_stdio(_choose_server(target, toolsets))


if __name__ == "__main__":  # pragma: no cover
    main()
