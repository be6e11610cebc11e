"""The rules of a request that stands alone (MCP 2026-07-28), without sockets: its context
from ``_meta`` and headers, the order of the checks, and what its result gains."""

from __future__ import annotations

import base64
from typing import Any, Final

import pytest

from ssemcp._types import JSONObject
from ssemcp.errors import HeaderMismatch, InvalidParams, ProtocolError, UnsupportedProtocolVersion
from ssemcp.jsonrpc import Request
from ssemcp.protocol.revisions import ALL_VERSIONS, MODERN
from ssemcp.protocol.sessionless import (
    CacheHint,
    HeaderParam,
    RoutingHeaders,
    check_param_headers,
    complete_result,
    context_for,
    discover_result,
    header_params_of,
    is_sessionless,
)

META: Final[JSONObject] = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {"sampling": {}},
    "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1"},
}


def request(method: str = "tools/list", meta: Any = META, **params: Any) -> Request:
    body: JSONObject = dict(params)
    if meta is not None:
        body["_meta"] = meta
    return Request(1, method, body)


def headers(
    version: str | None = "2026-07-28", method: str | None = "tools/list", name: str | None = None
) -> RoutingHeaders:
    return RoutingHeaders(version, method, name)


def code_of(call: Any) -> int:
    with pytest.raises(ProtocolError) as raised:
        call()
    return raised.value.code


def test_a_request_whose_meta_names_a_version_stands_alone_but_initialize_never_does() -> None:
    assert is_sessionless(request())
    assert not is_sessionless(request(meta=None))
    assert not is_sessionless(request(meta={"progressToken": 1}))
    assert not is_sessionless(request("initialize"))


def test_the_context_comes_from_meta_and_the_principal() -> None:
    context = context_for(request(), headers(), principal="p1")
    assert context.revision is MODERN
    assert context.client_capabilities == {"sampling": {}}
    assert context.client_info == {"name": "c", "version": "1"}
    assert context.principal == "p1"
    assert context.log_level is None


def test_client_info_may_be_left_out() -> None:
    meta = {key: value for key, value in META.items() if not key.endswith("clientInfo")}
    assert context_for(request(meta=meta), headers()).client_info == {}


def test_a_client_that_declares_nothing_gets_an_empty_context_and_any_other_its_own() -> None:
    bare: JSONObject = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    context = context_for(request(meta=bare), headers())
    assert (context.revision, context.client_capabilities, context.client_info) == (MODERN, {}, {})
    assert (context.log_level, context.principal) == (None, None)
    assert context_for(request(meta=bare), headers(), principal="p1").principal == "p1"
    leveled = context_for(request(meta={**bare, "io.modelcontextprotocol/logLevel": "error"}), None)
    assert leveled.log_level == "error"
    assert context_for(request(meta=bare), None).log_level is None


def test_the_headers_are_read_from_an_asgi_header_mapping_as_sent() -> None:
    # What an ASGI server hands over: lowercased names, values as bytes (Latin-1).
    raw = {
        b"host": b"127.0.0.1",
        b"mcp-protocol-version": b" 2026-07-28",
        b"mcp-method": b"tools/call",
        b"mcp-name": "caf\u00e9".encode("latin-1"),
    }
    context_for(request("tools/call", name="caf\u00e9"), raw)
    with pytest.raises(HeaderMismatch):
        context_for(request("tools/call", name="cafe"), raw)
    with pytest.raises(HeaderMismatch):
        context_for(request("tools/list"), raw)


