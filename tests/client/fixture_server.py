"""The server the client tests talk to, in-process (``build_server()``) or as a stdio child
(``python -m ssemcp stdio tests/client/fixture_server.py:server``).

Owns what a client must handle: plain and failing tools, progress and log messages, a tool
that asks the user (elicitation), the model (sampling) and the roots, a slow tool to cancel,
resources, a template, prompts, completions, and lists long enough to page (page size 2).
"""

from __future__ import annotations

import asyncio

from ssemcp.errors import ToolError
from ssemcp.server import Context, Server

NAME_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}


def build_server() -> Server:
    """A fresh fixture server (each test gets its own)."""
    server = Server("client-fixture", "1.0.0", instructions="a fixture", page_size=2)

    @server.tool()
    async def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    async def echo(text: str) -> str:
        """Echo text back, as Markdown."""
        return text

    @server.tool()
    async def fail(reason: str = "it broke") -> str:
        """Always fail, as a tool (isError)."""
        raise ToolError(reason)

    @server.tool()
    async def steps(count: int, ctx: Context) -> str:
        """Report progress and log one message per step."""
        for step in range(1, count + 1):
            await ctx.report_progress(step, count, f"step {step}")
            await ctx.info(f"did step {step}")
        return f"{count} steps"

    @server.tool()
    async def greet(ctx: Context) -> str:
        """Ask the user's name, then greet them."""
        answer = await ctx.elicit("Your name?", NAME_SCHEMA, key="user_name")
        if answer.action != "accept" or not answer.content:
            return f"no name ({answer.action})"
        return f"hello {answer.content['name']}"

    @server.tool()
    async def ask_all(ctx: Context) -> str:
        """Ask the model and the roots, in one round."""
        sampled, roots = await asyncio.gather(
            ctx.sample("Capital?", max_tokens=5), ctx.list_roots()
        )
        return f"{sampled.text} {len(roots)} roots"

    @server.tool()
    async def slow(seconds: float, ctx: Context) -> str:
        """Sleep (a call to cancel); notes its start and its cancellation."""
        STARTED.append(ctx.request_id)
        # A first report makes a 2026-07-28 HTTP reply an SSE stream, whose closing the
        # server treats as cancellation (it does not watch a JSON reply still pending).
        await ctx.report_progress(0, seconds)
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            CANCELLED.append(ctx.request_id)
            raise
        return "done"

    @server.resource("fixture://static", mime_type="text/plain")
    def static() -> str:
        """A static text resource."""
        return "static text"

    @server.resource("fixture://second", mime_type="text/plain")
    def second() -> str:
        """A second resource."""
        return "second"

    @server.resource("fixture://third", mime_type="text/plain")
    def third() -> str:
        """A third resource (a second page)."""
        return "third"

    @server.resource("fixture://items/{item_id}")
    def item(item_id: str) -> str:
        """An item by id."""
        return f"item {item_id}"

    @server.prompt()
    def review(language: str, code: str = "") -> str:
        """Review code."""
        return f"Review this {language}: {code}"

    @server.completion(argument="language", prompt="review")
    def languages(value: str, context_arguments: dict[str, str]) -> list[str]:
        return [name for name in ("python", "perl", "rust") if name.startswith(value)]

    return server


# Request ids of the slow calls that started, and that were cancelled, in this process.
STARTED: list[int | str] = []
CANCELLED: list[int | str] = []

server = build_server()
