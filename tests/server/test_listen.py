"""ListenStream without sockets: what it acknowledges, filters, tags and holds."""

from __future__ import annotations

import asyncio

import pytest

from ssemcp import Server
from ssemcp.errors import InvalidParams
from ssemcp.jsonrpc import Notification, Request
from ssemcp.server.listen import ListenStream


def stream_for(server: Server, notifications: object, max_backlog: int = 8) -> ListenStream:
    return ListenStream(
        server,
        Request("sub-1", "subscriptions/listen", {"notifications": notifications}),  # type: ignore[dict-item]
        max_backlog,
    )


def test_what_the_server_does_not_offer_is_left_out_of_the_acknowledgement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offered = {"tools": {}, "resources": {"subscribe": False}}
    monkeypatch.setattr(Server, "capabilities", property(lambda server: offered))
    server = Server("s")
    stream = stream_for(server, {"toolsListChanged": True, "resourceSubscriptions": ["a://b"]})
    ack = stream.open()
    assert ack.params == {
        "_meta": {"io.modelcontextprotocol/subscriptionId": "sub-1"},
        "notifications": {},
    }
    stream.close()


async def test_a_reader_that_falls_behind_is_cut_off_and_its_stream_ends() -> None:
    server = Server("s")
    stream = stream_for(server, {"resourceSubscriptions": ["a://b"]}, max_backlog=2)
    stream.open()
    for _ in range(3):
        server.notify_resource_updated("a://b")
    assert stream.is_cut_off
    assert await asyncio.wait_for(stream.next_batch(), 1) == []
    stream.close()
    assert server.subscriber_count("a://b") == 0


async def test_a_batch_holds_everything_since_the_last_one_in_order() -> None:
    server = Server("s")
    stream = stream_for(server, {"resourceSubscriptions": ["a://1", "a://2"]})
    stream.open()
    server.notify_resource_updated("a://2")
    server.notify_resource_updated("a://1")
    batch = await asyncio.wait_for(stream.next_batch(), 1)
    assert [notification.params for notification in batch] == [
        {"uri": "a://2", "_meta": {"io.modelcontextprotocol/subscriptionId": "sub-1"}},
        {"uri": "a://1", "_meta": {"io.modelcontextprotocol/subscriptionId": "sub-1"}},
    ]
    stream.close()
    assert await asyncio.wait_for(stream.next_batch(), 1) == []


def test_nothing_is_queued_before_open_or_after_close() -> None:
    server = Server("s")
    stream = stream_for(server, {"toolsListChanged": True})
    stream.post(Notification("notifications/tools/list_changed"))
    stream.open()
    stream.close()
    stream.post(Notification("notifications/tools/list_changed"))
    assert not stream.is_cut_off


@pytest.mark.parametrize("notifications", [[], {"resourceSubscriptions": "x"}])
def test_a_malformed_filter_is_invalid_params(notifications: object) -> None:
    with pytest.raises(InvalidParams):
        stream_for(Server("s"), notifications)
