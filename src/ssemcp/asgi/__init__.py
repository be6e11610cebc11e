"""The ASGI vocabulary and the small pieces every HTTP transport shares.

Owns the ASGI types, the scope keys the app sets for the transports (the principal, the
path prefix a trusted proxy strips), reading a bounded request body, precomputed JSON-RPC
error responses with an HTTP status (``HTTPError``), the headers of an SSE response, and
taking back the cancellation a session's end delivers to the POST running its request. It
knows no route and no MCP method. It sits below both ``ssemcp.transports`` and
``ssemcp.http`` (the app above them), so neither imports the other's internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final, TypeAlias
from urllib.parse import quote

from ssemcp.errors import InvalidRequest, ParseError, ProtocolError
from ssemcp.jsonrpc import Invalid, Message, RequestId, error_response, parse, serialize
from ssemcp.observe.refused import refused

__all__ = [
    "DEFAULT_KEEPALIVE_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "FORWARDED_PREFIX_KEY",
    "JSON_CONTENT_TYPE",
    "PARSE_ERROR",
    "PAYLOAD_TOO_LARGE",
    "PRINCIPAL_KEY",
    "SSE_HEADERS",
    "UNSUPPORTED_MEDIA_TYPE",
    "ASGIMessage",
    "ASGIReceive",
    "ASGISend",
    "ClientDisconnected",
    "HTTPError",
    "Headers",
    "Payload",
    "Scope",
    "client_path_prefix",
    "media_types",
    "read_body",
    "receive_payload",
    "short_id",
    "uncancel_current_task",
]

# The ASGI vocabulary (asgiref's spec, "HTTP & WebSocket ASGI Message Format").
Scope: TypeAlias = MutableMapping[str, Any]
ASGIMessage: TypeAlias = MutableMapping[str, Any]
ASGIReceive: TypeAlias = Callable[[], Awaitable[ASGIMessage]]
ASGISend: TypeAlias = Callable[[ASGIMessage], Awaitable[None]]
Headers: TypeAlias = dict[bytes, bytes]
# What a POST body holds: one JSON-RPC message, or a batch (ssemcp.jsonrpc.parse).
Payload: TypeAlias = "Message | Invalid | list[Message | Invalid]"

# The scope keys the app sets before a transport runs: who asked (``ssemcp.http.auth``; the
# transports bind a session to it), and the path prefix a trusted proxy strips (``""`` when
# none; ``ssemcp.http.proxy``), which the legacy transport puts in the endpoint it announces.
PRINCIPAL_KEY: Final = "ssemcp.principal"
FORWARDED_PREFIX_KEY: Final = "ssemcp.forwarded_prefix"

# The pinned official Python SDK (mcp 2.3.0) bounds its server's request bodies at 4 MiB; a
# JSON-RPC request larger than that is a mistake or an attack (the stdio bound is the same).
DEFAULT_MAX_BODY_BYTES: Final = 4 * 1024 * 1024
# Under the 30 s to 60 s idle timeouts that common proxies and load balancers apply.
DEFAULT_KEEPALIVE_SECONDS: Final = 15.0


class ClientDisconnected(Exception):
    """The client went away while we read its request body."""


class HTTPError:
    """A precomputed HTTP error: status, headers and a JSON-RPC error body with id null.

    spec 2025-11-25 basic/transports: the body of an error status "MAY comprise a JSON-RPC
    error response that has no id". Built once at import; no stack trace, no peer input
    (but the id of an invalid message, when it had a valid one, to answer it by).
    """

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        status: int,
        error: ProtocolError,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        request_id: RequestId | None = None,
    ) -> None:
        self.status = status
        self.body = serialize(error_response(request_id, error))
        self.headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            *headers,
        ]

    async def respond(self, send: ASGISend) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})

    def __repr__(self) -> str:
        return f"HTTPError({self.status}, {self.body!r})"


PAYLOAD_TOO_LARGE: Final = HTTPError(413, InvalidRequest("Payload Too Large"))

JSON_CONTENT_TYPE: Final = (b"content-type", b"application/json")
# X-Accel-Buffering: nginx would otherwise hold events back until its buffer fills.
SSE_HEADERS: Final = (
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


def media_types(header: bytes) -> set[bytes]:
    """The media types an ``Accept`` header lists, parameters (``;q=``) dropped."""
    return {part.split(b";", 1)[0].strip().lower() for part in header.split(b",")}


def uncancel_current_task() -> None:
    """Take back the cancellation the running task just caught: a session's end cancels the
    requests it runs, and for the POST that carried one that is a normal end, not an error."""
    task = asyncio.current_task()
    assert task is not None
    task.uncancel()


def short_id(session_id: str) -> str:
    """A session id is a bearer of the session: log only enough of it to correlate."""
    return session_id[:6] + "…"


async def read_body(
    receive: ASGIReceive, max_body_bytes: int, first: ASGIMessage | None = None
) -> bytes | None:
    """The request body, or None as soon as it exceeds ``max_body_bytes``.

    The app already refused a ``Content-Length`` over the bound; this catches chunked bodies
    (and lying lengths) without buffering more than ``max_body_bytes``.

    Args:
        first: the first message, when the caller has already received it.

    Raises:
        ClientDisconnected: the client went away first.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        if first is not None:
            message, first = first, None
        else:
            message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_body_bytes:
            return None
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


