"""ssemcp as an OAuth 2.1 resource server, against a real authorization server on loopback.

oidc-provider (``authorization_server.py``) issues RS256 and ES256 JWT access tokens and
opaque ones by the client_credentials grant with resource indicators (RFC 8707), publishes its
keys and metadata, and introspects (RFC 7662). Tokens it cannot be made to issue (expired, not
yet valid, another issuer, another key, another algorithm) are signed here with its own keys,
so that each refusal is the only thing wrong with its token. Each refusal has its own test;
so does each way in (JWT, opaque, static token, token file, API key).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
import pytest
from authorization_server import (
    ES256_CLIENT,
    INTROSPECTOR_ID,
    INTROSPECTOR_SECRET,
    OPAQUE_CLIENT,
    RS256_CLIENT,
    AuthorizationServer,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from live_server import LiveServer, live_app

from ssemcp import Context, Server
from ssemcp.auth import AuthSettings
from ssemcp.http import create_app

ACCEPT_BOTH: Final = "application/json, text/event-stream"
STATIC_TOKEN: Final = "static-token-0123456789abcdefghijklmnop"
HASHED_TOKEN: Final = "hashed-token-0123456789abcdefghijklmnop"
INITIALIZE: Final = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "auth-test", "version": "1"},
    },
}


def build_server() -> Server:
    server = Server("protected")

    @server.tool()
    async def whoami(ctx: Context) -> str:
        """Who the request is served for."""
        principal = ctx.principal
        assert principal is not None
        return json.dumps(
            {
                "subject": principal.subject,
                "issuer": principal.issuer,
                "client_id": principal.client_id,
                "scopes": None if principal.scopes is None else sorted(principal.scopes),
            }
        )

    @server.tool(scopes=["mcp:admin"])
    def administer() -> str:
        """Needs mcp:admin."""
        return "administered"

    @server.resource("secret://plans", scopes=["mcp:admin"])
    def plans() -> str:
        return "the plans"

    @server.prompt(scopes=["mcp:admin"])
    def admin_prompt() -> str:
        return "be an admin"

    return server


def settings(authorization_server: AuthorizationServer, **overrides: Any) -> AuthSettings:
    options: dict[str, Any] = {
        "issuers": (authorization_server.issuer,),
        "introspection_url": f"{authorization_server.issuer}/token/introspection",
        "client_id": INTROSPECTOR_ID,
        "client_secret": INTROSPECTOR_SECRET,
        **overrides,
    }
    return AuthSettings(**options)


@pytest.fixture
async def live(authorization_server: AuthorizationServer) -> AsyncIterator[LiveServer]:
    app = create_app(build_server(), auth=settings(authorization_server))
    async with live_app(app) as server:
        yield server


async def initialize(
    client: httpx.AsyncClient, url: str, token: str | None, **headers: str
) -> httpx.Response:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await client.post(
        url,
        content=json.dumps(INITIALIZE).encode(),
        headers={"accept": ACCEPT_BOTH, "content-type": "application/json", **headers},
    )


async def rpc(
    client: httpx.AsyncClient,
    url: str,
    token: str,
    session_id: str,
    method: str,
    params: dict[str, Any],
    request_id: int = 2,
) -> httpx.Response:
    return await client.post(
        url,
        content=json.dumps(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        ).encode(),
        headers={
            "accept": ACCEPT_BOTH,
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "mcp-session-id": session_id,
            "mcp-protocol-version": "2025-11-25",
        },
    )


def result_of(response: httpx.Response) -> Any:
    """The JSON-RPC message of a JSON or single-event SSE reply."""
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return json.loads(next(item for item in data if item))
    return response.json()


async def open_session(client: httpx.AsyncClient, url: str, token: str) -> str:
    response = await initialize(client, url, token)
    assert response.status_code == 200, response.text
    session_id = response.headers["mcp-session-id"]
    await client.post(
        url,
        content=b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
        headers={
            "content-type": "application/json",
            "accept": ACCEPT_BOTH,
            "authorization": f"Bearer {token}",
            "mcp-session-id": session_id,
            "mcp-protocol-version": "2025-11-25",
        },
    )
    return session_id


async def whoami(client: httpx.AsyncClient, url: str, token: str) -> dict[str, Any]:
    session_id = await open_session(client, url, token)
    response = await rpc(client, url, token, session_id, "tools/call", {"name": "whoami"})
    assert response.status_code == 200, response.text
    text = result_of(response)["result"]["content"][0]["text"]
    identity: dict[str, Any] = json.loads(text)
    return identity


def challenge_of(response: httpx.Response) -> str:
    value: str = response.headers["www-authenticate"]
    return value


async def assert_refused(live: LiveServer, token: str, error_description: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await initialize(client, live.mcp_url, token)
    metadata_url = f"{live.url}/.well-known/oauth-protected-resource/mcp"
    assert response.status_code == 401, response.text
    assert challenge_of(response) == (
        f'Bearer resource_metadata="{metadata_url}", error="invalid_token", '
        f'error_description="{error_description}"'
    )
    assert response.json()["error"]["message"] == (
        f"Unauthorized: {error_description}; send 'Authorization: Bearer <token>'; "
        f"how to get a token is described at {metadata_url}"
    )
    assert "mcp-session-id" not in response.headers


# ---------------------------------------------------------------------- ways in


async def test_an_rs256_jwt_from_the_issuer_is_accepted(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    token = await authorization_server.token(RS256_CLIENT, live.mcp_url)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    async with httpx.AsyncClient() as client:
        identity = await whoami(client, live.mcp_url, token)
    assert identity == {
        "subject": RS256_CLIENT,
        "issuer": authorization_server.issuer,
        "client_id": RS256_CLIENT,
        "scopes": ["mcp:admin", "mcp:read"],
    }


async def test_an_es256_jwt_from_the_issuer_is_accepted(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    token = await authorization_server.token(ES256_CLIENT, live.mcp_url, scope="mcp:read")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    async with httpx.AsyncClient() as client:
        identity = await whoami(client, live.mcp_url, token)
    assert identity["subject"] == ES256_CLIENT
    assert identity["scopes"] == ["mcp:read"]


async def test_an_opaque_token_is_accepted_by_introspection_and_cached(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    token = await authorization_server.token(OPAQUE_CLIENT, live.mcp_url, scope="mcp:read")
    assert token.count(".") != 2
    before = (await authorization_server.counts())["introspection"]
    async with httpx.AsyncClient() as client:
        identity = await whoami(client, live.mcp_url, token)
    assert identity == {
        "subject": OPAQUE_CLIENT,
        "issuer": authorization_server.issuer,
        "client_id": OPAQUE_CLIENT,
        "scopes": ["mcp:read"],
    }
    # initialize, initialized and tools/call: one introspection, then the cache.
    assert (await authorization_server.counts())["introspection"] - before == 1


async def test_the_introspection_endpoint_is_found_from_the_issuers_metadata(
    authorization_server: AuthorizationServer,
) -> None:
    app = create_app(build_server(), auth=settings(authorization_server, introspection_url=None))
    async with live_app(app) as live, httpx.AsyncClient() as client:
        token = await authorization_server.token(OPAQUE_CLIENT, live.mcp_url)
        identity = await whoami(client, live.mcp_url, token)
    assert identity["subject"] == OPAQUE_CLIENT


async def test_a_static_token_is_accepted_and_is_not_limited_by_scopes(
    authorization_server: AuthorizationServer,
) -> None:
    app = create_app(build_server(), auth=settings(authorization_server, tokens=(STATIC_TOKEN,)))
    async with live_app(app) as live, httpx.AsyncClient() as client:
        identity = await whoami(client, live.mcp_url, STATIC_TOKEN)
        session_id = await open_session(client, live.mcp_url, STATIC_TOKEN)
        response = await rpc(
            client, live.mcp_url, STATIC_TOKEN, session_id, "tools/call", {"name": "administer"}
        )
    assert identity == {
        "subject": hashlib.sha256(STATIC_TOKEN.encode()).hexdigest()[:16],
        "issuer": None,
        "client_id": None,
        "scopes": None,
    }
    assert result_of(response)["result"]["content"][0]["text"] == "administered"


async def test_a_token_file_accepts_plain_and_hashed_lines(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(
        "# operators\n"
        f"{STATIC_TOKEN}\n"
        "\n"
        f"sha256:{hashlib.sha256(HASHED_TOKEN.encode()).hexdigest()}\n"
    )
    app = create_app(build_server(), auth=AuthSettings(token_files=(token_file,)))
    async with live_app(app) as live, httpx.AsyncClient() as client:
        hashed = await whoami(client, live.mcp_url, HASHED_TOKEN)
        plain = await whoami(client, live.mcp_url, STATIC_TOKEN)
        refused = await initialize(client, live.mcp_url, "sha256-is-not-a-token")
    assert hashed["subject"] == hashlib.sha256(HASHED_TOKEN.encode()).hexdigest()[:16]
    assert plain["subject"] == hashlib.sha256(STATIC_TOKEN.encode()).hexdigest()[:16]
    assert refused.status_code == 401


async def test_an_api_key_header_carries_a_static_token() -> None:
    app = create_app(
        build_server(), auth=AuthSettings(tokens=(STATIC_TOKEN,), api_key_header="X-API-Key")
    )
    async with live_app(app) as live, httpx.AsyncClient() as client:
        accepted = await initialize(client, live.mcp_url, None, **{"x-api-key": STATIC_TOKEN})
        refused = await initialize(client, live.mcp_url, None, **{"x-api-key": "not-the-key"})
    assert accepted.status_code == 200
    assert refused.status_code == 401
    assert 'error="invalid_token"' in challenge_of(refused)


# ---------------------------------------------------------------------- refusals


async def test_missing_token_gets_401_naming_the_metadata(live: LiveServer) -> None:
    async with httpx.AsyncClient() as client:
        response = await initialize(client, live.mcp_url, None)
    assert response.status_code == 401
    assert challenge_of(response) == (
        f'Bearer resource_metadata="{live.url}/.well-known/oauth-protected-resource/mcp"'
    )


async def test_expired_jwt_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    # Past the leeway (60 s).
    claims = authorization_server.claims(live.mcp_url, iat=1_000_000, exp=1_000_300)
    await assert_refused(live, authorization_server.sign(claims), "the token has expired")


async def test_jwt_not_yet_valid_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    claims = authorization_server.claims(live.mcp_url)
    claims["nbf"] = claims["iat"] + 600
    await assert_refused(live, authorization_server.sign(claims), "the token is not valid yet")


async def test_jwt_of_another_issuer_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    claims = authorization_server.claims(live.mcp_url, iss="http://127.0.0.1:1/other")
    await assert_refused(
        live, authorization_server.sign(claims), "the token is from an issuer not trusted"
    )


async def test_jwt_for_another_resource_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    # A real token of the issuer, for another resource (RFC 8707).
    token = await authorization_server.token(RS256_CLIENT, "http://127.0.0.1:1/other/mcp")
    await assert_refused(live, token, f"the token is not for this resource ({live.mcp_url})")


async def test_jwt_with_an_unknown_kid_is_refused_after_exactly_one_refetch(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    another_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = authorization_server.claims(live.mcp_url)
    unknown = jwt.encode(claims, another_key, algorithm="RS256", headers={"kid": "rotated-2"})
    good = await authorization_server.token(RS256_CLIENT, live.mcp_url)
    before = (await authorization_server.counts())["jwks"]
    async with httpx.AsyncClient() as client:
        assert (await initialize(client, live.mcp_url, good)).status_code == 200
        assert (await authorization_server.counts())["jwks"] - before == 1
        await assert_refused(live, unknown, "the token is signed by an unknown key")
        assert (await authorization_server.counts())["jwks"] - before == 2
        # Within the refetch interval another unknown kid asks the issuer nothing.
        await assert_refused(live, unknown, "the token is signed by an unknown key")
        assert (await authorization_server.counts())["jwks"] - before == 2


async def test_jwt_with_alg_none_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    claims = authorization_server.claims(live.mcp_url)
    header = {"alg": "none", "typ": "at+jwt", "kid": "rsa-key-1"}

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    await assert_refused(
        live,
        f"{part(header)}.{part(claims)}.",
        "the token's algorithm is not accepted (allowed: ES256, ES384, ES512, EdDSA, PS256, "
        "PS384, PS512, RS256, RS384, RS512)",
    )


async def test_hs256_signed_with_the_public_key_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    public_pem = authorization_server.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = authorization_server.claims(live.mcp_url)
    # PyJWT itself refuses a PEM key as an HMAC secret; sign by hand, as an attacker would.
    import hmac

    def part(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part({"alg": "HS256", "kid": "rsa-key-1"}) + b"." + part(claims)
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
    await assert_refused(
        live,
        token,
        "the token's algorithm is not accepted (allowed: ES256, ES384, ES512, EdDSA, PS256, "
        "PS384, PS512, RS256, RS384, RS512)",
    )


async def test_jwt_signed_by_another_key_under_a_known_kid_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    another_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = authorization_server.claims(live.mcp_url)
    forged = jwt.encode(claims, another_key, algorithm="RS256", headers={"kid": "rsa-key-1"})
    await assert_refused(live, forged, "the token's signature does not verify")


async def test_es256_header_on_an_rsa_key_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    claims = authorization_server.claims(live.mcp_url)
    token = jwt.encode(
        claims, authorization_server.ec_key, algorithm="ES256", headers={"kid": "rsa-key-1"}
    )
    await assert_refused(live, token, "the token's algorithm does not fit its key")


async def test_token_in_the_query_string_is_refused_with_400(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    token = await authorization_server.token(RS256_CLIENT, live.mcp_url)
    async with httpx.AsyncClient() as client:
        response = await initialize(client, f"{live.mcp_url}?access_token={token}", None)
    assert response.status_code == 400
    assert challenge_of(response) == 'Bearer error="invalid_request"'


async def test_revoked_opaque_token_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    token = await authorization_server.token(OPAQUE_CLIENT, live.mcp_url)
    await authorization_server.revoke(OPAQUE_CLIENT, token)
    await assert_refused(live, token, "the token is not active (revoked or unknown)")


async def test_opaque_token_for_another_resource_is_refused(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    token = await authorization_server.token(OPAQUE_CLIENT, "http://127.0.0.1:1/other/mcp")
    await assert_refused(live, token, f"the token is not for this resource ({live.mcp_url})")


async def test_an_unreachable_issuer_gets_503_not_401(
    authorization_server: AuthorizationServer,
) -> None:
    app = create_app(
        build_server(),
        auth=AuthSettings(issuers=(authorization_server.issuer,), jwks_url="http://127.0.0.1:1/"),
    )
    async with live_app(app) as live, httpx.AsyncClient() as client:
        token = await authorization_server.token(RS256_CLIENT, live.mcp_url)
        response = await initialize(client, live.mcp_url, token)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


async def test_required_scopes_refuse_a_token_without_them_with_403(
    authorization_server: AuthorizationServer,
) -> None:
    app = create_app(
        build_server(),
        auth=settings(authorization_server, required_scopes=("mcp:admin",)),
    )
    async with live_app(app) as live, httpx.AsyncClient() as client:
        narrow = await authorization_server.token(ES256_CLIENT, live.mcp_url, scope="mcp:read")
        wide = await authorization_server.token(ES256_CLIENT, live.mcp_url)
        refused = await initialize(client, live.mcp_url, narrow)
        accepted = await initialize(client, live.mcp_url, wide)
        missing = await initialize(client, live.mcp_url, None)
    assert refused.status_code == 403
    assert challenge_of(refused) == (
        f'Bearer resource_metadata="{live.url}/.well-known/oauth-protected-resource/mcp", '
        'error="insufficient_scope", scope="mcp:admin"'
    )
    assert accepted.status_code == 200
    # The 401 tells a client which scopes to ask for.
    assert challenge_of(missing).endswith(', scope="mcp:admin"')


# ---------------------------------------------------------------------- sessions


async def test_a_session_is_bound_to_its_subject(
    live: LiveServer, authorization_server: AuthorizationServer
) -> None:
    owner = await authorization_server.token(RS256_CLIENT, live.mcp_url)
    same_subject = await authorization_server.token(RS256_CLIENT, live.mcp_url)
    other = await authorization_server.token(ES256_CLIENT, live.mcp_url)
    async with httpx.AsyncClient() as client:
        session_id = await open_session(client, live.mcp_url, owner)
        by_other = await rpc(client, live.mcp_url, other, session_id, "tools/list", {})
        by_owner = await rpc(client, live.mcp_url, same_subject, session_id, "tools/list", {})
    # As if the session did not exist.
    assert by_other.status_code == 404
    assert by_owner.status_code == 200


# ---------------------------------------------------------------------- logs


async def test_tokens_never_reach_the_logs(
    live: LiveServer, authorization_server: AuthorizationServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = await authorization_server.token(RS256_CLIENT, live.mcp_url)
    opaque = await authorization_server.token(OPAQUE_CLIENT, live.mcp_url)
    other = await authorization_server.token(RS256_CLIENT, "http://127.0.0.1:1/other/mcp")
    expired = authorization_server.sign(
        authorization_server.claims(live.mcp_url, iat=1_000_000, exp=1_000_300)
    )
    tokens = [good, opaque, other, expired, "opaque-but-unknown-0123456789"]
    async with httpx.AsyncClient() as client:
        for token in tokens:
            await whoami(client, live.mcp_url, token) if token in (good, opaque) else (
                await initialize(client, live.mcp_url, token)
            )
        await initialize(client, f"{live.mcp_url}?token={good}", None)
    # The server's logs (ours and uvicorn's), not the test's own HTTP client's.
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith(("ssemcp", "uvicorn"))
    )
    assert "refused a token" in logged
    assert "credential in its query string" in logged
    for token in tokens:
        assert token not in logged
        # Not even the signature or payload part of a JWT.
        for part in token.split("."):
            if len(part) > 8:
                assert part not in logged
