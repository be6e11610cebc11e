"""JSON-RPC 2.0 messages as MCP uses them: parse, classify, serialize. No I/O.

Owns the four message shapes (request, notification, response, error response), the rules
that tell them apart, and the bytes they travel as. It does not know MCP methods, sessions or
revisions: whether a batch is allowed, or a method exists, is the protocol core's call.

Ids keep their type: ``7`` and ``"7"`` are two different requests (JSON-RPC 2.0 section 4
lets an id be a string or a number; MCP narrows it to string or integer, never null). Booleans
are refused outright, because ``True == 1`` would make them collide with integer ids in a
dict, and floats because MCP ids are integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import orjson

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import InternalError, InvalidRequest, ParseError, ProtocolError

__all__ = [
    "ErrorResponse",
    "Invalid",
    "Message",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "dumps",
    "error_response",
    "is_request_id",
    "parse",
    "serialize",
    "to_object",
]

RequestId: TypeAlias = "int | str"

JSONRPC_VERSION: Final = "2.0"

# Ids are also echoed in error responses and logged; a client has no need for ids larger
# than this, and refusing them keeps a hostile id from bloating every echo of it.
MAX_STRING_ID_LENGTH: Final = 256


# The message classes are slotted but not frozen: one is built for every message in and out,
# and a frozen dataclass's __init__ (object.__setattr__ per field) costs 2.5 times a plain one.
# Treat them as immutable all the same.
@dataclass(slots=True)
class Request:
    """A call that expects exactly one response with the same id."""

    id: RequestId
    method: str
    params: JSONObject | None = None


@dataclass(slots=True)
class Notification:
    """A one-way message: no id, never answered."""

    method: str
    params: JSONObject | None = None


@dataclass(slots=True)
class Response:
    """The successful answer to the request with the same id."""

    id: RequestId
    result: JSONValue


@dataclass(slots=True)
class ErrorResponse:
    """The failed answer to a request; ``id`` is None only when the request's id is unknown."""

    id: RequestId | None
    error: JSONObject

    @property
    def code(self) -> int:
        code = self.error.get("code")
        return code if type(code) is int else InternalError.code

    @property
    def message(self) -> str:
        message = self.error.get("message")
        return message if isinstance(message, str) else ""


Message: TypeAlias = "Request | Notification | Response | ErrorResponse"


@dataclass(slots=True)
class Invalid:
    """JSON that is not a valid message; answer it with ``error``, echoing ``id`` if known.

    An ``Invalid`` that carried no id and was not a request (e.g. a malformed response) is
    still answered: JSON-RPC 2.0 section 5 answers an invalid request with id null.
    """

    id: RequestId | None
    error: ProtocolError


def is_request_id(value: object) -> bool:
    """Whether ``value`` is a valid MCP request id: an int (not a bool) or a bounded str."""
    value_type = type(value)
    if value_type is int:
        return True
    return value_type is str and len(value) <= MAX_STRING_ID_LENGTH  # type: ignore[arg-type]


