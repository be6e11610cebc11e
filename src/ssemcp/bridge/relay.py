"""``Relay``: one client session of the bridge, as a transport hosts it.

Owns the client side of a bridged session: it is the
:class:`~ssemcp.server.hosted.HostedSession` the Streamable HTTP or legacy SSE transport drives
(as it drives a ``ServerConnection``), handing each message to its
:class:`~ssemcp.bridge.upstream.Upstream` and each message the child sends back to the
transport's streams. It interprets nothing beyond what routing needs: the child speaks MCP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ssemcp.bridge.upstream import Upstream
from ssemcp.jsonrpc import (
    ErrorResponse,
    Invalid,
    Message,
    Notification,
    Request,
    Response,
    error_response,
)
from ssemcp.protocol.request_context import Principal
from ssemcp.protocol.revisions import Revision
from ssemcp.server.context import Send

__all__ = ["Relay"]

logger = logging.getLogger(__name__)

Reply = Response | ErrorResponse


async def _dropped(message: Message) -> None:
    """The channel of an ended session."""


class Relay:
    """One client session relayed to ``upstream``.

    Args:
        upstream: the child this session talks to (its own, or the shared one).
        send: the session's own channel (the GET stream, or the legacy SSE stream).
        on_close: called once when the session ends.
    """

    def __init__(
        self, upstream: Upstream, send: Send, on_close: Callable[[Relay], object] | None = None
    ) -> None:
        self.upstream = upstream
        self._send = send
        self._on_close = on_close
        self._running: dict[asyncio.Task[Any], None] = {}
        self.is_closed = False
        self.owner = upstream.attach(self)
        # asyncio.current_task() without its loop costs a getpid() system call per request.
        self._loop = asyncio.get_running_loop()

    @property
    def revision(self) -> Revision:
        return self.upstream.revision

    @property
    def running_count(self) -> int:
        return len(self._running)

    def receive(
        self, payload: Message | Invalid | list[Message | Invalid], send: Send | None = None
    ) -> Awaitable[Reply | list[Reply] | None]:
        if type(payload) is list:
            return self._receive_batch(payload, send)
        return self.receive_message(payload, send)  # type: ignore[arg-type]

    async def _receive_batch(
        self, items: list[Message | Invalid], send: Send | None
    ) -> list[Reply] | None:
        replies = await asyncio.gather(*(self.receive_message(item, send) for item in items))
        # JSON-RPC 2.0 section 6: nothing to answer, "the server MUST NOT return an empty Array".
        return [reply for reply in replies if reply is not None] or None

    async def receive_message(
        self, message: Message | Invalid, send: Send | None = None
    ) -> Reply | None:
        kind = type(message)
        if kind is Request:
            assert isinstance(message, Request)
            task = asyncio.current_task(self._loop)
            assert task is not None
            self._running[task] = None
            try:
                # The reply goes to the transport as it is: its result need not be parsed
                # into objects and serialized again (relay_raw).
                return await self.upstream.call(
                    self.owner, message, send or self._send, relay_raw=True
                )
            finally:
                self._running.pop(task, None)
        if kind is Notification:
            assert isinstance(message, Notification)
            await self.upstream.notify(self.owner, message)
            return None
        if kind is Response or kind is ErrorResponse:
            assert isinstance(message, Response | ErrorResponse)
            await self.upstream.answer(self.owner, message)
            return None
        assert isinstance(message, Invalid)
        return error_response(message.id, message.error)

    async def deliver(self, message: Message, send: Send | None) -> bool:
        """What the child sent this session: on ``send``, or on the session's channel."""
        if self.is_closed:
            return False
        try:
            await (send or self._send)(message)
        except Exception as exc:
            # No stream to put it on (JSON-response mode without a GET stream), or a broken
            # one: the caller tells the child when it waits for an answer.
            logger.debug("session %s: could not deliver a message: %s", self.upstream.label, exc)
            return False
        return True

    def rebind(self, principal: Principal | None) -> None:
        """Nothing to do: the child serves whoever the session belongs to (the transport has
        checked that it is still the same subject), and knows nothing of scopes."""

    def close(self) -> None:
        """End the session: its running requests are cancelled, its child let go of."""
        if self.is_closed:
            return
        self.is_closed = True
        for task in list(self._running):
            task.cancel()
        self.upstream.detach(self.owner)
        self._send = _dropped
        if self._on_close is not None:
            self._on_close(self)
