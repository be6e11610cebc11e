"""The shapes the HN tools return, and how each is built from the upstream JSON.

Owns the output models (their JSON Schemas become the tools' ``outputSchema``) and the pure
functions that turn a Firebase item, an Algolia node or an Algolia hit into them, converting
HN's HTML to readable text on the way. Fetching is :mod:`.api`'s business; no I/O here.
"""

from __future__ import annotations

import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from ssemcp._types import JSONObject, JSONValue
from ssemcp.toolsets.hackernews.html import html_to_text

__all__ = [
    "FEEDS",
    "Comment",
    "Feed",
    "Item",
    "ItemType",
    "PollOption",
    "RankedItem",
    "SearchHit",
    "SearchResults",
    "StoryList",
    "Thread",
    "ThreadSummary",
    "User",
    "comment_from_algolia",
    "comment_from_firebase",
    "hit_from_algolia",
    "iso_time",
    "item_from_firebase",
    "user_from_firebase",
]

Feed = Literal["top", "new", "best", "ask", "show", "job"]
FEEDS: Final[tuple[Feed, ...]] = ("top", "new", "best", "ask", "show", "job")
ItemType = Literal["story", "comment", "job", "poll", "pollopt"]
_ITEM_TYPES: Final = frozenset({"story", "comment", "job", "poll", "pollopt"})
HN_ITEM_URL: Final = "https://news.ycombinator.com/item?id="
HN_USER_URL: Final = "https://news.ycombinator.com/user?id="

_FROZEN: Final = ConfigDict(frozen=True)


class PollOption(BaseModel):
    """One option of a poll."""

    model_config = _FROZEN

    id: int
    text: str | None = Field(description="The option, as readable text.")
    score: int | None = Field(description="Votes for this option.")


class Item(BaseModel):
    """A Hacker News item: a story, comment, job, poll or poll option."""

    model_config = _FROZEN

    id: int
    type: ItemType
    by: str | None = Field(description="Username of the author.")
    time: str | None = Field(description="When it was posted, ISO 8601 in UTC.")
    title: str | None = Field(description="Title of a story, job or poll.")
    url: str | None = Field(description="The link a story or job points to.")
    text: str | None = Field(description="Body as readable Markdown-like text.")
    score: int | None = Field(description="Points (votes) of a story, job or poll option.")
    descendants: int | None = Field(description="Total comments on a story or poll.")
    reply_ids: list[int] = Field(description="Direct replies, in HN's ranked order.")
    parent: int | None = Field(description="The item a comment replies to.")
    poll: int | None = Field(description="The poll a poll option belongs to.")
    poll_options: list[PollOption] | None = Field(
        default=None, description="A poll's options with their votes."
    )
    hn_url: str = Field(description="The item's page on news.ycombinator.com.")


class RankedItem(Item):
    """A story (or job, or poll) of a feed, with its place in the feed."""

    rank: int = Field(
        description="Its position in the feed, from 1, counting stories that are not shown."
    )


class StoryList(BaseModel):
    """One page of a story feed."""

    model_config = _FROZEN

    feed: Feed
    offset: int
    total: int = Field(description="How many stories the feed holds in all.")
    stories: list[RankedItem]
    unavailable: list[int] = Field(
        description="Ids in this page that could not be shown (deleted, dead or failed)."
    )


class Comment(BaseModel):
    """One comment of a thread."""

    model_config = _FROZEN

    id: int
    by: str | None
    time: str | None = Field(description="ISO 8601 in UTC.")
    text: str | None = Field(description="Readable Markdown-like text.")
    depth: int = Field(description="1 for a direct reply to the thread's root, 2 below that...")
    parent: int = Field(description="The id this comment replies to.")
    reply_count: int = Field(
        description="Direct replies on HN that are neither deleted nor dead (some may be "
        "omitted here, past the depth or max_comments asked for)."
    )


class Thread(BaseModel):
    """An item and its comments, in reading order (each comment before its replies)."""

    model_config = _FROZEN

    item: Item
    comments: list[Comment]
    truncated: bool = Field(
        description="True when depth or max_comments left out comments that exist."
    )
    source: Literal["algolia", "firebase"] = Field(description="Which API built the tree.")


class ThreadSummary(BaseModel):
    """A model-written summary of a discussion."""

    model_config = _FROZEN

    id: int
    title: str | None
    summary: str
    model: str | None = Field(description="The model that wrote the summary.")
    comments_read: int


class User(BaseModel):
    """A Hacker News user profile."""

    model_config = _FROZEN

    id: str
    created: str | None = Field(description="Account creation, ISO 8601 in UTC.")
    karma: int | None
    about: str | None = Field(description="Self-description as readable text.")
    submission_count: int = Field(description="Stories, comments and polls they posted.")
    submissions: list[Item] = Field(description="Their most recent submissions, newest first.")
    hn_url: str


class SearchHit(BaseModel):
    """One search result."""

    model_config = _FROZEN

    id: int
    type: str = Field(description="story, comment, poll, pollopt or job.")
    title: str | None
    url: str | None
    author: str | None
    points: int | None
    num_comments: int | None
    time: str | None = Field(description="ISO 8601 in UTC.")
    text: str | None = Field(description="Story or comment body as readable text.")
    story_id: int | None = Field(description="For a comment: the story it belongs to.")
    story_title: str | None = Field(description="For a comment: its story's title.")
    parent_id: int | None
    hn_url: str


class SearchResults(BaseModel):
    """One page of search results."""

    model_config = _FROZEN

    query: str
    sort: Literal["relevance", "date"]
    page: int = Field(description="This page's number, from 1.")
    pages: int = Field(description="Pages available (Algolia serves at most 1000 hits).")
    total_hits: int
    hits: list[SearchHit]


