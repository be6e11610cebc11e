"""What the HN tool set does over time: subscription polling, and sampling for summaries.

Owns: subscribing to an ``hn://`` resource starts one polling task, a change upstream reaches
exactly the subscribed sessions as ``notifications/resources/updated``, and polling stops when
the last subscriber leaves or the server shuts down; ``hn_summarize_thread`` asks the client's
model and reports a client without sampling as a tool error. Polling runs at 10 ms; every wait
polls for a state with a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from harness import FakeClient
from toolset_harness import MakeTools, ToolClient

from ssemcp.jsonrpc import ErrorResponse, Request
from ssemcp.toolsets.hackernews.subscriptions import POLLER_TASK_NAME

UPDATED = "notifications/resources/updated"
STORY_PATH = "/v0/item/8863.json"
UPDATES_PATH = "/v0/updates.json"
DEADLINE_SECONDS = 5.0
SAMPLING: dict[str, Any] = {"sampling": {}}


async def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until it holds, failing after a deadline. The states polled (the
    fixture's hit counters, posted notifications) change on other threads and tasks with no
    event to wait on."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    assert predicate(), what


def pollers() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name() == POLLER_TASK_NAME and not task.done()
    ]


def updated_uris(client: FakeClient) -> list[str]:
    return [str((message.params or {})["uri"]) for message in client.notifications(UPDATED)]


async def subscribe(client: FakeClient, uri: str) -> None:
    assert await client.result("resources/subscribe", {"uri": uri}) == {}


async def unsubscribe(client: FakeClient, uri: str) -> None:
    assert await client.result("resources/unsubscribe", {"uri": uri}) == {}


async def polls_after(hn: ToolClient, path: str, rounds: int = 3) -> None:
    """Wait until ``path`` was fetched ``rounds`` more times (whole poll rounds passed)."""
    target = hn.upstream.hits_for(path) + rounds
    await wait_until(lambda: hn.upstream.hits_for(path) >= target, f"{rounds} polls of {path}")


# ---------------------------------------------------------------------- subscriptions


async def test_subscribing_starts_one_poller_and_unsubscribing_stops_it(hn: ToolClient) -> None:
    assert pollers() == []
    await subscribe(hn.client, "hn://item/8863")
    await subscribe(hn.client, "hn://user/dhouston")
    assert len(pollers()) == 1
    await polls_after(hn, UPDATES_PATH)
    await unsubscribe(hn.client, "hn://item/8863")
    assert len(pollers()) == 1  # the user is still watched
    await unsubscribe(hn.client, "hn://user/dhouston")
    await wait_until(lambda: not pollers(), "the poller to stop")
    stopped_at = hn.upstream.hits_for(UPDATES_PATH)
    await asyncio.sleep(0.1)  # ten poll intervals: nobody may fetch any more
    assert hn.upstream.hits_for(UPDATES_PATH) == stopped_at


async def test_changed_item_named_in_updates_notifies_its_subscriber(hn: ToolClient) -> None:
    await subscribe(hn.client, "hn://item/8863")
    await wait_until(lambda: hn.upstream.hits_for(STORY_PATH) >= 1, "the baseline fetch")
    await polls_after(hn, UPDATES_PATH, rounds=2)
    assert updated_uris(hn.client) == []  # nothing changed yet: no notification
    hn.upstream.set(STORY_PATH, hn.upstream.get(STORY_PATH) | {"score": 112})
    await wait_until(lambda: bool(updated_uris(hn.client)), "a notification")
    await polls_after(hn, UPDATES_PATH, rounds=2)
    assert updated_uris(hn.client) == ["hn://item/8863"]  # once, not once per poll


async def test_reading_after_a_notification_gets_the_new_content(hn: ToolClient) -> None:
    before = await hn.client.result("resources/read", {"uri": "hn://item/8863"})
    await subscribe(hn.client, "hn://item/8863")
    await polls_after(hn, UPDATES_PATH, rounds=1)
    hn.upstream.set(STORY_PATH, hn.upstream.get(STORY_PATH) | {"score": 500})
    await wait_until(lambda: bool(updated_uris(hn.client)), "a notification")
    after = await hn.client.result("resources/read", {"uri": "hn://item/8863"})
    assert '"score":111' in str(before)
    assert '"score":500' in str(after)  # the cache was refreshed, though its TTL had not run out


async def test_changed_item_missing_from_updates_is_not_noticed_until_named(hn: ToolClient) -> None:
    path = "/v0/item/8005.json"
    await subscribe(hn.client, "hn://item/8005")
    await wait_until(lambda: hn.upstream.hits_for(path) >= 1, "the baseline fetch")
    hn.upstream.set(path, hn.upstream.get(path) | {"score": 6})
    await polls_after(hn, UPDATES_PATH)
    assert updated_uris(hn.client) == []
    assert hn.upstream.hits_for(path) == 1  # unnamed items are not refetched on every poll
    hn.upstream.set(UPDATES_PATH, {"items": [8005], "profiles": []})
    await wait_until(lambda: updated_uris(hn.client) == ["hn://item/8005"], "a notification")


async def test_an_item_deleted_upstream_notifies_its_subscriber(hn: ToolClient) -> None:
    await subscribe(hn.client, "hn://item/8863")
    await wait_until(lambda: hn.upstream.hits_for(STORY_PATH) >= 1, "the baseline fetch")
    hn.upstream.set(STORY_PATH, {"id": 8863, "deleted": True, "type": "story"})
    await wait_until(lambda: updated_uris(hn.client) == ["hn://item/8863"], "a notification")


async def test_changed_feed_notifies_its_subscriber(hn: ToolClient) -> None:
    path = "/v0/topstories.json"
    await subscribe(hn.client, "hn://stories/top")
    await wait_until(lambda: hn.upstream.hits_for(path) >= 1, "the baseline fetch")
    await polls_after(hn, path, rounds=2)
    assert updated_uris(hn.client) == []
    assert hn.upstream.hits_for(UPDATES_PATH) == 0  # a feed is compared, not looked up
    hn.upstream.set(path, [8004, 8863])
    await wait_until(lambda: updated_uris(hn.client) == ["hn://stories/top"], "a notification")


async def test_changed_profile_notifies_its_subscriber(hn: ToolClient) -> None:
    path = "/v0/user/dhouston.json"
    await subscribe(hn.client, "hn://user/dhouston")
    await wait_until(lambda: hn.upstream.hits_for(path) >= 1, "the baseline fetch")
    hn.upstream.set(path, hn.upstream.get(path) | {"karma": 4012})
    await wait_until(lambda: updated_uris(hn.client) == ["hn://user/dhouston"], "a notification")


async def test_notifications_reach_only_the_subscribed_session(hn: ToolClient) -> None:
    other = FakeClient(hn.server)
    await other.initialize()
    try:
        await subscribe(hn.client, "hn://item/8863")
        await subscribe(other, "hn://user/dhouston")
        assert len(pollers()) == 1  # one poller for the whole server
        await polls_after(hn, UPDATES_PATH, rounds=2)
        hn.upstream.set(STORY_PATH, hn.upstream.get(STORY_PATH) | {"score": 1})
        await wait_until(lambda: bool(updated_uris(hn.client)), "a notification")
        await polls_after(hn, UPDATES_PATH, rounds=2)
        assert updated_uris(hn.client) == ["hn://item/8863"]
        assert updated_uris(other) == []
    finally:
        other.connection.close()


async def test_a_session_ending_counts_as_leaving_and_stops_polling(hn: ToolClient) -> None:
    other = FakeClient(hn.server)
    await other.initialize()
    await subscribe(hn.client, "hn://item/8863")
    await subscribe(other, "hn://item/8863")
    other.connection.close()
    await polls_after(hn, UPDATES_PATH, rounds=1)
    assert len(pollers()) == 1  # the first session still listens
    hn.client.connection.close()
    await wait_until(lambda: not pollers(), "the poller to stop")


async def test_server_shutdown_stops_polling(hn: ToolClient) -> None:
    await subscribe(hn.client, "hn://stories/new")
    assert len(pollers()) == 1
    await hn.server.aclose()
    assert pollers() == []


async def test_polling_survives_upstream_failures(hn: ToolClient) -> None:
    await subscribe(hn.client, "hn://item/8863")
    await wait_until(lambda: hn.upstream.hits_for(STORY_PATH) >= 1, "the baseline fetch")
    hn.upstream.fail(UPDATES_PATH, "500")
    # One whole poll of three attempts; five failures would open the breaker (next test).
    await polls_after(hn, UPDATES_PATH, rounds=3)
    hn.upstream.fail(STORY_PATH, "malformed")
    hn.upstream.heal(UPDATES_PATH)
    await polls_after(hn, UPDATES_PATH, rounds=2)
    assert updated_uris(hn.client) == []  # a failed fetch is not a change
    hn.upstream.heal(STORY_PATH)
    hn.upstream.set(STORY_PATH, hn.upstream.get(STORY_PATH) | {"title": "Dropbox!"})
    await wait_until(lambda: updated_uris(hn.client) == ["hn://item/8863"], "a notification")
    assert len(pollers()) == 1


async def test_polling_sends_nothing_while_the_breaker_is_open(make_hn: MakeTools) -> None:
    hn = await make_hn(breaker_failures=2, breaker_cooldown_seconds=30)
    await subscribe(hn.client, "hn://item/8863")
    await wait_until(lambda: hn.upstream.hits_for(STORY_PATH) >= 1, "the baseline fetch")
    hn.upstream.fail(UPDATES_PATH, "500")
    await polls_after(hn, UPDATES_PATH, rounds=2)  # the breaker opens
    refused_from = hn.upstream.hits_for(UPDATES_PATH)
    await asyncio.sleep(0.1)  # ten poll intervals, all refused without a request
    assert hn.upstream.hits_for(UPDATES_PATH) == refused_from
    hn.upstream.heal(UPDATES_PATH)
    hn.clock.advance(30)  # the cool-down is over: the next poll is the probe
    await polls_after(hn, UPDATES_PATH, rounds=2)
    assert len(pollers()) == 1


async def test_subscribing_to_an_unknown_resource_is_refused_without_polling(
    hn: ToolClient,
) -> None:
    error = await hn.client.error("resources/subscribe", {"uri": "hn://nothing/1"})
    assert error["code"] == -32002
    assert pollers() == []


@pytest.mark.parametrize("uri", ["hn://item/0", "hn://item/-1"])
async def test_subscribing_to_an_item_id_below_one_never_polls(hn: ToolClient, uri: str) -> None:
    await hn.client.request("resources/subscribe", {"uri": uri})
    assert pollers() == []
    assert hn.upstream.total_hits() == 0


# ---------------------------------------------------------------------- sampling


async def test_summarize_without_sampling_is_an_error_and_fetches_nothing(hn: ToolClient) -> None:
    text = await hn.failed("hn_summarize_thread", {"id": 8863})
    assert text.startswith("This client does not support sampling")
    assert "hn_thread" in text
    assert hn.upstream.total_hits() == 0


async def start_summary(hn: ToolClient, item_id: int = 8863) -> tuple[asyncio.Task[Any], Request]:
    call = asyncio.create_task(hn.call("hn_summarize_thread", {"id": item_id}))
    request = await hn.client.next_sent(DEADLINE_SECONDS)
    assert isinstance(request, Request), request
    assert request.method == "sampling/createMessage"
    return call, request


async def test_summarize_asks_the_clients_model_with_the_thread_and_returns_its_summary(
    make_hn: MakeTools,
) -> None:
    hn = await make_hn(capabilities=SAMPLING)
    call, request = await start_summary(hn)
    params = request.params or {}
    assert params["maxTokens"] == 1000
    assert params["includeContext"] == "none"
    prompt = params["messages"][0]["content"]["text"]  # type: ignore[index, call-overload]
    assert prompt.startswith("Summarize this Hacker News discussion")
    # The thread as hn_thread's text renders it: an indented tree, text under each author.
    assert "# My YC app: Dropbox - Throw away your USB drive" in prompt
    assert "\n- BrandonM, " in prompt
    assert "(id 9224)\n  I have a few qualms with this app:" in prompt
    assert "\n    - BrandonM, " in prompt  # depth 3, indented
    assert "(id 9500)\n      Fair enough & good luck." in prompt
    assert "flagged" not in prompt  # the dead comment stays out
    await hn.client.answer(
        request.id,
        {
            "role": "assistant",
            "content": {"type": "text", "text": " Commenters doubt the market. "},
            "model": "fake-model-1",
            "stopReason": "endTurn",
        },
    )
    result = await call
    assert not result.get("isError")
    assert result["structuredContent"] == {
        "id": 8863,
        "title": "My YC app: Dropbox - Throw away your USB drive",
        "summary": "Commenters doubt the market.",
        "model": "fake-model-1",
        "comments_read": 6,
    }
    assert result["content"] == [
        {
            "type": "text",
            "text": "# Summary of “My YC app: Dropbox - Throw away your USB drive”\n"
            "\n"
            "Commenters doubt the market.\n"
            "\n"
            "*Written by fake-model-1 from 6 comments of item 8863.*",
        }
    ]


async def test_summarize_reports_a_model_error_as_a_tool_error(make_hn: MakeTools) -> None:
    hn = await make_hn(capabilities=SAMPLING)
    call, request = await start_summary(hn)
    reply = ErrorResponse(request.id, {"code": -1, "message": "User rejected sampling request"})
    assert await hn.client.connection.receive(reply) is None
    result = await call
    assert result["isError"] is True
    text = result["content"][0]["text"]  # type: ignore[index, call-overload]
    assert text == (
        "The client's model did not produce a summary: User rejected sampling request (code -1)"
    )


async def test_summarize_reports_an_answer_without_text_as_a_tool_error(make_hn: MakeTools) -> None:
    hn = await make_hn(capabilities=SAMPLING)
    call, request = await start_summary(hn)
    await hn.client.answer(
        request.id,
        {
            "role": "assistant",
            "content": {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            "model": "m",
        },
    )
    result = await call
    assert result["isError"] is True
    assert "without any text" in result["content"][0]["text"]  # type: ignore[index, call-overload]


@pytest.mark.parametrize(("item_id", "word"), [(8000, "deleted"), (4242, "does not exist")])
async def test_summarize_of_an_unavailable_item_fails_before_asking_the_model(
    make_hn: MakeTools, item_id: int, word: str
) -> None:
    hn = await make_hn(capabilities=SAMPLING)
    text = await hn.failed("hn_summarize_thread", {"id": item_id})
    assert word in text
    assert hn.client.sent == []


async def test_summarize_of_an_item_without_comments_fails_without_asking_the_model(
    make_hn: MakeTools,
) -> None:
    hn = await make_hn(capabilities=SAMPLING)
    async with asyncio.timeout(DEADLINE_SECONDS):  # a sampling request would go unanswered
        text = await hn.failed("hn_summarize_thread", {"id": 121003})
    assert text == (
        "Item 121003 has no comments to summarize (deleted and dead ones are left out); "
        "use hn_item to read the item itself."
    )
    assert hn.client.sent == []
