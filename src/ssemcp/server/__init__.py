"""The server side: the registry (``Server``), the handler ``Context``, and what handlers return.

``Server`` holds what is offered; ``ServerConnection`` serves one session of it over any
transport. Schemas come from type hints, built once at registration.
"""

from ssemcp.server.connection import ServerConnection
from ssemcp.server.content import (
    Audio,
    ContentBlock,
    EmbeddedResource,
    Icon,
    Image,
    PromptMessage,
    PromptResult,
    ResourceContents,
    ResourceLink,
    Text,
    ToolAnnotations,
    ToolResult,
)
from ssemcp.server.context import Context
from ssemcp.server.registry import Server

__all__ = [
    "Audio",
    "ContentBlock",
    "Context",
    "EmbeddedResource",
    "Icon",
    "Image",
    "PromptMessage",
    "PromptResult",
    "ResourceContents",
    "ResourceLink",
    "Server",
    "ServerConnection",
    "Text",
    "ToolAnnotations",
    "ToolResult",
]
