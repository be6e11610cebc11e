"""What a request is served under: its revision, its client, its log level, its principal.
No I/O.

Owns :class:`RequestContext`, the one value the dispatch of a request reads besides the
request itself, and the rules that depend on nothing else: which log messages go out, what a
progress notification holds, whether a request to the client may be sent. A 2025 session
(:class:`~ssemcp.protocol.session.ServerSession`) builds one at ``initialize`` and replaces it
when ``logging/setLevel`` changes it, so its requests share it at no cost; a request that
stands alone (the 2026-07-28 revision) will build its own from its ``_meta`` and headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import CapabilityNotSupported, MissingRequiredClientCapability
from ssemcp.jsonrpc import Notification
from ssemcp.protocol.revisions import LATEST, Revision

__all__ = ["LOG_LEVELS", "Principal", "RequestContext"]

# RFC 5424 severities, lowest first (spec server/utilities/logging).
LOG_LEVELS: Final = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
_LOG_RANK: Final = {level: rank for rank, level in enumerate(LOG_LEVELS)}

# Which client capability each server-to-client request needs (spec client/*).
_CAPABILITY_FOR_METHOD: Final = {
    "sampling/createMessage": "sampling",
    "elicitation/create": "elicitation",
    "roots/list": "roots",
}


_NO_CLAIMS: Final[Mapping[str, JSONValue]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sent a request, as the HTTP layer's verifier found them (``ssemcp.auth``).

    Two principals are equal when they name the same subject of the same issuer, whatever
    their scopes, client or claims: a session and a ``requestState`` are bound to the
    subject, so a refreshed token of the same subject keeps its session (spec 2025-11-25
    basic/security_best_practices, "Session Hijacking": bind a session to the user).

    Attributes:
        subject: the stable, non-secret name of whoever holds the credential: a JWT's or an
            introspection's ``sub`` (the client id when there is no user), or the start of a
            static token's SHA-256.
        issuer: the authorization server that vouched for it (None for a static secret).
        client_id: the OAuth client the token was issued to, if the issuer said.
        scopes: the OAuth scopes granted; None for a static secret, which is not limited by
            scopes (it is the operator's own key).
        claims: the token's claims (a JWT's payload or an introspection response), read-only.
    """

    subject: str
    issuer: str | None = None
    client_id: str | None = field(default=None, compare=False)
    scopes: frozenset[str] | None = field(default=None, compare=False)
    claims: Mapping[str, JSONValue] = field(
        default_factory=lambda: _NO_CLAIMS, compare=False, repr=False
    )

    def __str__(self) -> str:
        return self.subject if self.issuer is None else f"{self.subject} ({self.issuer})"

    def missing_scopes(self, required: Iterable[str]) -> frozenset[str]:
        """The scopes of ``required`` this principal lacks (none for a static secret)."""
        if self.scopes is None:
            return frozenset()
        return frozenset(required) - self.scopes


# Slotted, not frozen, for the reason the message classes are (ssemcp.jsonrpc): a request that
# stands alone builds one, and a frozen dataclass's __init__ costs twice as much. Treat it as
# immutable: a session replaces its context (dataclasses.replace), never changes it.
@dataclass(slots=True)
class RequestContext:
    """The revision and client a request is served for, unchanged while it is served.

    Attributes:
        revision: the protocol revision the request speaks.
        client_capabilities: what the client declared it can do (``sampling``, ...).
        client_info: the client's ``clientInfo`` (name, version), possibly empty.
        log_level: the lowest level of ``notifications/message`` the client wants; None
            until it says (then every message goes out, spec utilities/logging).
        principal: who sent it, as the HTTP layer's verifier found them (``ssemcp.auth``);
            None when nobody authenticated (stdio, no tokens).
    """

    revision: Revision = LATEST
    client_capabilities: JSONObject = field(default_factory=dict)
    client_info: JSONObject = field(default_factory=dict)
    log_level: str | None = None
    principal: Principal | None = None

    def log_enabled(self, level: str) -> bool:
        """Whether a ``notifications/message`` at ``level`` goes out (spec utilities/logging)."""
        if self.log_level is None:
            # A session sends every level until setLevel; a request that stands alone sends
            # none unless it asks (2026-07-28 server/utilities/logging: the server "MUST NOT
            # emit notifications/message for a request that does not include" a logLevel).
            return not self.revision.sessionless and level in _LOG_RANK
        rank = _LOG_RANK.get(level)
        return rank is not None and rank >= _LOG_RANK[self.log_level]

    def log_message(
        self, level: str, data: JSONValue, logger: str | None = None
    ) -> Notification | None:
        """The ``notifications/message`` to send, or None if the level filters it out."""
        if not self.log_enabled(level):
            return None
        params: JSONObject = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        return Notification("notifications/message", params)

    def progress(
        self,
        token: str | int,
        progress: float,
        total: float | None = None,
        message: str | None = None,
    ) -> Notification:
        """The ``notifications/progress`` for ``token`` (spec basic/utilities/progress)."""
        params: JSONObject = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None and self.revision.progress_message:
            params["message"] = message
        return Notification("notifications/progress", params)

    def check_client_request(self, method: str) -> str | None:
        """Refuse a request to the client that its revision or capabilities rule out.

        Returns:
            The client capability ``method`` needs (None for ``ping``).

        Raises:
            CapabilityNotSupported: the revision lacks ``method``, or, in a session, the
                client did not declare the capability it needs (the handler's tool fails).
            MissingRequiredClientCapability: on a request that stands alone, the client did
                not declare it (2026-07-28 basic/index: -32021 with
                ``data.requiredCapabilities``, the request's own error).
        """
        if method not in self.revision.server_methods:
            raise CapabilityNotSupported(
                f"{method} is not part of protocol revision {self.revision.version}"
            )
        capability = _CAPABILITY_FOR_METHOD.get(method)
        if capability is not None and capability not in self.client_capabilities:
            if self.revision.sessionless:
                raise MissingRequiredClientCapability(
                    f"Missing required client capability: {capability}",
                    data={"requiredCapabilities": {capability: {}}},
                )
            raise CapabilityNotSupported(f"the client does not support {capability}")
        return capability

    @staticmethod
    def is_log_level(level: object) -> bool:
        """Whether ``level`` names one of :data:`LOG_LEVELS`."""
        return type(level) is str and level in _LOG_RANK
