"""MCP 2026-07-28 through ``ssemcp bridge``: the official Python SDK's ``Client`` (pinned
``mcp==2.3.0``) in its default ``auto`` mode negotiates 2026-07-28 with a bridged stdio server
that speaks only 2025 (``tests/bridge/bridged_fixture.py``), and the child's questions to its
client come back as multi round-trip requests.

Owns what a 2026-07-28 client of the bridge sees: discovery from the child's ``initialize``,
listing and calls, results completed, progress, sampling and elicitation by MRTR with the call
held open on the child, one child per principal, and the bad paths (bad ``_meta``, tampered
state, a late retry, a child that dies mid-call, a question the client cannot answer), and
the ``Mcp-Param-*`` headers of the arguments a child's tool marks ``x-mcp-header``, checked
as ssemcp's own leg checks them (its tools learnt again when the child says they changed).
"""

from __future__ import annotations

import base64
import json
import os
import signal
from typing import Any, Final

import httpx
import mcp_types as types
import pytest
from bridge_support import bridged, is_reaped, sdk_session
from live_server import wait_until
from mcp import Client

from ssemcp.bridge.held import HeldCalls

pytestmark = pytest.mark.interop

MODERN: Final = "2026-07-28"
META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
}
ELICIT_ARGUMENTS: Final = {"message": "Your name?"}


def request_body(method: str, params: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def headers_for(method: str, name: str | None = None) -> dict[str, str]:
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if name is not None:
        headers["mcp-name"] = name
    return headers


async def post(
    client: httpx.AsyncClient,
    method: str,
    params: dict[str, Any],
    *,
    name: str | None = None,
    request_id: int = 1,
) -> httpx.Response:
    return await client.post(
        "/mcp", json=request_body(method, params, request_id), headers=headers_for(method, name)
    )


async def call_elicit(client: httpx.AsyncClient, **extra: Any) -> httpx.Response:
    params = {"name": "elicit", "arguments": ELICIT_ARGUMENTS, "_meta": META, **extra}
    return await post(client, "tools/call", params, name="elicit")


async def test_auto_mode_client_negotiates_2026_07_28_with_a_bridged_2025_server() -> None:
    async with bridged() as running, Client(running.url + "/mcp") as client:
        assert client.protocol_version == MODERN
        assert client.server_info is not None
        assert client.server_info.name == "bridge-fixture"
        listing = await client.list_tools()
        echoed = await client.call_tool("echo", {"text": "through"})
        remembered = [await client.call_tool("remember", {"value": v}) for v in ("a", "b")]
    assert {"pid", "remember", "elicit", "sample"} <= {tool.name for tool in listing.tools}
    assert echoed.content == [types.TextContent(type="text", text="through")]
    # One principal (anonymous), one child: its state carries from call to call.
    assert remembered[1].content == [types.TextContent(type="text", text="a,b")]


async def test_elicitation_of_the_child_is_a_multi_round_trip_for_the_client() -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async with (
        bridged() as running,
        Client(running.url + "/mcp", elicitation_callback=elicit) as client,
    ):
        assert client.protocol_version == MODERN
        result = await client.call_tool("elicit", {"message": "Your name?"})
        held_after = running.bridge.standalone.held_count
    assert asked == ["Your name?"]
    assert result.content == [types.TextContent(type="text", text="accept: {'name': 'Ada'}")]
    assert held_after == 0


async def test_sampling_of_the_child_is_a_multi_round_trip_for_the_client() -> None:
    async def sample(context: Any, params: types.CreateMessageRequestParams) -> Any:
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(text="Paris"), model="fake"
        )

    async with (
        bridged() as running,
        Client(running.url + "/mcp", sampling_callback=sample) as client,
    ):
        result = await client.call_tool("sample", {"prompt": "Capital of France?"})
    assert result.content == [types.TextContent(type="text", text="model said: Paris")]


async def test_discover_is_answered_from_the_childs_initialize() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        response = await post(client, "server/discover", {"_meta": META})
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["supportedVersions"][0] == MODERN
    assert "2025-11-25" in result["supportedVersions"]
    assert result["resultType"] == "complete"
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "bridge-fixture"
    # The child's own capabilities (subscriptions/listen carries its notifications).
    assert result["capabilities"]["tools"] == {"listChanged": True}


