"""The bridge relays a child's result as the bytes it wrote (``Child``'s SDK-layout answers,
``Upstream.call(relay_raw=True)``): only the id changes.

Owns what that path must keep: the client's id written right whatever its shape (integers at
the ends of 64 bits, strings with escapes and non-ASCII); the child's result bytes passed on
as they are, in a JSON reply or on an SSE stream; answers in any other shape (more members,
whitespace, errors, batches) still parsed and relayed; a line that starts like an answer but
is not JSON logged and skipped. httpx through a real uvicorn on 127.0.0.1; the child is
``tests/bridge/layout_child.py``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Final

import httpx
import orjson
import pytest
from bridge_support import bridged
from test_bridge_shared import MCP_HEADERS, open_session, tool_call

pytestmark = pytest.mark.interop

LAYOUT_CHILD: Final = (sys.executable, str(Path(__file__).with_name("layout_child.py")))
# Spacing and number spellings orjson would not write: they survive only if relayed raw.
RAW_RESULT: Final = '{"content": [ {"type":"text","text":"caf\\u00e9 \\"q\\""} ], "n":1.50e1}'


async def post(client: httpx.AsyncClient, session_id: str, body: object) -> httpx.Response:
    response = await client.post(
        "/mcp",
        content=orjson.dumps(body),
        headers={"mcp-session-id": session_id, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize(
    "request_id",
    [0, 7, -3, 2**63 - 1, -(2**63), 2**64 - 1, "", "7", 'a"b\\c/\n\t\u00e9\U0001f600', "x" * 256],
)
async def test_the_result_is_relayed_byte_for_byte_under_any_id(request_id: int | str) -> None:
    async with (
        bridged(LAYOUT_CHILD) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        session_id = await open_session(client)
        body = '"result":' + RAW_RESULT + "}"
        response = await post(client, session_id, tool_call(request_id, "any", {"body": body}))
    expected = b'{"jsonrpc":"2.0","id":' + orjson.dumps(request_id) + b',"result":'
    assert response.content == expected + RAW_RESULT.encode() + b"}"
    answer = response.json()
    assert answer["id"] == request_id
    assert answer["result"]["content"][0]["text"] == 'café "q"'


async def test_the_raw_result_is_relayed_on_the_calls_sse_stream_after_its_notification() -> None:
    # A log message of the child during the call opens an SSE stream for its answer.
    log = '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}'
    arguments = {"before": log, "body": '"result":' + RAW_RESULT + "}"}
    async with (
        bridged(LAYOUT_CHILD) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        session_id = await open_session(client)
        response = await post(client, session_id, tool_call("s", "any", arguments))
    assert response.headers["content-type"].startswith("text/event-stream")
    # (An empty first event primes resumption: spec basic/transports.)
    frames = [line for line in response.text.splitlines() if line.startswith("data: {")]
    assert len(frames) == 2
    assert orjson.loads(frames[0][6:])["method"] == "notifications/message"
    assert frames[1] == 'data: {"jsonrpc":"2.0","id":"s","result":' + RAW_RESULT + "}"


@pytest.mark.parametrize(
    ("body", "result"),
    [
        # More members after the result: parsed, relayed as a plain answer.
        ('"result":{"a":1},"extra":true}', {"a": 1}),
        # Whitespace before the closing brace, or inside the envelope.
        ('"result":{"a":2} }', {"a": 2}),
        ('"result" : {"a":3}}', {"a": 3}),
        # A result whose text holds what looks like the envelope.
        ('"result":"},\\"id\\":1,\\"result\\":{"}', '},"id":1,"result":{'),
    ],
)
async def test_answers_in_another_layout_are_parsed_and_relayed(body: str, result: object) -> None:
    async with (
        bridged(LAYOUT_CHILD) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        session_id = await open_session(client)
        response = await post(client, session_id, tool_call(5, "any", {"body": body}))
    assert response.json() == {"jsonrpc": "2.0", "id": 5, "result": result}


async def test_an_error_answer_is_relayed_under_the_clients_id() -> None:
    body = '"error":{"code":-32602,"message":"bad \\"x\\""}}'
    async with (
        bridged(LAYOUT_CHILD) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        session_id = await open_session(client)
        response = await post(client, session_id, tool_call("e", "any", {"body": body}))
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": "e",
        "error": {"code": -32602, "message": 'bad "x"'},
    }


async def test_a_batch_of_calls_gets_each_result_raw_under_its_id() -> None:
    calls = [
        tool_call(request_id, "any", {"body": f'"result":{{"n": {index}}}}}'})
        for index, request_id in enumerate((1, "two", 3))
    ]
    async with (
        bridged(LAYOUT_CHILD) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        session_id = await open_session(client)
        response = await post(client, session_id, calls)
    answers = sorted(response.json(), key=lambda answer: str(answer["id"]))
    assert answers == [
        {"jsonrpc": "2.0", "id": 1, "result": {"n": 0}},
        {"jsonrpc": "2.0", "id": 3, "result": {"n": 2}},
        {"jsonrpc": "2.0", "id": "two", "result": {"n": 1}},
    ]
    assert b'{"n": 1}' in response.content  # as the child wrote it


async def test_a_line_that_starts_like_an_answer_but_is_not_json_is_logged_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ssemcp.bridge")
    broken = '{"jsonrpc":"2.0","id":{id},"result":{"a":1'
    arguments = {"before": broken + "}", "body": '"result":{"a":"after"}}'}
    async with (
        bridged(LAYOUT_CHILD) as running,
        httpx.AsyncClient(base_url=running.url, headers=MCP_HEADERS, timeout=30) as client,
    ):
        session_id = await open_session(client)
        response = await post(client, session_id, tool_call(9, "any", arguments))
    assert response.json() == {"jsonrpc": "2.0", "id": 9, "result": {"a": "after"}}
    assert any("non-JSON line" in record.getMessage() for record in caplog.records)
