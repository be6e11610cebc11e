"""The notification bus: how a change in the registry reaches whoever listens for it.

Owns topics and who is subscribed to each. The registry publishes a ``list_changed`` to
:data:`LIST_CHANGED` and a ``resources/updated`` to the resource's topic
(:func:`resource_topic`); a 2025 session (``ssemcp.server.connection``) and a 2026-07-28
``subscriptions/listen`` stream (``ssemcp.server.listen``) subscribe to the topics they want
and get each notification through :meth:`Subscriber.post`. The registry keeps no list of
live connections.

:class:`NotificationBus` is the interface, small enough for a bus shared by several replicas
(Redis pub/sub) to implement: ``publish`` never waits (a shared bus hands the message to its
own writer), and each process delivers to its own subscribers. :class:`MemoryBus` is the one
process implementation.
"""

from __future__ import annotations

from typing import Final, Protocol

from ssemcp.jsonrpc import Notification

__all__ = ["LIST_CHANGED", "MemoryBus", "NotificationBus", "Subscriber", "resource_topic"]

# Every session and listen stream hears of list changes (spec server/tools "List Changed
# Notification", and the same for resources and prompts); one topic serves all three lists.
LIST_CHANGED: Final = "list_changed"
_RESOURCE_PREFIX: Final = "resource:"


def resource_topic(uri: str) -> str:
    """The topic of ``notifications/resources/updated`` for ``uri``."""
    return _RESOURCE_PREFIX + uri


class Subscriber(Protocol):
    """Who hears of changes: a session (``ServerConnection``), or a 2026-07-28
    ``subscriptions/listen`` stream (``ssemcp.server.listen``)."""

    def post(self, notification: Notification) -> None:
        """Deliver ``notification`` without waiting (or drop it, if not wanted)."""
        ...


class NotificationBus(Protocol):
    """Topics, their subscribers in this process, and delivery to them."""

    def publish(self, topic: str, notification: Notification) -> None:
        """Deliver ``notification`` to every subscriber of ``topic``. Never waits."""
        ...

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        """``subscriber`` hears what is published to ``topic`` from now on; once, however
        often it subscribes."""
        ...

    def unsubscribe(self, topic: str, subscriber: Subscriber) -> None:
        """The opposite of :meth:`subscribe`; nothing if it was not subscribed."""
        ...

    def subscriber_count(self, topic: str) -> int:
        """How many subscribers of ``topic`` this process holds."""
        ...


class MemoryBus:
    """:class:`NotificationBus` within one process.

    Subscribers are held strongly, in subscription order: a session unsubscribes when it
    closes (``ServerConnection.close``), and a test holds that no closed session stays.
    """

    __slots__ = ("_topics",)

    def __init__(self) -> None:
        # A dict per topic, not a set: delivery follows subscription order, so a test (or a
        # client watching two sessions) sees the same order every run.
        self._topics: dict[str, dict[Subscriber, None]] = {}

    def publish(self, topic: str, notification: Notification) -> None:
        subscribers = self._topics.get(topic)
        if subscribers:
            # A copy: a subscriber may unsubscribe (close) while it is told.
            for subscriber in list(subscribers):
                subscriber.post(notification)

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        self._topics.setdefault(topic, {})[subscriber] = None

    def unsubscribe(self, topic: str, subscriber: Subscriber) -> None:
        subscribers = self._topics.get(topic)
        if subscribers is not None:
            subscribers.pop(subscriber, None)
            if not subscribers:
                del self._topics[topic]

    def subscriber_count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))
