"""The one exception hierarchy of ssemcp.

Each protocol error carries the JSON-RPC ``code`` it travels as and an ``http_status`` hint; the
transport decides, per revision and wire, whether the error travels as a status, inside a reply,
or both. As in h11, what the *peer* did wrong (:class:`ProtocolError` and its children, sent
back as JSON-RPC errors) is kept apart from what *our caller* did wrong
(:class:`LocalProtocolError`, a bug in the code using ssemcp, never sent to a peer).

    SSEMCPError
    ├── ProtocolError              a JSON-RPC error object for the peer
    │   ├── ParseError             -32700  the bytes are not JSON
    │   ├── InvalidRequest         -32600  JSON, but not a valid message (or not now)
    │   ├── MethodNotFound         -32601  no such method in the negotiated revision
    │   ├── InvalidParams          -32602  params do not fit the method (unknown tool too)
    │   ├── InternalError          -32603  we failed; the details stay in our log
    │   ├── ResourceNotFound       -32002  resources/read of a URI nobody serves (2025)
    │   ├── InsufficientScope      -32003  the caller's token lacks the scopes a call needs
    │   ├── HeaderMismatch         -32020  an HTTP header disagrees with the body (2026-07-28)
    │   ├── MissingRequiredClientCapability
    │   │                          -32021  the request needs a capability the client lacks
    │   └── UnsupportedProtocolVersion
    │                              -32022  a request's protocol version we do not serve
    ├── StreamError                the peer's byte stream broke framing or a bound
    ├── LocalProtocolError         the caller misused an API (also a ValueError)
    ├── ToolError                  a tool's way to say "this call failed": an isError result
    └── RequestError               a server-to-client request got no result
        ├── RequestTimeout         no answer in time
        ├── CapabilityNotSupported the client did not declare the capability
        ├── PeerError              the client answered with a JSON-RPC error
        └── SessionClosed          the session ended while waiting
"""

from __future__ import annotations

from typing import ClassVar

from ssemcp._types import JSONObject, JSONValue

__all__ = [
    "CapabilityNotSupported",
    "HeaderMismatch",
    "InsufficientScope",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "LocalProtocolError",
    "MethodNotFound",
    "MissingRequiredClientCapability",
    "ParseError",
    "PeerError",
    "ProtocolError",
    "RequestError",
    "RequestTimeout",
    "ResourceNotFound",
    "SSEMCPError",
    "SessionClosed",
    "StreamError",
    "ToolError",
    "UnsupportedProtocolVersion",
]


class SSEMCPError(Exception):
    """Base of every exception ssemcp raises on purpose."""


class ProtocolError(SSEMCPError):
    """A JSON-RPC error to send to the peer. Abstract: raise one of its subclasses.

    Args:
        message: the human-readable ``error.message``; never a stack trace or a file path.
        data: the optional ``error.data`` member.
    """

    code: ClassVar[int]
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, data: JSONValue = None) -> None:
        if type(self) is ProtocolError:
            raise TypeError("ProtocolError is abstract; raise one of its subclasses")
        super().__init__(message)
        self.message = message
        self.data = data

    def to_error_object(self) -> JSONObject:
        """The JSON-RPC 2.0 ``error`` member (section 5.1) for this exception."""
        error: JSONObject = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, message={self.message!r})"


class ParseError(ProtocolError):
    """The bytes received are not JSON (or nest deeper than we parse)."""

    code = -32700  # JSON-RPC 2.0, section 5.1


class InvalidRequest(ProtocolError):
    """The JSON is not a valid JSON-RPC message, or the message is not allowed now."""

    code = -32600  # JSON-RPC 2.0, section 5.1


class MethodNotFound(ProtocolError):
    """The method does not exist in the negotiated revision, or is not offered."""

    code = -32601  # JSON-RPC 2.0, section 5.1


class InvalidParams(ProtocolError):
    """The params of a request do not match the method's schema."""

    code = -32602  # JSON-RPC 2.0, section 5.1


class InternalError(ProtocolError):
    """We failed while handling a valid request; the details stay in our log."""

    code = -32603  # JSON-RPC 2.0, section 5.1
    http_status = 500


class ResourceNotFound(ProtocolError):
    """``resources/read`` of a URI that no resource or template serves."""

    # spec 2025-11-25 server/resources, "Error Handling": "Resource not found: -32002".
    code = -32002
    http_status = 404


class InsufficientScope(ProtocolError):
    """The caller's token lacks scopes the tool, resource or prompt needs; ``data`` is
    ``{"requiredScopes": [...]}``, every scope it needs (``ssemcp.auth.scopes``)."""

    # JSON-RPC 2.0 section 5.1 leaves -32000..-32099 to the implementation; MCP names no code
    # for this. Over HTTP it is a 403 with error="insufficient_scope" (RFC 6750 section 3.1).
    code = -32003
    http_status = 403


class HeaderMismatch(ProtocolError):
    """A request's HTTP headers (``MCP-Protocol-Version``, ``Mcp-Method``, ``Mcp-Name``) are
    missing or disagree with its body."""

    # spec 2026-07-28 basic/transports/streamable-http, "Server Validation": servers "MUST
    # return HTTP status 400 Bad Request and MUST include a JSON-RPC error response using"
    # -32020.
    code = -32020


class MissingRequiredClientCapability(ProtocolError):
    """The request needs a capability the client did not declare; ``data`` is
    ``{"requiredCapabilities": {...}}``."""

    # spec 2026-07-28 basic/index: the server "MUST return a MissingRequiredClientCapabilityError
    # (-32021) whose data.requiredCapabilities lists the missing capabilities".
    code = -32021


class UnsupportedProtocolVersion(ProtocolError):
    """A request names a protocol version we do not serve; ``data`` is
    ``{"supported": [...], "requested": ...}``."""

    # spec 2026-07-28 basic/versioning (the error's example carries both members).
    code = -32022


class StreamError(SSEMCPError):
    """The peer's byte stream broke a framing rule or a bound (an SSE event, a stdio line).

    Unlike :class:`ProtocolError` this is not answered with a JSON-RPC error: the stream the
    bytes came on cannot be trusted any further, so the transport closes it.
    """


class LocalProtocolError(SSEMCPError, ValueError):
    """The code using ssemcp asked for something the protocol forbids (a bug on our side)."""


class ToolError(SSEMCPError):
    """Raised by a tool to fail the call with a message the model can act on.

    The call is answered with a result whose ``isError`` is true and whose text is the
    message, never with a JSON-RPC error (spec 2025-11-25 server/tools, "Error Handling").
    """


class RequestError(SSEMCPError):
    """A request we sent to the peer (sampling, elicitation, roots) got no result."""


class RequestTimeout(RequestError):
    """The peer did not answer our request in time."""


class CapabilityNotSupported(RequestError):
    """The peer did not declare the capability a request needs (e.g. ``sampling``)."""


class SessionClosed(RequestError):
    """The session ended while we waited for the peer's answer."""


class PeerError(RequestError):
    """The peer answered our request with a JSON-RPC error.

    Args:
        code: the peer's ``error.code``.
        message: the peer's ``error.message``.
        data: the peer's ``error.data``, if any.
    """

    def __init__(self, code: int, message: str, data: JSONValue = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data
