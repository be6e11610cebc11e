"""Multi round-trip requests (MCP 2026-07-28, MRTR) over a real uvicorn on 127.0.0.1: a
handler's ``ctx.elicit``/``sample``/``list_roots`` becomes an InputRequiredResult, the retry
re-runs it with the answers, and a requestState that is not this request's is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx
import pytest
from live_server import live_app

from ssemcp import Context, Server
from ssemcp.http import create_app
from ssemcp.protocol.request_state import RequestStateKeys

MODERN: Final = "2026-07-28"
ALL_CAPABILITIES: Final = {"elicitation": {}, "sampling": {}, "roots": {}}
NAME_SCHEMA: Final = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}
SAMPLED: Final = {
    "role": "assistant",
    "content": {"type": "text", "text": "Paris"},
    "model": "m",
    "stopReason": "endTurn",
}


def build_server(keys: RequestStateKeys | None = None) -> tuple[Server, list[str]]:
    """The server, and the log of each time a handler started (rounds re-run it)."""
    server = Server("mrtr-test", "1.0.0", request_state_keys=keys)
    runs: list[str] = []

    @server.tool()
    async def greet(ctx: Context, greeting: str = "hello") -> str:
        """Ask the user's name, then greet them."""
        runs.append("greet")
        answer = await ctx.elicit("Your name?", NAME_SCHEMA, key="user_name")
        name = answer.content["name"] if answer.content else "nobody"
        return f"{greeting} {name}"

    @server.tool()
    async def two_steps(ctx: Context) -> str:
        """Ask twice, one question a round."""
        runs.append("two_steps")
        first = await ctx.elicit("First?", NAME_SCHEMA, key="step1")
        second = await ctx.elicit("Second?", NAME_SCHEMA, key="step2")
        return f"{first.action}/{second.action}"

    @server.tool()
    async def all_at_once(ctx: Context) -> str:
        """Ask three things in one round."""
        answer, sampled, roots = await asyncio.gather(
            ctx.elicit("Name?", NAME_SCHEMA),
            ctx.sample("Capital of France?", max_tokens=10),
            ctx.list_roots(),
        )
        return f"{answer.action} {sampled.text} {len(roots)}"

    @server.tool()
    async def plain(text: str = "x") -> str:
        """A tool without a Context: it can ask nothing."""
        runs.append("plain")
        return text

    @server.prompt()
    async def briefing(ctx: Context) -> str:
        """A prompt that asks for context first."""
        answer = await ctx.elicit("Context?", NAME_SCHEMA, key="user_context")
        return f"Brief me on {answer.content['name'] if answer.content else '?'}"

    return server, runs


class Caller:
    def __init__(self, client: httpx.AsyncClient, capabilities: dict[str, Any]) -> None:
        self.client = client
        self.capabilities = capabilities
        self.next_id = 1

    async def call(
        self, method: str, name: str, arguments: dict[str, Any] | None = None, **extra: Any
    ) -> httpx.Response:
        meta = {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": self.capabilities,
        }
        params: dict[str, Any] = {"name": name, "_meta": meta, **extra}
        if arguments is not None:
            params["arguments"] = arguments
        self.next_id += 1
        return await self.client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params},
            headers={
                "accept": "application/json, text/event-stream",
                "mcp-protocol-version": MODERN,
                "mcp-method": method,
                "mcp-name": name,
            },
        )

    async def tool(self, name: str, arguments: dict[str, Any] | None = None, **extra: Any) -> Any:
        return (await self.call("tools/call", name, arguments, **extra)).json()["result"]


@asynccontextmanager
async def caller(
    server: Server, capabilities: dict[str, Any] = ALL_CAPABILITIES
) -> AsyncIterator[Caller]:
    async with live_app(create_app(server)) as live, live.client() as client:
        yield Caller(client, capabilities)


async def test_an_elicitation_takes_two_rounds_and_the_handler_runs_again() -> None:
    server, runs = build_server()
    async with caller(server) as client:
        first = await client.tool("greet", {"greeting": "hi"})
        assert first["resultType"] == "input_required"
        assert first["inputRequests"] == {
            "user_name": {
                "method": "elicitation/create",
                "params": {"message": "Your name?", "requestedSchema": NAME_SCHEMA},
            }
        }
        assert "ttlMs" not in first  # "not cacheable and carry no caching hints"
        second = await client.tool(
            "greet",
            {"greeting": "hi"},
            inputResponses={"user_name": {"action": "accept", "content": {"name": "Alice"}}},
            requestState=first["requestState"],
        )
    assert second["resultType"] == "complete"
    assert second["content"] == [{"type": "text", "text": "hi Alice"}]
    assert runs == ["greet", "greet"]


async def test_one_question_a_round_with_a_new_state_each_round() -> None:
    server, _ = build_server()
    accept = {"action": "accept", "content": {"name": "x"}}
    async with caller(server) as client:
        first = await client.tool("two_steps")
        second = await client.tool(
            "two_steps", inputResponses={"step1": accept}, requestState=first["requestState"]
        )
        assert list(second["inputRequests"]) == ["step2"]
        assert second["requestState"] != first["requestState"]
        third = await client.tool(
            "two_steps",
            inputResponses={"step2": {"action": "decline"}},
            requestState=second["requestState"],
        )
    assert third["content"] == [{"type": "text", "text": "accept/decline"}]


