"""The Hacker News tool set: stories, items, threads, users and search, as MCP offerings.

Owns describing HN to MCP: the tools (``hn_stories``, ``hn_item``, ``hn_thread``, ``hn_user``,
``hn_search``, ``hn_summarize_thread``), the ``hn://`` resource templates and their
subscriptions, and two prompts; and translating upstream failures into results a model can act
on (``isError`` for tools, JSON-RPC errors for resources and prompts). Fetching is
:mod:`.api`'s job, the output shapes :mod:`.models`', their readable text :mod:`.render`',
polling :mod:`.subscriptions`'.

No API key is needed: the official HN API (Firebase) and HN Search (Algolia) are public.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Callable, Iterator
from typing import Annotated, Final

import httpx
from pydantic import BaseModel, Field

from ssemcp.errors import (
    CapabilityNotSupported,
    InternalError,
    InvalidParams,
    RequestError,
    ResourceNotFound,
    ToolError,
)
from ssemcp.server.content import (
    EmbeddedResource,
    PromptMessage,
    PromptResult,
    ResourceContents,
    ToolAnnotations,
    ToolResult,
)
from ssemcp.server.context import Context
from ssemcp.server.registry import Server
from ssemcp.toolsets._deadline import Deadline, call_deadline
from ssemcp.toolsets._upstream import UpstreamError, UpstreamNotFound
from ssemcp.toolsets.hackernews.api import HackerNewsAPI, SearchType, Sort, check_date_range
from ssemcp.toolsets.hackernews.models import (
    Feed,
    Item,
    SearchResults,
    StoryList,
    Thread,
    ThreadSummary,
    User,
)
from ssemcp.toolsets.hackernews.render import (
    render_item,
    render_search,
    render_stories,
    render_summary,
    render_thread,
    render_user,
)
from ssemcp.toolsets.hackernews.settings import ENVIRONMENT_VARIABLES, HackerNewsSettings
from ssemcp.toolsets.hackernews.subscriptions import (
    ITEM_TEMPLATE,
    STORIES_TEMPLATE,
    USER_TEMPLATE,
    SubscriptionPoller,
)

__all__ = ["ENVIRONMENT_VARIABLES", "HackerNewsSettings", "register"]

_READ_ONLY: Final = ToolAnnotations(
    read_only=True, destructive=False, idempotent=True, open_world=True
)
THREAD_TEMPLATE: Final = "hn://thread/{id}"
# HN usernames: letters, digits, dash and underscore (2-15 for new accounts; some old ones
# are shorter or longer). The pattern also keeps a name from leaving the URL path.
_USERNAME: Final = r"^[A-Za-z0-9_-]{1,32}$"
# The thread a summary is asked for: enough comments for a fair summary, few enough that the
# prompt stays well under a small model's context (~100 comments of ~100 words).
_SUMMARY_DEPTH: Final = 3
_SUMMARY_MAX_COMMENTS: Final = 100
# A few short paragraphs (~700 words); also ssemcp's default for sampling requests.
_SUMMARY_MAX_TOKENS: Final = 1000
# A rendered thread is cut here before it goes into a sampling prompt: ~15k tokens at ~4
# characters a token, inside the context of any model a client is likely to sample with.
_SUMMARY_MAX_PROMPT_CHARS: Final = 60_000

ItemId = Annotated[int, Field(ge=1, description="A Hacker News item id.")]
Username = Annotated[
    str, Field(pattern=_USERNAME, description="A Hacker News username (case-sensitive).")
]


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """Upstream failures become ``isError`` results with the upstream's message."""
    try:
        yield
    except UpstreamError as exc:
        raise ToolError(str(exc)) from None


@contextlib.contextmanager
def _resource_errors(uri: str) -> Iterator[None]:
    """A missing thing is -32002 (resource not found); a failing upstream is -32603."""
    try:
        yield
    except UpstreamNotFound as exc:
        raise ResourceNotFound(str(exc), data={"uri": uri}) from None
    except UpstreamError as exc:
        raise InternalError(str(exc)) from None


@contextlib.contextmanager
def _prompt_errors() -> Iterator[None]:
    """A missing item is a bad argument (-32602); a failing upstream is -32603."""
    try:
        yield
    except UpstreamNotFound as exc:
        raise InvalidParams(str(exc)) from None
    except UpstreamError as exc:
        raise InternalError(str(exc)) from None


