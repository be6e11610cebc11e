"""A real OAuth 2.1 authorization server on loopback: oidc-provider (npm, pinned), for tests/auth.

Owns its keys (an RSA and a P-256 key made here, so that tests can also sign tokens of their
own with the very keys the server publishes), starting ``node/authorization_server.js`` on a
free 127.0.0.1 port, waiting until it listens, getting tokens by the client_credentials grant
with a resource indicator (RFC 8707), revoking them, reading how often its JWKS and
introspection endpoints were asked, and stopping it by its process id.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

NODE_DIR: Final = Path(__file__).parent / "node"
SCRIPT: Final = NODE_DIR / "authorization_server.js"
STARTUP_DEADLINE_SECONDS: Final = 30.0
SCOPES: Final = ("mcp:read", "mcp:admin")
# Clients by the format of the tokens they get.
RS256_CLIENT: Final = "client-rs256"
ES256_CLIENT: Final = "client-es256"
OPAQUE_CLIENT: Final = "client-opaque"
CLIENT_SECRET: Final = "client-secret-0123456789abcdefghij"
INTROSPECTOR_ID: Final = "mcp-resource-server"
INTROSPECTOR_SECRET: Final = "introspector-secret-0123456789abcdef"
RSA_KID: Final = "rsa-key-1"
EC_KID: Final = "ec-key-1"


def _private_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.get_algorithm_by_name(alg)
    jwk: dict[str, Any] = algorithm.to_jwk(key, as_dict=True)  # type: ignore[call-overload]
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


@dataclass
class AuthorizationServer:
    """A running oidc-provider: its issuer URL and the private keys it signs with."""

    issuer: str
    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    process: subprocess.Popen[bytes] = field(repr=False)

    async def token(self, client_id: str, resource: str, scope: str = " ".join(SCOPES)) -> str:
        """An access token for ``resource`` by the client_credentials grant."""
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.issuer}/token",
                data={"grant_type": "client_credentials", "resource": resource, "scope": scope},
                auth=(client_id, CLIENT_SECRET),
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def revoke(self, client_id: str, token: str) -> None:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.issuer}/token/revocation",
                data={"token": token, "token_type_hint": "access_token"},
                auth=(client_id, CLIENT_SECRET),
            )
        assert response.status_code == 200, response.text

    async def counts(self) -> dict[str, int]:
        """How often /jwks, /token/introspection and /token were asked."""
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.issuer}/test/counts")
        counts: dict[str, int] = response.json()
        return counts

    def sign(self, claims: dict[str, Any], *, alg: str = "RS256", **header: Any) -> str:
        """A JWT signed with this server's own key for ``alg`` (kid set to match)."""
        key: Any = self.rsa_key if alg.startswith(("RS", "PS")) else self.ec_key
        kid = RSA_KID if key is self.rsa_key else EC_KID
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, **header})

    def claims(self, resource: str, **overrides: Any) -> dict[str, Any]:
        """Claims as this server issues them, for ``resource``, with ``overrides``."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": RS256_CLIENT,
            "client_id": RS256_CLIENT,
            "aud": resource,
            "iat": now,
            "exp": now + 300,
            "scope": " ".join(SCOPES),
            "jti": os.urandom(8).hex(),
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}


@contextlib.contextmanager
def running_authorization_server(
    access_token_ttl_seconds: int = 300,
) -> Iterator[AuthorizationServer]:
    """Start oidc-provider on a free loopback port; stop it (by pid) on exit."""
    node = shutil.which("node")
    assert node is not None, "node is needed for tests/auth (scripts/test installs its peers)"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    config = {
        "port": 0,
        "jwks": {
            "keys": [
                _private_jwk(rsa_key, RSA_KID, "RS256"),
                _private_jwk(ec_key, EC_KID, "ES256"),
            ]
        },
        "clients": [
            {
                "client_id": RS256_CLIENT,
                "client_secret": CLIENT_SECRET,
                "format": "jwt",
                "alg": "RS256",
            },
            {
                "client_id": ES256_CLIENT,
                "client_secret": CLIENT_SECRET,
                "format": "jwt",
                "alg": "ES256",
            },
            {"client_id": OPAQUE_CLIENT, "client_secret": CLIENT_SECRET, "format": "opaque"},
        ],
        "clientSecret": CLIENT_SECRET,
        "introspector": {"client_id": INTROSPECTOR_ID, "client_secret": INTROSPECTOR_SECRET},
        "scopes": list(SCOPES),
        "accessTokenTTL": access_token_ttl_seconds,
    }
    process = subprocess.Popen(
        [node, str(SCRIPT)],
        cwd=NODE_DIR,
        env={**os.environ, "AS_CONFIG": json.dumps(config)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        # The script prints one line once it listens; readline returns b"" if it died.
        line = process.stdout.readline().decode()
        assert line.startswith("listening "), f"oidc-provider did not start: {line!r}"
        port = int(line.split()[1])
        yield AuthorizationServer(f"http://127.0.0.1:{port}", rsa_key, ec_key, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
