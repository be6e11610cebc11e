"""The verifiers and their caches without a network: key sets, introspection, static secrets,
principals and scope rules, against ``httpx.MockTransport`` peers and clocks of the test's own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssemcp.auth.introspection import IntrospectionVerifier
from ssemcp.auth.issuer import IssuerUnavailable, KeySet, discover_metadata, metadata_urls
from ssemcp.auth.jwt_access import JWTVerifier, scopes_of
from ssemcp.auth.scopes import check_scopes
from ssemcp.auth.settings import AuthSettings
from ssemcp.auth.static import TOKEN_FILE_CHECK_SECONDS, StaticSecrets
from ssemcp.auth.verifier import Refusal, RefusalReason
from ssemcp.errors import InsufficientScope
from ssemcp.protocol.request_context import Principal
from ssemcp.protocol.request_state import binding_of

RSA_KEY = {"kty": "RSA", "kid": "a", "n": "AQAB", "e": "AQAB"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class JWKSPeer:
    """A JWKS endpoint that counts its requests and can fail."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.requests = 0
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(self.status, json={"keys": self.keys})


def key_set(peer: JWKSPeer, clock: Clock) -> KeySet:
    client = httpx.AsyncClient(transport=httpx.MockTransport(peer))
    return KeySet(
        client, "https://a.example/jwks", max_age_seconds=3600, min_refetch_seconds=30, clock=clock
    )


# ---------------------------------------------------------------------- key sets


async def test_keys_are_fetched_once_and_kept() -> None:
    peer, clock = JWKSPeer([RSA_KEY]), Clock()
    keys = key_set(peer, clock)
    assert await keys.key("a") == RSA_KEY
    clock.now += 3599
    assert await keys.key("a") == RSA_KEY
    assert peer.requests == 1


async def test_keys_older_than_max_age_are_fetched_again() -> None:
    peer, clock = JWKSPeer([RSA_KEY]), Clock()
    keys = key_set(peer, clock)
    await keys.key("a")
    clock.now += 3600
    await keys.key("a")
    assert peer.requests == 2


async def test_an_unknown_kid_refetches_once_per_interval() -> None:
    peer, clock = JWKSPeer([RSA_KEY]), Clock()
    keys = key_set(peer, clock)
    await keys.key("a")
    assert await keys.key("rotated") is None
    assert peer.requests == 2
    for kid in ("rotated", "made-up-1", "made-up-2"):
        assert await keys.key(kid) is None
    assert peer.requests == 2
    clock.now += 30
    peer.keys = [RSA_KEY, {**RSA_KEY, "kid": "rotated"}]
    assert await keys.key("rotated") is not None
    assert peer.requests == 3


async def test_symmetric_and_encryption_keys_are_ignored() -> None:
    peer = JWKSPeer(
        [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}, {**RSA_KEY, "kid": "e", "use": "enc"}]
    )
    keys = key_set(peer, Clock())
    assert await keys.key("s") is None
    assert await keys.key("e") is None


async def test_a_failed_fetch_is_not_retried_on_every_request() -> None:
    peer, clock = JWKSPeer([RSA_KEY]), Clock()
    peer.status = 503
    keys = key_set(peer, clock)
    for _ in range(3):
        with pytest.raises(IssuerUnavailable):
            await keys.key("a")
    assert peer.requests == 1
    clock.now += 30
    peer.status = 200
    assert await keys.key("a") == RSA_KEY
    assert peer.requests == 2


def test_metadata_urls_follow_rfc_8414_then_openid() -> None:
    assert metadata_urls("https://auth.example.com") == [
        "https://auth.example.com/.well-known/oauth-authorization-server",
        "https://auth.example.com/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://auth.example.com/tenant1") == [
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
    ]


async def test_metadata_of_another_issuer_is_not_used() -> None:
    def peer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"issuer": "https://evil.example", "jwks_uri": "x"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(peer)) as client:
        with pytest.raises(IssuerUnavailable, match="describes another issuer"):
            await discover_metadata(client, "https://auth.example.com")


def test_only_asymmetric_algorithms_can_be_allowed() -> None:
    with pytest.raises(ValueError, match="algorithms not allowed: HS256, none"):
        JWTVerifier(["https://a.example"], algorithms=["RS256", "HS256", "none"])


async def test_a_malformed_jwt_is_refused_without_a_fetch() -> None:
    verifier = JWTVerifier(["https://a.example"], jwks_url="https://a.example/jwks")
    result = await verifier.verify("a.b.c", "https://rs.example/mcp")
    assert result == Refusal(RefusalReason.INVALID, "the token is not a well-formed JWT")


def test_scopes_come_from_scope_or_scp() -> None:
    assert scopes_of({"scope": "a b"}) == {"a", "b"}
    assert scopes_of({"scp": ["a", "b", 3]}) == {"a", "b"}
    assert scopes_of({}) == frozenset()


# ---------------------------------------------------------------------- introspection