async def test_results_are_completed_and_progress_comes_under_the_clients_token() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        listing = await post(client, "tools/list", {"_meta": META})
        call = await post(
            client,
            "tools/call",
            {"name": "progress", "arguments": {"steps": 1}, "_meta": {**META, "progressToken": 7}},
            name="progress",
        )
    listed = listing.json()["result"]
    assert listed["resultType"] == "complete"
    assert listed["ttlMs"] == 0 and listed["cacheScope"] == "private"
    assert listed["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "bridge-fixture"
    # The progress reply is a stream; its last event is the result.
    events = [line[5:] for line in call.text.splitlines() if line.startswith("data:")]
    messages = [json.loads(event) for event in events]
    assert messages[0]["method"] == "notifications/progress"
    assert messages[0]["params"]["progressToken"] == 7
    assert messages[-1]["result"]["content"][0]["text"].startswith("done (token")
    assert messages[-1]["result"]["resultType"] == "complete"


async def test_bad_meta_gets_invalid_params_and_starts_no_child() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        no_capabilities = await post(
            client,
            "tools/list",
            {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}},
        )
        mismatch = await client.post(
            "/mcp",
            json=request_body("tools/list", {"_meta": META}),
            headers=headers_for("tools/call"),
        )
        gone = await post(client, "ping", {"_meta": META})
        children = dict(running.bridge.children)
    assert no_capabilities.status_code == 400
    assert no_capabilities.json()["error"]["code"] == -32602
    assert mismatch.status_code == 400
    assert mismatch.json()["error"]["code"] == -32020
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == -32601
    assert children == {}


