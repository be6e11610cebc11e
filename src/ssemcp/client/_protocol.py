"""The client's protocol rules, free of I/O: what it sends, and what an answer means.

Owns the request ids and the correlation of answers (:class:`Pending`), the ``initialize``
handshake's params and the check of its result, a 2026-07-28 request's ``_meta`` and routing
headers, the verdict of the ``server/discover`` probe and the step down to the 2024-11-05
transport, the rounds of a multi round-trip request (MRTR), and the reading of progress and
log notifications. Moving bytes is the transports'; waiting is ``Client``'s. Cited pages are
under /specification/<revision>/.
"""

from __future__ import annotations

import base64
import enum
import re
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from ssemcp._types import JSONObject, JSONValue
from ssemcp._version import __version__
from ssemcp.client._errors import NegotiationError, RemoteError
from ssemcp.jsonrpc import ErrorResponse, Request, RequestId, Response
from ssemcp.protocol.revisions import LATEST, MODERN, SUPPORTED_VERSIONS, Revision, revision_for
from ssemcp.protocol.sessionless import (
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    HeaderParam,
    header_params_of,
)

__all__ = [
    "DEFAULT_CLIENT_INFO",
    "LEGACY_SSE_FALLBACK_STATUSES",
    "MAX_INPUT_ROUNDS",
    "MAX_PAGES",
    "InputRequest",
    "LogMessage",
    "Pending",
    "ProbeVerdict",
    "Progress",
    "capabilities_for",
    "check_initialize_result",
    "connection_steps",
    "encode_header_value",
    "header_params_of_tool",
    "initialize_params",
    "input_requests_of",
    "log_message_of",
    "modern_headers",
    "modern_params",
    "next_cursor_of",
    "param_headers",
    "probe_verdict",
    "progress_of",
    "result_of",
    "retry_params",
    "steps_down_to_legacy_sse",
]

DEFAULT_CLIENT_INFO: Final[JSONObject] = {"name": "ssemcp", "version": __version__}
# A server that keeps answering InputRequiredResult would otherwise loop us forever; no
# real exchange needs more rounds than this (the conformance suite's longest uses three).
MAX_INPUT_ROUNDS: Final = 32
# Pages of one list at most; a server whose cursors never end would otherwise loop us.
MAX_PAGES: Final = 1000
# spec 2025-11-25 basic/transports, "Backwards Compatibility": POST an InitializeRequest;
# "If it fails with an HTTP 4xx status code (e.g., 405 Method Not Allowed or 404 Not
# Found)", issue a GET expecting an SSE stream whose first event is ``endpoint``. 400 is
# what some servers answer a POST they do not route.
LEGACY_SSE_FALLBACK_STATUSES: Final = frozenset({400, 404, 405})
# The methods whose Mcp-Name header mirrors a body value (2026-07-28
# basic/transports/streamable-http, "Request Metadata").
_NAMED_BY: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
# What a header value may carry as is; anything else travels base64-encoded ("Custom
# Headers": the =?base64?...?= sentinel), as does a value with edge whitespace, which the
# header syntax would strip (RFC 9110 section 5.5).
_PLAIN_HEADER_VALUE: Final = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")

Waiter = TypeVar("Waiter")


class Pending(Generic[Waiter]):
    """Requests sent and not yet answered, by id exactly as sent: ``7`` and ``"7"`` differ.

    Hands out ids (integers counting from 1) and matches each answer to its waiter.
    """

    def __init__(self) -> None:
        self._next_id = 1
        self._waiting: dict[tuple[type, RequestId], Waiter] = {}

    def add(self, waiter: Waiter) -> int:
        """Register a waiter; returns the id its request goes out with."""
        request_id = self._next_id
        self._next_id += 1
        self._waiting[(int, request_id)] = waiter
        return request_id

    def pop(self, request_id: RequestId | None) -> Waiter | None:
        """The waiter of ``request_id``, removed; None for an id we are not waiting on."""
        if request_id is None:
            return None
        return self._waiting.pop((type(request_id), request_id), None)

    def drain(self) -> list[Waiter]:
        """Every waiter, removed (the connection ended)."""
        waiters = list(self._waiting.values())
        self._waiting.clear()
        return waiters

    def __len__(self) -> int:
        return len(self._waiting)


