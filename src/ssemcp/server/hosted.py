"""What a transport session hosts: something that takes messages and gives messages back.

Owns the seam between the session transports (Streamable HTTP and legacy SSE) and what serves
a session: :class:`HostedSession`, which a
:class:`~ssemcp.server.connection.ServerConnection` satisfies (serving a ``Server``), and so
does the bridge's relay (``ssemcp.bridge``: forwarding to a child process); and
:class:`SessionFactory`, which makes one per session. The transports keep owning the wire;
what a message means stays with the hosted side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from ssemcp.jsonrpc import ErrorResponse, Invalid, Message, Response
from ssemcp.protocol.request_context import Principal
from ssemcp.protocol.revisions import Revision
from ssemcp.server.context import Send

__all__ = ["HostedSession", "SessionFactory", "SessionRefused"]

Reply = Response | ErrorResponse


class HostedSession(Protocol):
    """One session's serving side, as a transport drives it."""

    @property
    def revision(self) -> Revision:
        """The revision the session negotiated (the latest until it has)."""
        ...

    @property
    def running_count(self) -> int:
        """Requests being answered now."""
        ...

    def receive(
        self, payload: Message | Invalid | list[Message | Invalid], send: Send | None = None
    ) -> Awaitable[Reply | list[Reply] | None]:
        """Handle one parsed payload; return what to write back (None: nothing). ``send`` is
        the stream for messages related to its requests (default: the session's channel)."""
        ...

    def rebind(self, principal: Principal | None) -> None:
        """Serve the next requests under ``principal``: the session's subject, presenting a
        fresh credential (the transport checked it is the same subject)."""
        ...

    def close(self) -> None:
        """End the session: running requests are cancelled. Idempotent."""
        ...


class SessionFactory(Protocol):
    """Makes the :class:`HostedSession` of a new session: ``send`` and ``send_nowait`` are its
    channel, as for a ``ServerConnection``; ``session_id`` is for logs (show it shortened).

    Raises:
        SessionRefused: no session can be opened now (the transport answers 503).
    """

    def __call__(
        self,
        send: Send,
        *,
        send_nowait: Callable[[Message], bool],
        principal: Principal | None,
        session_id: str,
    ) -> HostedSession: ...


class SessionRefused(Exception):
    """A :class:`SessionFactory` cannot open a session now; the message says why (the
    transport answers 503 Service Unavailable with it, and a ``Retry-After``)."""
