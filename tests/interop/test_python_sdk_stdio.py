"""The official MCP Python SDK (pinned ``mcp==2.3.0``) drives ``python -m ssemcp stdio``.

Owns what a real Python peer sees over stdio: the handshake, every built-in tool, resource
template and error, and, against ``fixture_app.py``, progress, logging, sampling, elicitation,
roots, prompts, resources, structured and image content. The SDK spawns the server itself with
its ``stdio_client``; each test gets a fresh process and session. Raw framing and bad input
are ``test_stdio_process.py``'s business.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import mcp_types as types
import pytest
from callbacks import Received
from fixture_app import BLOB_BYTES, PIXEL_PNG, STATIC_TEXT
from mcp import ClientSession, MCPDeprecationWarning, MCPError, StdioServerParameters, stdio_client
from mcp.client.session import ClientRequestContext
from mcp_types.version import LATEST_HANDSHAKE_VERSION

pytestmark = pytest.mark.interop

# The built-in server with the utilities only: no tool set that would reach the internet.
BUILTIN_ARGS = ("--toolsets", "utilities")

FIXTURE_TARGET = f"{Path(__file__).with_name('fixture_app.py')}:server"
# Long enough for a loaded CI machine, short enough that a hang fails well inside the
# per-test timeout with the SDK's own error rather than pytest-timeout's.
REQUEST_TIMEOUT_SECONDS = 30.0


@pytest.fixture
def server_stderr(tmp_path: Path) -> Iterator[TextIO]:
    """Where the server's stderr goes: a file, so a failing test can show it."""
    with (tmp_path / "server-stderr.log").open("w+") as stream:
        yield stream


@asynccontextmanager
async def connect(
    *server_args: str, errlog: TextIO, **session_options: Any
) -> AsyncIterator[ClientSession]:
    """An initialized SDK session with ``python -m ssemcp stdio *server_args``."""
    parameters = StdioServerParameters(
        command=sys.executable, args=["-m", "ssemcp", "stdio", *(server_args or BUILTIN_ARGS)]
    )
    async with (
        stdio_client(parameters, errlog=errlog) as (read_stream, write_stream),
        ClientSession(
            read_stream,
            write_stream,
            read_timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            **session_options,
        ) as session,
    ):
        await session.initialize()
        yield session


def only_text(result: types.CallToolResult) -> str:
    assert len(result.content) == 1, result.content
    block = result.content[0]
    assert isinstance(block, types.TextContent), block
    return block.text


# ---------------------------------------------------------------------- the built-in server


async def test_builtin_server_negotiates_latest_revision_and_names_itself(
    server_stderr: TextIO,
) -> None:
    async with connect(errlog=server_stderr) as session:
        result = session.initialize_result
        assert result is not None
        assert result.protocol_version == LATEST_HANDSHAKE_VERSION == "2025-11-25"
        assert session.protocol_version == "2025-11-25"
        assert result.server_info.name == "ssemcp"
        assert result.server_info.version
        assert result.capabilities.tools is not None
        assert result.capabilities.resources is not None
        assert result.instructions is not None
        assert "calculate" in result.instructions
        assert await session.send_ping() == types.EmptyResult()


async def test_builtin_server_lists_exactly_the_utility_tools(server_stderr: TextIO) -> None:
    async with connect(errlog=server_stderr) as session:
        listing = await session.list_tools()
    tools = {tool.name: tool for tool in listing.tools}
    assert sorted(tools) == ["calculate", "current_time", "echo"]
    assert listing.next_cursor is None
    for tool in tools.values():
        assert tool.input_schema["type"] == "object"
        assert tool.description
    assert tools["echo"].input_schema["required"] == ["message"]
    assert tools["calculate"].input_schema["required"] == ["expression"]
    assert "required" not in tools["current_time"].input_schema
    assert tools["current_time"].output_schema is not None
    assert tools["echo"].output_schema is None


async def test_builtin_echo_returns_the_message_unchanged(server_stderr: TextIO) -> None:
    message = 'héllo "wörld" \n\t 🌍 {"not": "json"}'
    async with connect(errlog=server_stderr) as session:
        result = await session.call_tool("echo", {"message": message})
    assert not result.is_error
    assert only_text(result) == message