def result_of(answer: Response | ErrorResponse) -> JSONValue:
    """The result of an answer.

    Raises:
        RemoteError: the answer is a JSON-RPC error.
    """
    if isinstance(answer, ErrorResponse):
        raise RemoteError(answer.code, answer.message, answer.error.get("data"))
    return answer.result


def capabilities_for(*, sampling: bool, elicitation: bool, roots: bool) -> JSONObject:
    """The client capabilities to declare: only those the client has a callback for
    (2026-07-28 basic/index: a server "MUST NOT rely on capabilities the client has not
    declared"). ``elicitation: {}`` means form mode only (client/elicitation)."""
    capabilities: JSONObject = {}
    if sampling:
        capabilities["sampling"] = {}
    if elicitation:
        capabilities["elicitation"] = {}
    if roots:
        capabilities["roots"] = {}
    return capabilities


# ---------------------------------------------------------------------- the 2025 handshake


def initialize_params(
    capabilities: JSONObject, client_info: JSONObject, version: str = LATEST.version
) -> JSONObject:
    """The params of ``initialize`` (basic/lifecycle), offering ``version``."""
    return {"protocolVersion": version, "capabilities": capabilities, "clientInfo": client_info}


def check_initialize_result(result: JSONValue) -> Revision:
    """The revision the server chose in its ``initialize`` result.

    spec 2025-11-25 basic/lifecycle, "Version Negotiation": the server answers with the
    version asked or another it supports; "If the client does not support the version in
    the server's response, it SHOULD disconnect."

    Raises:
        NegotiationError: the result is malformed, or names a version we do not speak.
    """
    if not isinstance(result, dict):
        raise NegotiationError("the initialize result is not an object")
    version = result.get("protocolVersion")
    revision = revision_for(version) if isinstance(version, str) else None
    if revision is None:
        raise NegotiationError(
            f"the server chose protocol version {version!r}; this client speaks "
            f"{', '.join(SUPPORTED_VERSIONS)} and {MODERN.version}"
        )
    return revision


# ---------------------------------------------------------------------- 2026-07-28


def modern_params(
    params: JSONObject | None,
    capabilities: JSONObject,
    client_info: JSONObject,
    log_level: str | None = None,
) -> JSONObject:
    """``params`` with the per-request ``_meta`` of 2026-07-28 (basic/index, "_meta"):
    the protocol version, the client's capabilities and info, and its log level if any
    (server/utilities/logging: without it the server "MUST NOT" send log messages). Keys
    already in ``_meta`` (``progressToken``) are kept."""
    params = dict(params) if params else {}
    meta = params.get("_meta")
    merged: JSONObject = dict(meta) if isinstance(meta, dict) else {}
    merged[META_PROTOCOL_VERSION] = MODERN.version
    merged[META_CLIENT_CAPABILITIES] = capabilities
    merged[META_CLIENT_INFO] = client_info
    if log_level is not None:
        merged[META_LOG_LEVEL] = log_level
    params["_meta"] = merged
    return params


def encode_header_value(value: str) -> str:
    """A header value as 2026-07-28 sends it: as is when it is visible ASCII without edge
    whitespace, else ``=?base64?<base64 of its UTF-8>?=`` ("Custom Headers")."""
    if _PLAIN_HEADER_VALUE.fullmatch(value) and not value.startswith("=?base64?"):
        return value
    return "=?base64?" + base64.b64encode(value.encode()).decode("ascii") + "?="


def param_headers(params: tuple[HeaderParam, ...], arguments: JSONValue) -> dict[str, str]:
    """The ``Mcp-Param-{Name}`` headers of a tool call: one per argument the tool's schema
    marks ``x-mcp-header`` (server/tools), unless the argument is absent or null, which
    "MUST NOT" get one. Integers and booleans as JSON writes them, strings encoded as
    :func:`encode_header_value` says."""
    values = arguments if isinstance(arguments, dict) else {}
    headers: dict[str, str] = {}
    for param in params:
        value = values.get(param.argument)
        if value is None:
            continue
        if isinstance(value, bool):
            headers[f"Mcp-Param-{param.header}"] = "true" if value else "false"
        elif isinstance(value, int | str):
            text = value if isinstance(value, str) else str(value)
            headers[f"Mcp-Param-{param.header}"] = encode_header_value(text)
    return headers


