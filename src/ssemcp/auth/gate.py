"""The HTTP side of authorization: find the credential, ask the verifiers, answer refusals.

Owns reading a request's credential (``Authorization: Bearer``, RFC 6750 section 2.1, or the
configured API-key header), refusing one in the query string, choosing the verifier (static
secrets first, then a JWT's issuer or introspection), the scopes every request needs, and the
answers: 401 with ``WWW-Authenticate: Bearer resource_metadata="…"`` (RFC 9728 section 5.1)
and ``error``/``error_description``/``scope`` (RFC 6750 section 3), 403 ``insufficient_scope``,
400 for a token in the query, 503 when the issuer cannot be asked. For a POST of
``tools/call``, ``resources/read`` or ``prompts/get`` whose entry declares scopes, it reads the
body ahead of the transport to give the 403 of RFC 6750 rather than a JSON-RPC error in a 200.
Which routes need a credential is the app's (``ssemcp.http.app``).

Tokens never appear in a log line, a response or an exception message, not even in part.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl

import orjson

from ssemcp.asgi import (
    DEFAULT_MAX_BODY_BYTES,
    PAYLOAD_TOO_LARGE,
    PRINCIPAL_KEY,
    ASGIMessage,
    ASGIReceive,
    ASGISend,
    ClientDisconnected,
    Headers,
    Scope,
    read_body,
)
from ssemcp.auth.metadata import ProtectedResource
from ssemcp.auth.scopes import required_scopes
from ssemcp.auth.static import StaticSecrets
from ssemcp.auth.verifier import Refusal, RefusalReason, TokenVerifier
from ssemcp.errors import InsufficientScope, InvalidRequest, ProtocolError
from ssemcp.jsonrpc import error_response, serialize
from ssemcp.protocol.request_context import Principal

if TYPE_CHECKING:
    from ssemcp.server.registry import Server

__all__ = ["Authenticator", "has_query_credential"]

logger = logging.getLogger(__name__)

# RFC 6750 section 2.1: credentials = "Bearer" 1*SP b64token, and
# b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
# The scheme is case-insensitive (RFC 9110 section 11.1).
_BEARER_CREDENTIALS: Final = re.compile(rb"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *")

# Query parameters that carry a credential in some API or other. RFC 6750 section 2.3 defines
# ``access_token``; spec 2025-11-25 basic/authorization, "Access Token Usage": "Access tokens
# MUST NOT be included in the URI query string". We refuse the request rather than ignore the
# parameter, so that a client that leaks its token into URLs (and so into proxy and browser
# logs) learns of it at once.
_QUERY_CREDENTIAL_NAMES: Final = frozenset(
    {
        "access_token",
        "accesstoken",
        "api_key",
        "api-key",
        "apikey",
        "auth",
        "auth_token",
        "authorization",
        "bearer",
        "bearer_token",
        "id_token",
        "token",
    }
)
# The methods whose entry may declare scopes, checked here before the transport reads them.
_SCOPED_METHODS: Final = frozenset(
    {"tools/call", "resources/read", "resources/subscribe", "prompts/get"}
)
_SCOPED_METHOD_BYTES: Final = tuple(method.encode() for method in sorted(_SCOPED_METHODS))
# RFC 6750 section 3: error_description is %x20-21 / %x23-5B / %x5D-7E (no '"' nor '\').
_UNSAFE_DESCRIPTION: Final = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
# Seconds a client waits before retrying when the issuer could not be asked.
_RETRY_AFTER_SECONDS: Final = b"5"


def has_query_credential(query_string: bytes) -> bool:
    """Whether the query names a parameter that usually carries a credential."""
    if not query_string:
        return False
    # Keys only; values are never looked at, so a token cannot reach a log from here.
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return any(name.strip().lower() in _QUERY_CREDENTIAL_NAMES for name, _value in pairs)


def _looks_like_jwt(token: str) -> bool:
    # RFC 7515 section 7.1: a JWS compact serialization is three base64url parts.
    return token.count(".") == 2


async def _respond(
    send: ASGISend,
    status: int,
    error: ProtocolError,
    headers: list[tuple[bytes, bytes]],
    request_id: object = None,
) -> None:
    body = serialize(error_response(request_id, error))  # type: ignore[arg-type]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Authenticator:
    """Admits a request with a credential one of its verifiers accepts.

    Args:
        resource: this server as a protected resource (its URL and metadata document).
        static: accepted static secrets (``--token``, ``--token-file``), if any.
        jwt: the verifier of JWT access tokens, if issuers are configured.
        introspection: the verifier of opaque tokens, if an endpoint is configured.
        api_key_header: a header that may carry a static secret instead of
            ``Authorization`` (``X-API-Key``); only static secrets are looked for there.
        required_scopes: scopes every request needs (``--auth-required-scopes``).
        server: the registry, for the scopes its tools, resources and prompts declare.
        scoped_paths: the POST paths (below the mount point) that carry MCP requests.
        max_body_bytes: the app's body bound; a longer body is not read ahead (the app
            answers it 413).

    Raises:
        ValueError: no way to accept anything, or an API-key header without static secrets.
    """

    def __init__(
        self,
        resource: ProtectedResource,
        *,
        static: StaticSecrets | None = None,
        jwt: TokenVerifier | None = None,
        introspection: TokenVerifier | None = None,
        api_key_header: str | None = None,
        required_scopes: Iterable[str] = (),
        server: Server | None = None,
        scoped_paths: Iterable[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if static is None and jwt is None and introspection is None:
            raise ValueError("authentication needs tokens, a token file, issuers or introspection")
        if api_key_header is not None and static is None:
            raise ValueError("an API-key header needs static secrets (--token or --token-file)")
        self.resource = resource
        self._static = static
        self._jwt = jwt
        self._introspection = introspection
        self._api_key_header = (
            api_key_header.strip().lower().encode("latin-1") if api_key_header else None
        )
        self.required_scopes = frozenset(required_scopes)
        self._server = server
        self._scoped_paths = frozenset(scoped_paths)
        self._max_body_bytes = max_body_bytes

    def __repr__(self) -> str:
        kinds = [
            name
            for name, verifier in (
                ("static", self._static),
                ("jwt", self._jwt),
                ("introspection", self._introspection),
            )
            if verifier is not None
        ]
        return f"Authenticator({'+'.join(kinds)})"

    @property
    def audience_from_host(self) -> bool:
        """Whether OAuth tokens must name a resource built from each request's Host (no
        configured audience): safe only while the Host allowlist names this server alone."""
        has_oauth = self._jwt is not None or self._introspection is not None
        return has_oauth and not self.resource.is_configured

    async def aclose(self) -> None:
        """Close the verifiers' HTTP clients."""
        for verifier in (self._jwt, self._introspection):
            if verifier is not None:
                await verifier.aclose()

    # ------------------------------------------------------------------ admission

    async def admit(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers, path: str
    ) -> ASGIReceive | None:
        """Authenticate the request (and check its scopes); the ``receive`` to route it with,
        or None once it has been answered (refused, or the client left).

        Sets ``scope["ssemcp.principal"]`` to the :class:`Principal` admitted.
        """
        query_string = scope.get("query_string")
        if query_string and has_query_credential(query_string):
            logger.warning("refused a request with a credential in its query string")
            await _respond(
                send,
                400,
                InvalidRequest(
                    "Bad Request: credentials are accepted in the Authorization header only"
                ),
                [(b"www-authenticate", b'Bearer error="invalid_request"')],
            )
            return None
        authorization = headers.get(b"authorization")
        match = None if authorization is None else _BEARER_CREDENTIALS.fullmatch(authorization)
        # A static secret is found without awaiting anything: the common case stays cheap.
        result: Principal | Refusal | None = self._static_principal(headers, match)
        if result is None:
            result = await self._verify(scope, headers, authorization, match)
        if isinstance(result, Refusal):
            await self._refuse(scope, headers, send, result)
            return None
        if self.required_scopes and result.missing_scopes(self.required_scopes):
            await self._refuse(scope, headers, send, self._insufficient(self.required_scopes))
            return None
        scope[PRINCIPAL_KEY] = result
        if (
            result.scopes is not None
            and self._server is not None
            and scope["method"] == "POST"
            and path in self._scoped_paths
        ):
            return await self._check_body_scopes(scope, receive, send, headers, result)
        return receive

    def _static_principal(
        self, headers: Headers, match: re.Match[bytes] | None
    ) -> Principal | Refusal | None:
        """The static secret's principal, a refused API key, or None: ask the verifiers."""
        if self._static is None:
            return None
        if self._api_key_header is not None:
            api_key = headers.get(self._api_key_header)
            if api_key is not None:
                found = self._static.find(api_key.strip())
                if found is None:
                    logger.info("refused a request with an unknown API key")
                    return Refusal(RefusalReason.INVALID, "the API key is not one we accept")
                return found
        return None if match is None else self._static.find(match.group(1))

    async def _verify(
        self,
        scope: Scope,
        headers: Headers,
        authorization: bytes | None,
        match: re.Match[bytes] | None,
    ) -> Principal | Refusal:
        if authorization is None or authorization.split(b" ", 1)[0].lower() != b"bearer":
            # No Bearer credentials at all (none, or another scheme).
            return Refusal(RefusalReason.MISSING, "this server needs a bearer token")
        if match is None:
            return Refusal(RefusalReason.INVALID, "the Authorization header is malformed")
        token = match.group(1).decode("ascii")
        resource = self.resource.resource_url(scope, headers)
        if self._jwt is not None and _looks_like_jwt(token):
            return await self._jwt.verify(token, resource)
        if self._introspection is not None:
            return await self._introspection.verify(token, resource)
        return Refusal(RefusalReason.INVALID, "the token is not one this server accepts")

    async def _check_body_scopes(
        self,
        scope: Scope,
        receive: ASGIReceive,
        send: ASGISend,
        headers: Headers,
        principal: Principal,
    ) -> ASGIReceive | None:
        """Read the body, refuse a call whose entry needs scopes the principal lacks (RFC 6750
        section 3.1: 403), and hand the body on to the transport as if unread."""
        assert self._server is not None
        content_length = headers.get(b"content-length")
        if content_length is None:
            # Chunked: read up to the app's bound, so the refusal is the same 403 a client
            # doing step-up authorization waits for (spec 2025-11-25 authorization, "Scope
            # Challenge Handling"), however the body was framed.
            limit = self._max_body_bytes
        elif content_length.isdigit() and 0 < int(content_length) <= self._max_body_bytes:
            limit = int(content_length)
        else:
            # A length the app refuses (413) or an empty body: nothing to read ahead.
            return receive
        try:
            body = await read_body(receive, limit)
        except ClientDisconnected:
            return None
        if body is None:
            await PAYLOAD_TOO_LARGE.respond(send)
            return None
        message = None
        # Parsed only if it may be a call that needs scopes: most POSTs are not.
        if any(method in body for method in _SCOPED_METHOD_BYTES):
            try:
                message = orjson.loads(body)
            except orjson.JSONDecodeError:
                message = None
        if type(message) is dict and message.get("method") in _SCOPED_METHODS:
            method = message["method"]
            needed = required_scopes(self._server, method, message.get("params"))
            if needed and principal.missing_scopes(needed):
                request_id = message.get("id")
                if type(request_id) not in (str, int):
                    request_id = None
                logger.info("refused %s: the principal lacks scope(s) %s", method, sorted(needed))
                await self._refuse(
                    scope, headers, send, self._insufficient(needed), request_id=request_id
                )
                return None
        replayed = False

        async def replay() -> ASGIMessage:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    @staticmethod
    def _insufficient(needed: frozenset[str]) -> Refusal:
        return Refusal(
            RefusalReason.INSUFFICIENT_SCOPE,
            f"this request needs the scope(s) {' '.join(sorted(needed))}",
            needed,
        )

    # ------------------------------------------------------------------ refusals

    def challenge(self, scope: Scope, headers: Headers, refusal: Refusal) -> bytes:
        """The ``WWW-Authenticate`` value for ``refusal`` (RFC 6750 section 3, RFC 9728 5.1)."""
        parts = [f'Bearer resource_metadata="{self.resource.metadata_url(scope, headers)}"']
        scopes = refusal.scopes or self.required_scopes
        if refusal.reason is RefusalReason.INSUFFICIENT_SCOPE:
            parts.append('error="insufficient_scope"')
        elif refusal.reason is not RefusalReason.MISSING:
            # RFC 6750 section 3.1: no error code when the request had no credentials.
            parts.append('error="invalid_token"')
            description = _UNSAFE_DESCRIPTION.sub("?", refusal.description)
            parts.append(f'error_description="{description}"')
        if scopes:
            parts.append(f'scope="{" ".join(sorted(scopes))}"')
        return ", ".join(parts).encode("latin-1", "replace")

    async def _refuse(
        self,
        scope: Scope,
        headers: Headers,
        send: ASGISend,
        refusal: Refusal,
        request_id: object = None,
    ) -> None:
        metadata_url = self.resource.metadata_url(scope, headers)
        how = (
            "send 'Authorization: Bearer <token>'; how to get a token is described at "
            f"{metadata_url}"
        )
        if refusal.reason is RefusalReason.UNAVAILABLE:
            logger.warning("refused a request: %s", refusal.description)
            await _respond(
                send,
                503,
                InvalidRequest(f"Service Unavailable: {refusal.description}; retry later"),
                [(b"retry-after", _RETRY_AFTER_SECONDS)],
            )
            return
        challenge = [(b"www-authenticate", self.challenge(scope, headers, refusal))]
        if refusal.reason is RefusalReason.INSUFFICIENT_SCOPE:
            needed = sorted(refusal.scopes)
            await _respond(
                send,
                403,
                InsufficientScope(
                    f"Forbidden: {refusal.description}",
                    data={"requiredScopes": needed},  # type: ignore[dict-item]
                ),
                challenge,
                request_id,
            )
            return
        if refusal.reason is RefusalReason.MISSING:
            logger.info("refused a request without credentials")
            message = f"Unauthorized: this server needs a token; {how}"
        else:
            logger.info("refused a token: %s (%s)", refusal.reason.value, refusal.description)
            message = f"Unauthorized: {refusal.description}; {how}"
        await _respond(send, 401, InvalidRequest(message), challenge)