# ---------------------------------------------------------------------- conversions


def iso_time(unix_seconds: JSONValue) -> str | None:
    """ISO 8601 UTC for a Unix time, or None."""
    if type(unix_seconds) is not int:
        return None
    try:
        moment = datetime.datetime.fromtimestamp(unix_seconds, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat().replace("+00:00", "Z")


def _str(value: JSONValue) -> str | None:
    """A non-empty string, or None (HN sends ``""`` for a job without a link)."""
    return value if isinstance(value, str) and value else None


def _int(value: JSONValue) -> int | None:
    return value if type(value) is int else None


def _ints(value: JSONValue) -> list[int]:
    if not isinstance(value, list):
        return []
    return [entry for entry in value if type(entry) is int]


def is_gone(raw: JSONObject) -> bool:
    """A Firebase item that is deleted or dead (killed by flags or moderators)."""
    return raw.get("deleted") is True or raw.get("dead") is True


def item_from_firebase(
    raw: JSONObject, poll_options: list[PollOption] | None = None
) -> Item | None:
    """The :class:`Item` for a Firebase item object, or None if it is not a valid item."""
    item_id = _int(raw.get("id"))
    item_type = raw.get("type")
    if item_id is None or item_type not in _ITEM_TYPES:
        return None
    return Item(
        id=item_id,
        type=item_type,  # type: ignore[arg-type]
        by=_str(raw.get("by")),
        time=iso_time(raw.get("time")),
        title=_str(raw.get("title")),
        url=_str(raw.get("url")),
        text=html_to_text(_str(raw.get("text"))),
        score=_int(raw.get("score")),
        descendants=_int(raw.get("descendants")),
        reply_ids=_ints(raw.get("kids")),
        parent=_int(raw.get("parent")),
        poll=_int(raw.get("poll")),
        poll_options=poll_options,
        hn_url=f"{HN_ITEM_URL}{item_id}",
    )


def poll_option_from_firebase(raw: JSONObject) -> PollOption | None:
    option_id = _int(raw.get("id"))
    if option_id is None:
        return None
    return PollOption(
        id=option_id, text=html_to_text(_str(raw.get("text"))), score=_int(raw.get("score"))
    )


def comment_from_firebase(raw: JSONObject, depth: int, parent: int) -> Comment | None:
    """The :class:`Comment` for a live Firebase comment; its ``reply_count`` counts every kid
    until the thread walk, which reads them, takes out the deleted and dead ones."""
    comment_id = _int(raw.get("id"))
    if comment_id is None or is_gone(raw):
        return None
    return Comment(
        id=comment_id,
        by=_str(raw.get("by")),
        time=iso_time(raw.get("time")),
        text=html_to_text(_str(raw.get("text"))),
        depth=depth,
        parent=parent,
        reply_count=len(_ints(raw.get("kids"))),
    )


def algolia_is_gone(node: JSONObject) -> bool:
    """An Algolia ``items/{id}`` node for a deleted comment: no author and no text (Algolia
    does not index dead comments at all)."""
    return node.get("author") is None and node.get("text") is None


def algolia_children(node: JSONObject) -> list[JSONObject]:
    children = node.get("children")
    if not isinstance(children, list):
        return []
    return [child for child in children if isinstance(child, dict)]


def comment_from_algolia(node: JSONObject, depth: int, parent: int) -> Comment | None:
    comment_id = _int(node.get("id"))
    if comment_id is None or algolia_is_gone(node):
        return None
    return Comment(
        id=comment_id,
        by=_str(node.get("author")),
        time=iso_time(node.get("created_at_i")),
        text=html_to_text(_str(node.get("text"))),
        depth=depth,
        parent=parent,
        # Algolia leaves dead comments out and keeps deleted ones as empty nodes.
        reply_count=sum(not algolia_is_gone(child) for child in algolia_children(node)),
    )


def user_from_firebase(raw: JSONObject, submissions: list[Item]) -> User | None:
    user_id = _str(raw.get("id"))
    if user_id is None:
        return None
    return User(
        id=user_id,
        created=iso_time(raw.get("created")),
        karma=_int(raw.get("karma")),
        about=html_to_text(_str(raw.get("about"))),
        submission_count=len(_ints(raw.get("submitted"))),
        submissions=submissions,
        hn_url=f"{HN_USER_URL}{user_id}",
    )


def _hit_type(tags: JSONValue) -> str:
    names = [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []
    for kind in ("comment", "pollopt", "poll", "job", "story"):
        if kind in names:
            return kind
    return "story"


def hit_from_algolia(hit: JSONObject) -> SearchHit | None:
    """A :class:`SearchHit` for one entry of Algolia's ``hits``, or None if malformed."""
    object_id = hit.get("objectID")
    if not isinstance(object_id, str) or not object_id.isdigit():
        return None
    hit_id = int(object_id)
    text = _str(hit.get("comment_text")) or _str(hit.get("story_text"))
    return SearchHit(
        id=hit_id,
        type=_hit_type(hit.get("_tags")),
        title=_str(hit.get("title")),
        url=_str(hit.get("url")),
        author=_str(hit.get("author")),
        points=_int(hit.get("points")),
        num_comments=_int(hit.get("num_comments")),
        time=iso_time(hit.get("created_at_i")),
        text=html_to_text(text),
        story_id=_int(hit.get("story_id")),
        story_title=_str(hit.get("story_title")),
        parent_id=_int(hit.get("parent_id")),
        hn_url=f"{HN_ITEM_URL}{hit_id}",
    )