async def test_unknown_version_gets_unsupported_protocol_version() -> None:
    meta = {**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        response = await client.post(
            "/mcp",
            json=request_body("tools/list", {"_meta": meta}),
            headers={**headers_for("tools/list"), "mcp-protocol-version": "2099-01-01"},
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert MODERN in error["data"]["supported"]


async def test_a_question_the_client_cannot_answer_is_missing_capability() -> None:
    meta = {**META, "io.modelcontextprotocol/clientCapabilities": {}}
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        response = await call_elicit(client, _meta=meta)
        # The call was cancelled on the child, which goes on serving.
        after = await post(
            client,
            "tools/call",
            {"name": "echo", "arguments": {"text": "still"}, "_meta": META},
            name="echo",
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32021
    assert error["data"]["requiredCapabilities"] == {"elicitation": {}}
    assert after.json()["result"]["content"][0]["text"] == "still"


async def test_a_round_trip_by_hand_holds_the_call_and_continues_it() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        first = (await call_elicit(client)).json()["result"]
        assert running.bridge.standalone.held_count == 1
        [(key, question)] = first["inputRequests"].items()
        answer = {key: {"action": "accept", "content": {"name": "Grace"}}}
        retry = await call_elicit(client, inputResponses=answer, requestState=first["requestState"])
        replayed = await call_elicit(
            client, inputResponses=answer, requestState=first["requestState"]
        )
    assert first["resultType"] == "input_required"
    assert question["method"] == "elicitation/create"
    assert question["params"]["message"] == "Your name?"
    assert retry.json()["result"]["content"][0]["text"] == "accept: {'name': 'Grace'}"
    # A state is good for one retry: the call it held has moved on.
    assert replayed.status_code == 400
    assert "answered already" in replayed.json()["error"]["message"]


async def test_a_retry_without_an_answer_is_asked_again() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        first = (await call_elicit(client)).json()["result"]
        again = (
            await call_elicit(client, inputResponses={}, requestState=first["requestState"])
        ).json()["result"]
    assert again["resultType"] == "input_required"
    assert again["inputRequests"] == first["inputRequests"]
    assert again["requestState"] != first["requestState"]


async def test_a_tampered_request_state_is_refused() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        first = (await call_elicit(client)).json()["result"]
        payload, _, mac = first["requestState"].partition(".")
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        decoded["r"]["heldUntil"] += 3600
        forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
        tampered = await call_elicit(client, inputResponses={}, requestState=f"{forged}.{mac}")
        other_arguments = await post(
            client,
            "tools/call",
            {
                "name": "elicit",
                "arguments": {"message": "Another question?"},
                "_meta": META,
                "requestState": first["requestState"],
                "inputResponses": {},
            },
            name="elicit",
        )
    assert tampered.status_code == 400
    assert tampered.json()["error"]["code"] == -32602
    assert "integrity" in tampered.json()["error"]["message"]
    assert other_arguments.status_code == 400
    assert "another request" in other_arguments.json()["error"]["message"]


async def test_a_retry_after_the_hold_expired_gets_a_clear_error() -> None:
    async with (
        bridged(hold_seconds=0.2) as running,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        first = (await call_elicit(client)).json()["result"]
        standalone = running.bridge.standalone
        await wait_until(lambda: standalone.held_count == 0)
        late = await call_elicit(
            client,
            inputResponses={"elicitation-1": {"action": "decline"}},
            requestState=first["requestState"],
        )
        # The cancelled call left the child serving.
        after = await post(
            client,
            "tools/call",
            {"name": "echo", "arguments": {"text": "alive"}, "_meta": META},
            name="echo",
        )
    assert late.status_code == 400
    message = late.json()["error"]["message"]
    assert "waited 0.2 s" in message and "send the request anew" in message
    assert after.json()["result"]["content"][0]["text"] == "alive"


async def test_calls_past_the_bound_of_held_calls_get_an_error_for_their_question() -> None:
    async with (
        bridged(max_held_calls=1) as running,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        first = (await call_elicit(client)).json()["result"]
        second = (await call_elicit(client)).json()["result"]
    assert first["resultType"] == "input_required"
    # The child's question got an error; its tool turned that into an error result.
    assert second["resultType"] == "complete"
    assert second["isError"] is True


async def test_a_child_that_dies_mid_call_gives_a_clear_error() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        crashed = await post(
            client, "tools/call", {"name": "crash", "arguments": {}, "_meta": META}, name="crash"
        )
        after = await post(
            client,
            "tools/call",
            {"name": "echo", "arguments": {"text": "restarted"}, "_meta": META},
            name="echo",
        )
    error = crashed.json()["error"]
    assert error["code"] == -32603
    assert "exited (code 3)" in error["message"]
    assert after.json()["result"]["content"][0]["text"] == "restarted"


async def test_a_child_that_dies_while_its_call_is_held_fails_the_retry_clearly() -> None:
    async with bridged() as running, httpx.AsyncClient(base_url=running.url) as client:
        first = (await call_elicit(client)).json()["result"]
        [child] = list(running.bridge.children)
        # Killed, not stopped: a child told to stop may first answer its held call itself
        # (an ssemcp child drains, cutting it with an error of its own).
        os.kill(child.pid, signal.SIGKILL)
        retry = await call_elicit(
            client,
            inputResponses={"elicitation-1": {"action": "decline"}},
            requestState=first["requestState"],
        )
    error = retry.json()["error"]
    assert error["code"] == -32603
    assert "exited" in error["message"]


async def test_each_principal_gets_a_child_of_its_own() -> None:
    tokens = ["token-of-ada", "token-of-bob"]
    async with bridged(app_options={"tokens": tokens}) as running:
        pids = []
        for token in tokens * 2:
            async with httpx.AsyncClient(
                base_url=running.url, headers={"authorization": f"Bearer {token}"}
            ) as client:
                response = await post(
                    client,
                    "tools/call",
                    {"name": "pid", "arguments": {}, "_meta": META},
                    name="pid",
                )
                pids.append(response.json()["result"]["content"][0]["text"])
        count = running.bridge.principal_child_count
    assert pids[0] != pids[1]
    assert pids[2:] == pids[:2]
    assert count == 2


async def test_a_held_call_cannot_be_continued_by_another_principal() -> None:
    async with bridged(app_options={"tokens": ["token-of-ada", "token-of-bob"]}) as running:
        async with httpx.AsyncClient(
            base_url=running.url, headers={"authorization": "Bearer token-of-ada"}
        ) as ada:
            first = (await call_elicit(ada)).json()["result"]
        async with httpx.AsyncClient(
            base_url=running.url, headers={"authorization": "Bearer token-of-bob"}
        ) as bob:
            stolen = await call_elicit(
                bob,
                inputResponses={"elicitation-1": {"action": "decline"}},
                requestState=first["requestState"],
            )
    assert stolen.status_code == 400
    assert "another request" in stolen.json()["error"]["message"]


def test_held_calls_are_bounded_and_taken_once() -> None:
    held: HeldCalls[str] = HeldCalls(max_held=2, hold_seconds=10)
    first = held.hold("a", now=0)
    second = held.hold("b", now=1)
    assert first is not None and second is not None
    assert held.hold("c", now=2) is None
    assert held.take(first[0], now=5) == "a"
    assert held.take(first[0], now=5) is None
    assert held.take(second[0], now=11) is None  # past its deadline: left for expire
    assert held.expire(now=11) == ["b"]
    assert len(held) == 0 and held.next_deadline() is None


async def test_a_principals_child_ends_after_idle_seconds_without_requests() -> None:
    async with (
        bridged(idle_seconds=0.2) as running,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        response = await post(
            client, "tools/call", {"name": "pid", "arguments": {}, "_meta": META}, name="pid"
        )
        pid = int(response.json()["result"]["content"][0]["text"])
        await wait_until(lambda: running.bridge.principal_child_count == 0)
        await wait_until(lambda: is_reaped(pid), message="the idle child was not reaped")
        again = await post(
            client, "tools/call", {"name": "pid", "arguments": {}, "_meta": META}, name="pid"
        )
    assert int(again.json()["result"]["content"][0]["text"]) != pid


async def test_a_2026_request_past_max_children_gets_a_clear_error() -> None:
    async with (
        bridged(max_children=1) as running,
        sdk_session(running.url, "streamable-http") as session,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        await session.send_ping()
        response = await post(client, "tools/list", {"_meta": META})
    error = response.json()["error"]
    assert error["code"] == -32603
    assert "all 1 bridged server processes are in use" in error["message"]


def sentinel(value: str) -> str:
    """A header value in the base64 sentinel (basic/transports/streamable-http)."""
    return "=?base64?" + base64.b64encode(value.encode()).decode("ascii") + "?="


async def call_with_params(
    client: httpx.AsyncClient, name: str, arguments: dict[str, Any], params: dict[str, str]
) -> httpx.Response:
    body = request_body("tools/call", {"name": name, "arguments": arguments, "_meta": META})
    headers = headers_for("tools/call", name)
    headers.update({f"mcp-param-{header}": value for header, value in params.items()})
    return await client.post("/mcp", json=body, headers=headers)


def text_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert not result.get("isError"), result
    return str(result["content"][0]["text"])


def mismatch_of(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == -32020, error
    return str(error["message"])


async def test_the_mcp_param_headers_of_a_childs_tool_are_checked() -> None:
    async with (
        bridged() as running,
        httpx.AsyncClient(base_url=running.url, timeout=30) as client,
    ):
        plain = await call_with_params(
            client, "forecast", {"region": "Paris", "days": 3}, {"Region": "Paris", "Days": "3"}
        )
        accented = await call_with_params(
            client, "forecast", {"region": "Zürich"}, {"Region": sentinel("Zürich")}
        )
        # Integers compare as numbers (007 is 7); header names without case.
        padded = await call_with_params(
            client, "forecast", {"region": "Rome", "days": 7}, {"region": "Rome", "DAYS": "007"}
        )
        disagrees = await call_with_params(
            client, "forecast", {"region": "Paris", "days": 3}, {"Region": "Lyon", "Days": "3"}
        )
        missing = await call_with_params(client, "forecast", {"region": "Paris"}, {})
        not_decoded = await call_with_params(
            client, "forecast", {"region": "Zürich"}, {"Region": sentinel("Zurich")}
        )
        unmarked = await call_with_params(client, "echo", {"text": "no headers"}, {})
    assert text_of(plain) == "3 days in Paris"
    assert text_of(accented) == "1 days in Zürich"
    assert text_of(padded) == "7 days in Rome"
    assert mismatch_of(disagrees) == "Header mismatch: Mcp-Param-Region does not match 'region'"
    assert mismatch_of(missing) == "Header mismatch: Mcp-Param-Region is missing"
    assert "Mcp-Param-Region does not match" in mismatch_of(not_decoded)
    assert text_of(unmarked) == "no headers"


async def test_a_tool_the_child_adds_has_its_headers_checked_after_the_list_change() -> None:
    async with (
        bridged() as running,
        httpx.AsyncClient(base_url=running.url, timeout=30) as client,
    ):
        # The child's marks are learnt (and kept) before `capitals` exists.
        before = await call_with_params(client, "forecast", {"region": "Oslo"}, {"Region": "Oslo"})
        assert text_of(await call_with_params(client, "add_capitals", {}, {})) == "added"
        # The child's tools/list_changed (written before add_capitals' answer) made the bridge
        # forget them: capitals' mark is known now.
        without = await call_with_params(client, "capitals", {"word": "hey"}, {})
        shouted = await call_with_params(
            client, "capitals", {"word": "naïve"}, {"Word": sentinel("naïve")}
        )
    assert text_of(before) == "1 days in Oslo"
    assert mismatch_of(without) == "Header mismatch: Mcp-Param-Word is missing"
    assert text_of(shouted) == "NAÏVE"