def _json(model: BaseModel) -> str:
    return model.model_dump_json()


def register(
    server: Server,
    settings: HackerNewsSettings | None = None,
    *,
    now: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Add the Hacker News tools, resources and prompts to ``server``.

    Args:
        settings: base URLs and tunables; ``HackerNewsSettings.from_env()`` when None.
        now: the clock of the caches, the Algolia budget, the circuit breakers and the
            calls' time limits (tests inject one).
        wall_clock: Unix seconds, which the tools' text measures ages ("3 h ago") from
            (tests inject one).
        transport: an httpx transport instead of the network (tests).
    """
    settings = settings or HackerNewsSettings.from_env()
    api = HackerNewsAPI(settings, now=now, transport=transport)
    poller = SubscriptionPoller(server, api, settings.poll_interval_seconds)
    server.on_subscription_change(poller.on_subscription_change)
    # Cleanups run in reverse: stop polling first, then close the clients it uses.
    server.add_cleanup(api.aclose)
    server.add_cleanup(poller.aclose)

    def time_limit() -> contextlib.AbstractContextManager[Deadline]:
        """Every upstream request of one call, retries included, within one time limit."""
        return call_deadline(settings.call_deadline_seconds, now)

    # ------------------------------------------------------------------ tools

    @server.tool(title="Hacker News stories", annotations=_READ_ONLY, output_type=StoryList)
    async def hn_stories(
        feed: Feed = "top",
        limit: Annotated[int, Field(ge=1, le=100)] = 30,
        offset: Annotated[int, Field(ge=0, le=500)] = 0,
    ) -> ToolResult:
        """List the stories of a Hacker News feed, in the feed's order, with title, link,
        points, author and comment count. Use hn_thread on a story's id to read its comments.

        Args:
            feed: top (front page), new, best, ask (Ask HN), show (Show HN) or job.
            limit: how many stories, 1 to 100.
            offset: how many to skip first, for the next page (feeds hold up to 500).
        """
        with _tool_errors(), time_limit():
            page = await api.stories(feed, limit, offset)
        return ToolResult([render_stories(page, wall_clock())], structured=page)

    @server.tool(title="Hacker News item", annotations=_READ_ONLY, output_type=Item)
    async def hn_item(id: ItemId) -> ToolResult:
        """Get one Hacker News item by id: a story, comment, job, poll (with its options and
        votes) or poll option. Text is converted from HN's HTML to readable Markdown.

        Args:
            id: the item id, as in https://news.ycombinator.com/item?id=8863.
        """
        with _tool_errors(), time_limit():
            item = await api.item(id)
        return ToolResult([render_item(item, wall_clock())], structured=item)

    @server.tool(title="Hacker News discussion thread", annotations=_READ_ONLY, output_type=Thread)
    async def hn_thread(
        id: ItemId,
        depth: Annotated[int, Field(ge=0, le=10)] = 3,
        max_comments: Annotated[int, Field(ge=1, le=500)] = 100,
    ) -> ToolResult:
        """Get an item with its comment tree, in reading order (each comment before its
        replies, top-level comments in HN's ranked order). Each comment has its depth and
        parent id; deleted and dead comments are left out (their replies stay, with the
        removed comment's id as parent). The text shows the tree indented, and stops between
        comments past about 40,000 characters, saying how many it shows.

        Args:
            id: the story (or comment) whose replies to fetch.
            depth: reply levels to include, 0 (none) to 10; 1 is top-level comments only.
            max_comments: the most comments to return, 1 to 500; higher levels come first.
        """
        with _tool_errors(), time_limit():
            thread = await api.thread(id, depth, max_comments)
        return ToolResult([render_thread(thread, wall_clock())], structured=thread)

    @server.tool(title="Hacker News user", annotations=_READ_ONLY, output_type=User)
    async def hn_user(
        username: Username,
        submissions: Annotated[int, Field(ge=0, le=50)] = 0,
    ) -> ToolResult:
        """Get a Hacker News user's profile (karma, creation date, about text) and optionally
        their most recent submissions (stories and comments, newest first).

        Args:
            username: the exact, case-sensitive username, e.g. "pg".
            submissions: how many recent submissions to include, 0 to 50.
        """
        with _tool_errors(), time_limit():
            user = await api.user(username, submissions)
        return ToolResult([render_user(user, wall_clock())], structured=user)

    @server.tool(title="Search Hacker News", annotations=_READ_ONLY, output_type=SearchResults)
    async def hn_search(
        query: Annotated[str, Field(max_length=500)] = "",
        type: SearchType | None = None,
        author: Annotated[str | None, Field(pattern=_USERNAME)] = None,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        min_points: Annotated[int | None, Field(ge=0)] = None,
        min_comments: Annotated[int | None, Field(ge=0)] = None,
        sort: Sort = "relevance",
        page: Annotated[int, Field(ge=1, le=1000)] = 1,
        hits_per_page: Annotated[int, Field(ge=1, le=100)] = 20,
    ) -> ToolResult:
        """Full-text search of Hacker News stories and comments (HN Search by Algolia).

        Args:
            query: words to search for; may be empty when filters are given.
            type: only story, comment, ask_hn, show_hn, poll, or front_page (the stories on
                the front page now).
            author: only items by this username.
            since: only items posted on or after this date (YYYY-MM-DD, UTC).
            until: only items posted on or before this date (YYYY-MM-DD, UTC).
            min_points: only items with at least this many points.
            min_comments: only stories with at least this many comments.
            sort: relevance (best match first) or date (newest first).
            page: result page, from 1.
            hits_per_page: results per page, 1 to 100.
        """
        try:
            check_date_range(since, until)
        except ValueError as exc:
            raise ToolError(f"Invalid dates: {exc}; swap them or drop one.") from None
        with _tool_errors(), time_limit():
            results = await api.search(
                query,
                item_type=type,
                author=author,
                since=since,
                until=until,
                min_points=min_points,
                min_comments=min_comments,
                sort=sort,
                page=page,
                hits_per_page=hits_per_page,
            )
        return ToolResult([render_search(results)], structured=results)

    @server.tool(
        title="Summarize a Hacker News thread",
        annotations=ToolAnnotations(read_only=True, destructive=False, open_world=True),
        output_type=ThreadSummary,
    )
    async def hn_summarize_thread(id: ItemId, ctx: Context) -> ToolResult:
        """Summarize the discussion under a story: fetches its comment thread and asks your
        client's model (MCP sampling) for a summary of the main points and disagreements.
        Needs a client that supports sampling; otherwise use hn_thread and summarize yourself.

        Args:
            id: the story (or comment) whose discussion to summarize.
        """
        if "sampling" not in ctx.client_capabilities:
            raise ToolError(_NO_SAMPLING)
        with _tool_errors(), time_limit():
            thread = await api.thread(id, _SUMMARY_DEPTH, _SUMMARY_MAX_COMMENTS)
        if not thread.comments:
            # Nothing to summarize: asking the model would only spend the user's tokens on a
            # summary of the title.
            raise ToolError(
                f"Item {id} has no comments to summarize (deleted and dead ones are left out); "
                "use hn_item to read the item itself."
            )
        prompt = (
            "Summarize this Hacker News discussion in a few short paragraphs: what the "
            "submission is about, the main points commenters make, where they disagree, and "
            "any notable facts or links they bring up.\n\n"
            + render_thread(thread, wall_clock(), _SUMMARY_MAX_PROMPT_CHARS)
        )
        try:
            answer = await ctx.sample(
                prompt,
                max_tokens=_SUMMARY_MAX_TOKENS,
                system_prompt="You summarize online discussions accurately and concisely.",
                include_context="none",
            )
        except CapabilityNotSupported:
            raise ToolError(_NO_SAMPLING) from None
        except RequestError as exc:
            raise ToolError(f"The client's model did not produce a summary: {exc}") from None
        if not answer.text.strip():
            raise ToolError("The client's model answered without any text to use as a summary.")
        summary = ThreadSummary(
            id=thread.item.id,
            title=thread.item.title,
            summary=answer.text.strip(),
            model=answer.model,
            comments_read=len(thread.comments),
        )
        return ToolResult([render_summary(summary)], structured=summary)

    # ------------------------------------------------------------------ resources

    @server.resource(
        STORIES_TEMPLATE,
        name="hn_stories",
        title="Hacker News feed",
        description="The first 30 stories of a feed: top, new, best, ask, show or job. "
        "Subscribe to hear when the feed's order or membership changes.",
        mime_type="application/json",
    )
    async def stories_resource(feed: Feed) -> StoryList:
        with _resource_errors(f"hn://stories/{feed}"), time_limit():
            return await api.stories(feed, 30, 0)

    @server.resource(
        ITEM_TEMPLATE,
        name="hn_item",
        title="Hacker News item",
        description="A story, comment, job, poll or poll option. Subscribe to hear when its "
        "score, text or replies change.",
        mime_type="application/json",
    )
    async def item_resource(id: ItemId) -> Item:
        with _resource_errors(f"hn://item/{id}"), time_limit():
            return await api.item(id)

    @server.resource(
        USER_TEMPLATE,
        name="hn_user",
        title="Hacker News user",
        description="A user's profile. Subscribe to hear when it changes.",
        mime_type="application/json",
    )
    async def user_resource(
        username: Annotated[str, Field(pattern=_USERNAME)],
    ) -> User:
        with _resource_errors(f"hn://user/{username}"), time_limit():
            return await api.user(username)

    @server.resource(
        THREAD_TEMPLATE,
        name="hn_thread",
        title="Hacker News thread",
        description="An item and its comments (3 levels, up to 100 comments).",
        mime_type="application/json",
    )
    async def thread_resource(id: ItemId) -> Thread:
        with _resource_errors(f"hn://thread/{id}"), time_limit():
            return await api.thread(id, _SUMMARY_DEPTH, _SUMMARY_MAX_COMMENTS)

    # ------------------------------------------------------------------ prompts

    @server.prompt(title="Hacker News front page digest")
    async def hn_front_page_digest(
        count: Annotated[int, Field(ge=1, le=30)] = 10,
    ) -> PromptResult:
        """A digest of the current Hacker News front page: the top stories are embedded,
        and the model is asked to group and summarize them.

        Args:
            count: how many top stories to include, 1 to 30.
        """
        with _prompt_errors(), time_limit():
            page = await api.stories("top", count, 0)
        # Say how many are listed, not how many were asked for: deleted and dead stories, and
        # a feed shorter than count, leave fewer.
        listed = len(page.stories)
        messages: list[PromptMessage | str] = [
            PromptMessage(
                "user",
                f"Here are the top {listed} stories on the Hacker News front page "
                "right now, one resource each. Write a short digest: group related stories, "
                "give one line per story on why it matters, and end with the three most "
                "discussed.",
            )
        ]
        messages += [_embedded_item(story) for story in page.stories]
        return PromptResult(messages, description=f"Digest of the top {listed} HN stories")

    @server.prompt(title="Hacker News discussion summary")
    async def hn_discussion_summary(item_id: ItemId) -> PromptResult:
        """Summarize the discussion under a Hacker News story: the story and its comment
        thread are embedded, and the model is asked for the main arguments.

        Args:
            item_id: the story whose discussion to summarize.
        """
        with _prompt_errors(), time_limit():
            thread = await api.thread(item_id, _SUMMARY_DEPTH, _SUMMARY_MAX_COMMENTS)
        instructions = (
            "Summarize the Hacker News discussion below: what the submission is about, the "
            "main points commenters make, where they disagree, and notable facts or links. "
            "The story and its comment thread (comments in reading order, each with its "
            "depth and parent) are attached."
        )
        return PromptResult(
            [
                PromptMessage("user", instructions),
                _embedded_item(thread.item),
                PromptMessage(
                    "user",
                    EmbeddedResource(
                        ResourceContents(
                            uri=f"hn://thread/{item_id}",
                            text=_json(thread),
                            mime_type="application/json",
                        )
                    ),
                ),
            ],
            description=f"Discussion summary for item {item_id}",
        )


_NO_SAMPLING: Final = (
    "This client does not support sampling (the MCP 'sampling' capability), so the server "
    "cannot ask its model for a summary. Call hn_thread instead and summarize the comments "
    "yourself."
)


def _embedded_item(item: Item) -> PromptMessage:
    # What reading hn://item/{id} gives: the item's own fields (a feed's rank is not one).
    text = item.model_dump_json(include=set(Item.model_fields))
    return PromptMessage(
        "user",
        EmbeddedResource(
            ResourceContents(uri=f"hn://item/{item.id}", text=text, mime_type="application/json")
        ),
    )
