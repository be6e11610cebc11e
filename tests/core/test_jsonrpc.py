"""Tests of ssemcp.jsonrpc (parse, classify, serialize) and the error codes of ssemcp.errors."""

from __future__ import annotations

import collections
import json
import math
from typing import Any

import pytest

from ssemcp._types import JSONValue
from ssemcp.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    ProtocolError,
    ResourceNotFound,
)
from ssemcp.jsonrpc import (
    ErrorResponse,
    Invalid,
    Message,
    Notification,
    Request,
    Response,
    dumps,
    error_response,
    is_request_id,
    parse,
    serialize,
)

# --- helpers -------------------------------------------------------------------------------

LONGEST_ID = "x" * 256
TOO_LONG_ID = "x" * 257


def parse_one(data: bytes | str) -> Message | Invalid:
    """Parse a payload that must not be a batch."""
    result = parse(data)
    assert not isinstance(result, list)
    return result


def assert_invalid(result: object, expected_id: int | str | None) -> None:
    """``result`` is an -32600 ``Invalid`` echoing ``expected_id``, with its type."""
    assert isinstance(result, Invalid), result
    assert isinstance(result.error, InvalidRequest)
    assert result.error.code == -32600
    assert result.id == expected_id
    assert type(result.id) is type(expected_id)


def _refuse_constant(token: str) -> object:
    raise AssertionError(f"bare {token} token in the output")


def strict_loads(data: bytes) -> object:
    """``json.loads`` that fails on the NaN / Infinity tokens RFC 8259 does not have."""
    return json.loads(data, parse_constant=_refuse_constant)


# --- -32700: not JSON ----------------------------------------------------------------------

DEEP = 100_000
MESSAGE = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'

UNPARSEABLE = [
    pytest.param(b"", id="empty body"),
    pytest.param(b"  \r\n", id="only whitespace"),
    pytest.param(b"{", id="unterminated object"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"ping",}', id="trailing comma"),
    pytest.param(b"{'jsonrpc':'2.0','id':1,'method':'ping'}", id="single quotes"),
    pytest.param(b"/* comment */" + MESSAGE, id="comment"),
    pytest.param(MESSAGE + b" x", id="trailing garbage"),
    pytest.param(MESSAGE + MESSAGE, id="two messages back to back"),
    pytest.param(MESSAGE + b"\x00", id="trailing nul byte"),
    pytest.param(b"NaN", id="bare NaN"),
    pytest.param(b"Infinity", id="bare Infinity"),
    pytest.param(b"-Infinity", id="bare -Infinity"),
    pytest.param(b'{"jsonrpc":"2.0","id":NaN,"method":"ping"}', id="NaN id"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"result":{"x":NaN}}', id="NaN inside a result"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"\xff"}', id="invalid utf-8 byte"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"\xc3"}', id="truncated utf-8 sequence"),
    pytest.param(b'"\xc0\xaf"', id="overlong utf-8 encoding"),
    pytest.param(b'"\xed\xa0\x80"', id="utf-8 encoded surrogate"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"\\ud800"}', id="lone surrogate escape"),
    pytest.param('{"jsonrpc":"2.0","id":1,"method":"\ud800"}', id="str holding a lone surrogate"),
    pytest.param(b"[" * DEEP, id="100000 unclosed arrays"),
    pytest.param(b"[" * DEEP + b"]" * DEEP, id="100000 nested arrays"),
    pytest.param(b'{"a":' * DEEP + b"1" + b"}" * DEEP, id="100000 nested objects"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":' + b"[" * 1023 + b"]" * 1023 + b"}}",
        id="params nested past 1024 levels",
    ),
]


# A guard against a hang, not a timing assertion: each of these takes microseconds.
@pytest.mark.timeout(10)
@pytest.mark.parametrize("data", UNPARSEABLE)
def test_parse_raises_parse_error_for_anything_that_is_not_json(data: bytes | str) -> None:
    # pytest.raises(ParseError) lets a RecursionError or any other crash fail the test.
    with pytest.raises(ParseError) as info:
        parse(data)
    assert info.value.code == -32700
    assert info.value.to_error_object()["code"] == -32700


def test_parse_error_message_does_not_echo_the_payload() -> None:
    with pytest.raises(ParseError) as info:
        parse(b'{"secret":"hunter2"')
    assert "hunter2" not in info.value.message


