"""A 2025 local client's session carried to a server that speaks only 2026-07-28. No I/O.

Owns the translation rules of ``ssemcp connect`` in that case: whether the ``server/discover``
probe's answer asks for it (:func:`needs_translation`), the local ``initialize`` answered from
it, what the session remembers that 2026-07-28 puts in each request (the local client's
capabilities and info, its log level, its resource subscriptions: :class:`LocalSession`), the
methods connect answers itself (``ping``, ``logging/setLevel``, ``resources/subscribe``), a
remote result turned back into a 2025 one, the ``subscriptions/listen`` filter and its
notifications untagged. Relaying is ``connect._translate``'s; the 2026-07-28 request's
``_meta``, an ``InputRequiredResult``'s questions and the retry's params are
``ssemcp.client._protocol``'s. Cited pages are under /specification/2026-07-28/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from ssemcp._types import JSONObject, JSONValue
from ssemcp.client._errors import RemoteError
from ssemcp.client._protocol import header_params_of_tool, modern_params, next_cursor_of
from ssemcp.errors import InvalidParams
from ssemcp.jsonrpc import Notification, Request
from ssemcp.protocol.request_context import RequestContext
from ssemcp.protocol.revisions import MODERN, SUPPORTED_VERSIONS, negotiate
from ssemcp.protocol.sessionless import META_SERVER_INFO, HeaderParam

__all__ = [
    "LOCAL_METHODS",
    "LocalSession",
    "initialize_result_of",
    "listed_tool_marks",
    "listen_params",
    "local_notification",
    "local_result",
    "needs_translation",
    "tool_marks_of",
]

# The methods 2026-07-28 removed that a 2025 client still sends: connect answers them itself
# (basic/versioning: there is no session on the server to keep their effect).
LOCAL_METHODS: Final = frozenset(
    {"ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)
# What 2026-07-28 adds to a result that a 2025 client has no use for (basic/index
# resultType; server/utilities/caching ttlMs, cacheScope).
_MODERN_RESULT_FIELDS: Final = ("resultType", "ttlMs", "cacheScope")
_SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
# basic/patterns/subscriptions: SubscriptionFilter members by the capability that offers them.
_LIST_CHANGES: Final = (
    ("tools", "toolsListChanged"),
    ("prompts", "promptsListChanged"),
    ("resources", "resourcesListChanged"),
)


def needs_translation(discover: JSONValue) -> bool:
    """Whether a ``server/discover`` result names 2026-07-28 and no session revision connect
    relays as it is: the server speaks only 2026-07-28, and a 2025 client's session must be
    translated into its requests."""
    if not isinstance(discover, dict):
        return False
    versions = discover.get("supportedVersions")
    if not isinstance(versions, list) or MODERN.version not in versions:
        return False
    return not any(version in SUPPORTED_VERSIONS for version in versions)


def _without_modern_meta(meta: JSONValue) -> JSONObject | None:
    if not isinstance(meta, dict):
        return None
    kept = {
        key: value for key, value in meta.items() if key not in (META_SERVER_INFO, _SUBSCRIPTION_ID)
    }
    return kept or None


def initialize_result_of(discover: JSONObject, requested_version: JSONValue) -> JSONObject:
    """The local ``initialize``'s result, from the remote's ``server/discover`` result: the
    version negotiated with the local client (2025-11-25 basic/lifecycle: the one asked if
    spoken, else the latest), the server's capabilities, identity and instructions."""
    meta = discover.get("_meta")
    server_info = discover.get("serverInfo")
    if not isinstance(server_info, dict) and isinstance(meta, dict):
        server_info = meta.get(META_SERVER_INFO)
    capabilities = discover.get("capabilities")
    result: JSONObject = {
        "protocolVersion": negotiate(requested_version).version,
        "capabilities": capabilities if isinstance(capabilities, dict) else {},
        "serverInfo": server_info
        if isinstance(server_info, dict)
        else {"name": "remote", "version": "unknown"},
    }
    instructions = discover.get("instructions")
    if isinstance(instructions, str):
        result["instructions"] = instructions
    return result


def local_result(result: JSONValue) -> JSONValue:
    """A remote 2026-07-28 result as a 2025 client reads it: without ``resultType`` and the
    cache hints, and without the server's identity in ``_meta``."""
    if not isinstance(result, dict):
        return result
    local = {key: value for key, value in result.items() if key not in _MODERN_RESULT_FIELDS}
    if "_meta" in local:
        meta = _without_modern_meta(local["_meta"])
        if meta is None:
            del local["_meta"]
        else:
            local["_meta"] = meta
    return local


