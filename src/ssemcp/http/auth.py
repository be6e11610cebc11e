"""Static bearer tokens, as the app knew them before ``ssemcp.auth``: kept for callers of
:class:`BearerAuth`.

The app puts the :class:`~ssemcp.protocol.request_context.Principal` a request is served for
under ``ssemcp.asgi.PRINCIPAL_KEY`` (the transports bind sessions to it). Everything else
lives in ``ssemcp.auth``: secrets and their comparison
(``ssemcp.auth.static``), the credential's header, the 401/403 answers and RFC 9728 metadata
(``ssemcp.auth.gate``, ``ssemcp.auth.metadata``), JWT and introspection.
"""

from __future__ import annotations

from collections.abc import Iterable

from ssemcp.asgi import ASGISend, Headers, Scope
from ssemcp.auth.static import StaticSecrets, principal_of

__all__ = ["BearerAuth", "principal_of"]


class BearerAuth:
    """Checks ``Authorization: Bearer <token>`` against a fixed set of tokens.

    A shortcut for ``create_app(server, tokens=...)``'s gate, without metadata paths of its
    own; ``ssemcp.auth.gate.Authenticator`` does the work.

    Args:
        tokens: the accepted tokens (at least one); each must be an RFC 6750 ``b64token``.

    Raises:
        ValueError: no token, or a token a client could not send in the header.
    """

    __slots__ = ("_gate",)

    def __init__(self, tokens: Iterable[str], *, mcp_path: str = "/mcp") -> None:
        from ssemcp.auth.gate import Authenticator
        from ssemcp.auth.metadata import ProtectedResource

        self._gate = Authenticator(ProtectedResource(mcp_path), static=StaticSecrets(tokens))

    def __repr__(self) -> str:
        return f"BearerAuth({self._gate!r})"

    async def authenticate(self, scope: Scope, headers: Headers, send: ASGISend) -> bool:
        """Set ``scope["ssemcp.principal"]`` and return True, or answer 401/400 and return False."""

        async def no_body() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        return await self._gate.admit(scope, no_body, send, headers, "") is not None