# --- -32600: JSON, but not a message -------------------------------------------------------

INVALID = [
    # Not an object at all: nothing to take an id from.
    pytest.param(b"1", None, id="number"),
    pytest.param(b"1.5", None, id="float"),
    pytest.param(b'"ping"', None, id="string"),
    pytest.param(b"null", None, id="null"),
    pytest.param(b"true", None, id="true"),
    pytest.param(b"false", None, id="false"),
    # jsonrpc member: the id was fine, so the error echoes it.
    pytest.param(b'{"id":1,"method":"ping"}', 1, id="jsonrpc missing"),
    pytest.param(b'{"jsonrpc":"1.0","id":1,"method":"ping"}', 1, id="jsonrpc 1.0"),
    pytest.param(b'{"jsonrpc":2.0,"id":"a","method":"ping"}', "a", id="jsonrpc a number"),
    pytest.param(b'{"jsonrpc":"2.0 ","id":1,"method":"ping"}', 1, id="jsonrpc with a space"),
    pytest.param(b'{"jsonrpc":null,"id":1,"method":"ping"}', 1, id="jsonrpc null"),
    pytest.param(b'{"jsonrpc":"1.0","id":true,"method":"ping"}', None, id="jsonrpc 1.0, id true"),
    pytest.param(b'{"jsonrpc":"1.0","method":"ping"}', None, id="jsonrpc 1.0, no id"),
    # method member.
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":1}', 1, id="method a number"),
    pytest.param(b'{"jsonrpc":"2.0","id":"7","method":null}', "7", id="method null"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":{}}', 1, id="method an object"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":["ping"]}', 1, id="method an array"),
    pytest.param(b'{"jsonrpc":"2.0","method":true}', None, id="notification method true"),
    # id member of a request.
    pytest.param(b'{"jsonrpc":"2.0","id":null,"method":"ping"}', None, id="id null"),
    pytest.param(b'{"jsonrpc":"2.0","id":true,"method":"ping"}', None, id="id true"),
    pytest.param(b'{"jsonrpc":"2.0","id":false,"method":"ping"}', None, id="id false"),
    pytest.param(b'{"jsonrpc":"2.0","id":1.0,"method":"ping"}', None, id="id 1.0"),
    pytest.param(b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', None, id="id 1.5"),
    pytest.param(b'{"jsonrpc":"2.0","id":1e0,"method":"ping"}', None, id="id 1e0"),
    pytest.param(b'{"jsonrpc":"2.0","id":{},"method":"ping"}', None, id="id an object"),
    pytest.param(b'{"jsonrpc":"2.0","id":[1],"method":"ping"}', None, id="id an array"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":"' + TOO_LONG_ID.encode() + b'","method":"ping"}',
        None,
        id="id a string longer than 256",
    ),
    # params member: MCP defines every params as an object.
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}', 1, id="params an array"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"x","params":[]}', 1, id="params empty array"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":"s","method":"x","params":"a"}', "s", id="params a string"
    ),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"x","params":3}', 1, id="params a number"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"x","params":true}', 1, id="params true"),
    pytest.param(
        b'{"jsonrpc":"2.0","method":"x","params":[]}', None, id="notification params array"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":true,"method":"x","params":[]}', None, id="params array, id true"
    ),
    # A response must have exactly one of result and error.
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"m"}}',
        1,
        id="response with result and error",
    ),
    pytest.param(b'{"jsonrpc":"2.0","id":1}', 1, id="response with neither, int id"),
    pytest.param(b'{"jsonrpc":"2.0","id":"7"}', "7", id="response with neither, str id"),
    pytest.param(b'{"jsonrpc":"2.0"}', None, id="response with neither and no id"),
    pytest.param(b"{}", None, id="empty object"),
    # The id of a successful response.
    pytest.param(b'{"jsonrpc":"2.0","id":null,"result":{}}', None, id="result with id null"),
    pytest.param(b'{"jsonrpc":"2.0","result":{}}', None, id="result with no id"),
    pytest.param(b'{"jsonrpc":"2.0","id":true,"result":{}}', None, id="result with id true"),
    pytest.param(b'{"jsonrpc":"2.0","id":2.0,"result":{}}', None, id="result with id 2.0"),
    pytest.param(b'{"jsonrpc":"2.0","id":[1],"result":{}}', None, id="result with id an array"),
    # The error member of an error response.
    pytest.param(b'{"jsonrpc":"2.0","id":1,"error":"boom"}', 1, id="error a string"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"error":null}', 1, id="error null"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"error":{"message":"m"}}', 1, id="error without code"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"error":{"code":1}}', 1, id="error without message"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"error":{"code":"1","message":"m"}}', 1, id="error code a string"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"error":{"code":-32600.0,"message":"m"}}',
        1,
        id="error code a float",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"error":{"code":true,"message":"m"}}', 1, id="error code true"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":2}}', 1, id="error message a number"
    ),
    # The id of an error response: null is allowed, other non-ids are not.
    pytest.param(
        b'{"jsonrpc":"2.0","id":true,"error":{"code":1,"message":"m"}}',
        None,
        id="error with id true",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":{},"error":{"code":1,"message":"m"}}',
        None,
        id="error with id an object",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1.5,"error":{"code":1,"message":"m"}}',
        None,
        id="error with id 1.5",
    ),
    # Members that must be present, or absent, by JSON-RPC 2.0 sections 4.2 and 5.
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"method":"ping","params":null}',
        1,
        id="params null",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","error":{"code":-32600,"message":"m"}}',
        None,
        id="error response with no id member",
    ),
]


