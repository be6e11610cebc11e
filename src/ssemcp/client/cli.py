"""The client commands: ``ssemcp list``, ``call``, ``read``, ``prompt`` and ``trace``.

Owns their options, how a target is named (a URL, or ``-- command args…`` for a stdio
server), turning ``key=value`` arguments into a tool's arguments, running one action on a
``Client``, and the exit codes. The human output is ``_render``'s, the wire trace ``_trace``'s,
``trace --sse`` is ``_follow``'s. ``rich`` and httpx load only when a command runs.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import click

from ssemcp._types import JSONObject, JSONValue

if TYPE_CHECKING:
    from rich.console import Console

    from ssemcp.client import Client, WireObserver

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_OK",
    "EXIT_PROTOCOL",
    "EXIT_TOOL_ERROR",
    "EXIT_USAGE",
    "call_command",
    "list_command",
    "prompt_command",
    "read_command",
    "trace_command",
]

EXIT_OK: Final = 0
EXIT_USAGE: Final = 2  # click's own code for a usage error
EXIT_CONNECTION: Final = 3
EXIT_AUTH: Final = 4
EXIT_PROTOCOL: Final = 5
EXIT_TOOL_ERROR: Final = 6

_EXIT_CODES_HELP: Final = (
    "\b\nTARGET is an http(s) URL, or a stdio server's command after `--`:\n"
    "  ssemcp list http://127.0.0.1:8000/mcp tools\n"
    "  ssemcp list tools -- python -m ssemcp stdio\n"
    "\b\nExit codes:\n"
    "  0  success\n"
    "  2  usage error\n"
    "  3  connection failure (refused, timeout, HTTP error, connection closed)\n"
    "  4  authentication failure (HTTP 401/403)\n"
    "  5  protocol error (a JSON-RPC error from the server, no common revision)\n"
    "  6  the tool returned isError"
)
_KINDS: Final = ("tools", "resources", "templates", "prompts")
# Which capability says a server has each kind, and how to list it.
_KIND_CAPABILITY: Final = {
    "tools": "tools",
    "resources": "resources",
    "templates": "resources",
    "prompts": "prompts",
}
_STDIO_COMMAND_KEY: Final = "ssemcp.stdio_command"


class _TargetCommand(click.Command):
    """A command whose arguments after a bare ``--`` are a stdio server's command line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            index = args.index("--")
            ctx.meta[_STDIO_COMMAND_KEY] = args[index + 1 :]
            args = args[:index]
        return super().parse_args(ctx, args)


@dataclass
class ClientOptions:
    """What every client command takes."""

    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    transport: str = "auto"
    timeout_seconds: float = 60.0
    as_json: bool = False
    log_level: str | None = None
    url: str | None = None
    command: list[str] | None = None


