"""A 2026-07-28 request mapped onto a bridged child's 2025 session, and its answer back. No I/O.

Owns the translation rules of ``ssemcp bridge``'s 2026-07-28 leg: the handshake the bridge
makes with a child on behalf of clients that have none, ``server/discover`` from the child's
``initialize`` result, a request's params as the child gets them (the per-request ``_meta``
and the MRTR fields left out), a child's answer completed as 2026-07-28 sends it, the
questions a child asks during a call turned into an ``InputRequiredResult`` and the client's
answers checked, and what a ``requestState`` of the bridge carries. Checking the request's own
``_meta`` and headers is ``ssemcp.protocol.sessionless``'s; running it is
``ssemcp.bridge.standalone``'s. Cited pages are under /specification/2026-07-28/.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple

from ssemcp._types import JSONObject, JSONValue
from ssemcp._version import __version__
from ssemcp.errors import InternalError, InvalidParams, RequestError
from ssemcp.jsonrpc import ErrorResponse, Request, RequestId, Response
from ssemcp.protocol.revisions import LATEST
from ssemcp.protocol.sessionless import (
    META_SERVER_INFO,
    CacheHint,
    complete_result,
    discover_result,
)
from ssemcp.server.client_results import ElicitResult, SamplingResult

__all__ = [
    "BRIDGE_CLIENT_INFO",
    "CHILD_CLIENT_CAPABILITIES",
    "HeldState",
    "Question",
    "answer_of",
    "child_initialize_params",
    "child_params",
    "completed",
    "discover_of",
    "held_state",
    "input_required_result",
    "question_key",
    "server_info_of",
]

# What the bridge declares to a child it initializes for 2026-07-28 clients: every question a
# server may ask. Each request's own client capabilities are checked when the child asks
# (basic/index: -32021), so a child never reaches a client that cannot answer.
CHILD_CLIENT_CAPABILITIES: Final[JSONObject] = {"sampling": {}, "elicitation": {}, "roots": {}}
# Who the bridge says it is to such a child: many clients share its handshake.
BRIDGE_CLIENT_INFO: Final[JSONObject] = {"name": "ssemcp-bridge", "version": __version__}
# The _meta keys of the protocol itself (basic/index, "_meta"): the bridge reads them, the
# child (a 2025 server) would not know them.
_PROTOCOL_META_PREFIX: Final = "io.modelcontextprotocol/"
# basic/patterns/mrtr: the retry's fields, the bridge's to answer, not the child's.
_RETRY_FIELDS: Final = ("inputResponses", "requestState")
# Which capability names a question's key (as ssemcp's own MRTR keys them: server/mrtr).
_KIND_OF: Final = {
    "elicitation/create": "elicitation",
    "sampling/createMessage": "sampling",
    "roots/list": "roots",
}
# 2025's "resource not found" (-32002) is retired in 2026-07-28, which uses -32602 with
# data.uri (server/resources, "Error Handling").
_RESOURCE_NOT_FOUND_2025: Final = -32002
# The default cache hint of ssemcp's own 2026-07-28 leg: nothing is known of a child's data.
_NO_CACHING: Final = CacheHint()


def child_initialize_params(client_info: JSONObject = BRIDGE_CLIENT_INFO) -> JSONObject:
    """The ``initialize`` params a child gets from the bridge (basic/lifecycle, 2025-11-25)."""
    return {
        "protocolVersion": LATEST.version,
        "capabilities": dict(CHILD_CLIENT_CAPABILITIES),
        "clientInfo": client_info,
    }


def server_info_of(initialize_result: JSONObject) -> JSONObject:
    """The child's ``serverInfo``, as every 2026-07-28 result carries it in ``_meta``."""
    info = initialize_result.get("serverInfo")
    return info if isinstance(info, dict) else {"name": "bridged-server", "version": "unknown"}


def discover_of(initialize_result: JSONObject, *, listens: bool) -> JSONObject:
    """``server/discover``'s result, completed, from the child's ``initialize`` result: its
    capabilities, identity and instructions; the versions are the bridge's (2026-07-28 and
    the session revisions, which it serves too).

    Args:
        initialize_result: what the child answered.
        listens: whether ``subscriptions/listen`` reaches the child's notifications. If not,
            ``listChanged`` and ``subscribe`` are left out: a client must not wait for
            notifications nobody will send.
    """
    capabilities = initialize_result.get("capabilities")
    offered: JSONObject = {}
    if isinstance(capabilities, dict):
        for name, value in capabilities.items():
            if isinstance(value, dict) and not listens:
                value = {
                    key: item
                    for key, item in value.items()
                    if key not in ("listChanged", "subscribe")
                }
            offered[name] = value
    instructions = initialize_result.get("instructions")
    server_info = server_info_of(initialize_result)
    result = discover_result(offered, instructions if isinstance(instructions, str) else None)
    return complete_result("server/discover", result, server_info, _NO_CACHING)


