"""The fast path of ``context_for`` (the commonest client's bare ``_meta`` and headers equal to
the body's values) decides every request exactly as the general path does: the same context,
or the same error, on inputs chosen to sit near the fast path's edges."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import ProtocolError
from ssemcp.jsonrpc import Request
from ssemcp.protocol import sessionless
from ssemcp.protocol.request_context import Principal, RequestContext
from ssemcp.protocol.sessionless import context_for

PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
# A _meta that equals no request's, so that context_for takes its general path.
_UNMATCHABLE: Final[JSONObject] = {"never": "a request's _meta"}


@contextmanager
def general_path_only() -> Iterator[None]:
    with mock.patch.object(sessionless, "_BARE_META", _UNMATCHABLE):
        yield


def outcome(
    request: Request, headers: dict[bytes, bytes] | None, principal: Principal | None
) -> RequestContext | tuple[type[ProtocolError], str, JSONValue]:
    try:
        return context_for(request, headers, principal)
    except ProtocolError as exc:
        return type(exc), str(exc), exc.to_error_object()


def base64_sentinel(text: str) -> str:
    return "=?base64?" + base64.b64encode(text.encode()).decode() + "?="


names = st.one_of(
    st.sampled_from(
        ["echo", " echo", "echo ", "é", "=?base64?ZWNobw==?=", "", "a b", "x" * 129, "y" * 128]
    ),
    st.text(max_size=6),
    st.integers(),
    st.none(),
)
versions = st.one_of(
    st.sampled_from(["2026-07-28", "2025-11-25", " 2026-07-28", "2099-01-01"]),
    st.integers(),
    st.none(),
)
capabilities = st.one_of(
    st.just({}), st.just({"sampling": {}}), st.just([]), st.none(), st.just("{}")
)
methods = st.sampled_from(
    ["tools/call", "prompts/get", "resources/read", "tools/list", " tools/call", "Tools/call", ""]
)


@st.composite
def metas(draw: st.DrawFn) -> JSONValue:
    if draw(st.booleans()):
        return {PROTOCOL_VERSION: "2026-07-28", CAPABILITIES: {}}  # the bare one
    meta: JSONObject = {}
    if draw(st.booleans()):
        meta[PROTOCOL_VERSION] = draw(versions)
    if draw(st.booleans()):
        meta[CAPABILITIES] = draw(capabilities)
    if draw(st.booleans()):
        meta["io.modelcontextprotocol/logLevel"] = draw(st.sampled_from(["info", "loud", None]))
    if draw(st.booleans()):
        meta["io.modelcontextprotocol/clientInfo"] = draw(st.sampled_from([{}, None, "c"]))
    return draw(st.one_of(st.just(meta), st.none(), st.just([])))


def header_value(body_value: object) -> st.SearchStrategy[bytes | None]:
    """A header for ``body_value``: absent, exact, padded, base64, or something else."""
    text = body_value if isinstance(body_value, str) else str(body_value)
    choices: list[bytes | None] = [None, b"", b"other", b"\xe9"]
    try:
        exact = text.encode("latin-1")
        choices += [b" " + exact, exact + b"\t", exact.upper()]
    except UnicodeEncodeError:
        exact = text.encode()
    choices += [base64_sentinel(text).encode(), b"=?base64?!!?="]
    # Exact half the time, so that the fast path is taken often.
    return st.one_of(st.just(exact), st.sampled_from(choices))


@st.composite
def requests_and_headers(
    draw: st.DrawFn,
) -> tuple[Request, dict[bytes, bytes] | None, Principal | None]:
    method = draw(methods)
    params: JSONObject = {}
    meta = draw(metas())
    if meta is not None or draw(st.booleans()):
        params["_meta"] = meta
    named_by = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
    field = named_by.get(method.strip(), draw(st.sampled_from(["name", "uri"])))
    name = draw(names)
    if name is not None:
        params[field] = name
    version = meta.get(PROTOCOL_VERSION) if isinstance(meta, dict) else "2026-07-28"
    headers: dict[bytes, bytes] | None = None
    if draw(st.integers(0, 4)):  # mostly HTTP, sometimes stdio (no headers)
        headers = {b"host": b"127.0.0.1"}
        for header, value in (
            (b"mcp-protocol-version", draw(header_value(version))),
            (b"mcp-method", draw(header_value(method))),
            (b"mcp-name", draw(header_value(name))),
        ):
            if value is not None:
                headers[header] = value
    principal = draw(st.sampled_from([None, None, Principal("someone")]))
    return Request(1, method, params), headers, principal


@settings(max_examples=2000, deadline=None)
@given(requests_and_headers())
def test_fast_path_decides_as_the_general_path_does(
    case: tuple[Request, dict[bytes, bytes] | None, Principal | None],
) -> None:
    request, headers, principal = case
    fast = outcome(request, headers, principal)
    with general_path_only():
        general = outcome(request, headers, principal)
    assert fast == general


def test_the_bench_request_takes_the_fast_path_and_gets_the_shared_bare_context() -> None:
    request = Request(
        1,
        "tools/call",
        {
            "name": "echo",
            "arguments": {"message": "hi"},
            "_meta": {PROTOCOL_VERSION: "2026-07-28", CAPABILITIES: {}},
        },
    )
    headers = {
        b"mcp-protocol-version": b"2026-07-28",
        b"mcp-method": b"tools/call",
        b"mcp-name": b"echo",
    }
    with mock.patch.object(sessionless, "modern_revision_for", side_effect=AssertionError):
        # The fast path never looks the version up, nor builds a context.
        context = context_for(request, headers)
        assert context_for(request, None) is context
    with general_path_only():
        assert context_for(request, headers) is context


def test_headers_padded_or_base64_leave_the_fast_path_and_still_agree() -> None:
    meta = {PROTOCOL_VERSION: "2026-07-28", CAPABILITIES: {}}
    request = Request(1, "tools/call", {"name": "echo", "_meta": meta})
    for name in (b" echo ", base64_sentinel("echo").encode()):
        headers = {
            b"mcp-protocol-version": b" 2026-07-28",
            b"mcp-method": b"tools/call ",
            b"mcp-name": name,
        }
        assert context_for(request, headers).revision.version == "2026-07-28"


def test_a_missing_method_header_for_an_unknown_method_is_still_a_mismatch() -> None:
    meta = {PROTOCOL_VERSION: "2026-07-28", CAPABILITIES: {}}
    request = Request(1, "no/such", {"_meta": meta})
    result = outcome(request, {b"mcp-protocol-version": b"2026-07-28"}, None)
    assert isinstance(result, tuple) and result[1].startswith("Header mismatch: Mcp-Method")