@pytest.mark.parametrize(("data", "expected_id"), INVALID)
def test_parse_classifies_json_that_is_no_message_as_invalid_request(
    data: bytes, expected_id: int | str | None
) -> None:
    assert_invalid(parse(data), expected_id)


def test_invalid_for_a_bad_string_id_does_not_echo_that_id() -> None:
    result = parse_one(b'{"jsonrpc":"2.0","id":"' + TOO_LONG_ID.encode() + b'","method":"x"}')
    assert_invalid(result, None)
    assert isinstance(result, Invalid)
    assert TOO_LONG_ID not in result.error.message


# --- valid messages ------------------------------------------------------------------------

VALID = [
    pytest.param(
        b'{"jsonrpc":"2.0","id":7,"method":"tools/list"}', Request(7, "tools/list"), id="int id"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":"7","method":"tools/list"}', Request("7", "tools/list"), id="str id"
    ),
    pytest.param(b'{"jsonrpc":"2.0","id":0,"method":"ping"}', Request(0, "ping"), id="id 0"),
    pytest.param(b'{"jsonrpc":"2.0","id":-0,"method":"ping"}', Request(0, "ping"), id="id -0"),
    pytest.param(b'{"jsonrpc":"2.0","id":-5,"method":"ping"}', Request(-5, "ping"), id="id -5"),
    pytest.param(b'{"jsonrpc":"2.0","id":"","method":"ping"}', Request("", "ping"), id="id empty"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"}',
        Request(2**63 - 1, "ping"),
        id="id int64 max",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":"' + LONGEST_ID.encode() + b'","method":"ping"}',
        Request(LONGEST_ID, "ping"),
        id="id a string of exactly 256",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}',
        Request(1, "tools/call", {"name": "echo", "arguments": {}}),
        id="request with params",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}',
        Request(1, "ping", {}),
        id="request with empty params",
    ),
    pytest.param(
        b'{"method":"ping","id":1,"jsonrpc":"2.0"}', Request(1, "ping"), id="members in any order"
    ),
    pytest.param(
        b' \r\n\t{"jsonrpc":"2.0","id":1,"method":"ping"}\n',
        Request(1, "ping"),
        id="whitespace around",
    ),
    pytest.param(
        '{"jsonrpc":"2.0","id":"\u00e9","method":"\u65e5"}'.encode(),
        Request("\u00e9", "\u65e5"),
        id="non-ascii id and method",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
        Notification("notifications/initialized"),
        id="notification",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}',
        Notification("notifications/cancelled", {"requestId": 3}),
        id="notification with params",
    ),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"result":{}}', Response(1, {}), id="response"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":"a","result":{"x":[1,2]}}',
        Response("a", {"x": [1, 2]}),
        id="response with str id",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"result":null}', Response(1, None), id="response result null"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}',
        ErrorResponse(1, {"code": -32601, "message": "nope"}),
        id="error response",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":"1","error":{"code":1,"message":"m","data":[1]}}',
        ErrorResponse("1", {"code": 1, "message": "m", "data": [1]}),
        id="error response with str id and data",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}',
        ErrorResponse(None, {"code": -32700, "message": "Parse error"}),
        id="error response with id null",
    ),
]


