"""The notification bus (ssemcp.state.bus) and the registry publishing on it."""

from __future__ import annotations

from ssemcp import Server
from ssemcp.jsonrpc import Notification
from ssemcp.state.bus import LIST_CHANGED, MemoryBus, Subscriber, resource_topic


class Recorder:
    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name = name
        self.log = log

    def post(self, notification: Notification) -> None:
        self.log.append((self.name, notification.method))


class Leaver:
    """Unsubscribes itself and the next subscriber while it is told."""

    def __init__(self, bus: MemoryBus, topic: str, also: Subscriber) -> None:
        self.bus, self.topic, self.also = bus, topic, also
        self.told = 0

    def post(self, notification: Notification) -> None:
        self.told += 1
        self.bus.unsubscribe(self.topic, self)
        self.bus.unsubscribe(self.topic, self.also)


def test_publish_reaches_the_topics_subscribers_in_subscription_order() -> None:
    bus, log = MemoryBus(), []
    first, second, other = Recorder("1", log), Recorder("2", log), Recorder("x", log)
    bus.subscribe("t", first)
    bus.subscribe("t", second)
    bus.subscribe("t", first)  # once, however often
    bus.subscribe("u", other)
    bus.publish("t", Notification("n"))
    assert log == [("1", "n"), ("2", "n")]
    assert bus.subscriber_count("t") == 2
    assert bus.subscriber_count("nobody") == 0


def test_unsubscribe_forgets_an_empty_topic_and_ignores_strangers() -> None:
    bus, log = MemoryBus(), []
    subscriber = Recorder("1", log)
    bus.unsubscribe("t", subscriber)  # never subscribed: nothing
    bus.subscribe("t", subscriber)
    bus.unsubscribe("t", subscriber)
    bus.publish("t", Notification("n"))
    assert log == []
    assert bus._topics == {}


def test_a_subscriber_leaving_while_told_does_not_break_the_round() -> None:
    bus, log = MemoryBus(), []
    later = Recorder("later", log)
    leaver = Leaver(bus, "t", later)
    bus.subscribe("t", leaver)
    bus.subscribe("t", later)
    bus.publish("t", Notification("n"))
    # The round was fixed when it started: the one unsubscribed mid-round is still told.
    assert leaver.told == 1
    assert log == [("later", "n")]
    bus.publish("t", Notification("again"))
    assert leaver.told == 1
    assert log == [("later", "n")]


class RecordingBus(MemoryBus):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, Notification]] = []

    def publish(self, topic: str, notification: Notification) -> None:
        self.published.append((topic, notification))
        super().publish(topic, notification)


def test_the_registry_publishes_its_changes_on_the_bus_it_was_given() -> None:
    bus = RecordingBus()
    server = Server("s", bus=bus)

    @server.tool
    def echo(text: str) -> str:
        return text

    @server.prompt
    def greet() -> str:
        return "hi"

    server.notify_resource_updated("file:///a")
    assert [(topic, n.method, n.params) for topic, n in bus.published] == [
        (LIST_CHANGED, "notifications/tools/list_changed", None),
        (LIST_CHANGED, "notifications/prompts/list_changed", None),
        (resource_topic("file:///a"), "notifications/resources/updated", {"uri": "file:///a"}),
    ]


def test_resource_subscriptions_are_bus_subscriptions_and_tell_the_listeners() -> None:
    server, log, counts = Server("s"), [], []
    subscriber = Recorder("s", log)
    server.on_subscription_change(lambda uri, count: counts.append((uri, count)))
    server.subscription_added("file:///a", subscriber)
    assert server.bus.subscriber_count(resource_topic("file:///a")) == 1
    assert server.notify_resource_updated("file:///a") == 1
    server.subscription_removed("file:///a", subscriber)
    assert server.notify_resource_updated("file:///a") == 0
    assert log == [("s", "notifications/resources/updated")]
    assert counts == [("file:///a", 1), ("file:///a", 0)]