def child_params(params: JSONObject | None) -> JSONObject | None:
    """A request's params as its child gets them: without the protocol's ``_meta`` keys
    (a ``progressToken`` and other keys stay) and without a retry's ``inputResponses`` and
    ``requestState``."""
    if params is None:
        return None
    forwarded = {key: value for key, value in params.items() if key not in _RETRY_FIELDS}
    meta = forwarded.get("_meta")
    if isinstance(meta, dict):
        kept = {
            key: value for key, value in meta.items() if not key.startswith(_PROTOCOL_META_PREFIX)
        }
        if kept:
            forwarded["_meta"] = kept
        else:
            del forwarded["_meta"]
    return forwarded


def completed(
    method: str, reply: Response | ErrorResponse, server_info: JSONObject
) -> Response | ErrorResponse:
    """A child's answer as 2026-07-28 sends it: a result with ``resultType``, ``serverInfo``
    and, for lists and reads, cache hints (``complete_result``); an error as it is, but a
    retired "resource not found" (-32002) becomes -32602."""
    if type(reply) is ErrorResponse:
        if reply.code != _RESOURCE_NOT_FOUND_2025:
            return reply
        error: JSONObject = {"code": InvalidParams.code, "message": reply.message}
        data = reply.error.get("data")
        if data is not None:
            error["data"] = data
        return ErrorResponse(reply.id, error)
    assert type(reply) is Response
    if not isinstance(reply.result, dict):
        return ErrorResponse(
            reply.id,
            {"code": InternalError.code, "message": "the bridged server's result is not an object"},
        )
    return Response(reply.id, complete_result(method, dict(reply.result), server_info, _NO_CACHING))


class Question(NamedTuple):
    """A request a child made to its client during a call (sampling, elicitation, roots):
    the key it is asked under, the child's own id for it, and the request itself."""

    key: str
    child_id: RequestId
    method: str
    params: JSONObject


def question_key(method: str, count: int) -> str:
    """The ``inputRequests`` key of the ``count``-th question of its kind in a call
    (``elicitation-1``, ``sampling-2``: the keys ssemcp's own MRTR uses)."""
    return f"{_KIND_OF.get(method, method)}-{count}"


def question_of(request: Request, count: int) -> Question:
    """The question a child's request is asked as."""
    return Question(
        question_key(request.method, count), request.id, request.method, request.params or {}
    )


def input_required_result(
    questions: list[Question], state: str, server_info: JSONObject
) -> JSONObject:
    """The ``InputRequiredResult`` that asks the client ``questions`` (basic/patterns/mrtr):
    each by its key, as the child asked it, and the state that brings the answers back."""
    return {
        "resultType": "input_required",
        "inputRequests": {
            question.key: {"method": question.method, "params": question.params}
            for question in questions
        },
        "requestState": state,
        "_meta": {META_SERVER_INFO: server_info},
    }


class HeldState(NamedTuple):
    """What a ``requestState`` of the bridge carries: the held call it continues, and when
    that call is let go of (so that a late retry is told so)."""

    call: str
    held_until: float


def held_state(opened: JSONObject) -> HeldState:
    """Read what ``RequestStateKeys.open`` gave back.

    Raises:
        InvalidParams: a state of ours that no bridged call made (one of ssemcp's own leg).
    """
    call = opened.get("call")
    held_until = opened.get("heldUntil")
    if type(call) is not str or not isinstance(held_until, int | float):
        raise InvalidParams('Invalid params: "requestState" continues no bridged call')
    return HeldState(call, float(held_until))


def answer_of(question: Question, responses: Mapping[str, JSONValue]) -> JSONValue | None:
    """The client's answer to ``question`` in a retry's ``inputResponses``; None if it did not
    answer it (it is asked again).

    basic/patterns/mrtr: servers "SHOULD validate that the data provided by the client is a
    valid InputResponses object".

    Raises:
        InvalidParams: an answer that is not the result its question asks for.
    """
    if question.key not in responses:
        return None
    answer = responses[question.key]
    try:
        if question.method == "elicitation/create":
            ElicitResult.from_json(answer)
        elif question.method == "sampling/createMessage":
            SamplingResult.from_json(answer)
        elif not isinstance(answer, dict) or not isinstance(answer.get("roots"), list):
            raise RequestError('a ListRootsResult has a "roots" list')
    except RequestError as exc:
        raise InvalidParams(f'Invalid params: inputResponses["{question.key}"]: {exc}') from None
    return answer
