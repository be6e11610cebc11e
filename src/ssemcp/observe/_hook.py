"""Where a dispatched request finds who watches it: one context variable, set per request.

The HTTP app sets it at the start of each exchange (``ssemcp.observe.observer``), the stdio
transport once for its loop; :func:`ssemcp.server.dispatch.dispatch` reads it. A context
variable, not a global: each ASGI request runs in a task of its own, which copies the
context, so two apps in one process never see each other's watcher. It imports nothing of
the server, so that the dispatcher can import it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Final, Protocol

from ssemcp._types import JSONObject

if TYPE_CHECKING:
    from ssemcp.jsonrpc import Request
    from ssemcp.protocol.request_context import RequestContext
    from ssemcp.server.registry import Server

__all__ = ["WATCHER", "Watcher"]


class Watcher(Protocol):
    """Times and records the requests dispatched under it."""

    def observe(
        self,
        pending: Awaitable[JSONObject],
        server: Server,
        request: Request,
        context: RequestContext,
    ) -> Awaitable[JSONObject]:
        """The awaitable of ``pending``'s result, recording how it ended."""
        ...

    def answered(
        self, server: Server, request: Request, context: RequestContext, code: int | None
    ) -> None:
        """Record a request the session answered itself, with no handler (``initialize``,
        ``ping``, ``logging/setLevel``, a refusal): served at once, with error ``code`` or
        None."""
        ...


WATCHER: Final[ContextVar[Watcher | None]] = ContextVar("ssemcp.observe.watcher", default=None)
