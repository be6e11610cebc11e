"""A request that stands alone (MCP 2026-07-28): its context from its own ``_meta`` and
headers, and what the revision adds to its result. No I/O.

Owns telling such a request from one of a session (:func:`is_sessionless`), reading and
checking its ``_meta`` and, on HTTP, its routing headers in the order the revision fixes
(:func:`context_for`), ``server/discover``'s result, and completing a result
(``resultType``, ``serverInfo``, cache hints). Serving it is ``ssemcp.server.dispatch``'s;
its HTTP statuses are the transport's. Cited pages are under /specification/2026-07-28/.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import HeaderMismatch, InvalidParams, UnsupportedProtocolVersion
from ssemcp.jsonrpc import Request
from ssemcp.protocol.request_context import LOG_LEVELS, Principal, RequestContext
from ssemcp.protocol.revisions import ALL_VERSIONS, MODERN, modern_revision_for

__all__ = [
    "CACHEABLE_METHODS",
    "META_CLIENT_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_PROTOCOL_VERSION",
    "META_SERVER_INFO",
    "CacheHint",
    "HeaderParam",
    "RoutingHeaders",
    "check_param_headers",
    "complete_result",
    "context_for",
    "discover_result",
    "header_params_of",
    "is_sessionless",
    "routing_headers",
]

# basic/index, "_meta": the per-request protocol fields.
META_PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
META_LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
META_SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"

# server/utilities/caching: "Servers MUST include caching hints on results with resultType:
# "complete" returned by" these.
CACHEABLE_METHODS: Final = frozenset(
    {
        "server/discover",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
    }
)
# The methods whose Mcp-Name header mirrors a body value, and which value.
_NAMED_BY: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
# basic/transports/streamable-http, "Custom Headers": a value that is not plain ASCII travels
# as =?base64?<base64 of its UTF-8>?=.
_BASE64_PREFIX: Final = "=?base64?"
_BASE64_SUFFIX: Final = "?="
# The routing headers, as an ASGI header mapping names them.
_PROTOCOL_VERSION_HEADER: Final = b"mcp-protocol-version"
_METHOD_HEADER: Final = b"mcp-method"
_NAME_HEADER: Final = b"mcp-name"
# What a missing optional _meta field reads as (a JSON null is present, and wrong).
_ABSENT: Final = object()
# The params of a request that has none (read, never written).
_NO_PARAMS: Final[JSONObject] = {}
# The context of a request from a client that declares no capabilities, info or log level,
# with no principal: the same for every such request of a revision. Its dicts are shared:
# read them, never change them (as a session's context).
_BARE_CONTEXTS: Final = {MODERN.version: RequestContext(MODERN)}
_BARE_CONTEXT: Final = _BARE_CONTEXTS[MODERN.version]
# The _meta of the commonest client, exactly: no capabilities, info or log level.
_BARE_META: Final[JSONObject] = {
    META_PROTOCOL_VERSION: MODERN.version,
    META_CLIENT_CAPABILITIES: {},
}
# Header values that are the body's values byte for byte (what every client sends).
_MODERN_VERSION_BYTES: Final = MODERN.version.encode()
_METHOD_BYTES: Final = {method: method.encode() for method in MODERN.client_methods}
# What no header value equals.
_NO_HEADER: Final = object()
# A name or uri longer than this is checked by the general path, not memoised.
_MAX_MEMOIZED_NAME: Final = 128
# A header value with no blank and nothing but visible ASCII (RFC 9110 section 5.5: VCHAR).
_VISIBLE_TOKEN: Final = re.compile(r"[!-~]+")


@dataclass(frozen=True, slots=True)
class CacheHint:
    """``ttlMs`` and ``cacheScope`` of a cacheable result (server/utilities/caching).

    The default, no caching and private to the caller, is what both official SDKs send; a
    longer ``ttl_ms`` or ``"public"`` is the server author's promise about their data.
    """

    ttl_ms: int = 0
    scope: Literal["public", "private"] = "private"

    def __post_init__(self) -> None:
        # "Servers MUST provide a ttlMs value that is >= 0."
        if type(self.ttl_ms) is not int or self.ttl_ms < 0:
            raise ValueError("ttl_ms must be a whole number of milliseconds, 0 or more")
        if self.scope not in ("public", "private"):
            raise ValueError('scope must be "public" or "private"')

    @staticmethod
    def strictest(first: CacheHint, *others: CacheHint) -> CacheHint:
        """The hint that keeps every one of the given: the shortest ``ttl_ms``, and
        ``"private"`` if any is."""
        hints = (first, *others)
        private = any(hint.scope == "private" for hint in hints)
        return CacheHint(min(hint.ttl_ms for hint in hints), "private" if private else "public")


class RoutingHeaders(dict[bytes, bytes]):
    """A request's HTTP header mapping made from the values of its routing headers
    (basic/transports/streamable-http, "Request Metadata"), for callers that have no ASGI
    request at hand: an ASGI request's own mapping (names lowercased, values Latin-1) is read
    as it is, and None leaves a header out. ``raw`` adds any other headers (``Mcp-Param-*``)."""

    def __init__(
        self,
        protocol_version: str | None,
        method: str | None,
        name: str | None,
        raw: Mapping[bytes, bytes] | None = None,
    ) -> None:
        super().__init__(raw or {})
        for header, value in (
            (_PROTOCOL_VERSION_HEADER, protocol_version),
            (_METHOD_HEADER, method),
            (_NAME_HEADER, name),
        ):
            if value is not None:
                self[header] = value.encode("latin-1")


class HeaderParam(NamedTuple):
    """A tool argument mirrored in an ``Mcp-Param-{header}`` HTTP header (server/tools,
    "x-mcp-header"): which argument, which header, and the JSON type it is compared as."""

    argument: str
    header: str
    kind: Literal["string", "integer", "boolean"]


# RFC 9110 section 5.6.2: a token, what a header name's suffix may be.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What a header value may hold as sent (anything else travels base64-encoded).
_VISIBLE_ASCII: Final = re.compile(r"[\x20-\x7e]*")
_INTEGER: Final = re.compile(r"-?[0-9]+")
# The JSON types an x-mcp-header argument may have ("MUST NOT" be used on number).
_HEADER_KINDS: Final[dict[str, Literal["string", "integer", "boolean"]]] = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
}


def header_params_of(input_schema: JSONObject) -> tuple[HeaderParam, ...]:
    """The arguments a tool's input schema marks ``"x-mcp-header": "{Name}"``.

    Raises:
        ValueError: a name that is not a token, one used twice (names compare without case),
            or one on an argument that is not a string, integer or boolean at the top level
            (server/tools: "MUST NOT" on ``number``; nested arguments are not supported here).
    """
    properties = input_schema.get("properties")
    if not isinstance(properties, dict):
        return ()
    found: list[HeaderParam] = []
    seen: set[str] = set()
    for argument, schema in properties.items():
        if not isinstance(schema, dict) or "x-mcp-header" not in schema:
            continue
        header = schema["x-mcp-header"]
        if type(header) is not str or not _TOKEN.fullmatch(header):
            raise ValueError(f"x-mcp-header of {argument!r} must be a header-name token")
        if header.lower() in seen:
            raise ValueError(f"x-mcp-header {header!r} is used twice")
        kind = _HEADER_KINDS.get(str(_json_type(schema)))
        if kind is None:
            raise ValueError(
                f"x-mcp-header on {argument!r}: only string, integer and boolean arguments"
            )
        seen.add(header.lower())
        found.append(HeaderParam(argument, header, kind))
    return tuple(found)


def _json_type(schema: JSONObject) -> JSONValue:
    """The type a property's schema gives, seeing through ``X | None`` (pydantic's
    ``anyOf: [X, null]``: a null argument expects no header)."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        types = [option.get("type") for option in options if isinstance(option, dict)]
        not_null = [kind for kind in types if kind != "null"]
        return not_null[0] if len(not_null) == 1 and len(types) == len(options) else None
    return schema.get("type")