def header_params_of_tool(tool: JSONObject) -> tuple[HeaderParam, ...]:
    """The ``x-mcp-header`` arguments of a listed tool; none for a schema that breaks the
    rules (the server would refuse to serve it; the call then fails there, not here)."""
    schema = tool.get("inputSchema")
    if not isinstance(schema, dict):
        return ()
    try:
        return header_params_of(schema)
    except ValueError:
        return ()


def modern_headers(request: Request) -> dict[str, str]:
    """The routing headers of a 2026-07-28 request: ``MCP-Protocol-Version``,
    ``Mcp-Method``, and ``Mcp-Name`` for a tool call, prompt or read (basic/transports/
    streamable-http, "Request Metadata": the client "MUST include" them)."""
    headers = {"MCP-Protocol-Version": MODERN.version, "Mcp-Method": request.method}
    field = _NAMED_BY.get(request.method)
    if field is not None and request.params is not None:
        value = request.params.get(field)
        if isinstance(value, str):
            headers["Mcp-Name"] = encode_header_value(value)
    return headers


class Step(enum.Enum):
    """One way of opening a connection, tried in the order :func:`connection_steps` gives."""

    DISCOVER = "server/discover"  # 2026-07-28: every request stands alone
    INITIALIZE = "initialize"  # a 2025 session (Streamable HTTP, or stdio)
    LEGACY_SSE = "GET stream"  # the 2024-11-05 HTTP+SSE transport


# What each transport choice tries, in order. spec 2025-11-25 basic/transports, "Backwards
# Compatibility", fixes the last two for a URL; basic/versioning (2026-07-28) puts
# server/discover first; a command has no HTTP+SSE transport to step down to.
_STEPS: Final = {
    ("auto", True): (Step.DISCOVER, Step.INITIALIZE, Step.LEGACY_SSE),
    ("auto", False): (Step.DISCOVER, Step.INITIALIZE),
    ("2026", True): (Step.DISCOVER,),
    ("2026", False): (Step.DISCOVER,),
    ("streamable", True): (Step.INITIALIZE,),
    ("sse", True): (Step.LEGACY_SSE,),
}


def connection_steps(transport: str, *, is_url: bool, probe: bool = True) -> tuple[Step, ...]:
    """The ways to try, in order, for a ``transport`` choice (``auto``, ``2026``,
    ``streamable``, ``sse``) and a URL or command target; ``probe=False`` (a 2025 revision
    asked for by name) leaves out ``server/discover`` where something else remains.

    Raises:
        ValueError: a choice that does not apply to the target (``sse`` for a command).
    """
    steps = _STEPS.get((transport, is_url))
    if steps is None:
        target = "URL" if is_url else "command"
        raise ValueError(f"transport {transport!r} does not apply to a {target} target")
    if not probe and len(steps) > 1:
        steps = tuple(step for step in steps if step is not Step.DISCOVER)
    return steps


def steps_down_to_legacy_sse(status: int) -> bool:
    """Whether an ``initialize`` POST that got HTTP ``status`` means "try the 2024-11-05
    transport" (basic/transports, "Backwards Compatibility": a 4xx such as 404 or 405)."""
    return status in LEGACY_SSE_FALLBACK_STATUSES


class ProbeVerdict(enum.Enum):
    """What the answer to the ``server/discover`` probe says to do next."""

    MODERN = "modern"  # the server speaks 2026-07-28: every request stands alone
    SESSION = "session"  # fall back to the initialize handshake of a 2025 session


