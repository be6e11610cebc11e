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
    from ssemcp.observe.calls import CallRecord
    from ssemcp.protocol.request_context import RequestContext
    from ssemcp.server.registry import Server

__all__ = ["WATCHER", "Watcher"]


class Watcher(Protocol):
    """Times and records the requests dispatched under it."""

    # The request whose handler ended last under this watcher (set as it ends): an error
    # reply to any other was a refusal before dispatch (ssemcp.observe.refused).
    last_served: Request | None

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

    def refused(
        self, server: Server | None, request: Request | None, context: RequestContext, code: int
    ) -> None:
        """Record a request refused before any handler with error ``code``; None: input that
        was no request (a parse error)."""
        ...

    def listened(self, server: Server, request: Request, record: CallRecord) -> None:
        """Record a ``subscriptions/listen`` stream that ended (``record``: how, after how
        long, with how many notifications)."""
        ...


WATCHER: Final[ContextVar[Watcher | None]] = ContextVar("ssemcp.observe.watcher", default=None)
