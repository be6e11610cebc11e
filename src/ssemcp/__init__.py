"""ssemcp: a Model Context Protocol server over stdio, HTTP+SSE and Streamable HTTP.

This package is the public surface: the registry (``Server``), what a handler receives
(``Context``) and returns (content blocks, ``ToolResult``, prompt messages), the errors,
``create_app(server)``, the ASGI app that serves a server over HTTP, and ``Client``, which
talks to any MCP server (``ssemcp.client`` has the rest of the client's names).
Everything else lives in modules that may change; import from here.
"""

from ssemcp._version import __version__
from ssemcp.client import Client
from ssemcp.errors import (
    CapabilityNotSupported,
    InternalError,
    InvalidParams,
    InvalidRequest,
    LocalProtocolError,
    MethodNotFound,
    ParseError,
    PeerError,
    ProtocolError,
    RequestError,
    RequestTimeout,
    ResourceNotFound,
    SessionClosed,
    SSEMCPError,
    StreamError,
    ToolError,
)
from ssemcp.http import create_app
from ssemcp.protocol.sessionless import CacheHint
from ssemcp.server import (
    Audio,
    ContentBlock,
    Context,
    EmbeddedResource,
    Icon,
    Image,
    PromptMessage,
    PromptResult,
    ResourceContents,
    ResourceLink,
    Server,
    Text,
    ToolAnnotations,
    ToolResult,
)
from ssemcp.server.client_results import ElicitResult, SamplingResult

__all__ = [
    "Audio",
    "CacheHint",
    "CapabilityNotSupported",
    "Client",
    "ContentBlock",
    "Context",
    "ElicitResult",
    "EmbeddedResource",
    "Icon",
    "Image",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "LocalProtocolError",
    "MethodNotFound",
    "ParseError",
    "PeerError",
    "PromptMessage",
    "PromptResult",
    "ProtocolError",
    "RequestError",
    "RequestTimeout",
    "ResourceContents",
    "ResourceLink",
    "ResourceNotFound",
    "SSEMCPError",
    "SamplingResult",
    "Server",
    "SessionClosed",
    "StreamError",
    "Text",
    "ToolAnnotations",
    "ToolError",
    "ToolResult",
    "__version__",
    "create_app",
]

# Show the public path in reprs and docs (httpx does the same).
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type):
        _value.__module__ = "ssemcp"
del _name, _value