@pytest.mark.parametrize(("data", "expected"), VALID)
def test_parse_returns_the_message_a_valid_payload_holds(data: bytes, expected: Message) -> None:
    message = parse_one(data)
    assert message == expected
    assert type(message) is type(expected)
    # Dataclass equality says 1 == True; the id's type must survive too.
    assert type(getattr(message, "id", None)) is type(getattr(expected, "id", None))


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview, str])
def test_parse_accepts_every_payload_type(kind: type) -> None:
    data = kind(MESSAGE.decode()) if kind is str else kind(MESSAGE)
    assert parse(data) == Request(1, "ping")


# --- ids keep their type -------------------------------------------------------------------


def test_int_and_str_ids_with_the_same_digits_are_different_ids() -> None:
    as_int = parse_one(b'{"jsonrpc":"2.0","id":7,"method":"ping"}')
    as_str = parse_one(b'{"jsonrpc":"2.0","id":"7","method":"ping"}')
    assert isinstance(as_int, Request)
    assert isinstance(as_str, Request)
    assert as_int.id == 7
    assert as_str.id == "7"
    assert as_int != as_str
    assert len({as_int.id, as_str.id}) == 2


def test_true_never_becomes_an_id_that_collides_with_1() -> None:
    one = parse_one(b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
    true = parse_one(b'{"jsonrpc":"2.0","id":true,"method":"ping"}')
    assert isinstance(one, Request)
    assert_invalid(true, None)
    assert isinstance(true, Invalid)
    pending = {one.id: "request 1"}
    assert true.id not in pending


IDS = [
    pytest.param(0, True, id="0"),
    pytest.param(-1, True, id="negative"),
    pytest.param(2**63, True, id="beyond int64 in python"),
    pytest.param("", True, id="empty string"),
    pytest.param("7", True, id="digits string"),
    pytest.param(LONGEST_ID, True, id="256 chars"),
    pytest.param(TOO_LONG_ID, False, id="257 chars"),
    pytest.param(True, False, id="True"),
    pytest.param(False, False, id="False"),
    pytest.param(1.0, False, id="1.0"),
    pytest.param(None, False, id="None"),
    pytest.param([1], False, id="list"),
    pytest.param({"id": 1}, False, id="dict"),
    pytest.param(b"1", False, id="bytes"),
]


@pytest.mark.parametrize(("value", "is_id"), IDS)
def test_is_request_id_accepts_only_ints_and_bounded_strings(value: object, is_id: bool) -> None:
    assert is_request_id(value) is is_id


# --- batches -------------------------------------------------------------------------------


def test_parse_returns_a_list_for_a_batch_in_order() -> None:
    batch = parse(
        b'[{"jsonrpc":"2.0","id":1,"method":"tools/list"},'
        b'{"jsonrpc":"2.0","method":"notifications/initialized"},'
        b'{"jsonrpc":"2.0","id":"1","result":{}}]'
    )
    assert batch == [
        Request(1, "tools/list"),
        Notification("notifications/initialized"),
        Response("1", {}),
    ]


def test_parse_classifies_each_batch_element_separately() -> None:
    batch = parse(
        b'[1,{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"1.0","id":3,"method":"x"},'
        b'{"jsonrpc":"2.0","id":true,"method":"x"},[],{"jsonrpc":"2.0","id":"4"}]'
    )
    assert isinstance(batch, list)
    assert len(batch) == 6
    assert_invalid(batch[0], None)
    assert batch[1] == Request(2, "ping")
    assert_invalid(batch[2], 3)
    assert_invalid(batch[3], None)
    assert_invalid(batch[4], None)  # an array inside a batch is no message
    assert_invalid(batch[5], "4")


def test_parse_returns_one_invalid_request_for_an_empty_batch() -> None:
    assert_invalid(parse(b"[]"), None)
    assert_invalid(parse(b" [ ] "), None)


def test_parse_raises_parse_error_for_a_batch_that_is_not_json() -> None:
    with pytest.raises(ParseError):
        parse(b'[{"jsonrpc":"2.0","id":1,"method":"ping"},')


# --- serialize -----------------------------------------------------------------------------

CANONICAL = [
    pytest.param(b'{"jsonrpc":"2.0","id":7,"method":"tools/list"}', id="int id"),
    pytest.param(b'{"jsonrpc":"2.0","id":"7","method":"tools/list"}', id="str id"),
    pytest.param(b'{"jsonrpc":"2.0","id":0,"method":"ping"}', id="id 0"),
    pytest.param(b'{"jsonrpc":"2.0","id":-3,"method":"ping"}', id="negative id"),
    pytest.param(b'{"jsonrpc":"2.0","id":"","method":"ping"}', id="empty str id"),
    pytest.param(b'{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"}', id="int64 max"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":'
        b'{"text":"a\\"b\\n","n":1.5,"ok":true,"none":null,"list":[1,"2",[]]}}}',
        id="request with params",
    ),
    pytest.param(
        '{"jsonrpc":"2.0","id":"\u00e9","method":"x","params":{"t":"\u65e5\U0001f600"}}'.encode(),
        id="non-ascii stays utf-8",
    ),
    pytest.param(b'{"jsonrpc":"2.0","method":"notifications/initialized"}', id="notification"),
    pytest.param(
        b'{"jsonrpc":"2.0","method":"notifications/progress","params":'
        b'{"progressToken":"t","progress":1}}',
        id="notification with params",
    ),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"result":{}}', id="response"),
    pytest.param(b'{"jsonrpc":"2.0","id":"1","result":{"tools":[]}}', id="response str id"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}',
        id="error response",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}',
        id="error response id null",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"m","data":{"k":[1]}}}',
        id="error response with data",
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":' + b"[" * 300 + b"]" * 300 + b"}}",
        id="params deeper than orjson serializes",
    ),
    pytest.param(
        b'[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"1","result":{}},'
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}]',
        id="batch",
    ),
]


