"""OAuth 2.0 Protected Resource Metadata (RFC 9728): where a client learns how to get a token.

Owns this server's resource identifier (the canonical URL of its MCP endpoint, as the client
reaches it: scheme, Host and any proxy prefix, or the configured audience), the URL of its
metadata document, which every 401 names (RFC 9728 section 5.1), and the document itself,
served at ``/.well-known/oauth-protected-resource`` and at the path-suffixed form for the MCP
path (section 3.1: ``/.well-known/oauth-protected-resource/mcp``). The routes are the app's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

import orjson

from ssemcp.asgi import ASGISend, Headers, Scope, client_path_prefix

__all__ = ["WELL_KNOWN_PATH", "ProtectedResource"]

# RFC 9728 section 3: the well-known URI suffix registered for protected resource metadata.
WELL_KNOWN_PATH: Final = "/.well-known/oauth-protected-resource"
# A client may cache the document; operators change it rarely, and a restart is the change.
_CACHE_CONTROL: Final = b"public, max-age=300"


class ProtectedResource:
    """This server as an OAuth protected resource.

    Args:
        mcp_path: the MCP endpoint's path below the app's mount point (``/mcp``).
        resource: the resource identifier, when configured (``--auth-audience``); None: the
            URL of the MCP endpoint as each request reaches it.
        authorization_servers: issuer identifiers of the authorization servers whose tokens
            this server accepts (RFC 9728 section 2).
        scopes_supported: called for the scopes to publish (the registry's may change).
        resource_name: a human-readable name for the document.
    """

    __slots__ = (
        "_authorization_servers",
        "_metadata_paths",
        "_resource",
        "_resource_name",
        "_scopes_supported",
        "mcp_path",
    )

    def __init__(
        self,
        mcp_path: str,
        *,
        resource: str | None = None,
        authorization_servers: Iterable[str] = (),
        scopes_supported: Callable[[], Iterable[str]] = tuple,
        resource_name: str | None = None,
    ) -> None:
        self.mcp_path = mcp_path
        self._resource = resource
        self._authorization_servers = list(dict.fromkeys(authorization_servers))
        self._scopes_supported = scopes_supported
        self._resource_name = resource_name
        self._metadata_paths = frozenset({WELL_KNOWN_PATH, WELL_KNOWN_PATH + mcp_path})

    @property
    def is_configured(self) -> bool:
        """Whether the resource identifier is configured rather than read from each request."""
        return self._resource is not None

    def is_metadata_path(self, scope: Scope, path: str) -> bool:
        """Whether ``path`` (below the mount point) is one where the document is served:
        also the RFC 9728 form that keeps a proxy's prefix, for proxies that route it here."""
        if path in self._metadata_paths:
            return True
        return path == WELL_KNOWN_PATH + client_path_prefix(scope) + self.mcp_path

    @staticmethod
    def _origin(scope: Scope, headers: Headers) -> str:
        # The Host passed the app's allowlist (and a trusted proxy's rewrite) before here.
        host = headers.get(b"host", b"").decode("latin-1").lower()
        return f"{scope.get('scheme', 'http')}://{host}"

    def resource_url(self, scope: Scope, headers: Headers) -> str:
        """The resource identifier a token must name (RFC 8707 section 2, RFC 9728 section 1.2)."""
        if self._resource is not None:
            return self._resource
        return self._origin(scope, headers) + client_path_prefix(scope) + self.mcp_path

    def metadata_url(self, scope: Scope, headers: Headers) -> str:
        """Where the client fetches the document: reachable through the same prefix as the
        MCP endpoint, so that it works behind a proxy that forwards only that prefix."""
        return (
            self._origin(scope, headers)
            + client_path_prefix(scope)
            + WELL_KNOWN_PATH
            + self.mcp_path
        )

    def document(self, scope: Scope, headers: Headers) -> bytes:
        """The metadata document (RFC 9728 section 2) for a request that reached us so."""
        scopes = list(dict.fromkeys(self._scopes_supported()))
        document: dict[str, object] = {"resource": self.resource_url(scope, headers)}
        if self._authorization_servers:
            document["authorization_servers"] = self._authorization_servers
        if scopes:
            document["scopes_supported"] = scopes
        # spec 2025-11-25 basic/authorization, "Access Token Usage": tokens MUST go in the
        # Authorization header, never in the query string, so we advertise only that.
        document["bearer_methods_supported"] = ["header"]
        if self._resource_name:
            document["resource_name"] = self._resource_name
        return orjson.dumps(document)

    async def respond(self, scope: Scope, headers: Headers, send: ASGISend) -> None:
        """Answer a GET or HEAD of the document."""
        body = self.document(scope, headers)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", _CACHE_CONTROL),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