async def test_questions_asked_together_go_out_in_one_round() -> None:
    server, _ = build_server()
    async with caller(server) as client:
        first = await client.tool("all_at_once")
        asked = first["inputRequests"]
        assert {key: question["method"] for key, question in asked.items()} == {
            "elicitation-1": "elicitation/create",
            "sampling-1": "sampling/createMessage",
            "roots-1": "roots/list",
        }
        second = await client.tool(
            "all_at_once",
            inputResponses={
                "elicitation-1": {"action": "cancel"},
                "sampling-1": SAMPLED,
                "roots-1": {"roots": [{"uri": "file:///r", "name": "r"}]},
                "extra-key": {"ignored": True},
            },
            requestState=first["requestState"],
        )
    assert second["content"] == [{"type": "text", "text": "cancel Paris 1"}]


async def test_a_prompt_can_ask_too() -> None:
    server, _ = build_server()
    async with caller(server) as client:
        first = (await client.call("prompts/get", "briefing")).json()["result"]
        assert list(first["inputRequests"]) == ["user_context"]
        second = await client.call(
            "prompts/get",
            "briefing",
            inputResponses={"user_context": {"action": "accept", "content": {"name": "ops"}}},
            requestState=first["requestState"],
        )
    messages = second.json()["result"]["messages"]
    assert messages[0]["content"]["text"] == "Brief me on ops"


async def test_an_unanswered_question_is_asked_again() -> None:
    server, _ = build_server()
    async with caller(server) as client:
        first = await client.tool("greet")
        again = await client.tool(
            "greet", inputResponses={"wrong_key": {}}, requestState=first["requestState"]
        )
    assert again["resultType"] == "input_required"
    assert list(again["inputRequests"]) == ["user_name"]


@pytest.mark.parametrize(
    "answer", [12345, None, {"action": "maybe"}], ids=["number", "null", "bad action"]
)
async def test_an_answer_of_the_wrong_shape_is_invalid_params(answer: Any) -> None:
    server, _ = build_server()
    async with caller(server) as client:
        first = await client.tool("greet")
        response = await client.call(
            "tools/call",
            "greet",
            inputResponses={"user_name": answer},
            requestState=first["requestState"],
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602


async def test_a_question_the_client_cannot_answer_is_missing_capability() -> None:
    server, _ = build_server()
    async with caller(server, capabilities={"sampling": {}}) as client:
        response = await client.call("tools/call", "greet")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32021
    assert error["data"] == {"requiredCapabilities": {"elicitation": {}}}


@pytest.mark.parametrize(
    "retry",
    [
        pytest.param({"requestState": "forged.state"}, id="forged"),
        pytest.param({"arguments": {"greeting": "other"}}, id="other arguments"),
        pytest.param({"name": "two_steps"}, id="other tool"),
    ],
)
async def test_a_state_that_is_not_this_requests_is_refused(retry: dict[str, Any]) -> None:
    server, runs = build_server()
    async with caller(server) as client:
        first = await client.tool("greet", {"greeting": "hi"})
        state = retry.get("requestState", first["requestState"])
        response = await client.call(
            "tools/call",
            retry.get("name", "greet"),
            retry.get("arguments", {"greeting": "hi"}),
            inputResponses={"user_name": {"action": "accept", "content": {"name": "Eve"}}},
            requestState=state,
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602
    assert runs == ["greet"]  # the handler never ran with the refused state


async def test_a_tool_that_cannot_ask_still_refuses_a_state_that_is_not_its_own() -> None:
    server, runs = build_server()
    async with caller(server) as client:
        assert (await client.tool("plain"))["content"][0]["text"] == "x"
        first = await client.tool("greet", {"greeting": "hi"})
        for retry in ({"requestState": first["requestState"]}, {"inputResponses": []}):
            response = await client.call("tools/call", "plain", {}, **retry)
            assert response.status_code == 400
            assert response.json()["error"]["code"] == -32602
    assert runs == ["plain", "greet"]


async def test_a_second_instance_sharing_only_the_key_serves_round_two() -> None:
    key = b"k" * 32
    first_server, _ = build_server(RequestStateKeys([key]))
    second_server, second_runs = build_server(RequestStateKeys([b"new" * 11, key]))
    stranger, stranger_runs = build_server(RequestStateKeys([b"s" * 32]))
    answer = {"user_name": {"action": "accept", "content": {"name": "Bo"}}}
    async with caller(first_server) as one:
        first = await one.tool("greet")
    async with caller(second_server) as two:
        second = await two.tool("greet", inputResponses=answer, requestState=first["requestState"])
    async with caller(stranger) as three:
        refused = await three.call(
            "tools/call", "greet", inputResponses=answer, requestState=first["requestState"]
        )
    assert second["content"] == [{"type": "text", "text": "hello Bo"}]
    assert second_runs == ["greet"]
    assert refused.status_code == 400
    assert stranger_runs == []


async def test_an_expired_state_is_refused() -> None:
    server, _ = build_server(RequestStateKeys([b"e" * 32], ttl_seconds=0.001))
    async with caller(server) as client:
        first = await client.tool("greet")
        await asyncio.sleep(0.01)
        response = await client.call(
            "tools/call",
            "greet",
            inputResponses={"user_name": {"action": "decline"}},
            requestState=first["requestState"],
        )
    assert response.status_code == 400
    assert "expired" in response.json()["error"]["message"]