class IntrospectionPeer:
    def __init__(self, answer: dict[str, Any], status: int = 200) -> None:
        self.answer = answer
        self.status = status
        self.forms: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.forms.append(request.content.decode())
        assert request.headers["authorization"].startswith("Basic ")
        return httpx.Response(self.status, json=self.answer)


def introspection(peer: IntrospectionPeer, clock: Clock) -> IntrospectionVerifier:
    return IntrospectionVerifier(
        "https://a.example/introspect",
        client_id="rs",
        client_secret="rs-secret",
        issuers=["https://a.example"],
        client=httpx.AsyncClient(transport=httpx.MockTransport(peer)),
        clock=clock,
        max_cache_seconds=60,
    )


RESOURCE = "https://rs.example/mcp"


async def test_an_active_answer_is_cached_for_at_most_the_tokens_remaining_life() -> None:
    clock = Clock()
    peer = IntrospectionPeer(
        {"active": True, "sub": "u1", "aud": RESOURCE, "exp": clock.now + 10, "scope": "a"}
    )
    verifier = introspection(peer, clock)
    first = await verifier.verify("opaque-1", RESOURCE)
    assert isinstance(first, Principal)
    assert first.subject == "u1"
    assert first.scopes == {"a"}
    clock.now += 9
    assert await verifier.verify("opaque-1", RESOURCE) == first
    assert len(peer.forms) == 1
    # Past the token's exp (before max_cache_seconds): asked again, and now refused.
    clock.now += 1
    assert await verifier.verify("opaque-1", RESOURCE) == Refusal(
        RefusalReason.EXPIRED, "the token has expired"
    )
    assert len(peer.forms) == 2


async def test_an_active_answer_is_cached_for_at_most_max_cache_seconds() -> None:
    clock = Clock()
    peer = IntrospectionPeer({"active": True, "sub": "u1", "exp": clock.now + 3600})
    verifier = introspection(peer, clock)
    await verifier.verify("opaque-1", RESOURCE)
    clock.now += 60
    await verifier.verify("opaque-1", RESOURCE)
    assert len(peer.forms) == 2


async def test_refusals_are_not_cached() -> None:
    peer = IntrospectionPeer({"active": False})
    verifier = introspection(peer, Clock())
    for _ in range(2):
        result = await verifier.verify("opaque-1", RESOURCE)
        assert isinstance(result, Refusal)
        assert result.reason is RefusalReason.INVALID
    assert len(peer.forms) == 2
    assert "token=opaque-1" in peer.forms[0]
    assert "token_type_hint=access_token" in peer.forms[0]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"active": True, "sub": "u", "iss": "https://evil.example"}, RefusalReason.WRONG_ISSUER),
        ({"active": True, "sub": "u", "aud": "https://other/mcp"}, RefusalReason.WRONG_AUDIENCE),
        ({"active": True, "sub": "u", "nbf": 10**10}, RefusalReason.NOT_YET_VALID),
        ({"active": True}, RefusalReason.INVALID),
        ({"active": "true", "sub": "u"}, RefusalReason.INVALID),
    ],
)
async def test_introspection_answers_that_are_refused(
    answer: dict[str, Any], reason: RefusalReason
) -> None:
    result = await introspection(IntrospectionPeer(answer), Clock()).verify("t", RESOURCE)
    assert isinstance(result, Refusal)
    assert result.reason is reason


async def test_an_issuer_that_fails_is_unavailable_not_a_bad_token() -> None:
    result = await introspection(IntrospectionPeer({}, status=500), Clock()).verify("t", RESOURCE)
    assert isinstance(result, Refusal)
    assert result.reason is RefusalReason.UNAVAILABLE


def test_the_client_secret_is_never_shown() -> None:
    verifier = introspection(IntrospectionPeer({}), Clock())
    assert "rs-secret" not in repr(verifier)
    assert "rs-secret" not in repr(AuthSettings(client_id="rs", client_secret="rs-secret"))


# ---------------------------------------------------------------------- static secrets


def test_static_secrets_keep_only_digests(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"sha256:{hashlib.sha256(b'hashed-one').hexdigest().upper()}\n")
    secrets = StaticSecrets(["plain-one"], [token_file])
    assert repr(secrets) == "StaticSecrets(<2 secret(s)>)"
    assert secrets.find(b"plain-one") == Principal(hashlib.sha256(b"plain-one").hexdigest()[:16])
    assert secrets.find(b"hashed-one") is not None
    assert secrets.find(b"plain-on") is None


@pytest.mark.parametrize(
    ("line", "message"),
    [("sha256:abc", "needs 64 hex digits"), ("has space", r"must be 1\+ characters")],
)
def test_bad_token_file_lines_name_the_line_not_the_secret(
    tmp_path: Path, line: str, message: str
) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"# comment\n{line}\n")
    with pytest.raises(ValueError, match=message) as raised:
        StaticSecrets([], [token_file])
    assert f"{token_file}:2" in str(raised.value)
    assert line not in str(raised.value)


