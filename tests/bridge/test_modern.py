"""``ssemcp.bridge.modern``: the 2026-07-28 translation of the bridge, without I/O."""

from __future__ import annotations

import pytest

from ssemcp.bridge.modern import (
    CHILD_CLIENT_CAPABILITIES,
    Question,
    answer_of,
    child_initialize_params,
    child_params,
    completed,
    discover_of,
    held_state,
    input_required_result,
    question_key,
)
from ssemcp.errors import InvalidParams
from ssemcp.jsonrpc import ErrorResponse, Response

SERVER_INFO = {"name": "child", "version": "1"}
INITIALIZE_RESULT = {
    "protocolVersion": "2025-11-25",
    "capabilities": {
        "tools": {"listChanged": True},
        "resources": {"subscribe": True, "listChanged": True},
        "logging": {},
    },
    "serverInfo": SERVER_INFO,
    "instructions": "Be nice.",
}


def test_child_is_initialized_with_every_question_a_server_may_ask() -> None:
    params = child_initialize_params()
    assert params["protocolVersion"] == "2025-11-25"
    assert params["capabilities"] == CHILD_CLIENT_CAPABILITIES
    assert params["clientInfo"]["name"] == "ssemcp-bridge"  # type: ignore[index]


def test_discover_carries_the_childs_capabilities_identity_and_instructions() -> None:
    result = discover_of(INITIALIZE_RESULT, listens=True)
    assert result["supportedVersions"] == [
        "2026-07-28",
        "2025-11-25",
        "2025-06-18",
        "2025-03-26",
        "2024-11-05",
    ]
    assert result["capabilities"] == INITIALIZE_RESULT["capabilities"]
    assert result["instructions"] == "Be nice."
    assert result["resultType"] == "complete"
    assert result["_meta"] == {"io.modelcontextprotocol/serverInfo": SERVER_INFO}
    assert result["ttlMs"] == 0


def test_discover_without_listen_promises_no_notifications() -> None:
    result = discover_of(INITIALIZE_RESULT, listens=False)
    assert result["capabilities"] == {"tools": {}, "resources": {}, "logging": {}}


def test_discover_of_a_child_without_server_info_names_it_plainly() -> None:
    result = discover_of({"capabilities": {}}, listens=False)
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "bridged-server"  # type: ignore[index]
    assert "instructions" not in result


def test_child_params_drop_the_protocol_meta_and_the_retry_fields() -> None:
    params = {
        "name": "t",
        "arguments": {"a": 1},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "progressToken": 5,
            "traceparent": "00-abc",
        },
        "inputResponses": {"elicitation-1": {}},
        "requestState": "x.y",
    }
    assert child_params(params) == {
        "name": "t",
        "arguments": {"a": 1},
        "_meta": {"progressToken": 5, "traceparent": "00-abc"},
    }
    assert child_params({"_meta": {"io.modelcontextprotocol/protocolVersion": "v"}}) == {}
    assert child_params(None) is None


def test_completed_result_gets_result_type_server_info_and_cache_hints() -> None:
    reply = completed("resources/read", Response(3, {"contents": []}), SERVER_INFO)
    assert type(reply) is Response
    assert reply.result == {
        "contents": [],
        "resultType": "complete",
        "_meta": {"io.modelcontextprotocol/serverInfo": SERVER_INFO},
        "ttlMs": 0,
        "cacheScope": "private",
    }
    call = completed("tools/call", Response(4, {"content": []}), SERVER_INFO)
    assert "ttlMs" not in call.result  # type: ignore[union-attr,operator]


def test_completed_turns_the_retired_resource_not_found_into_invalid_params() -> None:
    error = ErrorResponse(1, {"code": -32002, "message": "nope", "data": {"uri": "a://b"}})
    reply = completed("resources/read", error, SERVER_INFO)
    assert type(reply) is ErrorResponse
    assert reply.error == {"code": -32602, "message": "nope", "data": {"uri": "a://b"}}
    other = ErrorResponse(1, {"code": -32601, "message": "no"})
    assert completed("tools/call", other, SERVER_INFO) is other


def test_completed_refuses_a_result_that_is_not_an_object() -> None:
    reply = completed("tools/call", Response(1, [1, 2]), SERVER_INFO)  # type: ignore[arg-type]
    assert type(reply) is ErrorResponse
    assert reply.code == -32603


def test_questions_are_keyed_by_kind_and_count() -> None:
    assert question_key("elicitation/create", 1) == "elicitation-1"
    assert question_key("sampling/createMessage", 2) == "sampling-2"
    assert question_key("roots/list", 1) == "roots-1"


def test_input_required_result_lists_each_question_as_the_child_asked_it() -> None:
    question = Question("elicitation-1", 9, "elicitation/create", {"message": "Name?"})
    result = input_required_result([question], "state", SERVER_INFO)
    assert result == {
        "resultType": "input_required",
        "inputRequests": {
            "elicitation-1": {"method": "elicitation/create", "params": {"message": "Name?"}}
        },
        "requestState": "state",
        "_meta": {"io.modelcontextprotocol/serverInfo": SERVER_INFO},
    }


@pytest.mark.parametrize(
    ("method", "answer"),
    [
        ("elicitation/create", {"action": "accept", "content": {"name": "Ada"}}),
        (
            "sampling/createMessage",
            {"role": "assistant", "content": {"type": "text", "text": "hi"}, "model": "m"},
        ),
        ("roots/list", {"roots": []}),
    ],
)
def test_a_well_formed_answer_is_taken(method: str, answer: dict[str, object]) -> None:
    question = Question("q", 1, method, {})
    assert answer_of(question, {"q": answer}) == answer  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("method", "answer"),
    [
        ("elicitation/create", {"action": "maybe"}),
        ("sampling/createMessage", {"role": "robot"}),
        ("roots/list", {"roots": "none"}),
        ("roots/list", "nothing"),
    ],
)
def test_a_malformed_answer_is_invalid_params(method: str, answer: object) -> None:
    question = Question("q", 1, method, {})
    with pytest.raises(InvalidParams, match=r'inputResponses\["q"\]'):
        answer_of(question, {"q": answer})  # type: ignore[dict-item]


def test_an_unanswered_question_has_no_answer() -> None:
    assert answer_of(Question("q", 1, "roots/list", {}), {"other": {}}) is None


def test_held_state_refuses_a_state_of_another_kind() -> None:
    assert held_state({"call": "h", "heldUntil": 5}).call == "h"
    with pytest.raises(InvalidParams, match="continues no bridged call"):
        held_state({"answers": {}, "pending": {}})