@pytest.mark.parametrize(
    "meta",
    [
        pytest.param(None, id="no _meta"),
        pytest.param({}, id="empty _meta"),
        pytest.param({"io.modelcontextprotocol/clientCapabilities": {}}, id="no protocolVersion"),
        pytest.param(
            {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}, id="no clientCapabilities"
        ),
        pytest.param(
            {**META, "io.modelcontextprotocol/protocolVersion": 20260728}, id="number version"
        ),
        pytest.param(
            {**META, "io.modelcontextprotocol/clientCapabilities": []}, id="list capabilities"
        ),
        pytest.param({**META, "io.modelcontextprotocol/clientInfo": "c"}, id="string info"),
        pytest.param({**META, "io.modelcontextprotocol/clientInfo": None}, id="null info"),
        pytest.param({**META, "io.modelcontextprotocol/logLevel": "verbose"}, id="bad level"),
    ],
)
def test_malformed_meta_is_invalid_params_before_any_header_is_looked_at(meta: Any) -> None:
    # basic/index: a request missing a required field "MUST" get -32602; the headers here
    # disagree too, and must not be what is reported.
    assert code_of(lambda: context_for(request(meta=meta), headers("x", "y"))) == -32602


@pytest.mark.parametrize(
    ("routing", "why"),
    [
        (headers(version=None), "no version header"),
        (headers(version="2025-11-25"), "another version"),
        (headers(method=None), "no method header"),
        (headers(method="TOOLS/LIST"), "method case differs"),
        (headers(method="tools/call"), "another method"),
    ],
)
def test_a_header_missing_or_disagreeing_with_the_body_is_a_header_mismatch(
    routing: RoutingHeaders, why: str
) -> None:
    with pytest.raises(HeaderMismatch):
        context_for(request(), routing)


def test_whitespace_around_a_header_value_is_not_a_mismatch() -> None:
    context_for(request(), headers(version=" 2026-07-28 ", method="  tools/list  "))


@pytest.mark.parametrize(
    ("method", "field"),
    [("tools/call", "name"), ("prompts/get", "name"), ("resources/read", "uri")],
)
def test_mcp_name_must_mirror_the_name_or_uri(method: str, field: str) -> None:
    body = request(method, **{field: "caf\u00e9://x"})
    encoded = "=?base64?" + base64.b64encode("caf\u00e9://x".encode()).decode() + "?="
    context_for(body, headers(method=method, name=encoded))
    for wrong in (None, "caf\u00e9://y", "=?base64?not base64?=", "=?base64?" + "AAAA" + "?="):
        with pytest.raises(HeaderMismatch):
            context_for(body, headers(method=method, name=wrong))


def test_stdio_has_no_headers_to_check() -> None:
    assert context_for(request(), None).revision is MODERN


def test_an_unknown_version_is_unsupported_with_what_we_support() -> None:
    meta = {**META, "io.modelcontextprotocol/protocolVersion": "v999.0.0"}
    with pytest.raises(UnsupportedProtocolVersion) as raised:
        context_for(request(meta=meta), headers(version="v999.0.0"))
    assert raised.value.data == {"supported": list(ALL_VERSIONS), "requested": "v999.0.0"}


def test_a_header_mismatch_is_reported_before_an_unsupported_version() -> None:
    # The conformance suite pins this order: header 2026-07-28, body v999.0.0 -> -32020.
    meta = {**META, "io.modelcontextprotocol/protocolVersion": "v999.0.0"}
    assert code_of(lambda: context_for(request(meta=meta), headers())) == -32020


def test_a_session_revision_in_meta_is_unsupported_for_a_request_alone() -> None:
    meta = {**META, "io.modelcontextprotocol/protocolVersion": "2025-11-25"}
    with pytest.raises(UnsupportedProtocolVersion):
        context_for(request(meta=meta), None)


def test_without_a_log_level_a_request_alone_gets_no_log_messages() -> None:
    assert context_for(request(), None).log_message("emergency", "x") is None
    meta = {**META, "io.modelcontextprotocol/logLevel": "warning"}
    context = context_for(request(meta=meta), None)
    assert context.log_message("info", "x") is None
    assert context.log_message("error", "x") is not None


def test_every_result_gets_its_type_and_server_info_and_lists_their_cache_hints() -> None:
    info: JSONObject = {"name": "s", "version": "1"}
    called = complete_result("tools/call", {"content": [], "_meta": {"k": 1}}, info, CacheHint())
    assert called == {
        "content": [],
        "resultType": "complete",
        "_meta": {"k": 1, "io.modelcontextprotocol/serverInfo": info},
    }
    listed = complete_result("tools/list", {"tools": []}, info, CacheHint(60_000, "public"))
    assert listed["ttlMs"] == 60_000
    assert listed["cacheScope"] == "public"