# Both transports take JSON-RPC in a POST body: spec 2025-11-25 basic/transports, "The body of
# the POST request MUST be a single JSON-RPC request, notification, or response" (and the
# 2024-11-05 HTTP+SSE transport likewise POSTs JSON-RPC messages).
UNSUPPORTED_MEDIA_TYPE: Final = HTTPError(
    415, InvalidRequest("Unsupported Media Type: the body must be application/json")
)
PARSE_ERROR: Final = HTTPError(400, ParseError("Parse error: the body is not valid JSON"))


async def receive_payload(
    receive: ASGIReceive, send: ASGISend, headers: Headers, max_body_bytes: int
) -> Payload | None:
    """The JSON-RPC payload of a POST; or None once the request has been answered.

    Answers 415 for a body that is not ``application/json``, 413 past ``max_body_bytes``,
    400 (-32700) for a body that is not JSON, 400 (-32600) for JSON that is not one JSON-RPC
    message or a batch of them (the items of a batch are answered one by one, in the
    reply), and nothing when the client went away.
    """
    content_type = headers.get(b"content-type", b"")
    if (
        content_type != b"application/json"
        and content_type.split(b";", 1)[0].strip().lower() != b"application/json"
    ):
        await UNSUPPORTED_MEDIA_TYPE.respond(send)
        return None
    # The common case, inlined: the whole body in the first message (uvicorn hands over what
    # it has; a small POST arrives with its head).
    message = await receive()
    body: bytes | None
    if message["type"] == "http.request" and not message.get("more_body", False):
        body = message.get("body", b"")
        if len(body) > max_body_bytes:
            body = None
    else:
        try:
            body = await read_body(receive, max_body_bytes, message)
        except ClientDisconnected:
            return None
    if body is None:
        await PAYLOAD_TOO_LARGE.respond(send)
        return None
    try:
        payload = parse(body)
    except ParseError:
        # ssemcp.observe: input that is no request is logged and counted with its code.
        refused(None, None, ParseError.code, "Parse error")
        await PARSE_ERROR.respond(send)
        return None
    if type(payload) is Invalid:
        # spec 2025-11-25 basic/transports: input the server cannot accept gets "an HTTP
        # error status code (e.g., 400 Bad Request)"; the error says what is wrong with it.
        refused(None, None, InvalidRequest.code, "Invalid Request")
        await HTTPError(400, payload.error, request_id=payload.id).respond(send)
        return None
    return payload


# RFC 3986 section 3.3: a path is "/"-separated segments of pchar (unreserved, pct-encoded,
# sub-delims, ":" and "@"); ``quote`` escapes anything else in root_path.
_PATH_SAFE: Final = "/-._~!$&'()*+,;=:@"


def client_path_prefix(scope: Scope) -> str:
    """The path the client sees in front of ours: a trusted proxy's prefix, then root_path.

    ASGI "HTTP Connection Scope": ``root_path`` is "the root path this application is mounted
    at", the operator's configuration (uvicorn ``--root-path``), not the peer's. The forwarded
    prefix is what a trusted proxy strips before us (``ssemcp.http.proxy`` sets it only for a
    trusted peer and only when it is a plain absolute path, never ``//host``), else ``""``.
    """
    root_path = quote(scope.get("root_path", ""), safe=_PATH_SAFE)
    forwarded_prefix: str = scope.get(FORWARDED_PREFIX_KEY) or ""
    return (forwarded_prefix.rstrip("/") + root_path).rstrip("/")
