"""Authorization for the HTTP transports: this server as an OAuth 2.1 resource server.

Verifiers turn a credential into a :class:`~ssemcp.protocol.request_context.Principal` or a
typed :class:`Refusal`: static secrets and API keys (``static``), JWT access tokens checked
against their issuer's keys (``jwt_access``, ``issuer``), opaque tokens by RFC 7662
introspection (``introspection``). ``gate`` reads the credential and answers refusals,
``metadata`` serves RFC 9728 protected resource metadata, ``scopes`` ties the scopes of tools,
resources and prompts to principals, and ``settings`` is the configuration and the ``serve``
flags. Nothing here imports httpx or PyJWT until a verifier that needs them is built.
"""

from __future__ import annotations

from ssemcp.auth.settings import AuthSettings
from ssemcp.auth.static import StaticSecrets
from ssemcp.auth.verifier import Refusal, RefusalReason, TokenVerifier
from ssemcp.protocol.request_context import Principal

__all__ = [
    "AuthSettings",
    "Principal",
    "Refusal",
    "RefusalReason",
    "StaticSecrets",
    "TokenVerifier",
]