def check_param_headers(
    params: tuple[HeaderParam, ...], arguments: JSONValue, headers: Mapping[bytes, bytes]
) -> None:
    """Each ``Mcp-Param-*`` header against the argument it mirrors.

    basic/transports/streamable-http, "Custom Headers": servers "MUST validate that encoded
    header values, after decoding if Base64-encoded, match the corresponding values in the
    request body"; a header missing for a value in the body is rejected; an argument that is
    null or absent "MUST NOT" be expected.

    Raises:
        HeaderMismatch: a header missing, malformed, or disagreeing with its argument.
    """
    values = arguments if isinstance(arguments, dict) else {}
    for param in params:
        value = values.get(param.argument)
        if value is None:
            continue
        raw = headers.get(b"mcp-param-" + param.header.lower().encode("ascii"))
        if raw is None:
            raise HeaderMismatch(f"Header mismatch: Mcp-Param-{param.header} is missing")
        sent = raw.decode("latin-1").strip()
        if not _VISIBLE_ASCII.fullmatch(sent) or not _param_matches(param.kind, sent, value):
            raise HeaderMismatch(
                f"Header mismatch: Mcp-Param-{param.header} does not match {param.argument!r}"
            )


def _param_matches(kind: str, sent: str, value: JSONValue) -> bool:
    if kind == "boolean":
        return type(value) is bool and sent == ("true" if value else "false")
    if kind == "integer":
        # "SHOULD" compare numerically: 007 is 7.
        return type(value) is int and _INTEGER.fullmatch(sent) is not None and int(sent) == value
    return type(value) is str and _decoded(sent) == value


