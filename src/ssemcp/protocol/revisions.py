"""The MCP revisions ssemcp speaks, as data: what each has, and how to negotiate one.

Owns the table of revisions and the one function that shapes an object for a revision by
dropping the fields it does not know. Which method or field exists when is looked up here,
never written as an ``if`` in a transport or handler.

Sources: the changelog of each revision (modelcontextprotocol.io/specification/<rev>/changelog)
and its schema.ts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ssemcp._types import JSONObject, JSONValue

__all__ = [
    "ALL_VERSIONS",
    "LATEST",
    "MODERN",
    "REVISIONS",
    "SUPPORTED_VERSIONS",
    "Revision",
    "modern_revision_for",
    "negotiate",
    "revision_for",
]

# Methods a client may call on a server in every revision (2024-11-05 schema.ts
# ClientRequest); later revisions only add to it.
_BASE_CLIENT_METHODS: Final = frozenset(
    {
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "resources/subscribe",
        "resources/unsubscribe",
        "prompts/list",
        "prompts/get",
        "logging/setLevel",
        "completion/complete",
    }
)
_BASE_SERVER_METHODS: Final = frozenset({"ping", "sampling/createMessage", "roots/list"})
_WITH_ELICITATION: Final = _BASE_SERVER_METHODS | {"elicitation/create"}
# spec 2026-07-28 schema.ts ClientRequest: no initialize, ping, logging/setLevel or
# resources/(un)subscribe (changelog, major changes 2, 4, 5, 6); server/discover and
# subscriptions/listen are new.
_SESSIONLESS_CLIENT_METHODS: Final = (
    _BASE_CLIENT_METHODS
    - {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
) | {"server/discover", "subscriptions/listen"}
# The requests a handler may make of the client; in 2026-07-28 they travel inside an
# InputRequiredResult (MRTR), never as requests of their own.
_SESSIONLESS_SERVER_METHODS: Final = _WITH_ELICITATION - {"ping"}


@dataclass(frozen=True, slots=True)
class Revision:
    """One MCP revision and the features it has. Instances are constants; compare by identity."""

    version: str
    # 2025-03-26 added JSON-RPC batches; 2025-06-18 removed them again (PR #416).
    batching: bool
    # Methods the client may call on us, and we on the client.
    client_methods: frozenset[str]
    server_methods: frozenset[str]
    # 2025-03-26: tool annotations, audio content, `completions` capability, progress message.
    tool_annotations: bool
    audio_content: bool
    progress_message: bool
    # 2025-06-18: structured tool output, resource links, `title`, MCP-Protocol-Version header.
    structured_content: bool
    resource_links: bool
    titles: bool
    protocol_version_header: bool
    # 2025-11-25: icons; SSE priming events for resumable streams (SEP-1699).
    icons: bool
    sse_priming: bool
    # 2026-07-28: no session; each request carries its revision and client in _meta; every
    # result says its resultType, lists and reads carry cache hints (SEP-2549); a resource
    # that is not found is -32602, as -32002 is retired.
    sessionless: bool = False

    @property
    def elicitation(self) -> bool:
        return "elicitation/create" in self.server_methods

    def __repr__(self) -> str:
        return f"Revision({self.version!r})"


V2024_11_05: Final = Revision(
    version="2024-11-05",
    batching=False,
    client_methods=_BASE_CLIENT_METHODS,
    server_methods=_BASE_SERVER_METHODS,
    tool_annotations=False,
    audio_content=False,
    progress_message=False,
    structured_content=False,
    resource_links=False,
    titles=False,
    protocol_version_header=False,
    icons=False,
    sse_priming=False,
)
V2025_03_26: Final = Revision(
    version="2025-03-26",
    batching=True,
    client_methods=_BASE_CLIENT_METHODS,
    server_methods=_BASE_SERVER_METHODS,
    tool_annotations=True,
    audio_content=True,
    progress_message=True,
    structured_content=False,
    resource_links=False,
    titles=False,
    protocol_version_header=False,
    icons=False,
    sse_priming=False,
)
V2025_06_18: Final = Revision(
    version="2025-06-18",
    batching=False,
    client_methods=_BASE_CLIENT_METHODS,
    server_methods=_WITH_ELICITATION,
    tool_annotations=True,
    audio_content=True,
    progress_message=True,
    structured_content=True,
    resource_links=True,
    titles=True,
    protocol_version_header=True,
    icons=False,
    sse_priming=False,
)
V2025_11_25: Final = Revision(
    version="2025-11-25",
    batching=False,
    client_methods=_BASE_CLIENT_METHODS,
    server_methods=_WITH_ELICITATION,
    tool_annotations=True,
    audio_content=True,
    progress_message=True,
    structured_content=True,
    resource_links=True,
    titles=True,
    protocol_version_header=True,
    icons=True,
    sse_priming=True,
)

V2026_07_28: Final = Revision(
    version="2026-07-28",
    batching=False,
    client_methods=_SESSIONLESS_CLIENT_METHODS,
    server_methods=_SESSIONLESS_SERVER_METHODS,
    tool_annotations=True,
    audio_content=True,
    progress_message=True,
    structured_content=True,
    resource_links=True,
    titles=True,
    protocol_version_header=True,
    icons=True,
    sse_priming=False,  # basic/transports/streamable-http: streams are not resumable
    sessionless=True,
)

# The revisions a session negotiates at initialize, oldest first. The last one is what we
# answer a client whose version we do not know.
REVISIONS: Final = (V2024_11_05, V2025_03_26, V2025_06_18, V2025_11_25)
LATEST: Final = REVISIONS[-1]
SUPPORTED_VERSIONS: Final = tuple(revision.version for revision in REVISIONS)
_BY_VERSION: Final = {revision.version: revision for revision in REVISIONS}
# The revision a request without a session speaks (named in its _meta).
MODERN: Final = V2026_07_28
_MODERN_BY_VERSION: Final = {MODERN.version: MODERN}
# Every version we speak, newest first: server/discover's supportedVersions and the
# data.supported of -32022 (the same list in both, as the conformance suite checks).
ALL_VERSIONS: Final = (MODERN.version, *reversed(SUPPORTED_VERSIONS))


def revision_for(version: str) -> Revision | None:
    """The session revision named ``version``, or None if a session does not speak it."""
    return _BY_VERSION.get(version)


def modern_revision_for(version: object) -> Revision | None:
    """The sessionless revision named ``version``, or None."""
    return _MODERN_BY_VERSION.get(version) if type(version) is str else None


def negotiate(requested: JSONValue) -> Revision:
    """The revision to answer an ``initialize`` that asked for ``requested``.

    spec 2025-11-25 basic/lifecycle, "Version Negotiation": "If the server supports the
    requested protocol version, it MUST respond with the same version. Otherwise, the server
    MUST respond with another protocol version it supports. This SHOULD be the latest version
    supported by the server."
    """
    if type(requested) is str:
        revision = _BY_VERSION.get(requested)
        if revision is not None:
            return revision
    return LATEST


def shape(obj: JSONObject, revision: Revision) -> JSONObject:
    """``obj`` (a tool, resource, template, prompt or content block) with only the fields
    ``revision`` defines. Returns ``obj`` itself when nothing needs dropping."""
    drop: list[str] = []
    if not revision.titles and "title" in obj:
        drop.append("title")
    if not revision.icons and "icons" in obj:
        drop.append("icons")
    if not revision.tool_annotations and "annotations" in obj and "inputSchema" in obj:
        drop.append("annotations")
    if not revision.structured_content and "outputSchema" in obj:
        drop.append("outputSchema")
    if not drop:
        return obj
    return {key: value for key, value in obj.items() if key not in drop}


def shape_content(block: JSONObject, revision: Revision) -> JSONObject:
    """A content block the client of ``revision`` can read.

    A block type the revision lacks is turned into text rather than dropped, so a model
    talking to an older client still learns that something was there.
    """
    block_type = block.get("type")
    if block_type == "resource_link" and not revision.resource_links:
        name = block.get("name") or block.get("uri")
        return {"type": "text", "text": f"[resource {name}: {block.get('uri')}]"}
    if block_type == "audio" and not revision.audio_content:
        return {"type": "text", "text": f"[audio content ({block.get('mimeType')}) omitted]"}
    return shape(block, revision)
