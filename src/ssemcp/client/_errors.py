"""What can go wrong on the client side, one class per failure a caller acts on differently.

ClientError                      (an SSEMCPError)
├── ConnectError                 the target could not be reached (refused, DNS, spawn)
├── ClientTimeout                no answer within the timeout
├── TransportClosed              the connection ended while a request was in flight
├── HTTPError                    an HTTP status the protocol does not expect
│   ├── AuthError                401 (or 403): ``www_authenticate`` says what was asked
│   └── SessionExpired           404 on a Streamable HTTP session: it is gone
├── RemoteError                  the server answered with a JSON-RPC error (code, data)
└── NegotiationError             no revision both sides speak
"""

from __future__ import annotations

from ssemcp._types import JSONValue
from ssemcp.errors import SSEMCPError

__all__ = [
    "AuthError",
    "ClientError",
    "ClientTimeout",
    "ConnectError",
    "HTTPError",
    "NegotiationError",
    "RemoteError",
    "SessionExpired",
    "TransportClosed",
]

# How much of an unexpected response body an HTTPError keeps: enough to show, bounded so a
# hostile server cannot make an exception hold megabytes.
MAX_ERROR_BODY_CHARS = 2000


class ClientError(SSEMCPError):
    """Base of every failure the client reports."""


class ConnectError(ClientError):
    """The target could not be reached: connection refused, unknown host, or a command that
    could not be started."""


class ClientTimeout(ClientError):
    """No answer within the timeout."""


class TransportClosed(ClientError):
    """The connection (stdio pipe, SSE stream) ended while a request waited for its answer."""


class HTTPError(ClientError):
    """An HTTP status the protocol does not expect here.

    Attributes:
        status: the HTTP status code.
        body: the start of the response body, as text.
    """

    def __init__(self, status: int, message: str, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body[:MAX_ERROR_BODY_CHARS]


class AuthError(HTTPError):
    """401 or 403: the server wants credentials (RFC 6750 section 3).

    Attributes:
        www_authenticate: the ``WWW-Authenticate`` challenge as sent, or ``""``.
    """

    def __init__(self, status: int, www_authenticate: str, body: str = "") -> None:
        asked = f": {www_authenticate}" if www_authenticate else ""
        super().__init__(status, f"HTTP {status}, authentication required{asked}", body)
        self.www_authenticate = www_authenticate


class SessionExpired(HTTPError):
    """404 for a request that carried ``Mcp-Session-Id``: the session is gone.

    spec 2025-11-25 basic/transports: the client "MUST start a new session by sending a new
    InitializeRequest without a session ID attached".
    """


class RemoteError(ClientError):
    """The server answered a request with a JSON-RPC error.

    Attributes:
        code: ``error.code``.
        message: ``error.message``.
        data: ``error.data``, or None.
    """

    def __init__(self, code: int, message: str, data: JSONValue = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data


class NegotiationError(ClientError):
    """The server and the client share no protocol revision."""