def _meta_of(request: Request) -> JSONObject | None:
    params = request.params
    if params is None:
        return None
    meta = params.get("_meta")
    return meta if type(meta) is dict else None


def is_sessionless(request: Request) -> bool:
    """Whether ``request`` asks to be served on its own: its ``_meta`` names a protocol
    version, and it is not an ``initialize`` (basic/versioning: "An initialize request
    selects legacy semantics")."""
    if request.method == "initialize":
        return False
    meta = _meta_of(request)
    return meta is not None and META_PROTOCOL_VERSION in meta


def context_for(
    request: Request, headers: Mapping[bytes, bytes] | None, principal: Principal | None = None
) -> RequestContext:
    """The context ``request`` is served under, from its ``_meta`` (and, over HTTP, its
    routing headers).

    The checks run in the order the conformance suite pins: the required ``_meta`` fields,
    then the headers against the body, then the version.

    Args:
        request: the request.
        headers: its HTTP header mapping (names lowercased, values Latin-1, as ASGI gives
            them); None on stdio, which has none.
        principal: who sent it (``ssemcp.http.auth``).

    Raises:
        InvalidParams: ``_meta`` lacks ``protocolVersion`` or ``clientCapabilities``, or one of
            its fields has the wrong type (basic/index: "the server MUST reject it with
            JSON-RPC error code -32602").
        HeaderMismatch: a routing header is missing or disagrees with the body.
        UnsupportedProtocolVersion: the version is not one a request may stand alone in.
    """
    params = request.params or _NO_PARAMS
    meta = params.get("_meta")
    # The commonest request: its _meta is known good, and headers that are the body's values
    # byte for byte agree; anything else takes the general path below, which decides the
    # same (tests/core/test_sessionless_fast_path.py).
    if meta == _BARE_META and principal is None:
        if headers is None:
            return _BARE_CONTEXT
        method = request.method
        sent_method = headers.get(_METHOD_HEADER)
        if headers.get(
            _PROTOCOL_VERSION_HEADER
        ) == _MODERN_VERSION_BYTES and sent_method == _METHOD_BYTES.get(method, _NO_HEADER):
            # Mcp-Name: the body's name or uri byte for byte (or the method names nothing)
            # is enough for _name_mismatch to find none.
            field = _NAMED_BY.get(method)
            if field is None:
                return _BARE_CONTEXT
            value = params.get(field)
            if type(value) is not str:
                return _BARE_CONTEXT
            plain = _PLAIN_VALUES.get(value)
            if plain is None and len(value) <= _MAX_MEMOIZED_NAME:
                plain = _plain_header_value(value)
            if plain is not None and headers.get(_NAME_HEADER) == plain:
                return _BARE_CONTEXT
    if type(meta) is not dict:
        raise InvalidParams('Invalid params: the request has no "_meta"')
    version = meta.get(META_PROTOCOL_VERSION)
    capabilities = meta.get(META_CLIENT_CAPABILITIES)
    if type(version) is not str:
        raise InvalidParams(f'Invalid params: "_meta" needs a string "{META_PROTOCOL_VERSION}"')
    if type(capabilities) is not dict:
        raise InvalidParams(f'Invalid params: "_meta" needs an object "{META_CLIENT_CAPABILITIES}"')
    client_info = meta.get(META_CLIENT_INFO, _ABSENT)
    if client_info is not _ABSENT and type(client_info) is not dict:
        raise InvalidParams(f'Invalid params: "{META_CLIENT_INFO}" must be an object')
    log_level = meta.get(META_LOG_LEVEL)
    # server/utilities/logging: an unknown level "SHOULD" get -32602.
    if log_level is not None and not RequestContext.is_log_level(log_level):
        raise InvalidParams(
            f'Invalid params: "{META_LOG_LEVEL}" must be one of {", ".join(LOG_LEVELS)}'
        )
    if headers is not None:
        # basic/transports/streamable-http, "Server Validation": a required standard header
        # that is missing, or whose value disagrees with the body, is a HeaderMismatch.
        # "Header values (such as method names) are case-sensitive"; surrounding whitespace
        # is the header syntax's, not the value's (RFC 9110 section 5.5).
        sent = headers.get(_PROTOCOL_VERSION_HEADER)
        if sent is None or sent.decode("latin-1").strip() != version:
            raise HeaderMismatch("Header mismatch: MCP-Protocol-Version does not match the body")
        method = request.method
        sent = headers.get(_METHOD_HEADER)
        if sent is None or sent.decode("latin-1").strip() != method:
            raise HeaderMismatch("Header mismatch: Mcp-Method does not match the body's method")
        field = _name_mismatch(method, params, headers)
        if field is not None:
            raise HeaderMismatch(f"Header mismatch: Mcp-Name does not match the body's {field}")
    if not capabilities and client_info is _ABSENT and log_level is None and principal is None:
        # The commonest client: one context per revision, made once (bench/README.md, f). A
        # version without one is looked up, and refused if unknown, below.
        bare = _BARE_CONTEXTS.get(version)
        if bare is not None:
            return bare
    revision = modern_revision_for(version)
    if revision is None:
        raise UnsupportedProtocolVersion(
            f"Unsupported protocol version: {version}",
            data={"supported": list(ALL_VERSIONS), "requested": version},
        )
    if client_info is _ABSENT:
        client_info = {}
    # is_log_level has narrowed log_level to a str or None.
    return RequestContext(revision, capabilities, client_info, log_level, principal)  # type: ignore[arg-type]


