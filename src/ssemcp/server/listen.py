"""``subscriptions/listen`` (MCP 2026-07-28, basic/patterns/subscriptions): a request whose
response stream carries the notifications its client asked for.

Owns one subscription: which kinds it asked for and which the server honours, the
acknowledgement that opens it, filtering and tagging what the registry publishes on its
notification bus (``ssemcp.state.bus``), and the result that ends it. What it lets through goes
to the ``deliver`` its transport gives it, without waiting: the transport's bounded writer
(``ssemcp.transports.sse_writer`` for SSE, a backlog for stdout lines), which also says when a
reader is so far behind that the subscription is cut off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import InvalidParams
from ssemcp.jsonrpc import Notification, Request, RequestId
from ssemcp.server.registry import Server
from ssemcp.state.bus import LIST_CHANGED

__all__ = ["DEFAULT_MAX_BACKLOG", "ListenStream", "honoured_filter"]

# Notifications waiting for a transport's writer; a subscriber this far behind is cut off (the
# stream ends) rather than buffered without end.
DEFAULT_MAX_BACKLOG: Final = 1024
_SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"
# SubscriptionFilter member -> (the notification it asks for, the capability that offers it).
_LIST_CHANGES: Final = {
    "toolsListChanged": ("notifications/tools/list_changed", "tools"),
    "promptsListChanged": ("notifications/prompts/list_changed", "prompts"),
    "resourcesListChanged": ("notifications/resources/list_changed", "resources"),
}
_RESOURCE_UPDATED: Final = "notifications/resources/updated"


def honoured_filter(
    request: Request, capabilities: Mapping[str, JSONValue]
) -> tuple[frozenset[str], tuple[str, ...], JSONObject]:
    """What a ``subscriptions/listen`` asks for that a server with ``capabilities`` offers:
    the list-change methods it will hear, the resource URIs, and the acknowledgement's
    ``notifications`` ("Notification types the server does not support are omitted",
    basic/patterns/subscriptions). ``ssemcp bridge`` decides a child's the same way.

    Raises:
        InvalidParams: ``params.notifications`` is not a SubscriptionFilter.
    """
    wanted = (request.params or {}).get("notifications", {})
    if type(wanted) is not dict:
        raise InvalidParams('Invalid params: "notifications" must be an object')
    methods: set[str] = set()
    honoured: JSONObject = {}
    for member, (method, capability) in _LIST_CHANGES.items():
        declared = capabilities.get(capability)
        if (
            wanted.get(member) is True
            and isinstance(declared, dict)
            and declared.get("listChanged")
        ):
            methods.add(method)
            honoured[member] = True
    uris = wanted.get("resourceSubscriptions")
    if uris is not None and (type(uris) is not list or not all(type(uri) is str for uri in uris)):
        raise InvalidParams('Invalid params: "resourceSubscriptions" must be a list of URIs')
    resources = capabilities.get("resources")
    subscribed: tuple[str, ...] = ()
    if uris and isinstance(resources, dict) and resources.get("subscribe"):
        subscribed = tuple(str(uri) for uri in dict.fromkeys(uris))
        honoured["resourceSubscriptions"] = list(subscribed)
    return frozenset(methods), subscribed, honoured


class ListenStream:
    """One ``subscriptions/listen`` request, as a subscriber of ``server``.

    Args:
        server: the registry whose changes it hears.
        request: the listen request; its id is the subscription id.

    Raises:
        InvalidParams: ``params.notifications`` is not a SubscriptionFilter.
    """

    def __init__(self, server: Server, request: Request) -> None:
        self._methods, self._uris, self._honoured = honoured_filter(request, server.capabilities)
        self._server = server
        self.subscription_id: RequestId = request.id
        self._deliver: Callable[[Notification], object] | None = None

    def open(self, deliver: Callable[[Notification], object]) -> Notification:
        """Start hearing of changes, each handed to ``deliver`` (which must not wait); the
        acknowledgement, which must go out before anything else on the stream ("MUST send
        notifications/subscriptions/acknowledged as the first message")."""
        self._deliver = deliver
        if self._methods:
            self._server.bus.subscribe(LIST_CHANGED, self)
        for uri in self._uris:
            self._server.subscription_added(uri, self)
        return Notification(
            "notifications/subscriptions/acknowledged",
            {"_meta": self._tag(), "notifications": self._honoured},
        )

    def close(self) -> None:
        """Stop hearing of changes (the client went away, the reader fell behind, or the
        server is stopping)."""
        if self._deliver is None:
            return
        self._deliver = None
        self._server.bus.unsubscribe(LIST_CHANGED, self)
        for uri in self._uris:
            self._server.subscription_removed(uri, self)

    def post(self, notification: Notification) -> None:
        """Deliver ``notification`` if this subscription asked for it, tagged with the
        subscription id ("MUST include io.modelcontextprotocol/subscriptionId")."""
        deliver = self._deliver
        if deliver is None:
            return
        method = notification.method
        if method == _RESOURCE_UPDATED:
            uri = (notification.params or {}).get("uri")
            if uri not in self._uris:
                return
        elif method not in self._methods:
            return
        params: dict[str, JSONValue] = dict(notification.params or {})
        meta = params.get("_meta")
        params["_meta"] = {**(meta if isinstance(meta, dict) else {}), **self._tag()}
        deliver(Notification(method, params))

    def final_result(self) -> JSONObject:
        """The result that ends the subscription when the server closes it ("SHOULD respond
        to the original subscriptions/listen request with a completion result")."""
        return {"resultType": "complete", "_meta": self._tag()}

    def _tag(self) -> JSONObject:
        return {_SUBSCRIPTION_ID: self.subscription_id}