@pytest.mark.parametrize(("ttl_ms", "scope"), [(-1, "private"), (1.5, "private"), (0, "shared")])
def test_a_cache_hint_is_a_whole_non_negative_ttl_and_a_known_scope(
    ttl_ms: Any, scope: Any
) -> None:
    with pytest.raises(ValueError, match=r"ttl_ms|scope"):
        CacheHint(ttl_ms, scope)


def test_discover_names_every_version_newest_first() -> None:
    result = discover_result({"tools": {}}, "be brief")
    assert result == {
        "supportedVersions": ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"],
        "capabilities": {"tools": {}},
        "instructions": "be brief",
    }


def test_invalid_params_and_header_mismatch_are_distinct_errors() -> None:
    assert InvalidParams.code == -32602
    assert HeaderMismatch.code == -32020
    assert UnsupportedProtocolVersion.code == -32022


# --- x-mcp-header -----------------------------------------------------------------------------


def schema_with(**properties: Any) -> JSONObject:
    return {"type": "object", "properties": properties}


def test_header_params_are_read_from_the_schema_null_allowed() -> None:
    schema = schema_with(
        region={"type": "string", "x-mcp-header": "Region"},
        count={"anyOf": [{"type": "integer"}, {"type": "null"}], "x-mcp-header": "Count"},
        plain={"type": "string"},
    )
    assert header_params_of(schema) == (
        HeaderParam("region", "Region", "string"),
        HeaderParam("count", "Count", "integer"),
    )


@pytest.mark.parametrize(
    "properties",
    [
        {"a": {"type": "string", "x-mcp-header": "Not a token"}},
        {"a": {"type": "string", "x-mcp-header": ""}},
        {"a": {"type": "number", "x-mcp-header": "A"}},
        {"a": {"type": "object", "x-mcp-header": "A"}},
        {
            "a": {"type": "string", "x-mcp-header": "Same"},
            "b": {"type": "string", "x-mcp-header": "same"},
        },
    ],
    ids=["space", "empty", "number", "object", "twice"],
)
def test_bad_header_declarations_are_refused(properties: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="x-mcp-header"):
        header_params_of(schema_with(**properties))


PARAMS: Final = (
    HeaderParam("region", "Region", "string"),
    HeaderParam("count", "Count", "integer"),
    HeaderParam("dry", "Dry", "boolean"),
)


def routed(**params: str) -> RoutingHeaders:
    raw = {f"mcp-param-{name.lower()}".encode(): value.encode() for name, value in params.items()}
    return RoutingHeaders(MODERN.version, "tools/call", "t", raw)


def test_param_headers_that_mirror_the_arguments_pass() -> None:
    encoded = "=?base64?" + base64.b64encode("s\u00e3o-paulo".encode()).decode() + "?="
    check_param_headers(
        PARAMS,
        {"region": "s\u00e3o-paulo", "count": 7, "dry": False},
        routed(Region=encoded, Count=" 007 ", Dry="false"),
    )
    # A null or absent argument expects no header.
    check_param_headers(PARAMS, {"region": None}, routed())


@pytest.mark.parametrize(
    ("arguments", "headers"),
    [
        ({"region": "eu"}, {}),
        ({"region": "eu"}, {"Region": "us"}),
        ({"region": "s\u00e3o"}, {"Region": "s\u00e3o"}),
        ({"count": 7}, {"Count": "7.0"}),
        ({"count": 7}, {"Count": "8"}),
        ({"dry": True}, {"Dry": "True"}),
        ({"dry": True}, {"Dry": "1"}),
        ({"region": 5}, {"Region": "5"}),
    ],
    ids=["missing", "other", "raw non-ascii", "float", "other int", "case", "1", "wrong type"],
)
def test_a_param_header_missing_or_disagreeing_is_a_header_mismatch(
    arguments: dict[str, Any], headers: dict[str, str]
) -> None:
    with pytest.raises(HeaderMismatch):
        check_param_headers(PARAMS, arguments, routed(**headers))
