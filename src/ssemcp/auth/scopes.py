"""Which OAuth scopes a request needs, and whether its principal has them. No I/O.

Owns the rules that tie scopes declared on tools, resources and prompts
(``Server.tool(..., scopes=[...])``) to the principal a request is served for: a call of an
entry needs every scope it declares; a list hides the entries its caller could not use
(unless the server says ``list_all_tools``). A request without a principal (stdio, or HTTP
without auth) and a static secret are not limited by scopes: there is no authorization server
to grant them. Dispatch (``ssemcp.server.dispatch``) and the HTTP gate (``ssemcp.auth.gate``,
for the 403 of RFC 6750) both ask here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import InsufficientScope
from ssemcp.protocol.request_context import Principal

if TYPE_CHECKING:
    from ssemcp.server.registry import Server

__all__ = ["check_scopes", "declared_scopes", "required_scopes", "visible_definitions"]

_NONE: Final[frozenset[str]] = frozenset()


def required_scopes(server: Server, method: str, params: JSONValue) -> frozenset[str]:
    """The scopes a ``tools/call``, ``resources/read`` or ``prompts/get`` of an existing entry
    needs; none for anything else (an unknown entry is dispatch's error to report)."""
    if type(params) is not dict:
        return _NONE
    if method == "tools/call":
        tool = server.tools.get(params.get("name"))  # type: ignore[arg-type]
        return _NONE if tool is None else tool.scopes
    if method == "prompts/get":
        prompt = server.prompts.get(params.get("name"))  # type: ignore[arg-type]
        return _NONE if prompt is None else prompt.scopes
    if method in ("resources/read", "resources/subscribe"):
        uri = params.get("uri")
        found = server.find_resource(uri) if type(uri) is str else None
        return _NONE if found is None else found[0].scopes
    return _NONE


def check_scopes(required: frozenset[str], principal: Principal | None, what: str) -> None:
    """Raise unless ``principal`` has every scope in ``required``.

    Raises:
        InsufficientScope: naming every scope ``what`` needs (RFC 6750 section 3.1: the
            ``scope`` attribute lists the scopes "necessary to access the resource").
    """
    if not required or principal is None or not principal.missing_scopes(required):
        return
    needed = sorted(required)
    raise InsufficientScope(
        f"Insufficient scope: {what} needs the scope(s) {' '.join(needed)}",
        data={"requiredScopes": needed},  # type: ignore[dict-item]
    )


def _entry_scopes(server: Server, kind: str, definition: JSONObject) -> frozenset[str]:
    if kind == "tools":
        entry: object = server.tools.get(definition.get("name"))  # type: ignore[arg-type]
    elif kind == "prompts":
        entry = server.prompts.get(definition.get("name"))  # type: ignore[arg-type]
    elif kind == "resources":
        entry = server.resources.get(definition.get("uri"))  # type: ignore[arg-type]
    else:
        entry = server.templates.get(definition.get("uriTemplate"))  # type: ignore[arg-type]
    scopes = getattr(entry, "scopes", _NONE)
    assert isinstance(scopes, frozenset)
    return scopes


def visible_definitions(
    server: Server, kind: str, definitions: list[JSONObject], principal: Principal | None
) -> list[JSONObject]:
    """``definitions`` (a list of ``kind``) less the ones ``principal`` may not use."""
    if principal is None or principal.scopes is None or server.list_all_tools:
        return definitions
    granted = principal.scopes
    return [
        definition
        for definition in definitions
        if _entry_scopes(server, kind, definition) <= granted
    ]


def declared_scopes(server: Server) -> list[str]:
    """Every scope an entry of ``server`` declares, sorted (for ``scopes_supported``)."""
    found: set[str] = set()
    for entries in (server.tools, server.prompts, server.resources, server.templates):
        for entry in entries.values():
            found |= entry.scopes
    return sorted(found)
