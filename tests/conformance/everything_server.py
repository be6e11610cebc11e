"""The conformance fixture: the tools, resources and prompts the official MCP conformance suite
(@modelcontextprotocol/conformance 0.1.16, and 0.2.0-alpha.12 for 2026-07-28) calls by name,
with the reference texts.

Serve it with ``ssemcp serve tests/conformance/everything_server.py:server`` (HTTP) or
``ssemcp stdio tests/conformance/everything_server.py:server``.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated, Final

from pydantic import Field

from ssemcp import (
    Audio,
    Context,
    EmbeddedResource,
    Image,
    PromptMessage,
    ResourceContents,
    Server,
    ToolError,
)

# A 1x1 transparent PNG, as in the reference fixture.
PNG_BASE64: Final = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAA"
    "AABJRU5ErkJggg=="
)
PNG_BYTES: Final = base64.b64decode(PNG_BASE64)
# The smallest valid WAV: a RIFF header with an empty data chunk.
WAV_BYTES: Final = (
    b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"
    b"D\xac\x00\x00\x88X\x01\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
)
STEP_DELAY_SECONDS: Final = 0.05

server = Server("ssemcp-conformance", title="ssemcp conformance fixture")


@server.tool()
async def test_simple_text() -> str:
    """Returns a simple text response."""
    return "This is a simple text response for testing."


@server.tool()
async def test_image_content() -> Image:
    """Returns an image (a 1x1 PNG)."""
    return Image(PNG_BYTES, "image/png")


@server.tool()
async def test_audio_content() -> Audio:
    """Returns audio (an empty WAV)."""
    return Audio(WAV_BYTES, "audio/wav")


@server.tool()
async def test_embedded_resource() -> EmbeddedResource:
    """Returns an embedded text resource."""
    return EmbeddedResource(
        ResourceContents(
            "test://embedded-resource",
            text="This is an embedded resource content.",
            mime_type="text/plain",
        )
    )


@server.tool()
async def test_multiple_content_types() -> list[object]:
    """Returns text, an image and an embedded resource."""
    return [
        "Multiple content types test:",
        Image(PNG_BYTES, "image/png"),
        EmbeddedResource(
            ResourceContents(
                "test://mixed-content-resource",
                text='{"test":"data","value":123}',
                mime_type="application/json",
            )
        ),
    ]


@server.tool()
async def test_tool_with_logging(ctx: Context) -> str:
    """Sends three log messages while it runs."""
    await ctx.info("Tool execution started")
    await asyncio.sleep(STEP_DELAY_SECONDS)
    await ctx.info("Tool processing data")
    await asyncio.sleep(STEP_DELAY_SECONDS)
    await ctx.info("Tool execution completed")
    return "Tool with logging executed successfully"


@server.tool()
async def test_error_handling() -> str:
    """Always fails, as a tool execution error."""
    raise ToolError("This tool intentionally returns an error for testing")


@server.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress 0, 50 and 100 of 100."""
    for progress in (0, 50, 100):
        await ctx.report_progress(progress, 100, f"Completed step {progress // 50 + 1} of 3")
        if progress < 100:
            await asyncio.sleep(STEP_DELAY_SECONDS)
    return f"Progress tool completed (token {ctx.progress_token})"


@server.tool()
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Asks the client's model to answer the prompt.

    Args:
        prompt: the text to send to the model.
    """
    result = await ctx.sample(prompt, max_tokens=100)
    return f"LLM response: {result.text}"


@server.tool()
async def test_elicitation(message: str, ctx: Context) -> str:
    """Asks the user for a username and an email.

    Args:
        message: the question to show the user.
    """
    result = await ctx.elicit(
        message,
        {
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        },
    )
    return f"User response: action={result.action}, content={result.content}"


@server.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Elicits primitives that carry default values (SEP-1034)."""
    result = await ctx.elicit(
        "Please review and update the form fields with defaults",
        {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {
                    "type": "string",
                    "description": "User status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active",
                },
                "verified": {"type": "boolean", "description": "Verified", "default": True},
            },
            "required": [],
        },
    )
    return f"Elicitation completed: action={result.action}, content={result.content}"


