"""``ctx.sample`` and ``ctx.elicit`` hand a handler typed results, and refuse malformed answers.

Driven through a real ``ServerConnection`` with the in-memory client: the handler's call goes
out as a request, the test answers as a client would, and the handler sees the typed value.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from harness import FakeClient

from ssemcp import Context, ElicitResult, RequestError, SamplingResult, Server
from ssemcp._types import JSONValue
from ssemcp.jsonrpc import Request

SCHEMA: Any = {"type": "object", "properties": {"name": {"type": "string"}}}


def make_server(seen: list[object]) -> Server:
    server = Server("client-results")

    @server.tool
    async def ask(ctx: Context) -> str:
        result = await ctx.sample("2+2?")
        seen.append(result)
        return result.text

    @server.tool
    async def form(ctx: Context) -> str:
        result = await ctx.elicit("Who are you?", SCHEMA)
        seen.append(result)
        return result.action

    return server


async def call_and_answer(tool: str, answer: JSONValue) -> tuple[dict[str, Any], list[object]]:
    seen: list[object] = []
    client = FakeClient(make_server(seen))
    await client.initialize(capabilities={"sampling": {}, "elicitation": {}})
    call = asyncio.create_task(client.call(tool))
    request = await client.next_sent()
    assert isinstance(request, Request)
    await client.answer(request.id, answer)
    return await call, seen


async def test_sample_returns_a_sampling_result_whose_text_is_the_models_answer() -> None:
    answer = {
        "role": "assistant",
        "content": {"type": "text", "text": "4"},
        "model": "m-1",
        "stopReason": "endTurn",
    }
    result, seen = await call_and_answer("ask", answer)
    assert result["content"] == [{"type": "text", "text": "4"}]
    assert seen == [
        SamplingResult(
            role="assistant",
            content=({"type": "text", "text": "4"},),
            model="m-1",
            stop_reason="endTurn",
        )
    ]


async def test_elicit_returns_an_elicit_result_with_the_action_and_content() -> None:
    answer = {"action": "accept", "content": {"name": "Ada"}}
    result, seen = await call_and_answer("form", answer)
    assert result["content"] == [{"type": "text", "text": "accept"}]
    assert seen == [ElicitResult(action="accept", content={"name": "Ada"})]


async def test_malformed_sampling_answer_fails_the_tool_with_a_message_not_a_traceback() -> None:
    result, seen = await call_and_answer("ask", {"role": "assistant", "model": "m"})
    assert result["isError"] is True
    assert '"content"' in result["content"][0]["text"]
    assert seen == []


def test_sampling_text_joins_text_blocks_and_skips_the_rest() -> None:
    result = SamplingResult.from_json(
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "first"},
                {"type": "image", "data": "AAAA", "mimeType": "image/png"},
                {"type": "text", "text": "second"},
            ],
            "model": "m",
        }
    )
    assert result.text == "first\nsecond"
    assert len(result.content) == 3
    assert result.stop_reason is None


def test_sampling_answer_with_only_an_image_has_empty_text() -> None:
    image = {"type": "image", "data": "AAAA", "mimeType": "image/png"}
    result = SamplingResult.from_json({"role": "assistant", "content": image, "model": "m"})
    assert result.text == ""
    assert result.content == (image,)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("text", "is not an object"),
        ({"content": {"type": "text", "text": ""}, "model": "m"}, '"role"'),
        ({"role": "system", "content": {"type": "text", "text": ""}, "model": "m"}, '"role"'),
        ({"role": "assistant", "model": "m"}, '"content"'),
        ({"role": "assistant", "content": ["x"], "model": "m"}, '"content"'),
        ({"role": "assistant", "content": {"type": "text", "text": ""}}, '"model"'),
        (
            {"role": "assistant", "content": {"type": "text", "text": ""}, "model": "m"}
            | {"stopReason": 3},
            '"stopReason"',
        ),
    ],
)
def test_malformed_sampling_answers_are_request_errors(answer: JSONValue, problem: str) -> None:
    with pytest.raises(RequestError, match="sampling/createMessage") as caught:
        SamplingResult.from_json(answer)
    assert problem in str(caught.value)


@pytest.mark.parametrize("action", ["decline", "cancel"])
def test_declined_or_cancelled_elicitation_has_no_content(action: str) -> None:
    result = ElicitResult.from_json({"action": action, "content": {"name": "x"}})
    assert result.action == action
    assert result.content is None
    assert not result.accepted


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (None, "is not an object"),
        ({}, '"action"'),
        ({"action": "ok"}, '"action"'),
        ({"action": "accept", "content": ["Ada"]}, '"content"'),
    ],
)
def test_malformed_elicitation_answers_are_request_errors(answer: JSONValue, problem: str) -> None:
    with pytest.raises(RequestError, match="elicitation/create") as caught:
        ElicitResult.from_json(answer)
    assert problem in str(caught.value)


def test_results_are_frozen() -> None:
    result = ElicitResult(action="accept", content={})
    with pytest.raises(AttributeError):
        result.action = "cancel"  # type: ignore[misc]