@pytest.mark.parametrize("data", CANONICAL)
def test_serialize_of_parse_gives_back_canonical_compact_input(data: bytes) -> None:
    parsed = parse(data)
    assert not isinstance(parsed, Invalid)
    if isinstance(parsed, list):
        assert not any(isinstance(item, Invalid) for item in parsed)
    assert serialize(parsed) == data  # type: ignore[arg-type]


def deep_request(depth: int) -> bytes:
    return (
        b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":' + b"[" * depth + b"]" * depth + b"}}"
    )


def test_serialize_round_trips_nesting_past_orjsons_writer_limit() -> None:
    data = deep_request(300)  # orjson writes at most 255 levels; the fallback takes over
    assert serialize(parse_one(data)) == data  # type: ignore[arg-type]


def test_serialize_of_the_deepest_message_parse_accepts_is_a_type_error_not_a_crash() -> None:
    parsed = parse_one(deep_request(1022))  # with message and params: parse's 1024 levels
    assert isinstance(parsed, Request)
    with pytest.raises(TypeError, match="nested too deeply"):
        serialize(parsed)


def test_serialize_keeps_the_id_type_of_a_constructed_message() -> None:
    assert serialize(Response(7, {})) == b'{"jsonrpc":"2.0","id":7,"result":{}}'
    assert serialize(Response("7", {})) == b'{"jsonrpc":"2.0","id":"7","result":{}}'


def test_serialize_writes_no_trailing_newline_and_no_spaces() -> None:
    data = serialize(Request(1, "tools/call", {"name": "a b", "arguments": {"k": [1, 2]}}))
    assert data == (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":'
        b'{"name":"a b","arguments":{"k":[1,2]}}}'
    )


def test_serialize_omits_absent_params() -> None:
    assert serialize(Notification("notifications/initialized")) == (
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
    )
    assert serialize(Request(3, "ping")) == b'{"jsonrpc":"2.0","id":3,"method":"ping"}'


BIG_INTS = [
    pytest.param(2**64, id="2**64"),
    pytest.param(2**64 + 1, id="2**64 + 1"),
    pytest.param(-(2**63) - 1, id="below int64 min"),
    pytest.param(10**40, id="10**40"),
    pytest.param(-(10**40), id="-10**40"),
]


