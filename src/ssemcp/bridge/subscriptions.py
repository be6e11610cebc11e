"""``subscriptions/listen`` through ``ssemcp bridge``: a 2026-07-28 subscription fed by the
notifications of its principal's child.

Owns one subscription on a child (:class:`ChildSubscription`): what it honours (the list
changes the child declares, and resource updates if the child offers ``subscribe``, as
``server.listen`` decides for ssemcp's own registry), the child's ``resources/subscribe`` for
its URIs (made as a client of the child's upstream, so that a restarted child gets them again),
and each list change or update handed, tagged, to its transport's writer. The stream itself is
the transport's (``transports.streamable``), as for ssemcp's own subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Final, Protocol

from ssemcp._types import JSONObject, JSONValue
from ssemcp.bridge.upstream import Upstream
from ssemcp.errors import ProtocolError
from ssemcp.jsonrpc import ErrorResponse, Message, Notification, Request, error_response
from ssemcp.protocol.request_context import Principal
from ssemcp.protocol.sessionless import context_for
from ssemcp.server.context import Send
from ssemcp.server.listen import honoured_filter
from ssemcp.server.registry import Server

__all__ = ["ChildSubscription", "ListenPool", "open_child_listen"]

logger = logging.getLogger(__name__)

_SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
_RESOURCE_UPDATED: Final = "notifications/resources/updated"


class ListenPool(Protocol):
    """Lends the child a principal's subscription listens to (``sessions.Bridge``)."""

    async def acquire(self, principal: Principal | None) -> Upstream: ...

    def release(self, upstream: Upstream) -> None: ...


async def _nowhere(message: Message) -> None:
    """Where what relates to the bridge's own subscribe requests goes."""


class ChildSubscription:
    """One ``subscriptions/listen`` of a 2026-07-28 client, on a child of ``pool``'s. It holds
    its child (``pool.acquire`` was called for it) until :meth:`close`.

    Raises:
        InvalidParams: ``params.notifications`` is not a SubscriptionFilter.
    """

    def __init__(self, pool: ListenPool, upstream: Upstream, request: Request) -> None:
        self._pool = pool
        self._upstream = upstream
        self.subscription_id = request.id
        initialize_result = upstream.initialize_result or {}
        capabilities = initialize_result.get("capabilities")
        offered: Mapping[str, JSONValue] = capabilities if isinstance(capabilities, dict) else {}
        # As ssemcp's own registry decides (server.listen), from what the child declared.
        self._methods, self._uris, self._honoured = honoured_filter(request, offered)
        self._deliver: Callable[[Notification], object] | None = None
        self._owner: int | None = None
        self._subscribing: asyncio.Task[None] | None = None
        self._is_closed = False

    def open(self, deliver: Callable[[Notification], object]) -> Notification:
        """Start hearing of the child's changes, each handed to ``deliver`` (which must not
        wait); the acknowledgement, which goes out first ("MUST send
        notifications/subscriptions/acknowledged as the first message")."""
        self._deliver = deliver
        self._owner = self._upstream.attach(self)
        if self._uris:
            self._subscribing = asyncio.get_running_loop().create_task(self._subscribe())
        return Notification(
            "notifications/subscriptions/acknowledged",
            {"_meta": self._tag(), "notifications": self._honoured},
        )

    async def _subscribe(self) -> None:
        """Subscribe the child to each URI as a client of its own (the upstream remembers
        which client subscribed, routes the updates to it, and replays it after a restart)."""
        assert self._owner is not None
        # Ids need only be unique per client of the upstream, and this one is its own.
        for number, uri in enumerate(self._uris, 1):
            request = Request(f"bridge-listen-{number}", "resources/subscribe", {"uri": uri})
            reply = await self._upstream.call(self._owner, request, _nowhere)
            if type(reply) is ErrorResponse:
                logger.warning("the bridged server refused a subscription: %s", reply.message)

    async def deliver(self, message: Message, send: Send | None) -> bool:
        """What the child sent this subscription (``upstream.Owner``): a list change or a
        resource update it asked for, tagged; a request of the child's cannot be answered."""
        if type(message) is not Notification:
            return False
        deliver = self._deliver
        if deliver is None:
            return True
        method = message.method
        params: dict[str, JSONValue] = dict(message.params or {})
        if method == _RESOURCE_UPDATED:
            if params.get("uri") not in self._uris:
                return True
        elif method not in self._methods:
            return True
        meta = params.get("_meta")
        params["_meta"] = {**(meta if isinstance(meta, dict) else {}), **self._tag()}
        deliver(Notification(method, params))
        return True

    def close(self) -> None:
        """Stop hearing of changes and let the child go (idempotent; also for a
        subscription never opened)."""
        if self._is_closed:
            return
        self._is_closed = True
        self._deliver = None
        if self._subscribing is not None:
            self._subscribing.cancel()
        if self._owner is not None:
            self._upstream.detach(self._owner)
        self._pool.release(self._upstream)

    def final_result(self) -> JSONObject:
        """The result that ends the subscription when the bridge closes it."""
        return {"resultType": "complete", "_meta": self._tag()}

    def _tag(self) -> JSONObject:
        return {_SUBSCRIPTION_ID: self.subscription_id}


async def open_child_listen(
    pool: ListenPool,
    server: Server,
    request: Request,
    headers: Mapping[bytes, bytes] | None,
    principal: Principal | None,
) -> ChildSubscription | ErrorResponse:
    """A ``subscriptions/listen`` request's subscription on its principal's child, not yet
    opened; or the error reply that refuses it (its ``_meta`` and headers checked as for
    every request that stands alone)."""
    try:
        context_for(request, headers, principal)
        upstream = await pool.acquire(principal)
        try:
            return ChildSubscription(pool, upstream, request)
        except ProtocolError:
            pool.release(upstream)
            raise
    except ProtocolError as exc:
        return error_response(request.id, exc)