def local_notification(notification: Notification) -> Notification:
    """A notification of a ``subscriptions/listen`` stream as a 2025 session gets it: without
    the subscription's tag."""
    params = notification.params
    if params is None or "_meta" not in params:
        return notification
    local = dict(params)
    meta = _without_modern_meta(local["_meta"])
    if meta is None:
        del local["_meta"]
    else:
        local["_meta"] = meta
    return Notification(notification.method, local)


def listen_params(capabilities: JSONValue, uris: list[str]) -> JSONObject:
    """The ``subscriptions/listen`` filter a 2025 session implies: every list change the
    server offers (a session hears them unasked) and the resources subscribed to."""
    wanted: JSONObject = {}
    offered = capabilities if isinstance(capabilities, dict) else {}
    for capability, member in _LIST_CHANGES:
        declared = offered.get(capability)
        if isinstance(declared, dict) and declared.get("listChanged"):
            wanted[member] = True
    if uris:
        wanted["resourceSubscriptions"] = list(uris)
    return {"notifications": wanted}


@dataclass
class LocalSession:
    """What a 2025 session set up that each 2026-07-28 request carries again: the local
    client's capabilities and info (from its ``initialize``), its log level and its
    resource subscriptions."""

    capabilities: JSONObject = field(default_factory=dict)
    client_info: JSONObject = field(default_factory=dict)
    log_level: str | None = None
    subscriptions: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, initialize: Request) -> LocalSession:
        params = initialize.params or {}
        capabilities = params.get("capabilities")
        client_info = params.get("clientInfo")
        return cls(
            capabilities if isinstance(capabilities, dict) else {},
            client_info if isinstance(client_info, dict) else {},
        )

    def modern_request(self, request: Request) -> Request:
        """``request`` as 2026-07-28 sends it, id unchanged (basic/index, "_meta")."""
        return Request(
            request.id,
            request.method,
            modern_params(request.params, self.capabilities, self.client_info, self.log_level),
        )

    def answer_locally(self, request: Request) -> tuple[JSONObject, bool]:
        """The result of one of :data:`LOCAL_METHODS`, and whether the subscriptions changed.

        Raises:
            InvalidParams: a level that is not a log level, a subscription without a URI.
        """
        params = request.params or {}
        if request.method == "ping":
            return {}, False
        if request.method == "logging/setLevel":
            level = params.get("level")
            if not RequestContext.is_log_level(level):
                raise InvalidParams("Invalid params: unknown log level")
            self.log_level = str(level)
            return {}, False
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise InvalidParams('Invalid params: "uri" must be a string')
        if request.method == "resources/subscribe":
            if uri in self.subscriptions:
                return {}, False
            self.subscriptions.append(uri)
            return {}, True
        if uri not in self.subscriptions:
            return {}, False
        self.subscriptions.remove(uri)
        return {}, True


def tool_marks_of(result: object) -> dict[str, tuple[HeaderParam, ...]]:
    """The ``x-mcp-header`` arguments of each tool a ``tools/list`` result names (server/tools:
    a 2026-07-28 client "MUST" mirror them in ``Mcp-Param-*`` headers), by tool name."""
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(tools, list):
        return {}
    return {
        tool["name"]: header_params_of_tool(tool)
        for tool in tools
        if isinstance(tool, dict) and isinstance(tool.get("name"), str)
    }


async def listed_tool_marks(
    ask: Callable[[JSONObject], Awaitable[JSONObject | None]], params: JSONObject
) -> dict[str, tuple[HeaderParam, ...]] | None:
    """:func:`tool_marks_of` every page of a server's ``tools/list``, each page asked with
    ``params`` (and its cursor) through ``ask``; None if a page could not be had or the
    pagination does not end (server/utilities/pagination)."""
    marks: dict[str, tuple[HeaderParam, ...]] = {}
    seen: set[str] = set()
    cursor: str | None = None
    while True:
        result = await ask({**params, "cursor": cursor} if cursor is not None else params)
        if result is None or not isinstance(result.get("tools"), list):
            return None
        marks.update(tool_marks_of(result))
        try:
            cursor = next_cursor_of(result, seen)
        except RemoteError:
            return None
        if cursor is None:
            return marks