async def test_builtin_current_time_returns_structured_time(server_stderr: TextIO) -> None:
    async with connect(errlog=server_stderr) as session:
        default = await session.call_tool("current_time", {})
        paris = await session.call_tool("current_time", {"timezone": "Europe/Paris"})
    for result in (default, paris):
        assert not result.is_error
        structured = result.structured_content
        assert isinstance(structured, dict)
        assert set(structured) >= {
            "timezone",
            "datetime",
            "date",
            "time",
            "weekday",
            "utc_offset",
            "is_dst",
            "unix_timestamp",
        }
        assert isinstance(structured["is_dst"], bool)
        assert abs(structured["unix_timestamp"] - time.time()) < 60
        # The text block carries the same object, for clients without structured output.
        assert json.loads(only_text(result)) == structured
    assert default.structured_content["timezone"] == "UTC"
    assert default.structured_content["is_dst"] is False
    assert paris.structured_content["timezone"] == "Europe/Paris"


async def test_builtin_current_time_with_unknown_zone_is_a_tool_error(
    server_stderr: TextIO,
) -> None:
    async with connect(errlog=server_stderr) as session:
        result = await session.call_tool("current_time", {"timezone": "Mars/Olympus_Mons"})
    assert result.is_error
    assert "Mars/Olympus_Mons" in only_text(result)


async def test_builtin_calculate_evaluates_arithmetic(server_stderr: TextIO) -> None:
    async with connect(errlog=server_stderr) as session:
        result = await session.call_tool("calculate", {"expression": "2*(3+4)"})
    assert not result.is_error
    assert only_text(result) == "14"


@pytest.mark.parametrize("expression", ["1/0", "__import__('os')", "2 +"])
async def test_builtin_calculate_refuses_bad_expressions_with_a_tool_error(
    server_stderr: TextIO, expression: str
) -> None:
    async with connect(errlog=server_stderr) as session:
        result = await session.call_tool("calculate", {"expression": expression})
    assert result.is_error
    text = only_text(result)
    assert expression in text
    assert "Traceback" not in text


async def test_builtin_greeting_template_is_listed_and_read(server_stderr: TextIO) -> None:
    async with connect(errlog=server_stderr) as session:
        templates = await session.list_resource_templates()
        read = await session.read_resource("greeting://Ada")
    assert [template.uri_template for template in templates.resource_templates] == [
        "greeting://{name}"
    ]
    assert templates.resource_templates[0].name == "greeting"
    assert templates.resource_templates[0].mime_type == "text/plain"
    assert len(read.contents) == 1
    contents = read.contents[0]
    assert isinstance(contents, types.TextResourceContents)
    assert contents.text == "Hello, Ada!"
    assert contents.uri == "greeting://Ada"
    assert contents.mime_type == "text/plain"


async def test_builtin_unknown_tool_is_a_json_rpc_invalid_params_error(
    server_stderr: TextIO,
) -> None:
    async with connect(errlog=server_stderr) as session:
        with pytest.raises(MCPError) as caught:
            await session.call_tool("no_such_tool", {})
        # The session is still usable after the error.
        assert only_text(await session.call_tool("echo", {"message": "still here"})) == (
            "still here"
        )
    assert caught.value.code == types.INVALID_PARAMS == -32602
    assert "no_such_tool" in caught.value.error.message


async def test_builtin_unknown_resource_is_resource_not_found(server_stderr: TextIO) -> None:
    async with connect(errlog=server_stderr) as session:
        with pytest.raises(MCPError) as caught:
            await session.read_resource("nothing://here")
    assert caught.value.code == -32002
    assert "nothing://here" in caught.value.error.message


# ---------------------------------------------------------------------- the fixture app


