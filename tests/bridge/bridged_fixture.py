"""The stdio server the bridge tests run as a child: each tool shows or provokes one thing the
bridge must handle (its process id and state, a crash, a hang, stderr, garbage on stdout,
progress, sampling, elicitation, roots, resource updates, arguments mirrored in
``Mcp-Param-*`` headers and a tool added while it runs).

Run as ``python -m ssemcp stdio tests/bridge/bridged_fixture.py:server``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Annotated, Final

from pydantic import Field

from ssemcp import Context, Server

WATCHED: Final = "test://watched"
# The environment variables whose presence the `environment` tool reports.
REPORTED_VARIABLES: Final = (
    "SSEMCP_TOKEN",
    "SSEMCP_TOKEN_FILE",
    "SSEMCP_STATE_KEY",
    "SSEMCP_AUTH_CLIENT_SECRET",
    "BRIDGE_TEST_MARKER",
)

# server/tools, "x-mcp-header": the argument is mirrored in an Mcp-Param-{name} header.
Region = Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]
Days = Annotated[int, Field(json_schema_extra={"x-mcp-header": "Days"})]
Word = Annotated[str, Field(json_schema_extra={"x-mcp-header": "Word"})]

server = Server("bridge-fixture", "1.0")
remembered: list[str] = []


@server.tool()
async def pid() -> str:
    """This process's id."""
    return str(os.getpid())


@server.tool()
async def echo(text: str, delay_seconds: float = 0.0) -> str:
    """Answer ``text`` after ``delay_seconds``."""
    await asyncio.sleep(delay_seconds)
    return text


@server.tool()
async def remember(value: str) -> str:
    """Keep a value in this process."""
    remembered.append(value)
    return ",".join(remembered)


@server.tool()
async def recall() -> str:
    """Every value this process kept."""
    return ",".join(remembered)


@server.tool()
async def crash() -> str:
    """Exit at once, mid-call, with code 3."""
    os._exit(3)


@server.tool()
async def hang() -> str:
    """Never answer, and say nothing meanwhile."""
    await asyncio.sleep(3600)
    return "unreachable"


@server.tool()
async def environment() -> str:
    """Which of REPORTED_VARIABLES this process sees, as JSON."""
    return json.dumps({name: os.environ.get(name) for name in REPORTED_VARIABLES})


@server.tool()
async def shout(text: str) -> str:
    """Write ``text`` as a line on stderr."""
    print(text, file=sys.stderr, flush=True)
    return "shouted"


@server.tool()
async def garbage() -> str:
    """Write a line that is not JSON to stdout, then answer."""
    os.write(1, b"this is not JSON-RPC\n")
    return "still here"


@server.tool()
async def progress(steps: int, ctx: Context) -> str:
    """Report ``steps`` steps of progress."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
    return f"done (token {ctx.progress_token!r})"


@server.tool()
async def sample(prompt: str, ctx: Context) -> str:
    """Ask the client's model."""
    result = await ctx.sample(prompt, max_tokens=10)
    return f"model said: {result.text}"


@server.tool()
async def elicit(message: str, ctx: Context) -> str:
    """Ask the user for a name."""
    result = await ctx.elicit(
        message, {"type": "object", "properties": {"name": {"type": "string"}}}
    )
    return f"{result.action}: {result.content}"


@server.tool()
async def roots(ctx: Context) -> str:
    """The client's roots, by URI."""
    return ",".join(str(root.get("uri")) for root in await ctx.list_roots())


@server.tool()
async def touch(uri: str = WATCHED) -> str:
    """Tell the sessions subscribed to ``uri`` that it changed."""
    return str(server.notify_resource_updated(uri))


@server.tool()
async def announce(uris: list[str]) -> str:
    """Write a ``notifications/resources/updated`` line for each of ``uris`` on stdout, asked
    for or not, then a ``notifications/tools/list_changed`` line (which every session gets:
    once a session has it, it has had every update meant for it)."""
    lines = [
        {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": uri}}
        for uri in uris
    ]
    lines.append({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    os.write(1, "".join(json.dumps(line) + "\n" for line in lines).encode())
    return "announced"


@server.tool()
async def forecast(region: Region, days: Days = 1) -> str:
    """A forecast whose region and days a gateway may route by (their headers)."""
    return f"{days} days in {region}"


async def capitals(word: Word) -> str:
    """The word in capitals."""
    return word.upper()


@server.tool()
async def add_capitals() -> str:
    """Add the ``capitals`` tool, whose argument has a header (tools/list_changed goes out
    before the answer)."""
    server.add_tool(capitals)
    # The session posts tools/list_changed from a task of its own: one turn of the loop lets
    # it write the line before this answer, as the test that calls this expects (else the
    # answer comes first, and the bridge may see the change only after the next call).
    await asyncio.sleep(0)
    return "added"


@server.tool()
async def slow(seconds: float, ctx: Context) -> str:
    """Answer after ``seconds``, with a progress report each tenth of a second; say so on
    stderr if cancelled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while loop.time() < deadline:
            await ctx.report_progress(loop.time(), deadline)
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        print("slow was cancelled", file=sys.stderr, flush=True)
        raise
    return "slow done"


@server.resource(WATCHED, name="watched", mime_type="text/plain")
def watched() -> str:
    """A resource to subscribe to."""
    return "watched content"
