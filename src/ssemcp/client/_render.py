"""How the client commands show results to a person: tables, Markdown, prompts, progress.

Owns the human output of ``ssemcp list``/``call``/``read``/``prompt`` (with ``rich``, imported
by the commands that need it), asking the user when a server elicits, and the progress bar.
What to run and the exit codes are ``cli``'s; ``--json`` output bypasses this module.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from ssemcp._types import JSONObject, JSONValue
from ssemcp.client._protocol import Progress

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "ask_user",
    "print_call_result",
    "print_list",
    "print_prompt",
    "print_read",
    "progress_bar",
]

# List columns: (title, key) per kind; the description column is cut to its first line.
_COLUMNS: Final = {
    "tools": (("name", "name"), ("title", "title"), ("description", "description")),
    "resources": (
        ("uri", "uri"),
        ("name", "name"),
        ("mime type", "mimeType"),
        ("description", "description"),
    ),
    "templates": (
        ("uri template", "uriTemplate"),
        ("name", "name"),
        ("description", "description"),
    ),
    "prompts": (("name", "name"), ("arguments", "arguments"), ("description", "description")),
}


def _cell(key: str, value: JSONValue) -> str:
    if value is None:
        return ""
    if key == "description" and isinstance(value, str):
        return value.strip().splitlines()[0] if value.strip() else ""
    if key == "arguments" and isinstance(value, list):
        names = []
        for argument in value:
            if isinstance(argument, dict):
                name = str(argument.get("name", "?"))
                names.append(name if argument.get("required") else f"[{name}]")
        return " ".join(names)
    return value if isinstance(value, str) else json.dumps(value)


def print_list(console: Console, kind: str, items: list[JSONObject]) -> None:
    """One table of tools, resources, templates or prompts."""
    from rich.markup import escape
    from rich.table import Table

    columns = _COLUMNS[kind]
    # Drop a column nobody filled (most servers give no titles).
    shown = [(title, key) for title, key in columns if any(item.get(key) for item in items)]
    table = Table(title=f"{kind} ({len(items)})", title_justify="left")
    for title, _ in shown or columns[:1]:
        table.add_column(title, overflow="fold")
    for item in items:
        table.add_row(*(escape(_cell(key, item.get(key))) for _, key in shown or columns[:1]))
    console.print(table)


def _print_block(console: Console, block: JSONValue, markdown: bool) -> None:
    from rich.markdown import Markdown
    from rich.markup import escape

    if not isinstance(block, dict):
        console.print(escape(json.dumps(block)))
        return
    kind = block.get("type")
    if kind == "text":
        text = str(block.get("text", ""))
        if markdown:
            console.print(Markdown(text))
        else:
            console.print(text, markup=False, highlight=False, soft_wrap=True)
    elif kind in ("image", "audio"):
        size = _decoded_size(block.get("data"))
        console.print(f"[dim]\\[{kind} {escape(str(block.get('mimeType', '?')))}, {size} bytes][/]")
    elif kind == "resource":
        resource = block.get("resource")
        _print_contents(console, [resource] if isinstance(resource, dict) else [], markdown)
    elif kind == "resource_link":
        console.print(
            f"[dim]\\[resource {escape(str(block.get('name', '')))}: "
            f"{escape(str(block.get('uri', '')))}][/]"
        )
    else:
        console.print(escape(json.dumps(block, ensure_ascii=False)))


def _decoded_size(data: JSONValue) -> int | str:
    if not isinstance(data, str):
        return "?"
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return "?"


def print_call_result(console: Console, result: JSONObject) -> None:
    """A ``CallToolResult``: its content blocks (text as Markdown on a terminal), else its
    structured content; an error result in red."""
    content = result.get("content")
    blocks = content if isinstance(content, list) else []
    if result.get("isError") is True:
        console.print("[bold red]The tool reported an error:[/]")
    markdown = console.is_terminal
    for block in blocks:
        _print_block(console, block, markdown)
    if not blocks and "structuredContent" in result:
        from rich.json import JSON

        console.print(
            JSON(json.dumps(result["structuredContent"], ensure_ascii=False)), soft_wrap=True
        )


def _print_contents(console: Console, contents: list[JSONValue], markdown: bool) -> None:
    from rich.markdown import Markdown
    from rich.markup import escape

    for item in contents:
        if not isinstance(item, dict):
            continue
        mime_type = str(item.get("mimeType") or "")
        if "text" in item:
            text = str(item["text"])
            if markdown and mime_type == "text/markdown":
                console.print(Markdown(text))
            else:
                console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            size = _decoded_size(item.get("blob"))
            console.print(
                f"[dim]\\[blob {escape(mime_type or '?')}, {size} bytes: "
                f"{escape(str(item.get('uri', '')))}][/]"
            )


def print_read(console: Console, result: JSONObject) -> None:
    """A ``ReadResourceResult``: each content's text, or a line about its blob."""
    contents = result.get("contents")
    _print_contents(console, contents if isinstance(contents, list) else [], console.is_terminal)


