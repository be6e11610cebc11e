"""ListenStream without sockets: what it acknowledges, filters, tags and holds."""

from __future__ import annotations

import pytest

from ssemcp import Server
from ssemcp.errors import InvalidParams
from ssemcp.jsonrpc import Notification, Request
from ssemcp.server.listen import ListenStream


def stream_for(server: Server, notifications: object) -> ListenStream:
    return ListenStream(
        server,
        Request("sub-1", "subscriptions/listen", {"notifications": notifications}),  # type: ignore[dict-item]
    )


def test_what_the_server_does_not_offer_is_left_out_of_the_acknowledgement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offered = {"tools": {}, "resources": {"subscribe": False}}
    monkeypatch.setattr(Server, "capabilities", property(lambda server: offered))
    server = Server("s")
    stream = stream_for(server, {"toolsListChanged": True, "resourceSubscriptions": ["a://b"]})
    ack = stream.open(print)
    assert ack.params == {
        "_meta": {"io.modelcontextprotocol/subscriptionId": "sub-1"},
        "notifications": {},
    }
    stream.close()


def test_what_it_asked_for_is_delivered_in_order_tagged_and_nothing_else() -> None:
    server = Server("s")
    delivered: list[Notification] = []
    stream = stream_for(server, {"resourceSubscriptions": ["a://1", "a://2"]})
    stream.open(delivered.append)
    server.notify_resource_updated("a://2")
    server.notify_resource_updated("a://3")  # not asked for
    server.notify_resource_updated("a://1")
    stream.post(Notification("notifications/tools/list_changed"))  # not asked for
    assert [notification.params for notification in delivered] == [
        {"uri": "a://2", "_meta": {"io.modelcontextprotocol/subscriptionId": "sub-1"}},
        {"uri": "a://1", "_meta": {"io.modelcontextprotocol/subscriptionId": "sub-1"}},
    ]
    stream.close()
    assert server.subscriber_count("a://1") == 0


def test_a_notifications_own_meta_is_kept_beside_the_tag() -> None:
    server = Server("s")
    delivered: list[Notification] = []
    stream = stream_for(server, {"resourceSubscriptions": ["a://1"]})
    stream.open(delivered.append)
    stream.post(
        Notification("notifications/resources/updated", {"uri": "a://1", "_meta": {"k": 1}})
    )
    assert delivered[0].params == {
        "uri": "a://1",
        "_meta": {"k": 1, "io.modelcontextprotocol/subscriptionId": "sub-1"},
    }
    stream.close()


def test_nothing_is_delivered_before_open_or_after_close() -> None:
    server = Server("s")
    delivered: list[Notification] = []
    stream = stream_for(server, {"toolsListChanged": True})
    stream.post(Notification("notifications/tools/list_changed"))
    stream.open(delivered.append)
    stream.close()
    stream.close()  # twice: nothing
    stream.post(Notification("notifications/tools/list_changed"))

    @server.tool
    def added() -> str:
        return "x"

    assert delivered == []


@pytest.mark.parametrize("notifications", [[], {"resourceSubscriptions": "x"}])
def test_a_malformed_filter_is_invalid_params(notifications: object) -> None:
    with pytest.raises(InvalidParams):
        stream_for(Server("s"), notifications)