def probe_verdict(answer: Response | ErrorResponse | None) -> ProbeVerdict:
    """The verdict of a ``server/discover`` probe's answer (None: no JSON-RPC answer, e.g.
    a 4xx without a body).

    server/discover and basic/versioning: a server that speaks 2026-07-28 answers with a
    DiscoverResult whose ``supportedVersions`` names it; any error, an unsupported version
    (-32022) included, or a result without it means the server is older, so the client
    falls back to ``initialize``, as both official SDK clients do.
    """
    if isinstance(answer, Response) and isinstance(answer.result, dict):
        versions = answer.result.get("supportedVersions")
        if isinstance(versions, list) and MODERN.version in versions:
            return ProbeVerdict.MODERN
    return ProbeVerdict.SESSION


@dataclass(frozen=True, slots=True)
class InputRequest:
    """One question of an ``InputRequiredResult`` (basic/patterns/mrtr): its key, and the
    request it stands for (``elicitation/create``, ``sampling/createMessage``,
    ``roots/list``)."""

    key: str
    method: str
    params: JSONObject


def input_requests_of(result: JSONValue) -> list[InputRequest] | None:
    """The questions of an ``InputRequiredResult``; None for any other result.

    Raises:
        RemoteError: an ``input_required`` result whose ``inputRequests`` is malformed.
    """
    if not isinstance(result, dict) or result.get("resultType") != "input_required":
        return None
    raw = result.get("inputRequests", {})
    if not isinstance(raw, dict):
        raise RemoteError(-32603, 'malformed InputRequiredResult: "inputRequests" not an object')
    questions: list[InputRequest] = []
    for key, question in raw.items():
        if not isinstance(question, dict) or not isinstance(question.get("method"), str):
            raise RemoteError(-32603, f"malformed InputRequiredResult: inputRequests[{key!r}]")
        params = question.get("params")
        questions.append(
            InputRequest(key, str(question["method"]), params if isinstance(params, dict) else {})
        )
    return questions


def retry_params(params: JSONObject | None, result: JSONObject, answers: JSONObject) -> JSONObject:
    """The params of the retry after an ``InputRequiredResult``: the original params, the
    answers as ``inputResponses``, and ``requestState`` echoed exactly. basic/patterns/mrtr:
    "If the InputRequiredResult does not contain a requestState field, the client MUST NOT
    include one in the retry"; a stale state from an earlier round is dropped too."""
    retried = dict(params) if params else {}
    retried.pop("requestState", None)
    retried["inputResponses"] = answers
    state = result.get("requestState")
    if isinstance(state, str):
        retried["requestState"] = state
    return retried


# ---------------------------------------------------------------------- notifications


@dataclass(frozen=True, slots=True)
class Progress:
    """A ``notifications/progress`` for one of our requests (basic/utilities/progress)."""

    progress: float
    total: float | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class LogMessage:
    """A ``notifications/message`` (server/utilities/logging)."""

    level: str
    data: JSONValue
    logger: str | None = None


def _number(value: JSONValue) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def progress_of(params: JSONObject | None) -> tuple[JSONValue, Progress] | None:
    """The progress token and the update of a ``notifications/progress``; None if malformed."""
    if params is None:
        return None
    progress = _number(params.get("progress"))
    if progress is None:
        return None
    message = params.get("message")
    return params.get("progressToken"), Progress(
        progress, _number(params.get("total")), message if isinstance(message, str) else None
    )


def log_message_of(params: JSONObject | None) -> LogMessage | None:
    """The log message of a ``notifications/message``; None if malformed."""
    if params is None or not isinstance(params.get("level"), str):
        return None
    logger = params.get("logger")
    return LogMessage(
        str(params["level"]), params.get("data"), logger if isinstance(logger, str) else None
    )


def next_cursor_of(result: JSONValue, seen: set[str]) -> str | None:
    """The cursor of the next page, or None at the last page (server/utilities/pagination).

    Raises:
        RemoteError: the server handed out a cursor it already gave (it would loop us).
    """
    if not isinstance(result, dict):
        return None
    cursor = result.get("nextCursor")
    if not isinstance(cursor, str):
        return None
    if cursor in seen or len(seen) >= MAX_PAGES:
        raise RemoteError(-32603, "the server's pagination does not end (a repeated cursor)")
    seen.add(cursor)
    return cursor
