"""ServerConnection: every method, over an in-memory client (no sockets)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Annotated, Literal

import pytest
from harness import FakeClient
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from ssemcp.errors import ToolError
from ssemcp.jsonrpc import ErrorResponse, Notification, Request, Response
from ssemcp.server import (
    Context,
    EmbeddedResource,
    Image,
    PromptMessage,
    ResourceContents,
    ResourceLink,
    Server,
    ServerConnection,
    ToolAnnotations,
    ToolResult,
)


class Weather(TypedDict):
    city: str
    celsius: float


class Point(BaseModel):
    x: int
    y: int


def make_server(**kwargs: object) -> Server:
    server = Server("test", "1.2.3", title="Test server", **kwargs)

    @server.tool(title="Add", annotations=ToolAnnotations(read_only=True))
    async def add(a: int, b: Annotated[int, Field(ge=0, le=10)] = 1) -> int:
        """Add two numbers.

        Args:
            a: the first number.
            b: the second, 0 to 10.
        """
        return a + b

    @server.tool()
    def sync_thread_name() -> str:
        """Report the thread that ran it."""
        return threading.current_thread().name

    @server.tool()
    async def weather(city: str) -> Weather:
        return {"city": city, "celsius": 21.5}

    @server.tool()
    async def point() -> Point:
        return Point(x=1, y=2)

    @server.tool()
    async def fail_politely() -> str:
        raise ToolError("the upstream API said no; try again later")

    @server.tool()
    async def crash() -> str:
        raise RuntimeError("secret detail /home/user/.ssh/id_rsa")

    @server.tool()
    async def mixed() -> list[object]:
        return [
            "text",
            Image(b"\x89PNG", "image/png"),
            EmbeddedResource(ResourceContents("test://r", text="inside", mime_type="text/plain")),
            ResourceLink("test://link", "link"),
        ]

    @server.tool()
    async def full_result() -> ToolResult:
        return ToolResult(["partial"], structured={"n": 1}, is_error=True, meta={"k": "v"})

    @server.tool()
    async def chatty(steps: int, ctx: Context) -> str:
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, f"step {step}")
            await ctx.debug(f"debug {step}")
            await ctx.info(f"info {step}")
        return "done"

    @server.tool()
    async def ask(question: str, ctx: Context) -> str:
        answer = await ctx.sample(question, max_tokens=20, timeout_seconds=2)
        return f"model said: {answer.text}"

    @server.tool()
    async def ask_quickly(ctx: Context) -> str:
        await ctx.sample("anyone?", timeout_seconds=0.05)
        return "unreachable"

    @server.tool()
    async def sleepy(ctx: Context) -> str:
        await asyncio.sleep(30)
        return "woke"

    @server.resource("test://static", mime_type="text/plain", title="Static")
    def static() -> str:
        """A static text."""
        return "static text"

    @server.resource("test://blob")
    def blob() -> bytes:
        return b"\x00\x01"

    @server.resource("test://items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @server.resource("test://feeds/{feed}")
    async def feed(feed: Literal["top", "new", "best"]) -> str:
        return feed

    @server.prompt(title="Review")
    def review(code: str, language: Literal["python", "rust"] = "python") -> list[PromptMessage]:
        """Review some code.

        Args:
            code: the code to review.
            language: its language.
        """
        return [
            PromptMessage("user", f"Review this {language}: {code}"),
            PromptMessage("assistant", "Looking at it."),
        ]

    @server.prompt()
    def count(times: int) -> str:
        return "x" * times

    return server


@pytest.fixture
async def client() -> FakeClient:
    client = FakeClient(make_server())
    await client.initialize()
    return client


# ---------------------------------------------------------------- lifecycle


async def test_initialize_announces_server_info_and_capabilities() -> None:
    client = FakeClient(make_server(instructions="be nice"))
    result = await client.initialize()
    assert result["protocolVersion"] == "2025-11-25"
    assert result["serverInfo"] == {"name": "test", "version": "1.2.3", "title": "Test server"}
    assert result["instructions"] == "be nice"
    capabilities = result["capabilities"]
    assert isinstance(capabilities, dict)
    assert set(capabilities) == {"tools", "resources", "prompts", "logging", "completions"}
    assert capabilities["resources"] == {"subscribe": True, "listChanged": True}


async def test_request_before_initialize_is_refused() -> None:
    client = FakeClient(make_server())
    error = await client.error("tools/list")
    assert error["code"] == -32600


async def test_two_connections_to_one_server_share_no_session_state() -> None:
    server = make_server()
    first, second = FakeClient(server), FakeClient(server)
    await first.initialize("2025-03-26")
    await second.initialize("2025-11-25")
    await first.result("logging/setLevel", {"level": "error"})
    await first.result("resources/subscribe", {"uri": "test://static"})
    assert second.connection.session.log_level is None
    assert second.connection.session.subscriptions == set()
    assert first.connection.session.revision.version == "2025-03-26"
    assert second.connection.session.revision.version == "2025-11-25"


# ---------------------------------------------------------------- tools


async def test_tools_list_describes_schemas_from_type_hints_and_docstring(
    client: FakeClient,
) -> None:
    tools = {tool["name"]: tool for tool in (await client.result("tools/list"))["tools"]}
    add = tools["add"]
    assert add["title"] == "Add"
    assert add["description"] == "Add two numbers."
    assert add["annotations"] == {"readOnlyHint": True}
    assert add["inputSchema"] == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "a": {"type": "integer", "description": "the first number."},
            "b": {
                "type": "integer",
                "description": "the second, 0 to 10.",
                "default": 1,
                "minimum": 0,
                "maximum": 10,
            },
        },
        "required": ["a"],
    }
    assert add["outputSchema"] == {
        "type": "object",
        "properties": {"result": {"type": "integer"}},
        "required": ["result"],
    }
    # Context parameters are not arguments.
    assert tools["chatty"]["inputSchema"]["properties"] == {"steps": {"type": "integer"}}
    assert tools["chatty"]["inputSchema"]["required"] == ["steps"]
    assert "outputSchema" not in tools["chatty"]


async def test_tool_call_returns_structured_and_text_content(client: FakeClient) -> None:
    result = await client.call("add", {"a": 2, "b": 3})
    assert result == {
        "content": [{"type": "text", "text": '{"result":5}'}],
        "structuredContent": {"result": 5},
    }


async def test_typed_dict_and_model_results_are_structured_without_wrapping(
    client: FakeClient,
) -> None:
    weather = await client.call("weather", {"city": "Oslo"})
    assert weather["structuredContent"] == {"city": "Oslo", "celsius": 21.5}
    point = await client.call("point", {})
    assert point["structuredContent"] == {"x": 1, "y": 2}


async def test_structured_content_is_left_out_for_revisions_before_2025_06_18() -> None:
    client = FakeClient(make_server())
    await client.initialize("2025-03-26")
    result = await client.call("add", {"a": 1})
    assert "structuredContent" not in result
    assert result["content"] == [{"type": "text", "text": '{"result":2}'}]
    tools = (await client.result("tools/list"))["tools"]
    assert isinstance(tools, list)
    assert all("outputSchema" not in tool and "title" not in tool for tool in tools)


async def test_tool_annotations_are_left_out_for_2024_11_05() -> None:
    client = FakeClient(make_server())
    await client.initialize("2024-11-05")
    tools = (await client.result("tools/list"))["tools"]
    assert all("annotations" not in tool for tool in tools)


async def test_invalid_arguments_give_an_error_result_naming_the_field(
    client: FakeClient,
) -> None:
    missing = await client.call("add", {})
    assert missing["isError"] is True
    assert "a: Field required" in missing["content"][0]["text"]
    out_of_range = await client.call("add", {"a": 1, "b": 11})
    assert "b: Input should be less than or equal to 10" in out_of_range["content"][0]["text"]
    extra = await client.call("add", {"a": 1, "c": 3})
    assert "c: Extra inputs are not permitted" in extra["content"][0]["text"]


async def test_unknown_tool_is_a_protocol_error(client: FakeClient) -> None:
    error = await client.error("tools/call", {"name": "nope", "arguments": {}})
    assert error == {"code": -32602, "message": "Unknown tool: nope"}


@pytest.mark.parametrize("method", ["tools/call", "prompts/get"])
@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, '"name" must be a string'),
        ({"name": 5}, '"name" must be a string'),
        ({"name": "add", "arguments": [1]}, '"arguments" must be an object'),
        ({"name": "add", "arguments": "x"}, '"arguments" must be an object'),
    ],
)
async def test_malformed_name_or_arguments_are_invalid_params(
    client: FakeClient, method: str, params: dict[str, object], fragment: str
) -> None:
    # Both methods read name and arguments by the same rules.
    error = await client.error(method, params)
    assert error == {"code": -32602, "message": f"Invalid params: {fragment}"}


async def test_call_without_arguments_member_uses_defaults(client: FakeClient) -> None:
    result = await client.call("sync_thread_name")
    assert result["content"][0]["text"] != threading.current_thread().name


async def test_tool_error_becomes_an_error_result_with_its_message(client: FakeClient) -> None:
    result = await client.call("fail_politely", {})
    assert result == {
        "content": [{"type": "text", "text": "the upstream API said no; try again later"}],
        "isError": True,
    }


async def test_crashing_tool_leaks_nothing_and_logs_the_traceback(
    client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="ssemcp"):
        result = await client.call("crash", {})
    text = result["content"][0]["text"]
    assert result["isError"] is True
    assert "secret" not in text
    assert "Traceback" not in text
    assert ".ssh" not in text
    assert text == "Tool 'crash' failed with an internal error"
    assert any(record.exc_info for record in caplog.records)


async def test_content_blocks_of_every_kind(client: FakeClient) -> None:
    result = await client.call("mixed", {})
    assert result["content"] == [
        {"type": "text", "text": "text"},
        {"type": "image", "data": "iVBORw==", "mimeType": "image/png"},
        {
            "type": "resource",
            "resource": {"uri": "test://r", "mimeType": "text/plain", "text": "inside"},
        },
        {"type": "resource_link", "uri": "test://link", "name": "link"},
    ]


async def test_resource_links_become_text_for_older_clients() -> None:
    client = FakeClient(make_server())
    await client.initialize("2025-03-26")
    result = await client.call("mixed", {})
    assert result["content"][3] == {"type": "text", "text": "[resource link: test://link]"}


async def test_full_tool_result_passes_structured_is_error_and_meta(client: FakeClient) -> None:
    result = await client.call("full_result", {})
    assert result == {
        "content": [{"type": "text", "text": "partial"}],
        "structuredContent": {"n": 1},
        "isError": True,
        "_meta": {"k": "v"},
    }


# ---------------------------------------------------------------- progress and logging


async def test_progress_notifications_follow_the_progress_token(client: FakeClient) -> None:
    await client.call("chatty", {"steps": 3}, _meta={"progressToken": "tok-1"})
    progress = client.notifications("notifications/progress")
    assert [n.params for n in progress] == [
        {"progressToken": "tok-1", "progress": step, "total": 3, "message": f"step {step}"}
        for step in (1, 2, 3)
    ]


async def test_no_progress_without_a_token(client: FakeClient) -> None:
    await client.call("chatty", {"steps": 2})
    assert client.notifications("notifications/progress") == []


async def test_log_messages_honour_the_level_set_by_the_client(client: FakeClient) -> None:
    await client.call("chatty", {"steps": 1})
    assert [n.params["level"] for n in client.notifications("notifications/message")] == [
        "debug",
        "info",
    ]
    client.sent.clear()
    assert await client.result("logging/setLevel", {"level": "info"}) == {}
    await client.call("chatty", {"steps": 2})
    messages = client.notifications("notifications/message")
    assert [n.params for n in messages] == [
        {"level": "info", "data": "info 1"},
        {"level": "info", "data": "info 2"},
    ]


# ---------------------------------------------------------------- server-to-client requests


async def test_sampling_round_trip_reaches_the_waiting_tool() -> None:
    client = FakeClient(make_server())
    await client.initialize(capabilities={"sampling": {}})
    call = asyncio.create_task(client.call("ask", {"question": "2+2?"}))
    request = await client.next_sent()
    assert isinstance(request, Request)
    assert request.method == "sampling/createMessage"
    assert request.params == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "2+2?"}}],
        "maxTokens": 20,
    }
    # An answer with the same id as a *string* is not the answer to our int id.
    await client.answer(str(request.id), {"role": "assistant"})
    assert not call.done()
    await client.answer(
        request.id,
        {"role": "assistant", "content": {"type": "text", "text": "4"}, "model": "m"},
    )
    result = await call
    assert result["content"] == [{"type": "text", "text": "model said: 4"}]


async def test_sampling_without_client_capability_is_an_error_result(client: FakeClient) -> None:
    result = await client.call("ask", {"question": "hi"})
    assert result["isError"] is True
    assert "does not support sampling" in result["content"][0]["text"]
    assert client.sent == []


async def test_unanswered_sampling_times_out_and_is_cancelled_at_the_client() -> None:
    client = FakeClient(make_server())
    await client.initialize(capabilities={"sampling": {}})
    result = await client.call("ask_quickly", {})
    assert result["isError"] is True
    assert "did not answer sampling/createMessage" in result["content"][0]["text"]
    request, cancelled = client.sent
    assert isinstance(request, Request)
    assert isinstance(cancelled, Notification)
    assert cancelled.params == {"requestId": request.id, "reason": "timeout"}
    # A late answer is dropped silently.
    await client.answer(request.id, {"role": "assistant"})


async def test_a_request_that_could_not_be_sent_leaves_no_id_awaiting_an_answer() -> None:
    client = FakeClient(make_server())
    await client.initialize(capabilities={"sampling": {}})

    async def no_stream(message: object) -> None:
        raise ConnectionError("no stream to send it on")

    with pytest.raises(ConnectionError):
        await client.connection.send_request(
            "sampling/createMessage", {"messages": [], "maxTokens": 1}, send=no_stream
        )
    assert client.connection.session.unanswered_request_ids == frozenset()


async def test_a_cancelled_asker_forgets_its_request_and_tells_the_client() -> None:
    client = FakeClient(make_server())
    await client.initialize(capabilities={"sampling": {}})
    asking = asyncio.create_task(
        client.connection.send_request("sampling/createMessage", {"messages": [], "maxTokens": 1})
    )
    request = await client.next_sent()
    assert isinstance(request, Request)
    assert client.connection.session.unanswered_request_ids == {request.id}
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    assert client.connection.session.unanswered_request_ids == frozenset()
    cancelled = await client.next_sent()
    assert isinstance(cancelled, Notification)
    assert cancelled.method == "notifications/cancelled"
    assert cancelled.params is not None
    assert cancelled.params["requestId"] == request.id
    # A late answer is dropped silently.
    assert await client.connection.receive(Response(request.id, {"role": "assistant"})) is None


async def test_answered_and_timed_out_requests_leave_no_id_awaiting_an_answer() -> None:
    client = FakeClient(make_server())
    await client.initialize(capabilities={"sampling": {}})
    result = await client.call("ask_quickly", {})
    assert result["isError"] is True
    client.sent.clear()
    call = asyncio.create_task(client.call("ask", {"question": "2+2?"}))
    request = await client.next_sent()
    assert isinstance(request, Request)
    await client.answer(
        request.id, {"role": "assistant", "content": {"type": "text", "text": "4"}, "model": "m"}
    )
    await call
    assert client.connection.session.unanswered_request_ids == frozenset()


async def test_client_error_answer_becomes_an_error_result() -> None:
    client = FakeClient(make_server())
    await client.initialize(capabilities={"sampling": {}})
    call = asyncio.create_task(client.call("ask", {"question": "hi"}))
    request = await client.next_sent()
    assert isinstance(request, Request)
    reply = await client.connection.receive(
        ErrorResponse(request.id, {"code": -1, "message": "User rejected sampling"})
    )
    assert reply is None
    result = await call
    assert result["isError"] is True
    assert "User rejected sampling" in result["content"][0]["text"]


# ---------------------------------------------------------------- cancellation


async def test_cancelled_request_gets_no_response_and_the_session_goes_on(
    client: FakeClient,
) -> None:
    call = asyncio.create_task(client.request("tools/call", {"name": "sleepy"}, request_id=7))
    for _ in range(100):
        if client.connection.session.is_in_flight(7):
            break
        await asyncio.sleep(0)
    # "7" (a string) is another request: it cancels nothing.
    await client.notify("notifications/cancelled", {"requestId": "7"})
    await asyncio.sleep(0)
    assert not call.done()
    await client.notify("notifications/cancelled", {"requestId": 7, "reason": "user"})
    assert await asyncio.wait_for(call, 2) is None
    assert await client.result("ping") == {}


async def test_ids_7_and_string_7_in_flight_together_are_answered_separately(
    client: FakeClient,
) -> None:
    replies = await asyncio.gather(
        client.request("tools/call", {"name": "add", "arguments": {"a": 1}}, request_id=7),
        client.request("tools/call", {"name": "add", "arguments": {"a": 2}}, request_id="7"),
    )
    assert [type(reply.id) for reply in replies if reply is not None] == [int, str]
    assert [reply.result["structuredContent"] for reply in replies] == [
        {"result": 2},
        {"result": 3},
    ]


# ---------------------------------------------------------------- batches


async def test_batch_is_answered_as_one_array_in_2025_03_26() -> None:
    client = FakeClient(make_server())
    await client.initialize("2025-03-26")
    replies = await client.raw(
        b'[{"jsonrpc":"2.0","id":1,"method":"ping"},'
        b'{"jsonrpc":"2.0","method":"notifications/initialized"},'
        b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1}}},'
        b'{"jsonrpc":"2.0","id":3}]'
    )
    assert isinstance(replies, list)
    assert [type(reply) for reply in replies] == [Response, Response, ErrorResponse]
    assert [reply.id for reply in replies] == [1, 2, 3]


async def test_batch_of_notifications_only_gets_no_reply() -> None:
    client = FakeClient(make_server())
    await client.initialize("2025-03-26")
    assert await client.raw(b'[{"jsonrpc":"2.0","method":"notifications/initialized"}]') is None


async def test_batch_is_refused_in_2025_06_18(client: FakeClient) -> None:
    reply = await client.raw(b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]')
    assert isinstance(reply, ErrorResponse)
    assert reply.id is None
    assert reply.code == -32600


# ---------------------------------------------------------------- resources


async def test_resources_and_templates_are_listed(client: FakeClient) -> None:
    resources = (await client.result("resources/list"))["resources"]
    assert resources == [
        {
            "uri": "test://static",
            "name": "static",
            "title": "Static",
            "description": "A static text.",
            "mimeType": "text/plain",
        },
        {"uri": "test://blob", "name": "blob"},
    ]
    templates = (await client.result("resources/templates/list"))["resourceTemplates"]
    assert [t["uriTemplate"] for t in templates] == [
        "test://items/{item_id}",
        "test://feeds/{feed}",
    ]


@pytest.mark.parametrize(
    ("uri", "contents"),
    [
        (
            "test://static",
            {"uri": "test://static", "mimeType": "text/plain", "text": "static text"},
        ),
        (
            "test://blob",
            {"uri": "test://blob", "mimeType": "application/octet-stream", "blob": "AAE="},
        ),
        (
            "test://items/42",
            {"uri": "test://items/42", "mimeType": "application/json", "text": '{"id":42}'},
        ),
    ],
)
async def test_resources_read_static_blob_and_template(
    client: FakeClient, uri: str, contents: dict[str, str]
) -> None:
    assert await client.result("resources/read", {"uri": uri}) == {"contents": [contents]}


async def test_unknown_resource_is_minus_32002_with_the_uri(client: FakeClient) -> None:
    error = await client.error("resources/read", {"uri": "test://nothing"})
    assert error == {
        "code": -32002,
        "message": "Resource not found: test://nothing",
        "data": {"uri": "test://nothing"},
    }


async def test_template_value_of_the_wrong_type_is_invalid_params(client: FakeClient) -> None:
    error = await client.error("resources/read", {"uri": "test://items/abc"})
    assert error["code"] == -32602
    assert "item_id" in error["message"]


async def test_path_traversal_never_reaches_a_template(client: FakeClient) -> None:
    for uri in ("test://items/..", "test://items/%2e%2e", "test://items/1%2F2", "test://items/1/2"):
        error = await client.error("resources/read", {"uri": uri})
        assert error["code"] == -32002, uri


async def test_subscribers_alone_hear_of_updates() -> None:
    server = make_server()
    subscriber, bystander = FakeClient(server), FakeClient(server)
    await subscriber.initialize()
    await bystander.initialize()
    assert await subscriber.result("resources/subscribe", {"uri": "test://items/1"}) == {}
    assert server.subscriber_count("test://items/1") == 1
    assert server.notify_resource_updated("test://items/1") == 1
    update = await subscriber.next_sent()
    assert update == Notification("notifications/resources/updated", {"uri": "test://items/1"})
    assert bystander.sent == []
    assert await subscriber.result("resources/unsubscribe", {"uri": "test://items/1"}) == {}
    assert server.notify_resource_updated("test://items/1") == 0


async def test_updates_reach_each_subscriber_once_until_it_leaves() -> None:
    server = make_server()
    first, second = FakeClient(server), FakeClient(server)
    await first.initialize()
    await second.initialize()
    for client in (first, second, first):  # a repeated subscribe counts once
        assert await client.result("resources/subscribe", {"uri": "test://items/1"}) == {}
    assert server.subscriber_count("test://items/1") == 2
    assert server.notify_resource_updated("test://items/1") == 2
    update = Notification("notifications/resources/updated", {"uri": "test://items/1"})
    assert await first.next_sent() == update
    assert await second.next_sent() == update
    first.connection.close()
    assert server.subscriber_count("test://items/1") == 1
    assert server.notify_resource_updated("test://items/1") == 1
    assert await second.next_sent() == update
    await asyncio.sleep(0)
    assert first.sent == []
    second.connection.close()
    assert server.subscriber_count("test://items/1") == 0
    assert server.notify_resource_updated("test://items/1") == 0


async def test_subscribe_to_unknown_uri_is_refused(client: FakeClient) -> None:
    error = await client.error("resources/subscribe", {"uri": "test://missing"})
    assert error["code"] == -32002


async def test_list_changed_reaches_live_sessions_when_a_tool_is_added(
    client: FakeClient,
) -> None:
    server = client.connection.server

    @server.tool()
    async def late() -> str:
        return "late"

    notification = await client.next_sent()
    assert notification == Notification("notifications/tools/list_changed")
    names = [t["name"] for t in (await client.result("tools/list"))["tools"]]
    assert "late" in names
    server.remove_tool("late")
    assert await client.next_sent() == Notification("notifications/tools/list_changed")


# ---------------------------------------------------------------- prompts


async def test_prompts_list_describes_arguments(client: FakeClient) -> None:
    prompts = (await client.result("prompts/list"))["prompts"]
    assert prompts[0] == {
        "name": "review",
        "title": "Review",
        "description": "Review some code.",
        "arguments": [
            {"name": "code", "description": "the code to review.", "required": True},
            {"name": "language", "description": "its language.", "required": False},
        ],
    }


async def test_prompts_get_converts_string_arguments(client: FakeClient) -> None:
    result = await client.result(
        "prompts/get", {"name": "review", "arguments": {"code": "x = 1", "language": "rust"}}
    )
    assert result["messages"] == [
        {"role": "user", "content": {"type": "text", "text": "Review this rust: x = 1"}},
        {"role": "assistant", "content": {"type": "text", "text": "Looking at it."}},
    ]
    counted = await client.result("prompts/get", {"name": "count", "arguments": {"times": "3"}})
    assert counted["messages"] == [{"role": "user", "content": {"type": "text", "text": "xxx"}}]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"name": "review", "arguments": {}}, "code: Field required"),
        ({"name": "review", "arguments": {"code": "x", "language": "cobol"}}, "language"),
        ({"name": "nope"}, "Unknown prompt: nope"),
        ({"name": "review", "arguments": ["x"]}, '"arguments" must be an object'),
    ],
)
async def test_prompts_get_bad_input_is_invalid_params(
    client: FakeClient, params: dict[str, object], fragment: str
) -> None:
    error = await client.error("prompts/get", params)
    assert error["code"] == -32602
    assert fragment in error["message"]


# ---------------------------------------------------------------- completion


async def test_literal_arguments_complete_by_prefix(client: FakeClient) -> None:
    result = await client.result(
        "completion/complete",
        {
            "ref": {"type": "ref/prompt", "name": "review"},
            "argument": {"name": "language", "value": "p"},
        },
    )
    assert result == {"completion": {"values": ["python"], "total": 1, "hasMore": False}}
    template = await client.result(
        "completion/complete",
        {
            "ref": {"type": "ref/resource", "uri": "test://feeds/{feed}"},
            "argument": {"name": "feed", "value": ""},
        },
    )
    assert template["completion"]["values"] == ["top", "new", "best"]


async def test_custom_completer_sees_the_context_arguments() -> None:
    server = make_server()
    seen: list[dict[str, str]] = []

    @server.completion(prompt="review", argument="code")
    def complete_code(value: str, context: dict[str, str]) -> list[str]:
        seen.append(context)
        return [f"{value}{index}" for index in range(150)]

    client = FakeClient(server)
    await client.initialize()
    result = await client.result(
        "completion/complete",
        {
            "ref": {"type": "ref/prompt", "name": "review"},
            "argument": {"name": "code", "value": "v"},
            "context": {"arguments": {"language": "rust"}},
        },
    )
    completion = result["completion"]
    assert isinstance(completion, dict)
    assert len(completion["values"]) == 100
    assert completion["total"] == 150
    assert completion["hasMore"] is True
    assert seen == [{"language": "rust"}]


@pytest.mark.parametrize(
    "params",
    [
        {"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "x", "value": ""}},
        {"ref": {"type": "ref/prompt", "name": "review"}, "argument": {"name": "x", "value": ""}},
        {"ref": {"type": "ref/other"}, "argument": {"name": "x", "value": ""}},
        {"ref": "review", "argument": {"name": "x", "value": ""}},
    ],
)
async def test_completion_of_unknown_targets_is_invalid_params(
    client: FakeClient, params: dict[str, object]
) -> None:
    assert (await client.error("completion/complete", params))["code"] == -32602


# ---------------------------------------------------------------- pagination


async def test_every_list_paginates_with_opaque_cursors() -> None:
    client = FakeClient(make_server(page_size=4))
    await client.initialize()
    names: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"cursor": cursor} if cursor else {}
        result = await client.result("tools/list", params)
        names.extend(tool["name"] for tool in result["tools"])
        pages += 1
        cursor = result.get("nextCursor")
        if cursor is None:
            break
    assert pages == 3
    assert len(names) == len(set(names)) == 12
    error = await client.error("prompts/list", {"cursor": "bogus!"})
    assert error["code"] == -32602


async def test_subscription_listeners_see_counts_rise_and_fall() -> None:
    server = make_server()
    changes: list[tuple[str, int]] = []
    server.on_subscription_change(lambda uri, count: changes.append((uri, count)))
    first, second = FakeClient(server), FakeClient(server)
    await first.initialize()
    await second.initialize()
    await first.result("resources/subscribe", {"uri": "test://static"})
    await first.result("resources/subscribe", {"uri": "test://static"})  # idempotent
    await second.result("resources/subscribe", {"uri": "test://static"})
    await first.result("resources/unsubscribe", {"uri": "test://static"})
    await first.result("resources/unsubscribe", {"uri": "test://static"})  # idempotent
    second.connection.close()
    second.connection.close()  # closing twice changes nothing
    assert changes == [
        ("test://static", 1),
        ("test://static", 2),
        ("test://static", 1),
        ("test://static", 0),
    ]
    assert server.subscriber_count("test://static") == 0


async def test_closing_a_session_cancels_its_handlers_and_refuses_requests() -> None:
    client = FakeClient(make_server())
    await client.initialize(capabilities={"sampling": {}})
    call = asyncio.create_task(client.call("ask", {"question": "hi"}))
    await client.next_sent()
    client.connection.close()
    # Nobody is left to answer: the handler is cancelled rather than left waiting.
    with pytest.raises(asyncio.CancelledError):
        await call
    error = await client.error("ping")
    assert error["code"] == -32600


async def test_output_type_gives_a_schema_to_a_tool_with_its_own_readable_text() -> None:
    server = Server("s")

    @server.tool(output_type=Weather)
    async def forecast(city: str) -> ToolResult:
        if city == "nowhere":
            return ToolResult(["no such city"], is_error=True)
        weather: Weather = {"city": city, "celsius": 3.5}
        return ToolResult([f"{city}: 3.5 °C, light snow"], structured=weather)

    @server.tool(output_type=Weather)
    async def broken(city: str) -> ToolResult:
        return ToolResult(["oops"], structured={"city": city})

    client = FakeClient(server)
    await client.initialize()
    tools = {t["name"]: t for t in (await client.result("tools/list"))["tools"]}
    assert tools["forecast"]["outputSchema"]["required"] == ["city", "celsius"]
    assert await client.call("forecast", {"city": "Oslo"}) == {
        "content": [{"type": "text", "text": "Oslo: 3.5 °C, light snow"}],
        "structuredContent": {"city": "Oslo", "celsius": 3.5},
    }
    failed = await client.call("forecast", {"city": "nowhere"})
    assert failed["isError"] is True
    assert "structuredContent" not in failed
    # Structured data that breaks the declared schema never reaches the client.
    malformed = await client.call("broken", {"city": "Oslo"})
    assert malformed["isError"] is True
    assert malformed["content"][0]["text"] == "Tool 'broken' returned a malformed result"


def test_output_type_without_a_schema_is_refused() -> None:
    from ssemcp.errors import LocalProtocolError

    with pytest.raises(LocalProtocolError):
        Server("s").add_tool(make_server().tools["add"].plan.function, output_type=str)


async def test_a_channel_that_takes_nothing_holds_at_most_max_posting_notifications(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ssemcp.server.connection import MAX_POSTING

    never = asyncio.Event()

    async def stuck(message: object) -> None:
        await never.wait()  # a stdout nobody reads

    connection = ServerConnection(make_server(), stuck)  # type: ignore[arg-type]
    await connection.receive(
        Request(
            1,
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c"}},
        )
    )
    with caplog.at_level(logging.WARNING, logger="ssemcp.server.connection"):
        for _ in range(MAX_POSTING + 500):
            connection.post(Notification("notifications/tools/list_changed"))
    assert connection.posting_count == MAX_POSTING
    assert caplog.text.count("notifications behind") == 1
    connection.close()
    never.set()
    await asyncio.sleep(0)


async def test_a_session_not_initialized_hears_no_list_changes() -> None:
    sent: list[object] = []

    async def record(message: object) -> None:
        sent.append(message)

    connection = ServerConnection(make_server(), record)  # type: ignore[arg-type]
    connection.post(Notification("notifications/tools/list_changed"))
    await asyncio.sleep(0)
    assert sent == []
    assert connection.posting_count == 0
    connection.close()