@pytest.mark.parametrize("number", BIG_INTS)
def test_serialize_writes_integers_beyond_64_bits_exactly(number: int) -> None:
    data = serialize(Response(1, {"n": number, "text": "\u00e9", "list": [1, None]}))
    expected = '{"jsonrpc":"2.0","id":1,"result":{"n":%d,"text":"\u00e9","list":[1,null]}}'
    assert data == (expected % number).encode()
    assert strict_loads(data) == {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"n": number, "text": "\u00e9", "list": [1, None]},
    }


def test_serialize_writes_64_bit_boundaries_exactly() -> None:
    assert dumps([2**64 - 1, -(2**63)]) == b"[18446744073709551615,-9223372036854775808]"


NON_FINITE = [
    pytest.param(math.nan, id="nan"),
    pytest.param(math.inf, id="inf"),
    pytest.param(-math.inf, id="-inf"),
    pytest.param({"x": [math.nan]}, id="nested nan"),
    pytest.param([2**64, math.nan], id="nan beside a big int (stdlib path)"),
    pytest.param([2**64, math.inf], id="inf beside a big int (stdlib path)"),
]


@pytest.mark.parametrize("value", NON_FINITE)
def test_dumps_never_emits_a_bare_non_finite_number(value: JSONValue) -> None:
    try:
        data = dumps(value)
    except TypeError:
        return  # refusing is fine; writing a token no JSON parser reads is not
    assert b"NaN" not in data
    assert b"Infinity" not in data
    strict_loads(data)


def test_dumps_raises_type_error_for_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError):
        dumps({"x": object()})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        dumps({"x": object(), "n": 2**64})  # type: ignore[dict-item]


# --- error responses and error codes ------------------------------------------------------

ERROR_CODES = [
    pytest.param(ParseError, -32700, id="ParseError"),
    pytest.param(InvalidRequest, -32600, id="InvalidRequest"),
    pytest.param(MethodNotFound, -32601, id="MethodNotFound"),
    pytest.param(InvalidParams, -32602, id="InvalidParams"),
    pytest.param(InternalError, -32603, id="InternalError"),
    pytest.param(ResourceNotFound, -32002, id="ResourceNotFound"),
]


@pytest.mark.parametrize(("error_class", "code"), ERROR_CODES)
def test_each_protocol_error_travels_as_its_json_rpc_code(
    error_class: type[ProtocolError], code: int
) -> None:
    error = error_class("what went wrong")
    assert error.code == code
    assert error.to_error_object() == {"code": code, "message": "what went wrong"}
    assert error_response(5, error) == ErrorResponse(
        5, {"code": code, "message": "what went wrong"}
    )


def test_error_response_carries_data_only_when_given() -> None:
    with_data = error_response("a", InvalidParams("bad", data={"field": "x"}))
    assert serialize(with_data) == (
        b'{"jsonrpc":"2.0","id":"a","error":{"code":-32602,"message":"bad","data":{"field":"x"}}}'
    )
    without = error_response(None, InvalidRequest("bad"))
    assert (
        serialize(without) == b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bad"}}'
    )


def test_protocol_error_is_abstract() -> None:
    with pytest.raises(TypeError):
        ProtocolError("no code")


ERROR_ACCESSORS = [
    pytest.param({"code": -32601, "message": "m"}, -32601, "m", id="well formed"),
    pytest.param({"code": "1", "message": "m"}, -32603, "m", id="code a string"),
    pytest.param({"code": True, "message": "m"}, -32603, "m", id="code a bool"),
    pytest.param({"message": 3}, -32603, "", id="no code, message a number"),
]


@pytest.mark.parametrize(("error", "code", "message"), ERROR_ACCESSORS)
def test_error_response_accessors_tolerate_a_malformed_error_object(
    error: dict[str, JSONValue], code: int, message: str
) -> None:
    response = ErrorResponse(1, error)
    assert response.code == code
    assert response.message == message


@pytest.mark.parametrize("batch_type", [list, tuple, collections.deque])
def test_any_sequence_of_messages_serializes_as_a_batch(batch_type: Any) -> None:
    batch = batch_type([Response(1, {}), Notification("notifications/x")])
    assert json.loads(serialize(batch)) == [
        {"jsonrpc": "2.0", "id": 1, "result": {}},
        {"jsonrpc": "2.0", "method": "notifications/x"},
    ]
