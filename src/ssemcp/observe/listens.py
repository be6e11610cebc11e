"""A ``subscriptions/listen`` stream (2026-07-28), observed from its opening to its end.

A listen is a request that lasts: its stream is the subscription, and it may stay open for
hours. It gets one access line and one span when it ends, with how it ended, how long it
lasted and how many notifications it carried, as a GET stream's or an ``/sse`` stream's line
is written when the stream ends; what is open now is the ``ssemcp_streams{kind="listen"}``
gauge's to say, so no second line marks its start. The transports make a
:class:`ListenObservation` when a listen's stream opens and end it when the stream ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ssemcp.jsonrpc import Request
from ssemcp.observe._hook import WATCHER, Watcher
from ssemcp.observe.calls import CallRecord
from ssemcp.protocol.request_context import Principal, RequestContext

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from ssemcp.server.registry import Server

__all__ = ["ListenObservation"]

_Message = TypeVar("_Message")


class ListenObservation:
    """One listen's watcher and span, and the notifications counted so far."""

    __slots__ = (
        "_principal",
        "_request",
        "_server",
        "_span",
        "_started",
        "_watcher",
        "notifications",
    )

    def __init__(
        self, server: Server, request: Request, principal: Principal | None, watcher: Watcher | None
    ) -> None:
        self._server = server
        self._request = request
        self._principal = principal
        self._watcher = watcher
        self._started = time.perf_counter()
        self.notifications = 0
        tracing = server.tracing
        self._span: Span | None = (
            tracing.listen_started(request, RequestContext(principal=principal))
            if tracing is not None
            else None
        )

    @classmethod
    def begin(
        cls, server: Server, request: Request, principal: Principal | None
    ) -> ListenObservation | None:
        """The observation of a listen whose stream opens now; None when nothing observes."""
        watcher = WATCHER.get()
        if watcher is None and server.tracing is None:
            return None
        return cls(server, request, principal, watcher)

    def counting(self, deliver: Callable[[_Message], object]) -> Callable[[_Message], object]:
        """``deliver``, counting each notification it is given."""

        def counted(message: _Message) -> object:
            self.notifications += 1
            return deliver(message)

        return counted

    def end(self, outcome: str) -> None:
        """The stream ended, as ``outcome`` says (``ssemcp.observe.calls``: OK when its client
        left or cancelled it, CUT_OFF, STOPPED, CANCELLED)."""
        duration_seconds = time.perf_counter() - self._started
        request = self._request
        if self._watcher is not None:
            principal = self._principal
            self._watcher.listened(
                self._server,
                request,
                CallRecord(
                    request.method,
                    None,
                    request.id,
                    principal.subject if principal is not None else None,
                    outcome,
                    None,
                    duration_seconds,
                    notifications=self.notifications,
                ),
            )
        tracing = self._server.tracing
        if tracing is not None and self._span is not None:
            tracing.listen_ended(self._span, outcome, self.notifications)
