"""The conformance fixture exposes exactly the names and texts the official suite checks
(../shared/CONFORMANCE.md): the suite itself passes some scenarios on servers that lack them,
so these tests pin them down."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from harness import FakeClient

from ssemcp import Server
from ssemcp.jsonrpc import Request

FIXTURE = Path(__file__).with_name("everything_server.py")


def load_fixture() -> Server:
    spec = importlib.util.spec_from_file_location("everything_server_under_test", FIXTURE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = module.server
    assert isinstance(server, Server)
    return server


@pytest.fixture
async def client() -> FakeClient:
    client = FakeClient(load_fixture())
    await client.initialize("2025-11-25", {"sampling": {}, "elicitation": {}})
    return client


async def test_every_tool_the_suite_calls_is_listed_with_a_description(client: FakeClient) -> None:
    tools: Any = (await client.result("tools/list"))["tools"]
    assert {tool["name"] for tool in tools} == {
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_error_handling",
        "test_tool_with_progress",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "json_schema_2020_12_tool",
        "test_reconnection",
        # Suite 0.2.0-alpha.12, 2026-07-28: multi round-trip requests and server-stateless.
        "test_input_required_result_elicitation",
        "test_input_required_result_sampling",
        "test_input_required_result_list_roots",
        "test_input_required_result_request_state",
        "test_input_required_result_tampered_state",
        "test_input_required_result_multiple_inputs",
        "test_input_required_result_multi_round",
        "test_input_required_result_capabilities",
        "test_missing_capability",
        "test_streaming_elicitation",
        "test_logging_tool",
        "test_trigger_tool_change",
        "test_trigger_prompt_change",
        "test_x_mcp_header",
    }
    assert all(tool["description"] and tool["inputSchema"] for tool in tools)


async def test_json_schema_2020_12_tool_schema_is_published_verbatim(client: FakeClient) -> None:
    tools: Any = (await client.result("tools/list"))["tools"]
    schema = next(t for t in tools if t["name"] == "json_schema_2020_12_tool")["inputSchema"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$defs"]["address"]["properties"] == {
        "street": {"type": "string"},
        "city": {"type": "string"},
    }
    assert schema["properties"]["address"] == {"$ref": "#/$defs/address"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        (
            "test_simple_text",
            [{"type": "text", "text": "This is a simple text response for testing."}],
        ),
        (
            "test_embedded_resource",
            [
                {
                    "type": "resource",
                    "resource": {
                        "uri": "test://embedded-resource",
                        "mimeType": "text/plain",
                        "text": "This is an embedded resource content.",
                    },
                }
            ],
        ),
    ],
)
async def test_content_tools_return_the_reference_content(
    client: FakeClient, tool: str, expected: list[dict[str, Any]]
) -> None:
    assert (await client.call(tool))["content"] == expected


async def test_media_tools_return_base64_with_exact_mime_types(client: FakeClient) -> None:
    image: Any = (await client.call("test_image_content"))["content"][0]
    audio: Any = (await client.call("test_audio_content"))["content"][0]
    assert image["type"] == "image" and image["mimeType"] == "image/png" and image["data"]
    assert audio["type"] == "audio" and audio["mimeType"] == "audio/wav" and audio["data"]
    mixed: Any = (await client.call("test_multiple_content_types"))["content"]
    assert [block["type"] for block in mixed] == ["text", "image", "resource"]


async def test_error_tool_is_an_error_result_not_a_protocol_error(client: FakeClient) -> None:
    result: Any = await client.call("test_error_handling")
    assert result["isError"] is True and result["content"][0]["text"]


async def test_logging_tool_sends_three_messages_before_its_result(client: FakeClient) -> None:
    assert await client.result("logging/setLevel", {"level": "debug"}) == {}
    await client.call("test_tool_with_logging")
    assert [n.params["data"] for n in client.notifications("notifications/message")] == [  # type: ignore[index]
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ]


async def test_progress_tool_reports_0_50_100(client: FakeClient) -> None:
    await client.call("test_tool_with_progress", _meta={"progressToken": "progress-test-1"})
    progress = client.notifications("notifications/progress")
    assert [
        (n.params["progressToken"], n.params["progress"], n.params["total"]) for n in progress
    ] == [  # type: ignore[index]
        ("progress-test-1", 0, 100),
        ("progress-test-1", 50, 100),
        ("progress-test-1", 100, 100),
    ]


async def test_sampling_tool_sends_the_reference_request(client: FakeClient) -> None:
    call = asyncio.create_task(client.call("test_sampling", {"prompt": "Hi"}))
    request = await client.next_sent()
    assert isinstance(request, Request)
    assert request.params == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "Hi"}}],
        "maxTokens": 100,
    }
    await client.answer(
        request.id, {"role": "assistant", "content": {"type": "text", "text": "Yo"}, "model": "m"}
    )
    assert (await call)["content"] == [{"type": "text", "text": "LLM response: Yo"}]


@pytest.mark.parametrize(
    ("tool", "arguments", "properties"),
    [
        ("test_elicitation", {"message": "Who?"}, {"username", "email"}),
        ("test_elicitation_sep1034_defaults", {}, {"name", "age", "score", "status", "verified"}),
        (
            "test_elicitation_sep1330_enums",
            {},
            {"untitledSingle", "titledSingle", "legacyEnum", "untitledMulti", "titledMulti"},
        ),
    ],
)
async def test_elicitation_tools_send_the_reference_schemas(
    client: FakeClient, tool: str, arguments: dict[str, Any], properties: set[str]
) -> None:
    call = asyncio.create_task(client.call(tool, arguments))
    request = await client.next_sent()
    assert isinstance(request, Request) and request.method == "elicitation/create"
    schema: Any = request.params["requestedSchema"]  # type: ignore[index]
    assert set(schema["properties"]) == properties
    await client.answer(request.id, {"action": "accept", "content": {"x": 1}})
    text: Any = (await call)["content"][0]["text"]
    assert "action=accept" in text


async def test_sep1034_defaults_are_exactly_typed(client: FakeClient) -> None:
    call = asyncio.create_task(client.call("test_elicitation_sep1034_defaults", {}))
    request: Any = await client.next_sent()
    properties = request.params["requestedSchema"]["properties"]
    assert {name: (p["type"], p["default"]) for name, p in properties.items()} == {
        "name": ("string", "John Doe"),
        "age": ("integer", 30),
        "score": ("number", 95.5),
        "status": ("string", "active"),
        "verified": ("boolean", True),
    }
    await client.answer(request.id, {"action": "decline"})
    await call


@pytest.mark.parametrize(
    ("uri", "member", "value"),
    [
        ("test://static-text", "text", "This is the content of the static text resource."),
        (
            "test://template/123/data",
            "text",
            '{"id":"123","templateTest":true,"data":"Data for ID: 123"}',
        ),
    ],
)
async def test_resources_return_the_reference_contents(
    client: FakeClient, uri: str, member: str, value: str
) -> None:
    contents: Any = (await client.result("resources/read", {"uri": uri}))["contents"][0]
    assert contents["uri"] == uri and contents["mimeType"]
    assert contents[member] == value


async def test_binary_resource_is_a_blob_and_watched_resource_subscribes(
    client: FakeClient,
) -> None:
    contents: Any = (await client.result("resources/read", {"uri": "test://static-binary"}))[
        "contents"
    ][0]
    assert contents["mimeType"] == "image/png" and contents["blob"]
    assert await client.result("resources/subscribe", {"uri": "test://watched-resource"}) == {}
    assert await client.result("resources/unsubscribe", {"uri": "test://watched-resource"}) == {}


async def test_prompts_return_the_reference_messages(client: FakeClient) -> None:
    simple: Any = await client.result("prompts/get", {"name": "test_simple_prompt"})
    assert simple["messages"][0]["content"]["text"] == "This is a simple prompt for testing."
    with_arguments: Any = await client.result(
        "prompts/get",
        {"name": "test_prompt_with_arguments", "arguments": {"arg1": "a", "arg2": "b"}},
    )
    assert (
        with_arguments["messages"][0]["content"]["text"]
        == "Prompt with arguments: arg1='a', arg2='b'"
    )
    embedded: Any = await client.result(
        "prompts/get",
        {"name": "test_prompt_with_embedded_resource", "arguments": {"resourceUri": "test://x"}},
    )
    assert embedded["messages"][0]["content"]["type"] == "resource"
    image: Any = await client.result("prompts/get", {"name": "test_prompt_with_image"})
    assert image["messages"][0]["content"]["type"] == "image"


async def test_completion_and_utilities_answer_exactly(client: FakeClient) -> None:
    assert await client.result("ping") == {}
    assert await client.result("logging/setLevel", {"level": "info"}) == {}
    completion: Any = await client.result(
        "completion/complete",
        {
            "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
            "argument": {"name": "arg1", "value": "test"},
        },
    )
    assert completion["completion"]["values"] == ["test", "testing", "tested"]