async def test_progress_notifications_reach_the_progress_callback_in_order(
    server_stderr: TextIO,
) -> None:
    received: Received[tuple[float, float | None, str | None]] = Received()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        received.add((progress, total, message))

    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        result = await session.call_tool("long_task", {"steps": 5}, progress_callback=on_progress)
        seen = await received.wait_for(5)
        # A ping round trip: anything more the server sent has arrived by now.
        await session.send_ping()
    assert only_text(result) == "finished"
    assert seen == [(float(step), 5.0, f"step {step}") for step in range(1, 6)]
    progresses = [progress for progress, _, _ in seen]
    assert all(later > earlier for earlier, later in itertools.pairwise(progresses))


async def test_call_without_progress_token_gets_no_progress(server_stderr: TextIO) -> None:
    received: Received[types.ServerNotification | Exception] = Received()

    async def on_message(message: types.ServerNotification | Exception) -> None:
        received.add(message)

    async with connect(FIXTURE_TARGET, errlog=server_stderr, message_handler=on_message) as session:
        result = await session.call_tool("long_task", {"steps": 3})
        # The log messages of the same call arrive; progress never does.
        notifications = await received.wait_for(3)
        await session.send_ping()
    assert only_text(result) == "finished"
    assert len(notifications) == 3
    assert all(isinstance(item, types.LoggingMessageNotification) for item in notifications)


async def test_log_messages_reach_the_logging_callback_and_respect_the_level(
    server_stderr: TextIO,
) -> None:
    received: Received[types.LoggingMessageNotificationParams] = Received()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        received.add(params)

    async with connect(FIXTURE_TARGET, errlog=server_stderr, logging_callback=on_log) as session:
        # SDK 2.x deprecates logging/setLevel (gone in 2026-07-28); 2025-11-25 still has it.
        with pytest.warns(MCPDeprecationWarning):
            await session.set_logging_level("info")
        assert only_text(await session.call_tool("log_levels", {})) == "logged"
        await received.wait_for(3)

        with pytest.warns(MCPDeprecationWarning):
            await session.set_logging_level("error")
        await session.call_tool("log_levels", {})
        await received.wait_for(4)
        # A ping round trip after the last message: anything filtered but sent would be here.
        await session.send_ping()
    logged = received.items

    assert [params.level for params in logged] == ["info", "warning", "error", "error"]
    assert {params.logger for params in logged} == {"fixture"}
    assert logged[0].data == "an info message"
    assert logged[2].data == {"detail": "an error message"}


async def test_sampling_round_trip_through_the_sampling_callback(server_stderr: TextIO) -> None:
    requests: list[types.CreateMessageRequestParams] = []

    async def sample(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        requests.append(params)
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(text="Paris"),
            model="fake-model-1",
            stop_reason="endTurn",
        )

    async with connect(FIXTURE_TARGET, errlog=server_stderr, sampling_callback=sample) as session:
        result = await session.call_tool("ask_model", {"prompt": "Capital of France?"})
    assert not result.is_error
    assert only_text(result) == "fake-model-1: Paris"
    assert len(requests) == 1
    params = requests[0]
    assert params.max_tokens == 50
    assert params.system_prompt == "Be brief."
    assert len(params.messages) == 1
    assert params.messages[0].role == "user"
    content = params.messages[0].content
    assert isinstance(content, types.TextContent)
    assert content.text == "Capital of France?"