def print_prompt(console: Console, result: JSONObject) -> None:
    """A ``GetPromptResult``: its description, then each message under its role."""
    from rich.markup import escape

    description = result.get("description")
    if isinstance(description, str) and description:
        console.print(f"[dim]{escape(description)}[/]")
    messages = result.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        console.print(f"[bold]{escape(str(message.get('role', '?')))}:[/]")
        _print_block(console, message.get("content"), console.is_terminal)


def _ignore(update: Progress) -> None:
    return None


@contextmanager
def progress_bar(console: Console) -> Iterator[Callable[[Progress], None]]:
    """A progress bar on ``console`` while the block runs; yields the callback for
    ``Client.call_tool(on_progress=...)``. On a console that is not a terminal it shows
    nothing."""
    if not console.is_terminal:
        yield _ignore
        return
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as ProgressDisplay

    with ProgressDisplay(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:g}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("working", total=None)

        def on_progress(update: Progress) -> None:
            bar.update(
                task,
                completed=update.progress,
                total=update.total,
                description=update.message or "working",
            )

        yield on_progress


def _ask_blocking(console: Console, params: JSONObject) -> JSONObject:
    from rich.markup import escape
    from rich.prompt import Confirm, FloatPrompt, IntPrompt, Prompt

    console.print(f"[bold]The server asks:[/] {escape(str(params.get('message', '')))}")
    if not Confirm.ask("Answer it?", default=True, console=console):
        return {"action": "decline"}
    schema = params.get("requestedSchema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    required = schema.get("required") if isinstance(schema, dict) else None
    content: JSONObject = {}
    for name, spec in (properties or {}).items() if isinstance(properties, dict) else ():
        if not isinstance(spec, dict):
            continue
        label = escape(str(spec.get("title") or name))
        if spec.get("description"):
            label += f" [dim]({escape(str(spec['description']))})[/]"
        default = spec.get("default")
        kind = spec.get("type")
        is_required = isinstance(required, list) and name in required
        choices = spec.get("enum")
        if isinstance(choices, list):
            content[name] = Prompt.ask(label, choices=[str(c) for c in choices], console=console)
        elif kind == "boolean":
            content[name] = Confirm.ask(label, default=bool(default), console=console)
        elif kind == "integer":
            content[name] = IntPrompt.ask(label, console=console, default=default)
        elif kind == "number":
            content[name] = FloatPrompt.ask(label, console=console, default=default)
        else:
            answer = Prompt.ask(
                label, console=console, default=default if isinstance(default, str) else ""
            )
            if answer or is_required:
                content[name] = answer
    return {"action": "accept", "content": content}


async def ask_user(console: Console, params: JSONObject, interactive: bool) -> JSONObject:
    """Answer ``elicitation/create``: on a terminal, ask the user field by field; elsewhere
    decline (nobody is there to answer). Ctrl-C or end of input cancels."""
    if not interactive:
        return {"action": "decline"}
    try:
        return await asyncio.to_thread(_ask_blocking, console, params)
    except (EOFError, KeyboardInterrupt):
        return {"action": "cancel"}
