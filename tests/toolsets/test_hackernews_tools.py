"""The Hacker News tool set through an in-memory MCP client, against the fixture upstream.

Owns what a client sees of every tool, resource, template, completion and prompt, good paths
and bad: upstream failures become ``isError`` results (tools) or JSON-RPC errors (resources,
prompts), never crashes. Every successful call is checked to carry one text block, the
Markdown its renderer makes of the structured content (the renderers' exact output is
``test_hackernews_render.py``'s). Upstream traffic is checked by counting the fixture's hits.
Subscriptions and sampling are ``test_hackernews_live.py``'s; the real transport is
``test_hackernews_stdio.py``'s.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from typing import Any

import pytest
from toolset_harness import WALL_CLOCK_NOW, MakeTools, ToolClient

from ssemcp._types import JSONObject
from ssemcp.toolsets.hackernews import HackerNewsSettings
from ssemcp.toolsets.hackernews.api import search_params

TOOLS = ("hn_stories", "hn_item", "hn_thread", "hn_user", "hn_search", "hn_summarize_thread")
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_NOT_FOUND = -32002
STORY = 8863
STORY_PATH = "/v0/item/8863.json"
ALGOLIA_THREAD_PATH = "/api/v1/items/8863"


def ids(entries: Any) -> list[int]:
    return [entry["id"] for entry in entries]


# ---------------------------------------------------------------------- definitions


async def test_every_tool_is_listed_read_only_and_open_world_with_an_output_schema(
    hn: ToolClient,
) -> None:
    listing = await hn.client.result("tools/list")
    tools = {tool["name"]: tool for tool in listing["tools"]}  # type: ignore[union-attr, index]
    assert sorted(tools) == sorted(TOOLS)
    for tool in tools.values():
        assert tool["title"]
        assert len(tool["description"]) > 40
        assert tool["annotations"]["readOnlyHint"] is True
        assert tool["annotations"]["openWorldHint"] is True
        assert tool["annotations"]["destructiveHint"] is False
        assert tool["outputSchema"]["type"] == "object"
        assert tool["inputSchema"]["type"] == "object"


async def test_tool_input_schemas_state_their_bounds_and_choices(hn: ToolClient) -> None:
    listing = await hn.client.result("tools/list")
    schemas = {
        tool["name"]: tool["inputSchema"]["properties"]  # type: ignore[index]
        for tool in listing["tools"]  # type: ignore[union-attr]
    }
    stories = schemas["hn_stories"]
    assert stories["feed"]["enum"] == ["top", "new", "best", "ask", "show", "job"]
    assert stories["feed"]["default"] == "top"
    assert (stories["limit"]["minimum"], stories["limit"]["maximum"]) == (1, 100)
    assert stories["limit"]["default"] == 30
    assert stories["offset"]["minimum"] == 0
    assert schemas["hn_item"]["id"]["minimum"] == 1
    thread = schemas["hn_thread"]
    assert (thread["depth"]["minimum"], thread["depth"]["maximum"], thread["depth"]["default"]) == (
        0,
        10,
        3,
    )
    assert (thread["max_comments"]["minimum"], thread["max_comments"]["maximum"]) == (1, 500)
    assert thread["max_comments"]["default"] == 100
    user = schemas["hn_user"]
    assert (user["submissions"]["minimum"], user["submissions"]["maximum"]) == (0, 50)
    assert "pattern" in user["username"]
    search = schemas["hn_search"]
    assert set(search) == {
        "query",
        "type",
        "author",
        "since",
        "until",
        "min_points",
        "min_comments",
        "sort",
        "page",
        "hits_per_page",
    }
    assert search["sort"]["enum"] == ["relevance", "date"]
    assert search["type"]["anyOf"][0]["enum"] == [
        "story",
        "comment",
        "ask_hn",
        "show_hn",
        "poll",
        "front_page",
    ]
    page = search["page"]
    assert (page["minimum"], page["maximum"], page["default"]) == (1, 1000, 1)
    assert (search["hits_per_page"]["minimum"], search["hits_per_page"]["maximum"]) == (1, 100)
    for name, schema in schemas.items():
        for parameter, described in schema.items():
            assert described.get("description"), f"{name}.{parameter} is undocumented"


async def test_resource_templates_and_prompts_are_listed(hn: ToolClient) -> None:
    templates = await hn.client.result("resources/templates/list")
    listed = {
        template["uriTemplate"]: template  # type: ignore[index]
        for template in templates["resourceTemplates"]  # type: ignore[union-attr]
    }
    assert set(listed) == {
        "hn://stories/{feed}",
        "hn://item/{id}",
        "hn://user/{username}",
        "hn://thread/{id}",
    }
    assert all(template["mimeType"] == "application/json" for template in listed.values())
    prompts = await hn.client.result("prompts/list")
    by_name = {prompt["name"]: prompt for prompt in prompts["prompts"]}  # type: ignore[union-attr, index]
    assert set(by_name) == {"hn_front_page_digest", "hn_discussion_summary"}
    assert by_name["hn_front_page_digest"]["arguments"] == [
        {
            "name": "count",
            "description": "how many top stories to include, 1 to 30.",
            "required": False,
        }
    ]
    assert by_name["hn_discussion_summary"]["arguments"][0]["required"] is True  # type: ignore[index]


async def test_registering_makes_no_upstream_request(hn: ToolClient) -> None:
    assert hn.upstream.total_hits() == 0


# ---------------------------------------------------------------------- hn_stories


async def test_stories_come_in_feed_order_without_deleted_or_dead_ones(hn: ToolClient) -> None:
    page = await hn.ok("hn_stories", {})
    assert page["feed"] == "top"
    assert page["total"] == 7
    assert ids(page["stories"]) == [8863, 8004, 121003, 8005, 126809]
    assert page["unavailable"] == [8000, 8001]
    first = page["stories"][0]
    assert first["title"] == "My YC app: Dropbox - Throw away your USB drive"
    assert first["url"] == "http://www.getdropbox.com/u/2/screencast.html"
    assert first["score"] == 111
    assert first["by"] == "dhouston"
    assert first["descendants"] == 8
    assert first["time"] == "2007-04-04T19:16:40Z"
    assert first["hn_url"] == "https://news.ycombinator.com/item?id=8863"
    assert hn.upstream.hits_for("/v0/topstories.json") == 1


async def test_stories_page_with_limit_and_offset(hn: ToolClient) -> None:
    page = await hn.ok("hn_stories", {"feed": "new", "limit": 2, "offset": 1})
    assert ids(page["stories"]) == [8004, 8863]
    assert page["offset"] == 1
    assert hn.upstream.hits_for("/v0/item/8005.json") == 0


async def test_stories_offset_past_the_end_gives_an_empty_page(hn: ToolClient) -> None:
    page = await hn.ok("hn_stories", {"offset": 50})
    assert page["stories"] == []
    assert page["total"] == 7


@pytest.mark.parametrize(
    ("feed", "path"),
    [
        ("top", "topstories"),
        ("new", "newstories"),
        ("best", "beststories"),
        ("ask", "askstories"),
        ("show", "showstories"),
        ("job", "jobstories"),
    ],
)
async def test_each_feed_reads_its_firebase_list(hn: ToolClient, feed: str, path: str) -> None:
    await hn.ok("hn_stories", {"feed": feed, "limit": 1})
    assert hn.upstream.hits_for(f"/v0/{path}.json") == 1


async def test_stories_fetch_items_concurrently_within_the_bound(make_hn: MakeTools) -> None:
    hn = await make_hn(max_concurrency=2)
    hn.upstream.delay("/v0/item/", 0.05)
    await hn.ok("hn_stories", {})
    assert hn.upstream.max_in_flight == 2


async def test_stories_feed_is_cached_for_its_ttl(make_hn: MakeTools) -> None:
    hn = await make_hn(stories_ttl_seconds=30)
    await hn.ok("hn_stories", {"limit": 2})
    await hn.ok("hn_stories", {"limit": 2})
    assert hn.upstream.hits_for("/v0/topstories.json") == 1
    assert hn.upstream.hits_for(STORY_PATH) == 1
    hn.clock.now += 30
    await hn.ok("hn_stories", {"limit": 2})
    assert hn.upstream.hits_for("/v0/topstories.json") == 2
    assert hn.upstream.hits_for(STORY_PATH) == 1  # items live 5 minutes


async def test_stories_feed_500_once_is_retried_and_succeeds(hn: ToolClient) -> None:
    hn.upstream.fail("/v0/topstories.json", "500", times=1)
    page = await hn.ok("hn_stories", {"limit": 1})
    assert ids(page["stories"]) == [8863]
    assert hn.upstream.hits_for("/v0/topstories.json") == 2


async def test_stories_feed_500_every_time_is_an_error_after_the_bounded_attempts(
    make_hn: MakeTools,
) -> None:
    hn = await make_hn(max_attempts=3)
    hn.upstream.fail("/v0/topstories.json", "500")
    text = await hn.failed("hn_stories", {})
    assert text == "The Hacker News API answered HTTP 500 (after 3 attempts); try again later."
    assert hn.upstream.hits_for("/v0/topstories.json") == 3


async def test_a_failing_story_is_listed_as_unavailable_and_the_rest_are_shown(
    hn: ToolClient,
) -> None:
    hn.upstream.fail("/v0/item/8004.json", "500")
    page = await hn.ok("hn_stories", {"limit": 3})
    assert ids(page["stories"]) == [8863, 121003]
    assert page["unavailable"] == [8004]


async def test_stories_page_where_every_story_fails_is_an_error(hn: ToolClient) -> None:
    hn.upstream.fail("/v0/item/8004.json", "malformed")
    text = await hn.failed("hn_stories", {"feed": "show"})
    assert "malformed JSON" in text


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"feed": "hot"}, "feed"),
        ({"feed": "top", "extra": 1}, "extra"),
    ],
)
async def test_stories_with_bad_arguments_is_an_error_naming_the_argument(
    hn: ToolClient, arguments: JSONObject, complaint: str
) -> None:
    text = await hn.failed("hn_stories", arguments)
    assert complaint in text
    assert hn.upstream.total_hits() == 0


# ---------------------------------------------------------------------- hn_item


async def test_item_story(hn: ToolClient) -> None:
    item = await hn.ok("hn_item", {"id": STORY})
    assert item["type"] == "story"
    assert item["reply_ids"] == [9224, 8917, 8952, 8884]
    assert item["text"] is None
    assert item["poll_options"] is None


async def test_item_comment_text_is_readable(hn: ToolClient) -> None:
    item = await hn.ok("hn_item", {"id": 9224})
    assert item["type"] == "comment"
    assert item["parent"] == STORY
    assert item["text"].startswith("I have a few qualms with this app:\n\n1. For a Linux user")
    assert item["text"].endswith(
        "See [the Wikipedia article](http://en.wikipedia.org/wiki/USB_flash_drive)."
    )


async def test_item_job(hn: ToolClient) -> None:
    item = await hn.ok("hn_item", {"id": 192327})
    assert item["type"] == "job"
    assert item["title"] == "Justin.tv is looking for a Lead Flash Engineer!"
    assert item["url"] is None  # HN sends "" for a job without a link
    assert "We're looking for a Lead Flash Engineer." in item["text"]


async def test_item_poll_comes_with_its_options_and_votes(hn: ToolClient) -> None:
    item = await hn.ok("hn_item", {"id": 126809})
    assert item["type"] == "poll"
    assert item["poll_options"] == [
        {
            "id": 126810,
            "text": "Yes, ban them; I'm tired of seeing Valleywag stories on News.YC.",
            "score": 335,
        },
        {"id": 126811, "text": "No, they're occasionally useful.", "score": 163},
    ]


async def test_item_poll_option(hn: ToolClient) -> None:
    item = await hn.ok("hn_item", {"id": 126811})
    assert item["type"] == "pollopt"
    assert item["poll"] == 126809
    assert item["score"] == 163


async def test_concurrent_calls_for_one_item_send_one_upstream_request(hn: ToolClient) -> None:
    hn.upstream.hold(STORY_PATH)  # the first request stays in flight while the others come
    calls = [asyncio.create_task(hn.ok("hn_item", {"id": STORY})) for _ in range(5)]
    async with asyncio.timeout(5):
        while not hn.upstream.hits_for(STORY_PATH):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    hn.upstream.release(STORY_PATH)
    items = await asyncio.gather(*calls)
    assert [item["id"] for item in items] == [STORY] * 5
    assert hn.upstream.hits_for(STORY_PATH) == 1


async def test_item_is_cached_for_its_ttl(make_hn: MakeTools) -> None:
    hn = await make_hn(items_ttl_seconds=300)
    await hn.ok("hn_item", {"id": STORY})
    hn.clock.now += 299
    await hn.ok("hn_item", {"id": STORY})
    assert hn.upstream.hits_for(STORY_PATH) == 1
    hn.clock.now += 1
    await hn.ok("hn_item", {"id": STORY})
    assert hn.upstream.hits_for(STORY_PATH) == 2


@pytest.mark.parametrize(
    ("item_id", "message"),
    [
        (8000, "Item 8000 was deleted; it has no content to show."),
        (8001, "Item 8001 is dead (flagged or removed by moderators) and is not shown."),
        (4242, "Item 4242 does not exist on Hacker News; check the id"),
    ],
)
async def test_item_deleted_dead_or_missing_is_an_error_saying_so(
    hn: ToolClient, item_id: int, message: str
) -> None:
    assert (await hn.failed("hn_item", {"id": item_id})).startswith(message)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("500", "The Hacker News API answered HTTP 500 (after 3 attempts); try again later."),
        ("404", "The Hacker News API has nothing at item/8863.json."),
        ("malformed", "The Hacker News API sent malformed JSON for item/8863.json"),
        ("null", "Item 8863 does not exist on Hacker News"),
    ],
)
async def test_item_upstream_failure_is_an_error_a_model_can_act_on(
    hn: ToolClient, fault: Any, message: str
) -> None:
    hn.upstream.fail(STORY_PATH, fault)
    assert (await hn.failed("hn_item", {"id": STORY})).startswith(message)


async def test_item_slow_upstream_times_out_into_an_error(make_hn: MakeTools) -> None:
    hn = await make_hn(timeout_seconds=0.1, max_attempts=2)
    hn.upstream.fail(STORY_PATH, "slow", delay_seconds=2)
    text = await hn.failed("hn_item", {"id": STORY})
    assert text == "The Hacker News API timed out after 0.1 s (after 2 attempts); try again later."
    assert hn.upstream.hits_for(STORY_PATH) == 2


async def test_a_hung_api_costs_a_call_no_more_than_its_time_limit(make_hn: MakeTools) -> None:
    hn = await make_hn(timeout_seconds=10, max_attempts=3, call_deadline_seconds=0.3)
    hn.upstream.fail(STORY_PATH, "slow", delay_seconds=10)
    started = time.monotonic()
    text = await hn.failed("hn_item", {"id": STORY})
    assert time.monotonic() - started < 5  # not 3 attempts of 10 s
    assert text == (
        "The Hacker News API timed out after 0.3 s (after 1 attempt; this call's 0.3 s time "
        "limit leaves no time for another); try again later."
    )
    assert hn.upstream.hits_for(STORY_PATH) == 1


async def test_resource_reads_and_prompts_have_the_time_limit_too(make_hn: MakeTools) -> None:
    hn = await make_hn(timeout_seconds=10, call_deadline_seconds=0.2)
    hn.upstream.fail("/v0/topstories.json", "slow", delay_seconds=10)
    error = await hn.client.error("resources/read", {"uri": "hn://stories/top"})
    assert "0.2 s time limit" in str(error["message"])
    error = await hn.client.error("prompts/get", {"name": "hn_front_page_digest"})
    assert "0.2 s time limit" in str(error["message"])


async def test_a_hung_api_is_left_alone_once_its_breaker_opens(make_hn: MakeTools) -> None:
    hn = await make_hn(
        timeout_seconds=0.1, max_attempts=1, breaker_failures=2, breaker_cooldown_seconds=30
    )
    hn.upstream.fail(STORY_PATH, "slow", delay_seconds=5)
    for _ in range(2):
        assert "timed out after 0.1 s" in await hn.failed("hn_item", {"id": STORY})
    hn.clock.advance(5)
    assert await hn.failed("hn_item", {"id": STORY}) == (
        "The Hacker News API is unavailable: its last 2 requests failed (the last timed out "
        "after 0.1 s). It will be tried again in 25 s; until then calls that need it fail at "
        "once."
    )
    assert "is unavailable" in await hn.failed("hn_user", {"username": "pg"})
    assert hn.upstream.hits_for(STORY_PATH) == 2
    assert hn.upstream.hits_for("/v0/user/pg.json") == 0
    hn.upstream.heal(STORY_PATH)
    hn.clock.advance(25)  # the cool-down is over: the next request is the probe
    assert (await hn.ok("hn_item", {"id": STORY}))["id"] == STORY
    await hn.ok("hn_user", {"username": "dhouston"})


async def test_each_api_has_its_own_breaker(make_hn: MakeTools) -> None:
    hn = await make_hn(max_attempts=1, breaker_failures=1)
    hn.upstream.fail("/api/v1/search", "500")
    assert "answered HTTP 500" in await hn.failed("hn_search", {"query": "x"})
    assert "is unavailable" in await hn.failed("hn_search", {"query": "y"})
    await hn.ok("hn_item", {"id": STORY})  # Firebase is another host, still trusted
    # With Algolia's breaker open the thread walks Firebase without asking Algolia first.
    thread = await hn.ok("hn_thread", {"id": STORY})
    assert thread["source"] == "firebase"
    assert hn.upstream.hits_for(ALGOLIA_THREAD_PATH) == 0


async def test_item_of_an_unexpected_shape_is_an_error(hn: ToolClient) -> None:
    hn.upstream.set(STORY_PATH, [1, 2, 3])
    assert "unexpected answer for item 8863" in await hn.failed("hn_item", {"id": STORY})
    hn.upstream.set(STORY_PATH, {"id": STORY, "type": "spaceship"})
    hn.clock.now += 1000
    assert "unknown shape" in await hn.failed("hn_item", {"id": STORY})


@pytest.mark.parametrize("arguments", [{"id": 0}, {"id": -5}, {"id": "abc"}, {}])
async def test_item_with_a_bad_id_is_an_error(hn: ToolClient, arguments: JSONObject) -> None:
    assert "Invalid arguments for tool 'hn_item'" in await hn.failed("hn_item", arguments)
    assert hn.upstream.total_hits() == 0


# ---------------------------------------------------------------------- hn_thread

# The fixture thread of 8863 (ranked kids: 9224, 8917 dead, 8952, 8884):
#   9224 BrandonM
#     9272 dhouston
#       9500 BrandonM
#         9600 dhouston           (depth 4)
#     9479 deleted
#       9480 aston                (depth 3, its parent is gone)
#   8952 jganetsk (code block)
#   8884 jsomers
READING_ORDER_DEPTH_3 = [9224, 9272, 9500, 9480, 8952, 8884]


def shape(comments: Any) -> list[tuple[int, int, int]]:
    return [(comment["id"], comment["depth"], comment["parent"]) for comment in comments]


async def test_thread_from_algolia_keeps_ranked_order_and_drops_deleted_and_dead(
    hn: ToolClient,
) -> None:
    thread = await hn.ok("hn_thread", {"id": STORY})
    assert thread["source"] == "algolia"
    assert thread["item"]["id"] == STORY
    assert shape(thread["comments"]) == [
        (9224, 1, STORY),
        (9272, 2, 9224),
        (9500, 3, 9272),
        (9480, 3, 9479),
        (8952, 1, STORY),
        (8884, 1, STORY),
    ]
    assert thread["truncated"] is True  # 9600 lies at depth 4
    assert hn.upstream.hits_for(ALGOLIA_THREAD_PATH) == 1
    # One Algolia request replaces the walk. Algolia lists 9224's replies as 9479, 9272 (the
    # fixture swaps them on purpose); HN ranks them 9272, 9479, so the one shown comment with
    # two replies costs one Firebase request for its kids, and 9272 (one reply) none.
    assert hn.upstream.hits_for("/v0/item/9224.json") == 1
    assert hn.upstream.hits_for("/v0/item/9272.json") == 0


async def test_thread_comment_text_is_readable(hn: ToolClient) -> None:
    thread = await hn.ok("hn_thread", {"id": STORY})
    by_id = {comment["id"]: comment for comment in thread["comments"]}
    assert by_id[8952]["text"] == (
        "The sync loop is roughly:\n\n```\n  while True:\n      if changed(path):\n"
        "          upload(path)  # a < b && c\n```\n\nNeat."
    )
    assert by_id[8884]["text"] == "This is *really* nice. The video is great."
    assert by_id[9224]["reply_count"] == 1  # 9272; 9479 was deleted
    assert by_id[9224]["by"] == "BrandonM"
    assert by_id[9224]["time"] == "2007-04-04T22:54:46Z"


async def test_thread_depth_bounds_the_levels(hn: ToolClient) -> None:
    deep = await hn.ok("hn_thread", {"id": STORY, "depth": 10})
    assert [comment["id"] for comment in deep["comments"]] == [
        9224,
        9272,
        9500,
        9600,
        9480,
        8952,
        8884,
    ]
    assert deep["truncated"] is False
    top_level = await hn.ok("hn_thread", {"id": STORY, "depth": 1})
    assert shape(top_level["comments"]) == [(9224, 1, STORY), (8952, 1, STORY), (8884, 1, STORY)]
    assert top_level["truncated"] is True


async def test_thread_depth_zero_is_the_item_alone(hn: ToolClient) -> None:
    thread = await hn.ok("hn_thread", {"id": STORY, "depth": 0})
    assert thread["comments"] == []
    assert thread["truncated"] is True
    assert hn.upstream.hits_for(ALGOLIA_THREAD_PATH) == 0


async def test_thread_max_comments_prefers_higher_levels(hn: ToolClient) -> None:
    thread = await hn.ok("hn_thread", {"id": STORY, "max_comments": 4})
    assert [comment["id"] for comment in thread["comments"]] == [9224, 9272, 8952, 8884]
    assert thread["truncated"] is True


async def test_thread_of_an_item_without_replies_needs_no_algolia(hn: ToolClient) -> None:
    thread = await hn.ok("hn_thread", {"id": 121003})
    assert thread["comments"] == []
    assert thread["truncated"] is False
    assert hn.upstream.total_hits() == 1


@pytest.mark.parametrize("fault", ["500", "404", "malformed", "null"])
async def test_thread_falls_back_to_walking_firebase_when_algolia_fails(
    hn: ToolClient, fault: Any
) -> None:
    algolia = await hn.ok("hn_thread", {"id": STORY, "depth": 10})
    hn.upstream.fail(ALGOLIA_THREAD_PATH, fault)
    hn.clock.now += 10_000  # past every cache lifetime
    firebase = await hn.ok("hn_thread", {"id": STORY, "depth": 10})
    assert firebase["source"] == "firebase"
    # Both paths give HN's ranked order, though Algolia lists 9224's replies otherwise.
    assert firebase["comments"] == algolia["comments"]
    assert firebase["truncated"] is False
    # Once to rank 9224's replies on the Algolia path, once walking it after the cache expired.
    assert hn.upstream.hits_for("/v0/item/9224.json") == 2


def give_8884_a_live_a_deleted_and_a_dead_reply(hn: ToolClient) -> None:
    """As the APIs would show it: Firebase lists all three kids; Algolia keeps the deleted
    reply as an empty node and leaves the dead one out."""
    hn.upstream.set(
        "/v0/item/8884.json", hn.upstream.get("/v0/item/8884.json") | {"kids": [9701, 9702, 9703]}
    )
    base = {"parent": 8884, "time": 1175716000, "type": "comment"}
    hn.upstream.set("/v0/item/9701.json", base | {"id": 9701, "by": "pat", "text": "Agreed."})
    hn.upstream.set("/v0/item/9702.json", base | {"id": 9702, "deleted": True})
    hn.upstream.set(
        "/v0/item/9703.json", base | {"id": 9703, "by": "spamco", "dead": True, "text": "spam"}
    )
    tree = hn.upstream.get(ALGOLIA_THREAD_PATH)
    (node,) = [child for child in tree["children"] if child["id"] == 8884]
    empty = {"children": [], "created_at_i": 1175716000, "parent_id": 8884, "type": "comment"}
    node["children"] = [
        empty | {"id": 9701, "author": "pat", "text": "Agreed."},
        empty | {"id": 9702, "author": None, "text": None},
    ]
    hn.upstream.set(ALGOLIA_THREAD_PATH, tree)


@pytest.mark.parametrize("depth", [1, 2])
async def test_thread_reply_count_is_the_live_replies_on_both_paths(
    hn: ToolClient, depth: int
) -> None:
    give_8884_a_live_a_deleted_and_a_dead_reply(hn)
    algolia = await hn.ok("hn_thread", {"id": STORY, "depth": depth})
    hn.upstream.fail(ALGOLIA_THREAD_PATH, "500")
    hn.clock.now += 10_000  # past every cache lifetime
    firebase = await hn.ok("hn_thread", {"id": STORY, "depth": depth})
    assert (algolia["source"], firebase["source"]) == ("algolia", "firebase")
    counts = [{c["id"]: c["reply_count"] for c in t["comments"]} for t in (algolia, firebase)]
    assert counts[0] == counts[1]
    assert counts[0][8884] == 1
    assert counts[0][9224] == 1  # 9272; 9479 was deleted
    assert firebase["comments"] == algolia["comments"]


async def test_thread_firebase_walk_respects_depth_and_max_comments(hn: ToolClient) -> None:
    hn.upstream.fail(ALGOLIA_THREAD_PATH, "500")
    thread = await hn.ok("hn_thread", {"id": STORY})
    assert [comment["id"] for comment in thread["comments"]] == READING_ORDER_DEPTH_3
    assert thread["truncated"] is True
    # Below the depth: not shown, read once only to count 9500's live replies.
    assert hn.upstream.hits_for("/v0/item/9600.json") == 1
    assert {comment["id"]: comment["reply_count"] for comment in thread["comments"]} == {
        9224: 1,
        9272: 1,
        9500: 1,
        9480: 0,
        8952: 0,
        8884: 0,
    }
    small = await hn.ok("hn_thread", {"id": STORY, "max_comments": 2})
    assert [comment["id"] for comment in small["comments"]] == [9224, 8952]
    assert small["truncated"] is True


async def test_thread_gives_a_hung_algolia_a_short_try_then_walks_firebase(
    make_hn: MakeTools,
) -> None:
    hn = await make_hn(timeout_seconds=10, algolia_thread_seconds=0.2)
    hn.upstream.fail(ALGOLIA_THREAD_PATH, "slow", delay_seconds=10)
    started = time.monotonic()
    thread = await hn.ok("hn_thread", {"id": STORY})
    assert time.monotonic() - started < 5  # not the 10 s timeout, let alone its retries
    assert thread["source"] == "firebase"
    assert [comment["id"] for comment in thread["comments"]] == READING_ORDER_DEPTH_3
    assert hn.upstream.hits_for(ALGOLIA_THREAD_PATH) == 1


async def test_thread_falls_back_to_firebase_when_the_algolia_budget_is_spent(
    make_hn: MakeTools,
) -> None:
    hn = await make_hn(algolia_requests_per_hour=1)
    await hn.ok("hn_search", {"query": "dropbox"})
    thread = await hn.ok("hn_thread", {"id": STORY})
    assert thread["source"] == "firebase"
    assert hn.upstream.hits_for(ALGOLIA_THREAD_PATH) == 0


async def test_thread_of_a_comment_is_its_subtree(hn: ToolClient) -> None:
    thread = await hn.ok("hn_thread", {"id": 9224})
    assert thread["item"]["type"] == "comment"
    assert shape(thread["comments"]) == [
        (9272, 1, 9224),
        (9500, 2, 9272),
        (9600, 3, 9500),
        (9480, 2, 9479),
    ]


@pytest.mark.parametrize(("item_id", "word"), [(8000, "deleted"), (8001, "dead"), (4242, "exist")])
async def test_thread_of_a_deleted_dead_or_missing_item_is_an_error(
    hn: ToolClient, item_id: int, word: str
) -> None:
    assert word in await hn.failed("hn_thread", {"id": item_id})


@pytest.mark.parametrize(
    "arguments",
    [{"id": STORY, "depth": 11}, {"id": STORY, "depth": -1}, {"id": STORY, "max_comments": 0}],
)
async def test_thread_with_out_of_range_arguments_is_an_error(
    hn: ToolClient, arguments: JSONObject
) -> None:
    assert "Invalid arguments" in await hn.failed("hn_thread", arguments)


# ---------------------------------------------------------------------- hn_user


async def test_user_profile_without_submissions_fetches_no_items(hn: ToolClient) -> None:
    user = await hn.ok("hn_user", {"username": "dhouston"})
    assert user == {
        "id": "dhouston",
        "created": "2007-03-30T21:17:47Z",
        "karma": 4011,
        "about": "Founder/CEO of Dropbox (<http://www.dropbox.com> ; yc summer '07)",
        "submission_count": 4,
        "submissions": [],
        "hn_url": "https://news.ycombinator.com/user?id=dhouston",
    }
    assert hn.upstream.total_hits() == 1


async def test_user_submissions_are_newest_first_without_deleted_ones(hn: ToolClient) -> None:
    user = await hn.ok("hn_user", {"username": "dhouston", "submissions": 50})
    assert ids(user["submissions"]) == [9600, 9272, 8863]
    limited = await hn.ok("hn_user", {"username": "dhouston", "submissions": 1})
    assert ids(limited["submissions"]) == [9600]


async def test_unknown_user_is_an_error(hn: ToolClient) -> None:
    text = await hn.failed("hn_user", {"username": "nobody_here"})
    assert text == "There is no Hacker News user 'nobody_here' (usernames are case-sensitive)."


@pytest.mark.parametrize(
    "arguments",
    [
        {"username": "../item/1"},
        {"username": ""},
        {"username": "a" * 33},
        {"username": "dhouston", "submissions": 51},
    ],
)
async def test_user_with_bad_arguments_is_an_error_and_reaches_no_upstream(
    hn: ToolClient, arguments: JSONObject
) -> None:
    assert "Invalid arguments" in await hn.failed("hn_user", arguments)
    assert hn.upstream.total_hits() == 0


async def test_user_is_cached_for_its_ttl(make_hn: MakeTools) -> None:
    hn = await make_hn(users_ttl_seconds=600)
    await hn.ok("hn_user", {"username": "dhouston"})
    await hn.ok("hn_user", {"username": "dhouston"})
    assert hn.upstream.hits_for("/v0/user/dhouston.json") == 1
    hn.clock.now += 600
    await hn.ok("hn_user", {"username": "dhouston"})
    assert hn.upstream.hits_for("/v0/user/dhouston.json") == 2


# ---------------------------------------------------------------------- hn_search


async def test_search_builds_algolia_tags_and_numeric_filters(hn: ToolClient) -> None:
    await hn.ok(
        "hn_search",
        {
            "query": "rust async",
            "type": "show_hn",
            "author": "pg",
            "since": "2024-01-01",
            "until": "2024-01-31",
            "min_points": 100,
            "min_comments": 10,
            "sort": "date",
            "page": 3,
            "hits_per_page": 50,
        },
    )
    assert hn.upstream.queries_for("/api/v1/search_by_date") == [
        {
            "query": "rust async",
            "tags": "show_hn,author_pg",
            # 2024-01-01T00:00Z up to (not including) 2024-02-01T00:00Z: both days included.
            "numericFilters": "created_at_i>=1704067200,created_at_i<1706745600,"
            "points>=100,num_comments>=10",
            "page": "2",  # Algolia counts from 0
            "hitsPerPage": "50",
        }
    ]
    assert hn.upstream.hits_for("/api/v1/search") == 0


async def test_search_of_the_front_page_sends_algolias_front_page_tag(hn: ToolClient) -> None:
    await hn.ok("hn_search", {"type": "front_page"})
    assert hn.upstream.queries_for("/api/v1/search") == [
        {"query": "", "tags": "front_page", "page": "0", "hitsPerPage": "20"}
    ]


async def test_search_by_relevance_sends_only_what_was_asked(hn: ToolClient) -> None:
    await hn.ok("hn_search", {"query": "dropbox"})
    assert hn.upstream.queries_for("/api/v1/search") == [
        {"query": "dropbox", "page": "0", "hitsPerPage": "20"}
    ]


async def test_search_results_are_readable(hn: ToolClient) -> None:
    results = await hn.ok("hn_search", {"query": "dropbox"})
    assert results["total_hits"] == 2
    assert (results["page"], results["pages"]) == (1, 1)
    assert results["sort"] == "relevance"
    story, comment = results["hits"]
    assert story["type"] == "story"
    assert story["id"] == STORY
    assert story["points"] == 111
    assert story["num_comments"] == 8
    assert comment["type"] == "comment"
    assert comment["story_title"] == "My YC app: Dropbox - Throw away your USB drive"
    assert comment["text"] == (
        "I have a few qualms with this app:\n\n1. For a Linux user, you can already build "
        "such a system yourself quite trivially & cheaply."
    )
    assert comment["hn_url"] == "https://news.ycombinator.com/item?id=9224"


async def test_search_is_cached(hn: ToolClient) -> None:
    await hn.ok("hn_search", {"query": "dropbox"})
    await hn.ok("hn_search", {"query": "dropbox", "page": 1})  # the first page, as by default
    await hn.ok("hn_search", {"query": "dropbox", "page": 2})
    assert hn.upstream.hits_for("/api/v1/search") == 2


async def test_search_with_since_after_until_is_an_error(hn: ToolClient) -> None:
    text = await hn.failed("hn_search", {"since": "2024-02-01", "until": "2024-01-01"})
    assert text == (
        "Invalid dates: since (2024-02-01) is after until (2024-01-01); swap them or drop one."
    )
    assert hn.upstream.total_hits() == 0


async def test_search_refuses_once_the_algolia_budget_is_spent(make_hn: MakeTools) -> None:
    hn = await make_hn(algolia_requests_per_hour=2)
    await hn.ok("hn_search", {"query": "one"})
    await hn.ok("hn_search", {"query": "two"})
    text = await hn.failed("hn_search", {"query": "three"})
    assert text.startswith(
        "The request budget for The HN Algolia search API (2 requests per 3600 s) is spent; "
        "try again in 3600 s"
    )
    assert hn.upstream.hits_for("/api/v1/search") == 2
    hn.clock.now += 3600
    await hn.ok("hn_search", {"query": "three"})


async def test_search_upstream_failure_is_an_error(hn: ToolClient) -> None:
    hn.upstream.fail("/api/v1/search", "500")
    text = await hn.failed("hn_search", {"query": "x"})
    assert (
        text == "The HN Algolia search API answered HTTP 500 (after 3 attempts); try again later."
    )
    hn.upstream.heal("/api/v1/search")
    hn.upstream.set("/api/v1/search", {"nbHits": 3})
    assert "without hits" in await hn.failed("hn_search", {"query": "y"})


@pytest.mark.parametrize(
    "arguments",
    [
        {"type": "video"},
        {"sort": "points"},
        {"since": "last week"},
        {"hits_per_page": 101},
        {"min_points": -1},
        {"author": "no spaces"},
        {"query": "x" * 501},
        {"page": 0},  # pages count from 1
        {"page": 1001},
    ],
)
async def test_search_with_bad_arguments_is_an_error(hn: ToolClient, arguments: JSONObject) -> None:
    assert "Invalid arguments" in await hn.failed("hn_search", arguments)
    assert hn.upstream.total_hits() == 0


# ---------------------------------------------------------------------- readable text
# Every ``hn.ok`` checks that the text is the renderer's; these pin what the fixture reads as.


async def test_stories_text_is_a_numbered_list_with_the_next_page(hn: ToolClient) -> None:
    assert await hn.text("hn_stories", {"limit": 2}) == (
        "# Top stories (1 to 2 of 7)\n"
        "\n"
        "1. [My YC app: Dropbox - Throw away your USB drive]"
        "(http://www.getdropbox.com/u/2/screencast.html) — 111 points by dhouston, "
        "19 years ago, 8 comments (id 8863)\n"
        "2. [Show HN: A tiny static site generator](https://example.org/tinysite) — 23 points "
        "by jl, 19 years ago, 0 comments (id 8004)\n"
        "\n"
        "Next page: offset=2."
    )


async def test_stories_text_shows_the_stories_it_could_not_show_in_their_place(
    hn: ToolClient,
) -> None:
    text = await hn.text("hn_stories", {})
    assert text.startswith("# Top stories (1 to 7 of 7)\n")
    lines = text.splitlines()
    assert lines[6] == "5. Not shown: deleted, dead or failed to load (id 8000)"
    assert lines[8] == "7. Not shown: deleted, dead or failed to load (id 8001)"


async def test_a_storys_number_is_its_place_in_the_feed_on_every_page(hn: ToolClient) -> None:
    # The top feed: 8863, 8004, 121003, 8005, 8000 (deleted), 126809, 8001 (dead).
    whole, whole_text = await hn.ok_with_text("hn_stories", {})
    later, later_text = await hn.ok_with_text("hn_stories", {"offset": 5})
    assert [story["rank"] for story in whole["stories"]] == [1, 2, 3, 4, 6]
    assert [story["rank"] for story in later["stories"]] == [6]
    poll = "6. [Poll: What would happen if News.YC had explicit support for polls?]"
    assert whole_text.splitlines()[7].startswith(poll)
    assert later_text.splitlines()[2].startswith(poll)


async def test_poll_item_text_lists_its_options(hn: ToolClient) -> None:
    assert await hn.text("hn_item", {"id": 126809}) == (
        "# Poll: What would happen if News.YC had explicit support for polls?\n"
        "\n"
        "- Type: poll (id 126809)\n"
        "- By: pg\n"
        "- Posted: 2008-03-01 20:34 UTC (18 years ago)\n"
        "- Points: 46\n"
        "- Comments: 0\n"
        "- HN: https://news.ycombinator.com/item?id=126809\n"
        "\n"
        "## Poll options\n"
        "\n"
        "1. Yes, ban them; I'm tired of seeing Valleywag stories on News.YC. — 335 votes "
        "(id 126810)\n"
        "2. No, they're occasionally useful. — 163 votes (id 126811)"
    )


async def test_thread_text_is_an_indented_tree_without_removed_comments(
    hn: ToolClient,
) -> None:
    text = await hn.text("hn_thread", {"id": 9224})
    assert text.startswith("# Comment 9224\n\n- Type: comment (id 9224)\n- By: BrandonM\n")
    assert text.endswith(
        "## Comments\n"
        "\n"
        "4 shown.\n"
        "\n"
        "- dhouston, 19 years ago (id 9272)\n"
        "  1. re: the first part, many people want something that works *out of the box*; "
        "you're right that it can be built.\n"
        "  - BrandonM, 19 years ago (id 9500)\n"
        "    Fair enough & good luck.\n"
        "    - dhouston, 19 years ago (id 9600)\n"
        "      Thanks!\n"
        "  - aston, 19 years ago (id 9480, reply to removed comment 9479)\n"
        "    Replying to a comment that is gone now."
    )
    assert "flagged" not in await hn.text("hn_thread", {"id": STORY})  # 8917 is dead


async def test_user_text_shows_the_profile_and_latest_submissions(hn: ToolClient) -> None:
    assert await hn.text("hn_user", {"username": "dhouston", "submissions": 5}) == (
        "# dhouston\n"
        "\n"
        "- Karma: 4011\n"
        "- Created: 2007-03-30 (19 years ago)\n"
        "- Submissions: 4\n"
        "- HN: https://news.ycombinator.com/user?id=dhouston\n"
        "\n"
        "## About\n"
        "\n"
        "Founder/CEO of Dropbox (<http://www.dropbox.com> ; yc summer '07)\n"
        "\n"
        "## Latest submissions\n"
        "\n"
        "1. Comment on item 9500, 19 years ago (id 9600): Thanks!\n"
        "2. Comment on item 9224, 19 years ago (id 9272): 1. re: the first part, many people "
        "want something that works *out of the box*; you're right that it can be built.\n"
        "3. [My YC app: Dropbox - Throw away your USB drive]"
        "(http://www.getdropbox.com/u/2/screencast.html) — 111 points, 19 years ago, "
        "8 comments (id 8863)"
    )


async def test_search_text_lists_hits_under_the_query_and_page(hn: ToolClient) -> None:
    assert await hn.text("hn_search", {"query": "dropbox"}) == (
        '# Search: "dropbox"\n'
        "\n"
        "2 hits, best match first; page 1 of 1.\n"
        "\n"
        "1. [My YC app: Dropbox - Throw away your USB drive]"
        "(http://www.getdropbox.com/u/2/screencast.html) — 111 points by dhouston, "
        "2007-04-04, 8 comments (id 8863)\n"
        "2. Comment by BrandonM on [My YC app: Dropbox - Throw away your USB drive]"
        "(https://news.ycombinator.com/item?id=8863), 2007-04-04 (id 9224)\n"
        "   > I have a few qualms with this app: 1. For a Linux user, you can already build "
        "such a system yourself quite trivially & cheaply."
    )


async def test_text_ages_are_measured_from_the_wall_clock(make_hn: MakeTools) -> None:
    hn = await make_hn()
    assert isinstance(hn, ToolClient)
    hn.upstream.set(
        STORY_PATH, hn.upstream.get(STORY_PATH) | {"time": int(WALL_CLOCK_NOW) - 3 * 3600}
    )
    assert "- Posted: 2026-11-24 09:00 UTC (3 h ago)\n" in await hn.text("hn_item", {"id": STORY})


# ---------------------------------------------------------------------- resources


async def read(hn: ToolClient, uri: str) -> Any:
    result = await hn.client.result("resources/read", {"uri": uri})
    (contents,) = result["contents"]  # type: ignore[misc]
    assert contents["uri"] == uri
    assert contents["mimeType"] == "application/json"
    return json.loads(contents["text"])


async def test_item_resource_is_the_item_as_json(hn: ToolClient) -> None:
    item = await read(hn, "hn://item/8863")
    assert item == await hn.ok("hn_item", {"id": STORY})


async def test_stories_resource_is_the_first_page_of_the_feed(hn: ToolClient) -> None:
    page = await read(hn, "hn://stories/best")
    assert ids(page["stories"]) == [8863, 126809]
    assert page["feed"] == "best"


async def test_user_and_thread_resources(hn: ToolClient) -> None:
    user = await read(hn, "hn://user/dhouston")
    assert user["karma"] == 4011
    thread = await read(hn, "hn://thread/8863")
    assert [comment["id"] for comment in thread["comments"]] == READING_ORDER_DEPTH_3


@pytest.mark.parametrize(
    ("uri", "code", "message"),
    [
        ("hn://item/8000", RESOURCE_NOT_FOUND, "Item 8000 was deleted"),
        ("hn://item/4242", RESOURCE_NOT_FOUND, "Item 4242 does not exist"),
        ("hn://user/nobody_here", RESOURCE_NOT_FOUND, "There is no Hacker News user"),
        ("hn://item/abc", INVALID_PARAMS, "Invalid arguments"),
        ("hn://stories/hot", INVALID_PARAMS, "Invalid arguments"),
        ("hn://user/a%20b", INVALID_PARAMS, "Invalid arguments"),
        ("hn://user/..%2Fx", RESOURCE_NOT_FOUND, "Resource not found"),
    ],
)
async def test_resource_read_errors_say_what_is_wrong(
    hn: ToolClient, uri: str, code: int, message: str
) -> None:
    error = await hn.client.error("resources/read", {"uri": uri})
    assert error["code"] == code
    assert message in str(error["message"])
    assert not any(
        path.startswith("/v0/user/") and path != "/v0/user/nobody_here.json"
        for path in hn.upstream.hits
    )


@pytest.mark.parametrize("uri", ["hn://item/-1", "hn://item/0", "hn://thread/-1"])
async def test_resource_with_an_id_below_one_is_invalid_and_reaches_no_upstream(
    hn: ToolClient, uri: str
) -> None:
    error = await hn.client.error("resources/read", {"uri": uri})
    assert error["code"] == INVALID_PARAMS
    assert "Invalid arguments" in str(error["message"])
    assert hn.upstream.total_hits() == 0


async def test_resource_read_with_a_failing_upstream_is_an_internal_error_with_the_reason(
    hn: ToolClient,
) -> None:
    hn.upstream.fail(STORY_PATH, "500")
    error = await hn.client.error("resources/read", {"uri": "hn://item/8863"})
    assert error["code"] == INTERNAL_ERROR
    assert error["message"] == (
        "The Hacker News API answered HTTP 500 (after 3 attempts); try again later."
    )


async def complete(hn: ToolClient, value: str) -> Any:
    result = await hn.client.result(
        "completion/complete",
        {
            "ref": {"type": "ref/resource", "uri": "hn://stories/{feed}"},
            "argument": {"name": "feed", "value": value},
        },
    )
    return result["completion"]


async def test_feed_variable_completes_to_the_six_feeds(hn: ToolClient) -> None:
    everything = await complete(hn, "")
    assert everything["values"] == ["top", "new", "best", "ask", "show", "job"]
    assert (await complete(hn, "b"))["values"] == ["best"]
    assert (await complete(hn, "S"))["values"] == ["show"]
    assert (await complete(hn, "x"))["values"] == []


# ---------------------------------------------------------------------- prompts


async def get_prompt(hn: ToolClient, name: str, arguments: dict[str, str]) -> Any:
    return await hn.client.result("prompts/get", {"name": name, "arguments": arguments})


async def test_front_page_digest_embeds_the_top_stories_as_resources(hn: ToolClient) -> None:
    prompt = await get_prompt(hn, "hn_front_page_digest", {"count": "3"})
    instructions, *embedded = prompt["messages"]
    assert instructions["role"] == "user"
    assert "top 3 stories" in instructions["content"]["text"]
    assert len(embedded) == 3
    uris = []
    for message in embedded:
        resource = message["content"]["resource"]
        assert message["content"]["type"] == "resource"
        assert resource["mimeType"] == "application/json"
        story = json.loads(resource["text"])
        assert resource["uri"] == f"hn://item/{story['id']}"
        assert "rank" not in story  # what reading its URI gives
        uris.append(resource["uri"])
    assert uris == ["hn://item/8863", "hn://item/8004", "hn://item/121003"]
    assert prompt["description"] == "Digest of the top 3 HN stories"


async def test_front_page_digest_defaults_to_ten_and_says_how_many_it_lists(
    hn: ToolClient,
) -> None:
    prompt = await get_prompt(hn, "hn_front_page_digest", {})
    assert len(prompt["messages"]) == 1 + 5  # the fixture's top feed has 5 live stories
    assert prompt["description"] == "Digest of the top 5 HN stories"
    assert "Here are the top 5 stories" in prompt["messages"][0]["content"]["text"]


async def test_discussion_summary_embeds_the_story_and_its_thread(hn: ToolClient) -> None:
    prompt = await get_prompt(hn, "hn_discussion_summary", {"item_id": "8863"})
    instructions, story, thread = prompt["messages"]
    assert "Summarize the Hacker News discussion" in instructions["content"]["text"]
    assert story["content"]["resource"]["uri"] == "hn://item/8863"
    assert json.loads(story["content"]["resource"]["text"])["title"].startswith("My YC app")
    assert thread["content"]["resource"]["uri"] == "hn://thread/8863"
    comments = json.loads(thread["content"]["resource"]["text"])["comments"]
    assert [comment["id"] for comment in comments] == READING_ORDER_DEPTH_3


@pytest.mark.parametrize(
    ("name", "arguments", "code", "message"),
    [
        ("hn_discussion_summary", {"item_id": "8000"}, INVALID_PARAMS, "was deleted"),
        ("hn_discussion_summary", {"item_id": "zero"}, INVALID_PARAMS, "Invalid arguments"),
        ("hn_discussion_summary", {}, INVALID_PARAMS, "Invalid arguments"),
        ("hn_front_page_digest", {"count": "0"}, INVALID_PARAMS, "Invalid arguments"),
        ("hn_front_page_digest", {"count": "31"}, INVALID_PARAMS, "Invalid arguments"),
    ],
)
async def test_prompt_errors_say_what_is_wrong(
    hn: ToolClient, name: str, arguments: JSONObject, code: int, message: str
) -> None:
    error = await hn.client.error("prompts/get", {"name": name, "arguments": arguments})
    assert error["code"] == code
    assert message in str(error["message"])


async def test_prompt_with_a_failing_upstream_is_an_internal_error_with_the_reason(
    hn: ToolClient,
) -> None:
    hn.upstream.fail("/v0/topstories.json", "500")
    error = await hn.client.error("prompts/get", {"name": "hn_front_page_digest"})
    assert error["code"] == INTERNAL_ERROR
    assert "answered HTTP 500" in str(error["message"])


# ---------------------------------------------------------------------- settings


def test_settings_from_an_empty_environment_are_the_real_apis() -> None:
    settings = HackerNewsSettings.from_env({})
    assert settings == HackerNewsSettings()
    assert settings.api_url == "https://hacker-news.firebaseio.com/v0"
    assert settings.algolia_url == "https://hn.algolia.com/api/v1"
    assert (settings.stories_ttl_seconds, settings.items_ttl_seconds) == (30, 300)
    assert settings.users_ttl_seconds == 600
    assert settings.max_concurrency == 10
    assert settings.algolia_requests_per_hour == 10_000
    assert (settings.breaker_failures, settings.breaker_cooldown_seconds) == (5, 30)
    assert (settings.call_deadline_seconds, settings.algolia_thread_seconds) == (20, 5)
    assert settings.poll_interval_seconds == 30


def test_settings_from_the_environment() -> None:
    settings = HackerNewsSettings.from_env(
        {
            "SSEMCP_HN_API_URL": "http://127.0.0.1:1/v0",
            "SSEMCP_ALGOLIA_API_URL": "http://127.0.0.1:1/api/v1",
            "SSEMCP_HN_TIMEOUT_SECONDS": "2.5",
            "SSEMCP_HN_CALL_DEADLINE_SECONDS": "12",
            "SSEMCP_HN_MAX_CONCURRENCY": "4",
            "SSEMCP_HN_MAX_ATTEMPTS": "5",
            "SSEMCP_HN_BACKOFF_SECONDS": "0",
            "SSEMCP_HN_CACHE_MAX_ENTRIES": "50",
            "SSEMCP_HN_STORIES_TTL_SECONDS": "1",
            "SSEMCP_HN_ITEMS_TTL_SECONDS": "2",
            "SSEMCP_HN_USERS_TTL_SECONDS": "3",
            "SSEMCP_HN_SEARCH_TTL_SECONDS": "0",
            "SSEMCP_ALGOLIA_REQUESTS_PER_HOUR": "100",
            "SSEMCP_ALGOLIA_THREAD_SECONDS": "1.5",
            "SSEMCP_HN_BREAKER_FAILURES": "3",
            "SSEMCP_HN_BREAKER_COOLDOWN_SECONDS": "60",
            "SSEMCP_HN_POLL_INTERVAL_SECONDS": "0.5",
        }
    )
    assert settings == HackerNewsSettings(
        api_url="http://127.0.0.1:1/v0",
        algolia_url="http://127.0.0.1:1/api/v1",
        timeout_seconds=2.5,
        call_deadline_seconds=12,
        max_concurrency=4,
        max_attempts=5,
        backoff_seconds=0,
        cache_max_entries=50,
        stories_ttl_seconds=1,
        items_ttl_seconds=2,
        users_ttl_seconds=3,
        search_ttl_seconds=0,
        algolia_requests_per_hour=100,
        algolia_thread_seconds=1.5,
        breaker_failures=3,
        breaker_cooldown_seconds=60,
        poll_interval_seconds=0.5,
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SSEMCP_HN_API_URL": "ftp://x"}, "not an http"),
        ({"SSEMCP_HN_MAX_CONCURRENCY": "0"}, "SSEMCP_HN_MAX_CONCURRENCY"),
        ({"SSEMCP_HN_TIMEOUT_SECONDS": "0"}, "SSEMCP_HN_TIMEOUT_SECONDS"),
        ({"SSEMCP_HN_CALL_DEADLINE_SECONDS": "0"}, "SSEMCP_HN_CALL_DEADLINE_SECONDS"),
        ({"SSEMCP_ALGOLIA_THREAD_SECONDS": "0"}, "SSEMCP_ALGOLIA_THREAD_SECONDS"),
        ({"SSEMCP_HN_POLL_INTERVAL_SECONDS": "soon"}, "SSEMCP_HN_POLL_INTERVAL_SECONDS"),
        ({"SSEMCP_ALGOLIA_REQUESTS_PER_HOUR": "0"}, "SSEMCP_ALGOLIA_REQUESTS_PER_HOUR"),
        ({"SSEMCP_HN_ITEMS_TTL_SECONDS": "-1"}, "SSEMCP_HN_ITEMS_TTL_SECONDS"),
        ({"SSEMCP_HN_BREAKER_FAILURES": "0"}, "SSEMCP_HN_BREAKER_FAILURES"),
        ({"SSEMCP_HN_BREAKER_COOLDOWN_SECONDS": "-5"}, "SSEMCP_HN_BREAKER_COOLDOWN_SECONDS"),
    ],
)
def test_settings_reject_bad_environment_values(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HackerNewsSettings.from_env(environ)


def test_settings_validate_when_built_directly() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        HackerNewsSettings(max_attempts=0)
    with pytest.raises(ValueError, match="positive"):
        HackerNewsSettings(poll_interval_seconds=0)
    with pytest.raises(ValueError, match="breaker"):
        HackerNewsSettings(breaker_failures=0)
    for time_limit in ("call_deadline_seconds", "algolia_thread_seconds"):
        with pytest.raises(ValueError, match="time limits"):
            HackerNewsSettings(**{time_limit: 0})


# ---------------------------------------------------------------------- process-wide


async def test_two_servers_share_no_state(make_hn: MakeTools) -> None:
    first = await make_hn(max_attempts=1)
    second = await make_hn(max_attempts=1)
    await first.ok("hn_item", {"id": STORY})
    await second.ok("hn_item", {"id": STORY})
    assert first.upstream.hits_for(STORY_PATH) == 2  # each server has its own cache
    await first.close()
    assert (await second.ok("hn_item", {"id": STORY}))["id"] == STORY  # and its own client


async def test_cache_keeps_at_most_its_entry_bound(make_hn: MakeTools) -> None:
    hn = await make_hn(cache_max_entries=2)
    for item_id in (STORY, 8004, 8005):
        await hn.ok("hn_item", {"id": item_id})
    await hn.ok("hn_item", {"id": 8005})
    assert hn.upstream.hits_for("/v0/item/8005.json") == 1
    await hn.ok("hn_item", {"id": STORY})  # the oldest entry was evicted
    assert hn.upstream.hits_for(STORY_PATH) == 2


async def test_thread_retries_algolia_before_falling_back(hn: ToolClient) -> None:
    hn.upstream.fail(ALGOLIA_THREAD_PATH, "500", times=1)
    thread = await hn.ok("hn_thread", {"id": STORY})
    assert thread["source"] == "algolia"
    assert hn.upstream.hits_for(ALGOLIA_THREAD_PATH) == 2


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {}),
        ({"until": datetime.date(2024, 2, 29)}, {"numericFilters": "created_at_i<1709251200"}),
        ({"min_points": 0}, {"numericFilters": "points>=0"}),
        ({"item_type": "comment", "author": "pg"}, {"tags": "comment,author_pg"}),
        ({"item_type": "poll"}, {"tags": "poll"}),
        ({"item_type": "front_page"}, {"tags": "front_page"}),
    ],
)
def test_search_params_table(options: dict[str, Any], expected: dict[str, str]) -> None:
    assert search_params("q", **options) == {
        "query": "q",
        "page": "0",
        "hitsPerPage": "20",
        **expected,
    }