# Memoised: clients name the same few tools again and again. A dict, not functools.lru_cache:
# a lookup costs a third of a call through the cache. Bounded in entries (emptied when full)
# and, by its caller, in their length.
_PLAIN_VALUES: Final[dict[str, bytes | object]] = {}
_MAX_MEMOIZED_NAMES: Final = 256


def _plain_header_value(value: str) -> bytes | object:
    """The header bytes that carry ``value`` as it is: visible ASCII, so nothing to strip,
    and not shaped like a base64 sentinel; :data:`_NO_HEADER` for any other value.
    Remembered in :data:`_PLAIN_VALUES`."""
    if _VISIBLE_TOKEN.fullmatch(value) is None or value.startswith(_BASE64_PREFIX):
        plain: bytes | object = _NO_HEADER
    else:
        plain = value.encode("ascii")
    if len(_PLAIN_VALUES) >= _MAX_MEMOIZED_NAMES:
        _PLAIN_VALUES.clear()
    _PLAIN_VALUES[value] = plain
    return plain


def _name_mismatch(method: str, params: JSONObject, headers: Mapping[bytes, bytes]) -> str | None:
    """The body field that the ``Mcp-Name`` header disagrees with; None if it agrees, or if
    ``method`` names nothing."""
    field = _NAMED_BY.get(method)
    value = None if field is None else params.get(field)
    # A name or uri that is not a string: the handler's own check names what is wrong.
    if type(value) is not str:
        return None
    sent = headers.get(_NAME_HEADER)
    if sent is None:
        return field
    text = sent.decode("latin-1").strip()
    return None if (_decoded(text) if text.startswith(_BASE64_PREFIX) else text) == value else field


def _decoded(value: str) -> str | None:
    """A header value with its base64 sentinel undone; None for a malformed sentinel (which
    then matches nothing)."""
    if not (value.startswith(_BASE64_PREFIX) and value.endswith(_BASE64_SUFFIX)):
        return value
    encoded = value[len(_BASE64_PREFIX) : -len(_BASE64_SUFFIX)]
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def discover_result(capabilities: JSONObject, instructions: str | None) -> JSONObject:
    """``server/discover``'s result before :func:`complete_result` (server/discover), which
    adds the server's identity (``serverInfo`` in ``_meta``)."""
    result: JSONObject = {
        "supportedVersions": list(ALL_VERSIONS),
        "capabilities": capabilities,
    }
    if instructions:
        result["instructions"] = instructions
    return result


def complete_result(
    method: str, result: JSONObject, server_info: JSONObject, cache: CacheHint
) -> JSONObject:
    """``result``, completed in place as 2026-07-28 sends it: ``resultType`` (basic/index:
    "The result MUST include a resultType field"), ``serverInfo`` in ``_meta`` ("SHOULD", in
    every result), and the cache hints of a cacheable method. ``result`` must be the
    dispatcher's own, made for this request; a ``_meta`` in it is copied, not changed (it may
    be a handler's)."""
    result["resultType"] = "complete"
    meta = result.get("_meta")
    result["_meta"] = (
        {**meta, META_SERVER_INFO: server_info}
        if isinstance(meta, dict)
        else {META_SERVER_INFO: server_info}
    )
    if method in CACHEABLE_METHODS:
        result["ttlMs"] = cache.ttl_ms
        result["cacheScope"] = cache.scope
    return result


def routing_headers(headers: Mapping[bytes, bytes]) -> Mapping[bytes, bytes]:
    """The routing headers of an ASGI request: its header mapping, read as it is (names
    lowercased, values Latin-1). Kept for callers of the former decoded view."""
    return headers
