"""How authorization is configured: one value for ``create_app``, one set of ``serve`` flags.

Owns :class:`AuthSettings` (static secrets, token files, an API-key header, issuers, audience,
JWKS and introspection endpoints, required scopes), building the
:class:`~ssemcp.auth.gate.Authenticator` from it, and the ``ssemcp serve`` options with their
environment variables. Imports neither httpx nor PyJWT: the verifiers load them when built.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from ssemcp.auth.gate import Authenticator
    from ssemcp.server.registry import Server

__all__ = ["CLIENT_ID_ENV", "CLIENT_SECRET_ENV", "AuthSettings", "auth_options"]

# The introspection client's credentials come from the environment only: a secret on a
# command line is visible to every user of the machine (ps).
CLIENT_ID_ENV: Final = "SSEMCP_AUTH_CLIENT_ID"
CLIENT_SECRET_ENV: Final = "SSEMCP_AUTH_CLIENT_SECRET"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AuthSettings:
    """Who may use the HTTP endpoints. Any one method turns authentication on.

    Attributes:
        tokens: static bearer tokens.
        token_files: files of static tokens, one a line; ``sha256:<hex>`` lines hold a
            token's SHA-256 (hashed at rest).
        api_key_header: a header that may carry a static token (``X-API-Key``).
        issuers: OAuth issuers whose JWT access tokens are accepted (their keys are found
            from their RFC 8414 / OpenID metadata, or at ``jwks_url``).
        audience: the resource identifier tokens must name (RFC 8707); None: the MCP
            endpoint's URL as the request reached it.
        jwks_url: the issuers' key set, when not discovered.
        introspection_url: an RFC 7662 endpoint for opaque tokens (needs ``client_id`` and
            ``client_secret``); with those and no URL, the first issuer's
            ``introspection_endpoint`` is used.
        client_id, client_secret: this server's credentials for introspection.
        required_scopes: scopes every request needs.
        list_all_tools: list tools, resources and prompts a caller lacks the scopes for.
        resource_name: ``resource_name`` in the protected resource metadata.
    """

    tokens: tuple[str, ...] = ()
    token_files: tuple[Path, ...] = ()
    api_key_header: str | None = None
    issuers: tuple[str, ...] = ()
    audience: str | None = None
    jwks_url: str | None = None
    introspection_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    required_scopes: tuple[str, ...] = ()
    list_all_tools: bool = False
    resource_name: str | None = None

    def methods(self) -> tuple[str, ...]:
        """The configured ways to authenticate (empty: authentication is off)."""
        found = []
        if self.tokens or self.token_files:
            found.append("static tokens")
        if self.issuers:
            found.append("JWT")
        if self.introspects:
            found.append("introspection")
        return tuple(found)

    @property
    def introspects(self) -> bool:
        """Whether opaque tokens are introspected: at a given URL, or at the first issuer's
        ``introspection_endpoint`` when this server has client credentials."""
        if self.introspection_url:
            return True
        return bool(self.issuers and self.client_id and self.client_secret)

    def check(self) -> None:
        """Refuse settings that cannot work, before anything listens.

        Raises:
            ValueError: with a message naming the setting, never a secret.
        """
        if self.introspection_url and not (self.client_id and self.client_secret):
            raise ValueError(
                f"--auth-introspection-url needs ${CLIENT_ID_ENV} and ${CLIENT_SECRET_ENV}"
            )
        if (self.jwks_url or self.audience) and not (self.issuers or self.introspection_url):
            raise ValueError("--auth-jwks-url and --auth-audience need --auth-issuer")
        if self.api_key_header and not (self.tokens or self.token_files):
            raise ValueError("--api-key-header needs --token or --token-file")
        if self.tokens or self.token_files:
            from ssemcp.auth.static import StaticSecrets

            StaticSecrets(self.tokens, self.token_files)
        for url in (*self.issuers, self.audience, self.jwks_url, self.introspection_url):
            if url is not None and not url.startswith(("https://", "http://")):
                raise ValueError(f"not an http(s) URL: {url!r}")

    def authenticator(
        self,
        server: Server,
        mcp_path: str,
        scoped_paths: Iterable[str],
        max_body_bytes: int,
    ) -> Authenticator | None:
        """The gate these settings describe, for ``server`` at ``mcp_path``; None when off.

        Raises:
            ValueError: settings that cannot work (see :meth:`check`).
            OSError: a token file cannot be read.
        """
        if not self.methods():
            return None
        self.check()
        from ssemcp.auth.gate import Authenticator
        from ssemcp.auth.metadata import ProtectedResource
        from ssemcp.auth.scopes import declared_scopes
        from ssemcp.auth.static import StaticSecrets
        from ssemcp.auth.verifier import TokenVerifier

        required = tuple(self.required_scopes)
        static = (
            StaticSecrets(self.tokens, self.token_files)
            if self.tokens or self.token_files
            else None
        )
        jwt: TokenVerifier | None = None
        if self.issuers:
            from ssemcp.auth.jwt_access import JWTVerifier

            jwt = JWTVerifier(self.issuers, audience=self.audience, jwks_url=self.jwks_url)
        introspection: TokenVerifier | None = None
        if self.introspects:
            from ssemcp.auth.introspection import IntrospectionVerifier

            assert self.client_id is not None and self.client_secret is not None
            introspection = IntrospectionVerifier(
                self.introspection_url,
                client_id=self.client_id,
                client_secret=self.client_secret,
                issuers=self.issuers,
                audience=self.audience,
            )
        resource = ProtectedResource(
            mcp_path,
            resource=self.audience,
            authorization_servers=self.issuers,
            scopes_supported=lambda: (*required, *declared_scopes(server)),
            resource_name=self.resource_name or server.name,
        )
        if self.list_all_tools:
            # Only ever turned on here: a server that set it itself keeps it.
            server.list_all_tools = True
        gate = Authenticator(
            resource,
            static=static,
            jwt=jwt,
            introspection=introspection,
            api_key_header=self.api_key_header,
            required_scopes=required,
            server=server,
            scoped_paths=scoped_paths,
            max_body_bytes=max_body_bytes,
        )
        server.add_cleanup(gate.aclose)
        return gate


def _split(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated flags and comma- or space-separated environment values, flattened."""
    return tuple(
        dict.fromkeys(part for value in values for part in value.replace(",", " ").split())
    )