@server.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Elicits every enum form: untitled, titled, legacy, single and multi select (SEP-1330)."""
    options = ["option1", "option2", "option3"]
    titled = [
        {"const": "value1", "title": "First Option"},
        {"const": "value2", "title": "Second Option"},
        {"const": "value3", "title": "Third Option"},
    ]
    result = await ctx.elicit(
        "Please select options from the enum fields",
        {
            "type": "object",
            "properties": {
                "untitledSingle": {"type": "string", "enum": options},
                "titledSingle": {"type": "string", "oneOf": titled},
                "legacyEnum": {
                    "type": "string",
                    "enum": options,
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {"type": "array", "items": {"type": "string", "enum": options}},
                "titledMulti": {"type": "array", "items": {"anyOf": titled}},
            },
            "required": [],
        },
    )
    return f"Elicitation completed: action={result.action}, content={result.content}"


async def json_schema_2020_12_tool(name: str, address: dict[str, str] | None = None) -> str:
    """A tool whose input schema is published verbatim in JSON Schema 2020-12."""
    return f"Hello {name}" + (f" from {address.get('city')}" if address else "")


server.add_tool(
    json_schema_2020_12_tool,
    input_schema={
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
            }
        },
        "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
        "required": ["name"],
        "additionalProperties": False,
    },
)


@server.tool()
async def test_reconnection() -> str:
    """Answers after a short pause (the suite checks stream resumption, SEP-1699)."""
    await asyncio.sleep(STEP_DELAY_SECONDS)
    return "Reconnection test completed"


@server.resource("test://static-text", name="static-text", mime_type="text/plain")
def static_text() -> str:
    """A static text resource."""
    return "This is the content of the static text resource."


@server.resource("test://static-binary", name="static-binary", mime_type="image/png")
def static_binary() -> bytes:
    """A static binary resource (a PNG)."""
    return PNG_BYTES


@server.resource("test://template/{id}/data", name="template-data", mime_type="application/json")
def template_data(id: str) -> dict[str, object]:
    """A templated resource."""
    return {"id": id, "templateTest": True, "data": f"Data for ID: {id}"}


@server.resource("test://watched-resource", name="watched-resource", mime_type="text/plain")
def watched_resource() -> str:
    """A resource clients may subscribe to."""
    return "Watched resource content"


@server.prompt()
def test_simple_prompt() -> str:
    """A prompt with no arguments."""
    return "This is a simple prompt for testing."


@server.prompt()
def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    """A prompt with two required arguments.

    Args:
        arg1: the first argument.
        arg2: the second argument.
    """
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@server.prompt()
def test_prompt_with_embedded_resource(resourceUri: str) -> list[PromptMessage]:  # noqa: N803
    """A prompt that embeds a resource.

    Args:
        resourceUri: the URI of the resource to embed.
    """
    return [
        PromptMessage(
            "user",
            EmbeddedResource(
                ResourceContents(
                    resourceUri,
                    text="Embedded resource content for testing.",
                    mime_type="text/plain",
                )
            ),
        ),
        PromptMessage("user", "Please process the embedded resource above."),
    ]


@server.prompt()
def test_prompt_with_image() -> list[PromptMessage]:
    """A prompt that includes an image."""
    return [
        PromptMessage("user", Image(PNG_BYTES, "image/png")),
        PromptMessage("user", "Please analyze the image above."),
    ]


@server.completion(prompt="test_prompt_with_arguments", argument="arg1")
def complete_arg1(value: str, context: dict[str, str]) -> list[str]:
    return [choice for choice in ("test", "testing", "tested") if choice.startswith(value)]


# --------------------------------------------------------------------------------------------
# MCP 2026-07-28: the tools the suite's input-required-result-* and server-stateless scenarios
# call (0.2.0-alpha.12). On a 2026-07-28 request their questions are multi round-trip requests
# (ssemcp.server.mrtr); in a 2025 session the same calls push requests to the client.

NAME_SCHEMA: Final = {
    "type": "object",
    "properties": {"name": {"type": "string", "description": "Your name"}},
    "required": ["name"],
}
CONFIRM_SCHEMA: Final = {
    "type": "object",
    "properties": {"ok": {"type": "boolean", "description": "Go ahead?"}},
    "required": ["ok"],
}


@server.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str:
    """Asks the user's name (elicitation), then greets them."""
    answer = await ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name")
    return f"Hello, {(answer.content or {}).get('name', 'stranger')}!"


@server.tool()
async def test_input_required_result_sampling(ctx: Context) -> str:
    """Asks the client's model a question (sampling)."""
    answer = await ctx.sample(
        "What is the capital of France?", max_tokens=50, key="capital_question"
    )
    return f"The model answered: {answer.text}"