def test_no_secret_at_all_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "tokens"
    empty.write_text("# nobody yet\n")
    with pytest.raises(ValueError, match="at least one token"):
        StaticSecrets([], [empty])


def test_a_changed_token_file_is_read_again_after_the_check_interval(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text("old-key\n")
    clock = Clock()
    secrets = StaticSecrets(["fixed-key"], [token_file], clock=clock)
    token_file.write_text("new-key\nanother-key\n")
    # Within the interval the file is not looked at: one stat per interval, not per request.
    clock.now += TOKEN_FILE_CHECK_SECONDS / 2
    assert secrets.find(b"old-key") is not None
    assert secrets.find(b"new-key") is None
    clock.now += TOKEN_FILE_CHECK_SECONDS
    assert secrets.find(b"old-key") is None
    assert secrets.find(b"new-key") is not None
    assert secrets.find(b"fixed-key") is not None
    assert repr(secrets) == "StaticSecrets(<3 secret(s)>)"


def test_a_token_file_replaced_by_rename_is_read_again(tmp_path: Path) -> None:
    # As a mounted secret or an editor swaps it: a new file, maybe of the same size and mtime.
    token_file = tmp_path / "tokens"
    token_file.write_text("key-one\n")
    clock = Clock()
    secrets = StaticSecrets([], [token_file], clock=clock)
    replacement = tmp_path / "tokens.new"
    replacement.write_text("key-two\n")
    status = token_file.stat()
    os.utime(replacement, ns=(status.st_atime_ns, status.st_mtime_ns))
    replacement.replace(token_file)
    clock.now += TOKEN_FILE_CHECK_SECONDS
    assert secrets.find(b"key-two") is not None
    assert secrets.find(b"key-one") is None


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda path: path.write_text("has space\n"), "must be 1+ characters"),
        (lambda path: path.write_text("# emptied\n"), "at least one token"),
        (lambda path: path.unlink(), "No such file"),
        (lambda path: path.write_bytes(b"\xff\xfe\n"), "can't decode"),
    ],
    ids=["bad-line", "no-token", "removed", "not-utf8"],
)
def test_a_token_file_spoiled_keeps_the_secrets_in_use_and_warns_once(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    spoil: Callable[[Path], object],
    reason: str,
) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text("key-one\n")
    clock = Clock()
    secrets = StaticSecrets([], [token_file], clock=clock)
    spoil(token_file)
    with caplog.at_level(logging.WARNING, logger="ssemcp.auth"):
        for _ in range(3):
            clock.now += TOKEN_FILE_CHECK_SECONDS
            assert secrets.find(b"key-one") is not None
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1, warnings
    assert "the previous tokens stay" in warnings[0]
    assert reason in warnings[0]
    assert "key-one" not in warnings[0]
    # Mended, it is taken again.
    token_file.write_text("key-two\n")
    clock.now += TOKEN_FILE_CHECK_SECONDS
    assert secrets.find(b"key-two") is not None
    assert secrets.find(b"key-one") is None


# ---------------------------------------------------------------------- principals, scopes


def test_principals_are_equal_by_issuer_and_subject_only() -> None:
    narrow = Principal("u1", "https://a.example", scopes=frozenset({"a"}), claims={"jti": "1"})
    wide = Principal("u1", "https://a.example", scopes=frozenset({"a", "b"}), claims={"jti": "2"})
    assert narrow == wide
    assert hash(narrow) == hash(wide)
    assert narrow != Principal("u1", "https://b.example")
    assert narrow != Principal("u2", "https://a.example")


def test_request_state_is_bound_to_the_subject_not_the_token() -> None:
    def bound(principal: Principal | None) -> str:
        return binding_of("tools/call", "t", {}, principal)

    first = Principal("u1", "https://a.example", scopes=frozenset({"a"}))
    refreshed = Principal("u1", "https://a.example", scopes=frozenset({"a", "b"}))
    assert bound(first) == bound(refreshed)
    assert bound(first) != bound(Principal("u1", "https://b.example"))
    assert bound(first) != bound(None)


def test_check_scopes_names_every_needed_scope() -> None:
    principal = Principal("u1", "https://a.example", scopes=frozenset({"a"}))
    check_scopes(frozenset({"a"}), principal, "tool 't'")
    check_scopes(frozenset({"b"}), None, "tool 't'")  # no authentication: not limited
    check_scopes(frozenset({"b"}), Principal("static"), "tool 't'")  # a static secret
    with pytest.raises(InsufficientScope) as raised:
        check_scopes(frozenset({"b", "a"}), principal, "tool 't'")
    assert raised.value.to_error_object() == {
        "code": -32003,
        "message": "Insufficient scope: tool 't' needs the scope(s) a b",
        "data": {"requiredScopes": ["a", "b"]},
    }
    assert json.dumps(raised.value.to_error_object())