def auth_options(command: F) -> F:
    """Add the authorization options to a click command; it receives ``auth: AuthSettings``
    (``tokens`` left empty: ``--token`` and ``$SSEMCP_TOKEN`` stay the command's own)."""
    import os

    import click

    @functools.wraps(command)
    def with_auth(*args: Any, **kwargs: Any) -> Any:
        auth = AuthSettings(
            token_files=tuple(Path(path) for path in kwargs.pop("token_files")),
            api_key_header=kwargs.pop("api_key_header"),
            issuers=_split(kwargs.pop("auth_issuers")),
            audience=kwargs.pop("auth_audience"),
            jwks_url=kwargs.pop("auth_jwks_url"),
            introspection_url=kwargs.pop("auth_introspection_url"),
            client_id=os.environ.get(CLIENT_ID_ENV) or None,
            client_secret=os.environ.get(CLIENT_SECRET_ENV) or None,
            required_scopes=_split(kwargs.pop("auth_required_scopes")),
            list_all_tools=kwargs.pop("list_all_tools"),
        )
        return command(*args, auth=auth, **kwargs)

    options = [
        click.option(
            "--token-file",
            "token_files",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            envvar="SSEMCP_TOKEN_FILE",
            metavar="PATH",
            help="Accept the tokens in this file, one a line; a line 'sha256:<hex>' holds a "
            "token's SHA-256, so the file need not hold the secret. Read again within 2 s "
            "of a change, so keys rotate without a restart (repeatable; $SSEMCP_TOKEN_FILE).",
        ),
        click.option(
            "--api-key-header",
            envvar="SSEMCP_API_KEY_HEADER",
            metavar="NAME",
            help="Also accept a --token/--token-file secret in this header, e.g. X-API-Key, "
            "as gateways send keys ($SSEMCP_API_KEY_HEADER).",
        ),
        click.option(
            "--auth-issuer",
            "auth_issuers",
            multiple=True,
            envvar="SSEMCP_AUTH_ISSUER",
            metavar="URL",
            help="Accept JWT access tokens from this OAuth issuer; its keys are found from "
            "its metadata (RFC 8414 / OpenID). Published as an authorization server in "
            "/.well-known/oauth-protected-resource (repeatable; $SSEMCP_AUTH_ISSUER).",
        ),
        click.option(
            "--auth-audience",
            envvar="SSEMCP_AUTH_AUDIENCE",
            metavar="URL",
            help="The resource a token must name in 'aud' (RFC 8707); default: the public "
            "URL of the MCP endpoint as clients reach it ($SSEMCP_AUTH_AUDIENCE).",
        ),
        click.option(
            "--auth-jwks-url",
            envvar="SSEMCP_AUTH_JWKS_URL",
            metavar="URL",
            help="The issuers' JSON Web Key Set, when not found from their metadata "
            "($SSEMCP_AUTH_JWKS_URL).",
        ),
        click.option(
            "--auth-introspection-url",
            envvar="SSEMCP_AUTH_INTROSPECTION_URL",
            metavar="URL",
            help="Check opaque tokens at this RFC 7662 endpoint, as the client "
            f"${CLIENT_ID_ENV} / ${CLIENT_SECRET_ENV}; with those set and no URL, at the "
            "issuer's introspection_endpoint ($SSEMCP_AUTH_INTROSPECTION_URL).",
        ),
        click.option(
            "--auth-required-scopes",
            "auth_required_scopes",
            multiple=True,
            envvar="SSEMCP_AUTH_REQUIRED_SCOPES",
            metavar="SCOPES",
            help="Scopes every request's token needs, space- or comma-separated "
            "(repeatable; $SSEMCP_AUTH_REQUIRED_SCOPES). Tools ask for their own with "
            "Server.tool(scopes=...).",
        ),
        click.option(
            "--list-all-tools",
            is_flag=True,
            help="List tools (and resources, prompts) whose scopes the caller lacks; by "
            "default they are hidden from it.",
        ),
    ]
    decorated: Any = with_auth
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