@server.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str:
    """Asks for the client's roots."""
    roots = await ctx.list_roots(key="client_roots")
    return f"The client has {len(roots)} root(s)."


@server.tool()
async def test_input_required_result_request_state(ctx: Context) -> str:
    """Asks for a confirmation, carried across rounds in requestState."""
    answer = await ctx.elicit("Proceed?", CONFIRM_SCHEMA, key="confirm")
    return "state-ok" if (answer.content or {}).get("ok") else "state-declined"


@server.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    """Asks for a confirmation; a retry with tampered requestState is refused."""
    answer = await ctx.elicit("Proceed?", CONFIRM_SCHEMA, key="confirm")
    return f"confirmed: {bool((answer.content or {}).get('ok'))}"


@server.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    """Asks three things in one round: a name, a model's greeting and the roots."""
    name, greeting, roots = await asyncio.gather(
        ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name"),
        ctx.sample("Say hello", max_tokens=50, key="greeting"),
        ctx.list_roots(key="client_roots"),
    )
    who = (name.content or {}).get("name", "stranger")
    return f"{greeting.text} {who}; {len(roots)} root(s)."


@server.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str:
    """Asks two questions, one round each."""
    first = await ctx.elicit("Step 1: your name?", NAME_SCHEMA, key="step1")
    second = await ctx.elicit("Step 2: proceed?", CONFIRM_SCHEMA, key="step2")
    return f"step1={first.action} step2={second.action}"


@server.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str:
    """Asks only what the client declared it can answer."""
    capabilities = ctx.client_capabilities
    asked: list[str] = []
    if "elicitation" in capabilities:
        await ctx.elicit("Your name?", NAME_SCHEMA, key="user_name")
        asked.append("elicitation")
    if "sampling" in capabilities:
        await ctx.sample("Say hello", max_tokens=20, key="greeting")
        asked.append("sampling")
    return f"asked: {', '.join(asked) or 'nothing'}"


@server.prompt()
async def test_input_required_result_prompt(ctx: Context) -> str:
    """A prompt that asks the user for context first."""
    schema = {
        "type": "object",
        "properties": {"context": {"type": "string", "description": "Some context"}},
        "required": ["context"],
    }
    answer = await ctx.elicit("What context should the prompt use?", schema, key="user_context")
    return f"Summarize with this context: {(answer.content or {}).get('context', '')}"


@server.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs sampling: a client that did not declare it gets -32021 on 2026-07-28."""
    answer = await ctx.sample("Say something", max_tokens=20)
    return answer.text


@server.tool()
async def test_streaming_elicitation(ctx: Context) -> str:
    """Asks the user something (an input-required result on 2026-07-28, never a request)."""
    answer = await ctx.elicit("Anything to add?", NAME_SCHEMA, key="user_name")
    return f"noted: {answer.action}"


@server.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Logs at every level it can; nothing reaches a request that set no logLevel."""
    await ctx.info("logging tool: info")
    await ctx.warning("logging tool: warning")
    return "logged"


async def test_dynamic_tool() -> str:
    """A tool that test_trigger_tool_change adds and removes."""
    return "dynamic"


async def test_dynamic_prompt() -> str:
    """A prompt that test_trigger_prompt_change adds and removes."""
    return "dynamic prompt"


@server.tool()
async def test_trigger_tool_change() -> str:
    """Adds (or removes) test_dynamic_tool: subscribers hear tools/list_changed."""
    if "test_dynamic_tool" in server.tools:
        server.remove_tool("test_dynamic_tool")
        return "removed test_dynamic_tool"
    server.add_tool(test_dynamic_tool)
    return "added test_dynamic_tool"


@server.tool()
async def test_trigger_prompt_change() -> str:
    """Adds (or removes) test_dynamic_prompt: subscribers hear prompts/list_changed."""
    if "test_dynamic_prompt" in server.prompts:
        server.remove_prompt("test_dynamic_prompt")
        return "removed test_dynamic_prompt"
    server.add_prompt(test_dynamic_prompt)
    return "added test_dynamic_prompt"


@server.tool()
async def test_x_mcp_header(
    region: Annotated[
        str, Field(description="The region", json_schema_extra={"x-mcp-header": "Region"})
    ],
) -> str:
    """Echoes a region that is mirrored in the Mcp-Param-Region header (SEP-2243)."""
    return f"region: {region}"