def parse(
    data: bytes | bytearray | memoryview | str,
) -> Message | Invalid | list[Message | Invalid]:
    """Parse one JSON-RPC payload: a single message, or a batch (a JSON array) of them.

    Args:
        data: the payload; bytes must be UTF-8 (RFC 8259 section 8.1).

    Returns:
        A message; an :class:`Invalid` for JSON that is no valid message; or, for an array,
        a list with one entry per element. An empty array is one ``Invalid`` (JSON-RPC 2.0
        section 6: "an Array with at least one value").

    Raises:
        ParseError: the payload is not JSON (also when it nests deeper than orjson's limit
            of 1024, so deep nesting can never exhaust the stack).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ParseError("Parse error: the body is not valid JSON") from exc
    if type(value) is list:
        if not value:
            return Invalid(None, InvalidRequest("Invalid Request: empty batch"))
        return [classify(item) for item in value]
    return classify(value)


# Tells a missing member from one whose value is null.
_ABSENT: Final = object()


def classify(value: JSONValue) -> Message | Invalid:
    """Tell which message a decoded JSON value is (JSON-RPC 2.0 sections 4 and 5)."""
    if type(value) is not dict:
        return Invalid(None, InvalidRequest("Invalid Request: a message must be a JSON object"))
    raw_id = value.get("id")
    # is_request_id, inlined: this runs for every message.
    id_type = type(raw_id)
    known_id: RequestId | None = (
        raw_id  # type: ignore[assignment]
        if id_type is int or (id_type is str and len(raw_id) <= MAX_STRING_ID_LENGTH)  # type: ignore[arg-type]
        else None
    )
    if value.get("jsonrpc") != JSONRPC_VERSION:
        return Invalid(known_id, InvalidRequest('Invalid Request: "jsonrpc" must be "2.0"'))

    method = value.get("method", _ABSENT)
    if method is not _ABSENT:
        if type(method) is not str:
            return Invalid(known_id, InvalidRequest('Invalid Request: "method" must be a string'))
        params = value.get("params")
        if type(params) is not dict and (params is not None or "params" in value):
            # JSON-RPC 2.0 section 4.2: params, if present, MUST be structured; MCP defines
            # every params as an object (so by-position arrays, and null, are refused).
            return Invalid(known_id, InvalidRequest('Invalid Request: "params" must be an object'))
        if "id" not in value:
            return Notification(method, params)
        if known_id is None:
            return Invalid(None, _bad_id_error(raw_id))
        return Request(known_id, method, params)

    has_result = "result" in value
    has_error = "error" in value
    if has_result == has_error:
        reason = "both" if has_result else "neither"
        return Invalid(
            known_id,
            InvalidRequest(f'Invalid Request: a response has {reason} "result" and "error"'),
        )
    if has_result:
        if known_id is None:
            return Invalid(None, _bad_id_error(raw_id))
        return Response(known_id, value["result"])
    error = value["error"]
    if (
        type(error) is not dict
        or type(error.get("code")) is not int
        or type(error.get("message")) is not str
    ):
        return Invalid(known_id, InvalidRequest('Invalid Request: malformed "error" object'))
    if "id" not in value:
        # JSON-RPC 2.0 section 5: the id member "is REQUIRED" in a response (null when the
        # request's id could not be read).
        return Invalid(None, InvalidRequest('Invalid Request: a response needs an "id"'))
    if raw_id is not None and known_id is None:
        return Invalid(None, _bad_id_error(raw_id))
    return ErrorResponse(known_id, error)


def _bad_id_error(raw_id: JSONValue) -> InvalidRequest:
    if raw_id is None:
        # spec 2025-11-25 basic: "the ID MUST NOT be null".
        return InvalidRequest('Invalid Request: "id" must not be null')
    if type(raw_id) is str:
        return InvalidRequest(f'Invalid Request: "id" is longer than {MAX_STRING_ID_LENGTH}')
    return InvalidRequest('Invalid Request: "id" must be a string or an integer')


def error_response(request_id: RequestId | None, error: ProtocolError) -> ErrorResponse:
    """The error response that answers ``request_id`` with ``error``."""
    return ErrorResponse(request_id, error.to_error_object())


def to_object(message: Message) -> JSONObject:
    """The JSON object a message travels as."""
    if type(message) is Response:
        return {"jsonrpc": JSONRPC_VERSION, "id": message.id, "result": message.result}
    if type(message) is Request:
        obj: JSONObject = {"jsonrpc": JSONRPC_VERSION, "id": message.id, "method": message.method}
        if message.params is not None:
            obj["params"] = message.params
        return obj
    if type(message) is Notification:
        obj = {"jsonrpc": JSONRPC_VERSION, "method": message.method}
        if message.params is not None:
            obj["params"] = message.params
        return obj
    assert type(message) is ErrorResponse
    return {"jsonrpc": JSONRPC_VERSION, "id": message.id, "error": message.error}


def dumps(value: JSONValue) -> bytes:
    """Serialize JSON compactly; integers beyond 64 bits fall back to the standard library."""
    try:
        return orjson.dumps(value)
    except TypeError:
        # orjson refuses integers outside 64 bits (a tool may well compute one) and nesting
        # deeper than 255. The stdlib encoder writes big integers exactly, refuses NaN and
        # infinities, and recurses for nesting, which we turn into the same TypeError.
        import json

        try:
            return json.dumps(
                value, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
        except (TypeError, ValueError) as exc:
            raise TypeError(f"not JSON-serializable: {exc}") from None
        except RecursionError:
            raise TypeError("not JSON-serializable: nested too deeply") from None


_MESSAGE_TYPES: Final = frozenset({Request, Notification, Response, ErrorResponse})


def serialize(message: Message | Sequence[Message]) -> bytes:
    """The bytes a message (or a batch of them) travels as: compact UTF-8 JSON, no newline."""
    # A test of the exact type, not isinstance(message, Sequence): an ABC check costs more
    # than the rest. Anything that is not one message is a batch, whatever its sequence type.
    if type(message) is Response:
        # to_object's commonest case, inlined: a server's answers.
        return dumps({"jsonrpc": JSONRPC_VERSION, "id": message.id, "result": message.result})
    if type(message) in _MESSAGE_TYPES:
        return dumps(to_object(message))  # type: ignore[arg-type]
    return dumps([to_object(item) for item in message])  # type: ignore[union-attr]
