"""The ``ssemcp connect`` command: parses its options and runs the relay (``_relay``).

Its conventions are the client commands' (``ssemcp.client.cli``): ``--header NAME:VALUE``,
``--token`` or ``SSEMCP_CLIENT_TOKEN``, ``--transport``, ``--timeout``, and their exit codes.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Final, cast

import click

__all__ = ["connect_command"]

# connect's messages on stderr: a desktop client shows them in its server log as they are.
_LOG_FORMAT: Final = "ssemcp connect: %(levelname)s %(message)s"


def _configure_logging(level: str) -> None:
    # stdout belongs to the protocol: every log line goes to stderr.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    package_logger = logging.getLogger("ssemcp")
    package_logger.addHandler(handler)
    package_logger.setLevel(level.upper())
    package_logger.propagate = False


def _parse_headers(headers: tuple[str, ...]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for header in headers:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise click.UsageError(f"--header takes NAME:VALUE, not {header!r}")
        parsed[name.strip()] = value.strip()
    return parsed


@click.command(
    "connect",
    short_help="Use a remote MCP server as a local stdio one.",
    epilog="Exit codes: 0 stdin ended or stdout closed, 2 usage, 3 the first session could not "
    "be opened (refused, timeout, HTTP error), "
    "4 authentication refused (401/403), 5 protocol error.",
)
@click.argument("url")
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    metavar="NAME:VALUE",
    help="An HTTP header for every request (repeatable).",
)
@click.option(
    "--token",
    envvar="SSEMCP_CLIENT_TOKEN",
    metavar="TOKEN",
    help="Bearer token (Authorization: Bearer TOKEN). Env: SSEMCP_CLIENT_TOKEN.",
)
@click.option(
    "--transport",
    type=click.Choice(["auto", "streamable", "sse", "2026"]),
    default="auto",
    show_default=True,
    help="auto: a server that speaks only 2026-07-28 (its server/discover says so) gets the "
    "session translated into 2026-07-28 requests; else a 2025 session on Streamable HTTP, "
    "else the 2024-11-05 SSE transport (a client that sends 2026-07-28 requests gets them "
    "relayed as they are). Or force one (2026: translate for any 2026-07-28 server).",
)
@click.option(
    "--timeout",
    "timeout_seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds to wait for connecting and for each response to start.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
    help="What connect itself logs, on stderr.",
)
def connect_command(
    url: str,
    headers: tuple[str, ...],
    token: str | None,
    transport: str,
    timeout_seconds: float,
    log_level: str,
) -> None:
    """Relay a local MCP client on stdin/stdout to the server at URL over HTTP.

    Start it from Claude Desktop, Cursor or Cherry Studio as a stdio server (command
    `ssemcp`, args `["connect", URL, ...]`; `ssemcp install CLIENT --connect URL` writes
    that entry): the remote server then looks local to them. Messages pass both ways with
    their ids unchanged; only JSON-RPC is written to stdout, connect's own messages go to
    stderr.
    """
    if not url.startswith(("http://", "https://")):
        raise click.UsageError(f"URL must be an http(s) URL, not {url!r}")
    parsed_headers = _parse_headers(headers)
    _configure_logging(log_level)
    from ssemcp.connect._relay import ConnectTransport, run_connect

    code = asyncio.run(
        run_connect(
            url,
            transport=cast(ConnectTransport, transport),
            headers=parsed_headers,
            token=token or None,
            timeout_seconds=timeout_seconds,
        )
    )
    sys.exit(code)