def _client_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--header",
            "-H",
            "headers",
            multiple=True,
            metavar="NAME:VALUE",
            help="An HTTP header for every request (repeatable).",
        ),
        click.option(
            "--token",
            envvar="SSEMCP_CLIENT_TOKEN",
            metavar="TOKEN",
            help="Bearer token (Authorization: Bearer TOKEN). Env: SSEMCP_CLIENT_TOKEN.",
        ),
        click.option(
            "--transport",
            type=click.Choice(["auto", "streamable", "sse", "2026"]),
            default="auto",
            show_default=True,
            help="auto: 2026-07-28, else a 2025 session on Streamable HTTP, else the "
            "2024-11-05 SSE transport. Or force one.",
        ),
        click.option(
            "--timeout",
            "timeout_seconds",
            type=click.FloatRange(min=0, min_open=True),
            default=60.0,
            show_default=True,
            help="Seconds to wait for each answer.",
        ),
        click.option(
            "--log-level",
            type=click.Choice(
                ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
            ),
            help="Ask the server for its log messages at this level or above (on stderr).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the raw result as JSON."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _parse_options(
    ctx: click.Context,
    positional: Sequence[str],
    headers: Sequence[str],
    token: str | None,
    transport: str,
    timeout_seconds: float,
    log_level: str | None,
    as_json: bool,
) -> tuple[ClientOptions, list[str]]:
    """The options, and the positional arguments left after the target."""
    parsed: dict[str, str] = {}
    for header in headers:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise click.UsageError(f"--header takes NAME:VALUE, not {header!r}")
        parsed[name.strip()] = value.strip()
    options = ClientOptions(
        parsed, token or None, transport, timeout_seconds, as_json, log_level or None
    )
    rest = list(positional)
    command = ctx.meta.get(_STDIO_COMMAND_KEY)
    if command is not None:
        if not command:
            raise click.UsageError("give the stdio server's command after --")
        if transport not in ("auto", "2026"):
            raise click.UsageError(f"--transport {transport} needs a URL target")
        options.command = list(command)
    else:
        if not rest or not rest[0].startswith(("http://", "https://")):
            raise click.UsageError(
                "give the target first: an http(s) URL, or a command after -- (see --help)"
            )
        options.url = rest.pop(0)
    return options, rest


def _consoles() -> tuple[Console, Console]:
    from rich.console import Console

    return Console(), Console(stderr=True)


def _make_client(
    options: ClientOptions,
    errors: Console,
    *,
    observer: WireObserver | None = None,
    stderr: Literal["inherit", "log"] = "inherit",
) -> Client:
    from ssemcp.client import Client, LogMessage
    from ssemcp.client._render import ask_user

    async def on_elicitation(params: JSONObject) -> JSONObject:
        return await ask_user(errors, params, sys.stdin.isatty() and errors.is_terminal)

    async def on_roots() -> list[JSONObject]:
        return [{"uri": Path.cwd().as_uri(), "name": "current directory"}]

    def on_log(message: LogMessage) -> None:
        source = f" {message.logger}" if message.logger else ""
        data = message.data if isinstance(message.data, str) else json.dumps(message.data)
        from rich.text import Text

        errors.print(
            Text.assemble((f"[{message.level}{source}]", "dim"), " ", data), soft_wrap=True
        )

    target: str | list[str] = options.url if options.url is not None else options.command or []
    return Client(
        target,
        transport=options.transport,  # type: ignore[arg-type]
        headers=options.headers,
        token=options.token,
        timeout_seconds=options.timeout_seconds,
        client_info={"name": "ssemcp-cli", "version": _version()},
        on_elicitation=on_elicitation,
        on_roots=on_roots,
        on_log=on_log if options.log_level else None,
        log_level=options.log_level,
        observer=observer,
        stderr=stderr,
    )


def _version() -> str:
    from ssemcp._version import __version__

    return __version__


def _exit_code_of(error: BaseException) -> int:
    from ssemcp.client import AuthError, NegotiationError, RemoteError

    if isinstance(error, AuthError):
        return EXIT_AUTH
    if isinstance(error, RemoteError | NegotiationError):
        return EXIT_PROTOCOL
    return EXIT_CONNECTION


def _print_json(value: JSONValue) -> None:
    # Plain JSON for scripts: no colour, no wrapping.
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


Action = Callable[["Client", ClientOptions, list[str], "Console", "Console"], Awaitable[int]]


def _run(
    options: ClientOptions,
    action: Action,
    arguments: list[str],
    *,
    observer: WireObserver | None = None,
    stderr: Literal["inherit", "log"] = "inherit",
    after: Callable[[], None] | None = None,
) -> None:
    """Connect, run ``action``, print any failure, and exit with its code."""
    from ssemcp.client import ClientError

    output, errors = _consoles()

    async def main() -> int:
        try:
            client = _make_client(options, errors, observer=observer, stderr=stderr)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        async with client:
            return await action(client, options, arguments, output, errors)

    try:
        code = asyncio.run(main())
    except ClientError as exc:
        from rich.text import Text

        errors.print(Text.assemble(("error:", "bold red"), f" {exc}"), soft_wrap=True)
        code = _exit_code_of(exc)
    except KeyboardInterrupt:
        code = 130
    finally:
        if after is not None:
            after()
    sys.exit(code)


# ---------------------------------------------------------------------- the actions


async def _list_action(
    client: Client, options: ClientOptions, arguments: list[str], output: Console, errors: Console
) -> int:
    if len(arguments) > 1 or (arguments and arguments[0] not in _KINDS):
        raise click.UsageError(f"list takes one of {', '.join(_KINDS)}, not {arguments}")
    kinds = arguments or [
        kind for kind in _KINDS if _KIND_CAPABILITY[kind] in client.server_capabilities
    ]
    listers = {
        "tools": client.list_tools,
        "resources": client.list_resources,
        "templates": client.list_resource_templates,
        "prompts": client.list_prompts,
    }
    if not kinds:
        errors.print("the server declares no tools, resources or prompts", style="dim")
    found: dict[str, list[JSONObject]] = {}
    for kind in kinds:
        found[kind] = await listers[kind]()
    if options.as_json:
        _print_json(found if not arguments else found[arguments[0]])  # type: ignore[arg-type]
        return EXIT_OK
    from ssemcp.client._render import print_list

    for kind, items in found.items():
        print_list(output, kind, items)
    return EXIT_OK


def _schema_type(schema: JSONValue) -> str | None:
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    options = schema.get("anyOf")
    if isinstance(options, list):
        kinds = {
            option.get("type")
            for option in options
            if isinstance(option, dict) and option.get("type") != "null"
        }
        if len(kinds) == 1:
            found = kinds.pop()
            return found if isinstance(found, str) else None
    return None


def parse_tool_arguments(pairs: Sequence[str], input_schema: JSONValue) -> JSONObject:
    """``key=value`` pairs as a tool's arguments: a value the schema types as a string stays
    a string; any other is read as JSON if it parses (``3``, ``true``, ``[1,2]``), else kept
    as text, for the server to judge.

    Raises:
        click.UsageError: a pair without ``=``.
    """
    properties = input_schema.get("properties") if isinstance(input_schema, dict) else None
    arguments: JSONObject = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise click.UsageError(f"arguments are key=value, not {pair!r}")
        schema = properties.get(key) if isinstance(properties, dict) else None
        if _schema_type(schema) == "string":
            arguments[key] = value
            continue
        try:
            arguments[key] = json.loads(value)
        except ValueError:
            arguments[key] = value
    return arguments


def _call_action(args_json: str | None) -> Action:
    async def action(
        client: Client,
        options: ClientOptions,
        arguments: list[str],
        output: Console,
        errors: Console,
    ) -> int:
        if not arguments:
            raise click.UsageError("call needs a tool name")
        name, pairs = arguments[0], arguments[1:]
        if args_json is not None:
            if pairs:
                raise click.UsageError("give key=value arguments or --args, not both")
            try:
                tool_arguments = json.loads(args_json)
            except ValueError as exc:
                raise click.UsageError(f"--args is not JSON: {exc}") from None
            if not isinstance(tool_arguments, dict):
                raise click.UsageError("--args must be a JSON object")
        elif pairs:
            schema: JSONValue = None
            for tool in await client.list_tools():
                if tool.get("name") == name:
                    schema = tool.get("inputSchema")
            tool_arguments = parse_tool_arguments(pairs, schema)
        else:
            tool_arguments = {}
        from ssemcp.client._render import print_call_result, progress_bar

        with progress_bar(errors) as on_progress:
            result = await client.call_tool(name, tool_arguments, on_progress=on_progress)
        if options.as_json:
            _print_json(result)
        else:
            print_call_result(output, result)
        return EXIT_TOOL_ERROR if result.get("isError") is True else EXIT_OK

    return action


async def _read_action(
    client: Client, options: ClientOptions, arguments: list[str], output: Console, _: Console
) -> int:
    if len(arguments) != 1:
        raise click.UsageError("read needs exactly one URI")
    result = await client.read_resource(arguments[0])
    if options.as_json:
        _print_json(result)
    else:
        from ssemcp.client._render import print_read

        print_read(output, result)
    return EXIT_OK


async def _prompt_action(
    client: Client, options: ClientOptions, arguments: list[str], output: Console, _: Console
) -> int:
    if not arguments:
        raise click.UsageError("prompt needs a prompt name")
    prompt_arguments: dict[str, str] = {}
    for pair in arguments[1:]:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise click.UsageError(f"arguments are key=value, not {pair!r}")
        prompt_arguments[key] = value
    result = await client.get_prompt(arguments[0], prompt_arguments)
    if options.as_json:
        _print_json(result)
    else:
        from ssemcp.client._render import print_prompt

        print_prompt(output, result)
    return EXIT_OK


def _action_for(name: str, args_json: str | None) -> Action:
    actions: dict[str, Action] = {
        "list": _list_action,
        "call": _call_action(args_json),
        "read": _read_action,
        "prompt": _prompt_action,
    }
    action = actions.get(name)
    if action is None:
        raise click.UsageError(f"trace runs one of {', '.join(actions)}, not {name!r}")
    return action


# ---------------------------------------------------------------------- the commands

_positional = click.argument("arguments", nargs=-1, metavar="TARGET [ARGS]...")


@click.command(
    "list", cls=_TargetCommand, epilog=_EXIT_CODES_HELP, short_help="List a server's offerings."
)
@_client_options
@_positional
@click.pass_context
def list_command(ctx: click.Context, /, arguments: tuple[str, ...], **raw: Any) -> None:
    """List a server's tools, resources, templates or prompts (all kinds it has, if none named).

    ssemcp list TARGET [tools|resources|templates|prompts]
    """
    options, rest = _parse_options(ctx, arguments, **raw)
    _run(options, _list_action, rest)


@click.command("call", cls=_TargetCommand, epilog=_EXIT_CODES_HELP, short_help="Call a tool.")
@_client_options
@click.option("--args", "args_json", metavar="JSON", help="The arguments as one JSON object.")
@_positional
@click.pass_context
def call_command(
    ctx: click.Context, /, arguments: tuple[str, ...], args_json: str | None, **raw: Any
) -> None:
    """Call a tool and print its result.

    ssemcp call TARGET TOOL [key=value]... | --args JSON

    A value is JSON (3, true, [1,2]) unless the tool's schema says the argument is a string.
    """
    options, rest = _parse_options(ctx, arguments, **raw)
    _run(options, _call_action(args_json), rest)


@click.command("read", cls=_TargetCommand, epilog=_EXIT_CODES_HELP, short_help="Read a resource.")
@_client_options
@_positional
@click.pass_context
def read_command(ctx: click.Context, /, arguments: tuple[str, ...], **raw: Any) -> None:
    """Read a resource and print its contents.

    ssemcp read TARGET URI
    """
    options, rest = _parse_options(ctx, arguments, **raw)
    _run(options, _read_action, rest)


@click.command("prompt", cls=_TargetCommand, epilog=_EXIT_CODES_HELP, short_help="Get a prompt.")
@_client_options
@_positional
@click.pass_context
def prompt_command(ctx: click.Context, /, arguments: tuple[str, ...], **raw: Any) -> None:
    """Get a prompt and print its messages.

    ssemcp prompt TARGET NAME [key=value]...
    """
    options, rest = _parse_options(ctx, arguments, **raw)
    _run(options, _prompt_action, rest)


@click.command(
    "trace",
    cls=_TargetCommand,
    epilog=_EXIT_CODES_HELP,
    short_help="Run list/call/read/prompt and print the wire.",
)
@_client_options
@click.option("--args", "args_json", metavar="JSON", help="call: the arguments as JSON.")
@click.option(
    "--har",
    "har_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the HTTP exchanges as a HAR 1.2 file (browser devtools open it).",
)
@click.option(
    "--sse",
    "follow_url",
    metavar="URL",
    help="Follow any SSE endpoint (not only MCP) and show each frame and its framing style.",
)
@click.option(
    "--max-reconnects",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="--sse: reconnections (with Last-Event-ID) before giving up.",
)
@click.option(
    "--duration",
    "duration_seconds",
    type=click.FloatRange(min=0, min_open=True),
    help="--sse: stop after this many seconds.",
)
@_positional
@click.pass_context
def trace_command(
    ctx: click.Context,
    /,
    arguments: tuple[str, ...],
    args_json: str | None,
    har_path: Path | None,
    follow_url: str | None,
    max_reconnects: int,
    duration_seconds: float | None,
    **raw: Any,
) -> None:
    """Run one action and print the wire: each HTTP exchange (method, path, status, MCP
    headers, timing), each SSE frame as received, each JSON-RPC message, a command's stdio.

    \b
    ssemcp trace TARGET list|call|read|prompt [ARGS]...
    ssemcp trace --sse URL
    """
    if follow_url is not None:
        if arguments or ctx.meta.get(_STDIO_COMMAND_KEY) is not None:
            raise click.UsageError("--sse takes only its URL")
        if not follow_url.startswith(("http://", "https://")):
            raise click.UsageError("--sse takes an http(s) URL")
        from ssemcp.client._follow import follow

        options, _ = _parse_options(ctx, [follow_url], **raw)
        output, errors = _consoles()
        code = asyncio.run(
            follow(
                follow_url,
                output,
                errors,
                headers=options.headers,
                token=options.token,
                timeout_seconds=options.timeout_seconds,
                max_reconnects=max_reconnects,
                duration_seconds=duration_seconds,
                as_json=options.as_json,
            )
        )
        sys.exit(code)
    options, rest = _parse_options(ctx, arguments, **raw)
    if not rest:
        raise click.UsageError("trace needs an action: list, call, read or prompt")
    action = _action_for(rest[0], args_json)
    from ssemcp.client._trace import HARRecorder, Observers, TracePrinter

    output, _ = _consoles()
    printer = TracePrinter(output)
    recorder = HARRecorder() if har_path is not None else None
    observer = Observers(printer, recorder) if recorder is not None else printer

    def write_har() -> None:
        printer.flush()
        if recorder is not None and har_path is not None:
            try:
                har_path.write_text(json.dumps(recorder.har(), indent=2, ensure_ascii=False))
            except OSError as exc:
                click.echo(f"error: cannot write {har_path}: {exc.strerror}", err=True)
                return
            from rich.text import Text

            output.print(Text(f"HAR written to {har_path}", style="dim"), soft_wrap=True)

    _run(options, action, rest[1:], observer=observer, stderr="log", after=write_har)


CLIENT_COMMANDS: Final = (list_command, call_command, read_command, prompt_command, trace_command)
