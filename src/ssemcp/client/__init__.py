"""ssemcp as a client: connect to an MCP server and list, call, read and get.

The public surface is :class:`Client`, its errors, the progress and log values its callbacks
receive, and the wire events an observer sees (what ``ssemcp trace`` prints). It speaks every
revision ssemcp serves (stdio, the 2024-11-05 HTTP+SSE transport, Streamable HTTP sessions,
and 2026-07-28), on ssemcp's own codec (``ssemcp.sse``, ``ssemcp.jsonrpc``), with HTTP through
httpx, imported only when a URL is used::

    async with Client("http://127.0.0.1:8000/mcp") as client:
        tools = await client.list_tools()
        result = await client.call_tool("add", {"a": 1, "b": 2})

The CLI commands (``ssemcp list``, ``call``, ``read``, ``prompt``, ``trace``) live in
``ssemcp.client.cli``. :class:`RawSession` is the same transports at the message level, for
a caller that speaks MCP itself (``ssemcp connect`` relays a local client through one).
"""

from ssemcp.client._client import (
    DEFAULT_TIMEOUT_SECONDS,
    Client,
    ElicitationHandler,
    LogHandler,
    ProgressHandler,
    RootsHandler,
    SamplingHandler,
    TransportName,
)
from ssemcp.client._errors import (
    AuthError,
    ClientError,
    ClientTimeout,
    ConnectError,
    HTTPError,
    NegotiationError,
    RemoteError,
    SessionExpired,
    TransportClosed,
)
from ssemcp.client._protocol import LogMessage, Progress
from ssemcp.client._raw import RawSession
from ssemcp.client._wire import (
    HTTPRequestSent,
    HTTPResponseEnded,
    HTTPResponseStarted,
    MessageEvent,
    SSEFrame,
    StdioLine,
    WireEvent,
    WireObserver,
)

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "AuthError",
    "Client",
    "ClientError",
    "ClientTimeout",
    "ConnectError",
    "ElicitationHandler",
    "HTTPError",
    "HTTPRequestSent",
    "HTTPResponseEnded",
    "HTTPResponseStarted",
    "LogHandler",
    "LogMessage",
    "MessageEvent",
    "NegotiationError",
    "Progress",
    "ProgressHandler",
    "RawSession",
    "RemoteError",
    "RootsHandler",
    "SSEFrame",
    "SamplingHandler",
    "SessionExpired",
    "StdioLine",
    "TransportClosed",
    "TransportName",
    "WireEvent",
    "WireObserver",
]

# Show the public path in reprs and docs (httpx does the same).
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type):
        _value.__module__ = "ssemcp.client"
del _name, _value
