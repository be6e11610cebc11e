"""The server the interop tests serve with ``python -m ssemcp stdio fixture_app.py:server``.

Owns what the built-in server lacks and a peer client should see: progress, log messages at
every level, sampling, elicitation, roots, structured output (a TypedDict, a pydantic model and
a wrapped integer), image and embedded-resource content, static and templated resources,
prompts with arguments, a tool that prints to stdout, and a slow tool to cancel. The tests
that drive it live beside it; this module only describes the offerings.
"""

from __future__ import annotations

import asyncio
import base64

from pydantic import BaseModel

# pydantic needs typing_extensions' TypedDict on Python < 3.12 to build a schema from it.
from typing_extensions import TypedDict

from ssemcp.errors import ToolError
from ssemcp.server import (
    Context,
    EmbeddedResource,
    Image,
    PromptMessage,
    ResourceContents,
    ResourceLink,
    Server,
    Text,
    ToolAnnotations,
)

# A 1x1 transparent PNG: small enough to compare byte for byte.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
STATIC_TEXT = "static text from the fixture"
BLOB_BYTES = bytes(range(256))

server = Server("interop-fixture", "1.2.3", title="Interop fixture")


class Weather(TypedDict):
    city: str
    temperature_celsius: float
    conditions: str


class Statistics(BaseModel):
    count: int
    mean: float
    maximum: float


@server.tool(annotations=ToolAnnotations(read_only=True))
async def long_task(steps: int, ctx: Context, pause_seconds: float = 0.0) -> str:
    """Report progress and log one info message per step.

    Args:
        steps: how many steps to run.
        pause_seconds: how long to wait after each step (0: write everything at once).
    """
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
        await ctx.info(f"step {step} of {steps}")
        if pause_seconds:
            await asyncio.sleep(pause_seconds)
    return "finished"


@server.tool()
async def log_levels(ctx: Context) -> str:
    """Send one log message at each of debug, info, warning and error."""
    await ctx.debug("a debug message", logger="fixture")
    await ctx.info("an info message", logger="fixture")
    await ctx.warning("a warning message", logger="fixture")
    await ctx.error({"detail": "an error message"}, logger="fixture")
    return "logged"


@server.tool()
async def slow(seconds: float, ctx: Context) -> str:
    """Say that it started, then sleep; for cancellation tests.

    Args:
        seconds: how long to sleep.
    """
    await ctx.info("slow started")
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
async def ask_model(prompt: str, ctx: Context) -> str:
    """Ask the client's model (sampling) and return 'model: text'.

    Args:
        prompt: the user message to send.
    """
    result = await ctx.sample(prompt, max_tokens=50, system_prompt="Be brief.")
    return f"{result.model}: {result.text}"


@server.tool()
async def ask_user(ctx: Context) -> str:
    """Ask the user for a name and a count (elicitation) and report the answer."""
    answer = await ctx.elicit(
        "Who are you?",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "Your name"},
                "count": {"type": "integer", "minimum": 0},
            },
            "required": ["name"],
        },
    )
    if answer.content is not None:
        return f"accepted: {answer.content.get('name')} x{answer.content.get('count')}"
    return f"no answer: {answer.action}"


@server.tool()
async def client_roots(ctx: Context) -> str:
    """The client's roots, one 'name=uri' per line."""
    roots = await ctx.list_roots()
    return "\n".join(f"{root.get('name')}={root.get('uri')}" for root in roots)


@server.tool()
async def weather(city: str) -> Weather:
    """Made-up weather for a city (structured output from a TypedDict).

    Args:
        city: the city.
    """
    return {"city": city, "temperature_celsius": 21.5, "conditions": "sunny"}


@server.tool()
async def statistics(numbers: list[float]) -> Statistics:
    """Count, mean and maximum of some numbers (structured output from a pydantic model).

    Args:
        numbers: at least one number.
    """
    if not numbers:
        raise ToolError("statistics needs at least one number")
    return Statistics(count=len(numbers), mean=sum(numbers) / len(numbers), maximum=max(numbers))


@server.tool()
async def add(a: int, b: int) -> int:
    """Add two integers (structured output wrapped as {"result": ...}).

    Args:
        a: the first addend.
        b: the second addend.
    """
    return a + b


@server.tool()
async def picture() -> list[Text | Image | EmbeddedResource | ResourceLink]:
    """Text, a PNG, an embedded resource and a resource link."""
    return [
        Text("a picture and a resource"),
        Image(PIXEL_PNG, "image/png"),
        EmbeddedResource(
            ResourceContents("fixture://static", text=STATIC_TEXT, mime_type="text/plain")
        ),
        ResourceLink("fixture://items/7", "item-7", mime_type="application/json"),
    ]


@server.tool()
async def fail(message: str) -> str:
    """Always fail with the given message.

    Args:
        message: what to fail with.
    """
    raise ToolError(message)


@server.tool()
async def noisy(message: str) -> str:
    """Print to stdout (which must not reach the protocol stream) and return the message.

    Args:
        message: what to print and return.
    """
    print(message)
    print(message, flush=True)
    return message


@server.tool()
def sync_echo(message: str) -> str:
    """A sync tool (runs on a worker thread) that also prints.

    Args:
        message: what to return.
    """
    print("sync_echo says", message)
    return message


@server.resource("fixture://static", mime_type="text/plain", description="A fixed text.")
def static() -> str:
    return STATIC_TEXT


@server.resource("fixture://blob", mime_type="application/octet-stream")
def blob() -> bytes:
    """All 256 byte values."""
    return BLOB_BYTES


@server.resource("fixture://items/{item_id}", description="One item as JSON.")
def item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "name": f"item {item_id}"}


@server.prompt(title="Code review")
def review(code: str, language: str = "python") -> str:
    """Ask for a review of some code.

    Args:
        code: the code to review.
        language: its programming language.
    """
    return f"Please review this {language} code:\n{code}"


@server.prompt()
def conversation(topic: str) -> list[PromptMessage]:
    """A short exchange about a topic.

    Args:
        topic: what to talk about.
    """
    return [
        PromptMessage("user", f"Tell me about {topic}."),
        PromptMessage("assistant", f"{topic} is a fine topic."),
    ]