async def test_sampling_error_from_the_client_becomes_a_tool_error(
    server_stderr: TextIO,
) -> None:
    async def refuse(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.ErrorData:
        return types.ErrorData(code=-1, message="the user said no")

    async with connect(FIXTURE_TARGET, errlog=server_stderr, sampling_callback=refuse) as session:
        result = await session.call_tool("ask_model", {"prompt": "anything"})
    assert result.is_error
    assert "the user said no" in only_text(result)


async def test_sampling_without_the_capability_is_a_tool_error(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        result = await session.call_tool("ask_model", {"prompt": "anything"})
    assert result.is_error
    assert "sampling" in only_text(result)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            types.ElicitResult(action="accept", content={"name": "Ada", "count": 3}),
            "accepted: Ada x3",
        ),
        (types.ElicitResult(action="decline"), "no answer: decline"),
        (types.ElicitResult(action="cancel"), "no answer: cancel"),
    ],
    ids=["accept", "decline", "cancel"],
)
async def test_elicitation_round_trip_through_the_elicitation_callback(
    server_stderr: TextIO, answer: types.ElicitResult, expected: str
) -> None:
    requests: list[types.ElicitRequestParams] = []

    async def elicit(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        requests.append(params)
        return answer

    async with connect(
        FIXTURE_TARGET, errlog=server_stderr, elicitation_callback=elicit
    ) as session:
        result = await session.call_tool("ask_user", {})
    assert only_text(result) == expected
    assert len(requests) == 1
    params = requests[0]
    assert isinstance(params, types.ElicitRequestFormParams)
    assert params.message == "Who are you?"
    schema = params.requested_schema
    assert set(schema["properties"]) == {"name", "count"}
    assert schema["required"] == ["name"]


async def test_roots_list_round_trip_through_the_roots_callback(server_stderr: TextIO) -> None:
    async def roots(context: ClientRequestContext) -> types.ListRootsResult:
        return types.ListRootsResult(
            roots=[
                types.Root(uri="file:///tmp/project", name="project"),
                types.Root(uri="file:///tmp/other", name="other"),
            ]
        )

    async with connect(FIXTURE_TARGET, errlog=server_stderr, list_roots_callback=roots) as session:
        result = await session.call_tool("client_roots", {})
    assert not result.is_error
    assert only_text(result) == "project=file:///tmp/project\nother=file:///tmp/other"


async def test_prompts_are_listed_with_their_arguments(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        listing = await session.list_prompts()
    prompts = {prompt.name: prompt for prompt in listing.prompts}
    assert sorted(prompts) == ["conversation", "review"]
    review = prompts["review"]
    assert review.title == "Code review"
    assert review.description == "Ask for a review of some code."
    assert review.arguments is not None
    arguments = {argument.name: argument for argument in review.arguments}
    assert list(arguments) == ["code", "language"]
    assert arguments["code"].required is True
    assert arguments["code"].description == "the code to review."
    assert arguments["language"].required is False


async def test_prompt_get_fills_in_arguments_and_defaults(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        rust = await session.get_prompt("review", {"code": "let x = 1;", "language": "rust"})
        default = await session.get_prompt("review", {"code": "x = 1"})
        conversation = await session.get_prompt("conversation", {"topic": "tea"})
    for result, expected in [
        (rust, "Please review this rust code:\nlet x = 1;"),
        (default, "Please review this python code:\nx = 1"),
    ]:
        assert len(result.messages) == 1
        assert result.messages[0].role == "user"
        content = result.messages[0].content
        assert isinstance(content, types.TextContent)
        assert content.text == expected
    assert [message.role for message in conversation.messages] == ["user", "assistant"]
    texts = [message.content.text for message in conversation.messages]  # type: ignore[union-attr]
    assert texts == ["Tell me about tea.", "tea is a fine topic."]


async def test_prompt_get_without_a_required_argument_is_invalid_params(
    server_stderr: TextIO,
) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        with pytest.raises(MCPError) as missing:
            await session.get_prompt("review", {"language": "go"})
        with pytest.raises(MCPError) as unknown:
            await session.get_prompt("no_such_prompt", {})
    assert missing.value.code == -32602
    assert "code" in missing.value.error.message
    assert unknown.value.code == -32602
    assert "no_such_prompt" in unknown.value.error.message


async def test_resources_are_listed_and_read(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        listing = await session.list_resources()
        static = await session.read_resource("fixture://static")
        blob = await session.read_resource("fixture://blob")
    resources = {str(resource.uri): resource for resource in listing.resources}
    assert sorted(resources) == ["fixture://blob", "fixture://static"]
    assert resources["fixture://static"].mime_type == "text/plain"
    assert resources["fixture://static"].description == "A fixed text."
    assert resources["fixture://blob"].mime_type == "application/octet-stream"

    [text_contents] = static.contents
    assert isinstance(text_contents, types.TextResourceContents)
    assert text_contents.text == STATIC_TEXT
    assert text_contents.mime_type == "text/plain"
    [blob_contents] = blob.contents
    assert isinstance(blob_contents, types.BlobResourceContents)
    assert base64.b64decode(blob_contents.blob) == BLOB_BYTES
    assert blob_contents.mime_type == "application/octet-stream"


async def test_resource_template_is_listed_and_read_as_json(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        templates = await session.list_resource_templates()
        read = await session.read_resource("fixture://items/42")
        with pytest.raises(MCPError) as not_an_int:
            await session.read_resource("fixture://items/forty-two")
    [template] = templates.resource_templates
    assert template.uri_template == "fixture://items/{item_id}"
    assert template.description == "One item as JSON."
    [contents] = read.contents
    assert isinstance(contents, types.TextResourceContents)
    assert contents.mime_type == "application/json"
    assert json.loads(contents.text) == {"id": 42, "name": "item 42"}
    assert not_an_int.value.code == -32602
    assert "item_id" in not_an_int.value.error.message


async def test_structured_output_from_typed_dict_model_and_scalar(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        listing = await session.list_tools()
        # call_tool validates structuredContent against the listed outputSchema itself.
        weather = await session.call_tool("weather", {"city": "Lyon"})
        statistics = await session.call_tool("statistics", {"numbers": [1, 2, 3]})
        total = await session.call_tool("add", {"a": 2, "b": 3})
    schemas = {tool.name: tool.output_schema for tool in listing.tools}
    assert schemas["weather"] is not None
    assert set(schemas["weather"]["required"]) == {"city", "temperature_celsius", "conditions"}
    assert schemas["statistics"] is not None
    assert schemas["add"] == {
        "type": "object",
        "properties": {"result": {"type": "integer"}},
        "required": ["result"],
    }
    assert schemas["picture"] is None

    expected = {"city": "Lyon", "temperature_celsius": 21.5, "conditions": "sunny"}
    assert weather.structured_content == expected
    assert json.loads(only_text(weather)) == expected
    assert statistics.structured_content == {"count": 3, "mean": 2.0, "maximum": 3.0}
    assert total.structured_content == {"result": 5}


async def test_image_embedded_resource_and_link_content(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        result = await session.call_tool("picture", {})
    assert not result.is_error
    assert result.structured_content is None
    text, image, embedded, link = result.content
    assert isinstance(text, types.TextContent)
    assert text.text == "a picture and a resource"
    assert isinstance(image, types.ImageContent)
    assert image.mime_type == "image/png"
    assert base64.b64decode(image.data) == PIXEL_PNG
    assert isinstance(embedded, types.EmbeddedResource)
    assert isinstance(embedded.resource, types.TextResourceContents)
    assert str(embedded.resource.uri) == "fixture://static"
    assert embedded.resource.text == STATIC_TEXT
    assert isinstance(link, types.ResourceLink)
    assert str(link.uri) == "fixture://items/7"
    assert link.name == "item-7"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [({"a": 1}, "b"), ({"b": 1}, "a"), ({"a": "one", "b": 1}, "a")],
    ids=["missing-b", "missing-a", "a-not-an-int"],
)
async def test_invalid_arguments_are_a_tool_error_naming_the_field(
    server_stderr: TextIO, arguments: dict[str, Any], field: str
) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        result = await session.call_tool("add", arguments)
    assert result.is_error
    text = only_text(result)
    assert re.search(rf"\b{field}\b", text), text
    assert "add" in text


async def test_tool_error_text_reaches_the_client(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        result = await session.call_tool("fail", {"message": "the disk is on fire"})
    assert result.is_error
    assert only_text(result) == "the disk is on fire"


async def test_unknown_tool_on_a_user_server_is_invalid_params(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        with pytest.raises(MCPError) as caught:
            await session.call_tool("definitely_not_a_tool", {"x": 1})
    assert caught.value.code == -32602


async def test_printing_tools_do_not_corrupt_the_session(server_stderr: TextIO) -> None:
    async with connect(FIXTURE_TARGET, errlog=server_stderr) as session:
        noisy = await session.call_tool("noisy", {"message": "printed"})
        sync = await session.call_tool("sync_echo", {"message": "threaded"})
        assert await session.send_ping() == types.EmptyResult()
    assert only_text(noisy) == "printed"
    assert only_text(sync) == "threaded"
    server_stderr.seek(0)
    assert "printed" in server_stderr.read()
