"""``HackerNewsAPI``: what the HN tools need from the Firebase and Algolia APIs.

Owns the requests (which path, which parameters, which cache lifetime), checking the shapes of
the answers, and assembling them into :mod:`.models`: a feed page fetched concurrently in
order, an item with its poll options, a comment thread (Algolia in one request, or a walk of
Firebase ``kids`` when Algolia fails), a user with recent submissions, a search. HTTP
plumbing (retries, cache, concurrency, budget) is :mod:`ssemcp.toolsets._upstream`'s.
Every failure is an :class:`~ssemcp.toolsets._upstream.UpstreamError` worded for a model.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import httpx

from ssemcp._types import JSONObject, JSONValue
from ssemcp.toolsets._breaker import CircuitBreaker
from ssemcp.toolsets._deadline import call_deadline
from ssemcp.toolsets._upstream import (
    RequestBudget,
    RetryPolicy,
    TTLCache,
    UpstreamClient,
    UpstreamError,
    UpstreamNotFound,
)
from ssemcp.toolsets.hackernews.models import (
    Comment,
    Feed,
    Item,
    PollOption,
    RankedItem,
    SearchHit,
    SearchResults,
    StoryList,
    Thread,
    User,
    algolia_children,
    comment_from_algolia,
    comment_from_firebase,
    hit_from_algolia,
    is_gone,
    item_from_firebase,
    poll_option_from_firebase,
    user_from_firebase,
)
from ssemcp.toolsets.hackernews.settings import HackerNewsSettings

__all__ = [
    "HackerNewsAPI",
    "ItemUnavailable",
    "SearchType",
    "Sort",
    "check_date_range",
    "search_params",
]

logger = logging.getLogger(__name__)

# Algolia's item tags (hn.algolia.com/api: "story, comment, poll, pollopt, show_hn, ask_hn,
# front_page"); front_page marks the stories on the front page right now.
SearchType = Literal["story", "comment", "ask_hn", "show_hn", "poll", "front_page"]
Sort = Literal["relevance", "date"]

FIREBASE_NAME: Final = "The Hacker News API"
ALGOLIA_NAME: Final = "The HN Algolia search API"
# hn.algolia.com/api: the limit is per hour.
_BUDGET_WINDOW_SECONDS: Final = 3600.0
_ONE_DAY: Final = datetime.timedelta(days=1)


class ItemUnavailable(UpstreamNotFound):
    """The item does not exist, was deleted, or is dead."""


@dataclass(slots=True)
class _Tree:
    """Comments chosen for a thread, and the shape to emit them in."""

    root_id: int
    # Parent id -> child ids in display order (dropped comments included, to keep their
    # replies reachable).
    children: dict[int, list[int]]
    chosen: dict[int, Comment]
    truncated: bool = False

    def in_reading_order(self) -> list[Comment]:
        """Chosen comments depth-first: each before its replies, siblings in order."""
        ordered: list[Comment] = []
        stack = list(reversed(self.children.get(self.root_id, [])))
        while stack:
            comment_id = stack.pop()
            comment = self.chosen.get(comment_id)
            if comment is not None:
                ordered.append(comment)
            stack.extend(reversed(self.children.get(comment_id, [])))
        return ordered


def _object(value: JSONValue, upstream: str, what: str) -> JSONObject:
    if not isinstance(value, dict):
        raise UpstreamError(f"{upstream} sent an unexpected answer for {what}; try again later.")
    return value


def _unix_day(day: datetime.date) -> int:
    return int(datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp())


class HackerNewsAPI:
    """The two HN upstreams, behind one object per server.

    Args:
        settings: base URLs and tunables.
        now: the clock for cache lifetimes, the Algolia budget and the circuit breakers.
        transport: an httpx transport for both upstreams (tests); None uses the network.
    """

    def __init__(
        self,
        settings: HackerNewsSettings,
        *,
        now: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._now = now
        retry = RetryPolicy(settings.max_attempts, settings.backoff_seconds)

        def breaker() -> CircuitBreaker:
            # One per API: the two are separate hosts, and one down says nothing of the other.
            return CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_seconds, now)

        self.firebase = UpstreamClient(
            FIREBASE_NAME,
            settings.api_url,
            timeout_seconds=settings.timeout_seconds,
            max_concurrency=settings.max_concurrency,
            retry=retry,
            cache=TTLCache(settings.cache_max_entries, now),
            transport=transport,
            breaker=breaker(),
        )
        self.algolia = UpstreamClient(
            ALGOLIA_NAME,
            settings.algolia_url,
            timeout_seconds=settings.timeout_seconds,
            max_concurrency=settings.max_concurrency,
            retry=retry,
            cache=TTLCache(settings.cache_max_entries, now),
            budget=RequestBudget(settings.algolia_requests_per_hour, _BUDGET_WINDOW_SECONDS, now),
            transport=transport,
            breaker=breaker(),
        )

    async def aclose(self) -> None:
        await self.firebase.aclose()
        await self.algolia.aclose()

    # ------------------------------------------------------------------ Firebase

    async def feed_ids(self, feed: Feed, *, fresh: bool = False) -> list[int]:
        """The ids of a feed, in its order (``/topstories.json`` ...)."""
        value = await self.firebase.get_json(
            f"{feed}stories.json", ttl_seconds=self.settings.stories_ttl_seconds, fresh=fresh
        )
        if not isinstance(value, list):
            raise UpstreamError(
                f"{FIREBASE_NAME} sent an unexpected answer for the {feed} feed; try again later."
            )
        return [entry for entry in value if type(entry) is int]

    async def raw_item(self, item_id: int, *, fresh: bool = False) -> JSONObject:
        """The Firebase object of a live item.

        Raises:
            ItemUnavailable: no such item (a JSON ``null``), or it is deleted or dead.
        """
        value = await self.firebase.get_json(
            f"item/{item_id}.json", ttl_seconds=self.settings.items_ttl_seconds, fresh=fresh
        )
        if value is None:
            raise ItemUnavailable(
                f"Item {item_id} does not exist on Hacker News; check the id (ids come from "
                "hn_stories, hn_search or a thread's comments)."
            )
        raw = _object(value, FIREBASE_NAME, f"item {item_id}")
        if raw.get("deleted") is True:
            raise ItemUnavailable(f"Item {item_id} was deleted; it has no content to show.")
        if raw.get("dead") is True:
            raise ItemUnavailable(
                f"Item {item_id} is dead (flagged or removed by moderators) and is not shown."
            )
        return raw

    async def item(self, item_id: int) -> Item:
        """One live item; a poll comes with its options."""
        raw = await self.raw_item(item_id)
        return await self._item(raw)

    async def _item(self, raw: JSONObject) -> Item:
        options: list[PollOption] | None = None
        parts = raw.get("parts")
        if raw.get("type") == "poll" and isinstance(parts, list):
            option_ids = [part for part in parts if type(part) is int]
            found = await asyncio.gather(
                *(self._raw_or_error(option_id) for option_id in option_ids)
            )
            options = [
                option
                for option in (
                    poll_option_from_firebase(entry) for entry in found if isinstance(entry, dict)
                )
                if option is not None
            ]
        item = item_from_firebase(raw, options)
        if item is None:
            raise UpstreamError(
                f"{FIREBASE_NAME} sent an item of an unknown shape ({raw.get('id')!r})."
            )
        return item

    async def _raw_or_error(self, item_id: int) -> JSONObject | UpstreamError:
        try:
            return await self.raw_item(item_id)
        except UpstreamError as exc:
            return exc

    async def items(self, item_ids: Sequence[int]) -> list[Item | UpstreamError]:
        """Items fetched concurrently (bounded by the client), in the order asked."""
        found = await asyncio.gather(*(self._raw_or_error(item_id) for item_id in item_ids))
        results: list[Item | UpstreamError] = []
        for entry in found:
            if isinstance(entry, UpstreamError):
                results.append(entry)
                continue
            try:
                results.append(await self._item(entry))
            except UpstreamError as exc:
                results.append(exc)
        return results

    async def stories(self, feed: Feed, limit: int, offset: int) -> StoryList:
        """A page of a feed.

        Raises:
            UpstreamError: the feed could not be read, or no story of a non-empty page could.
        """
        ids = await self.feed_ids(feed)
        page = ids[offset : offset + limit]
        results = await self.items(page)
        # A story keeps its place in the feed whether or not the ones above it could be shown,
        # so its number does not change from one page (or one call) to the next.
        stories = [
            RankedItem(**dict(entry), rank=rank)
            for rank, entry in enumerate(results, start=offset + 1)
            if isinstance(entry, Item)
        ]
        failures = [entry for entry in results if isinstance(entry, UpstreamError)]
        if page and not stories:
            real = [failure for failure in failures if not isinstance(failure, ItemUnavailable)]
            if real:
                raise real[0]
        unavailable = [
            item_id
            for item_id, entry in zip(page, results, strict=True)
            if not isinstance(entry, Item)
        ]
        return StoryList(
            feed=feed, offset=offset, total=len(ids), stories=stories, unavailable=unavailable
        )

    async def raw_user(self, username: str, *, fresh: bool = False) -> JSONObject:
        """The Firebase object of a user.

        Raises:
            UpstreamNotFound: no such user.
        """
        value = await self.firebase.get_json(
            f"user/{username}.json", ttl_seconds=self.settings.users_ttl_seconds, fresh=fresh
        )
        if value is None:
            raise UpstreamNotFound(
                f"There is no Hacker News user {username!r} (usernames are case-sensitive)."
            )
        return _object(value, FIREBASE_NAME, f"user {username}")

    async def user(self, username: str, submissions: int = 0) -> User:
        """A profile and its ``submissions`` most recent live submissions."""
        raw = await self.raw_user(username)
        submitted = raw.get("submitted")
        ids = (
            [entry for entry in submitted if type(entry) is int]
            if isinstance(submitted, list)
            else []
        )
        recent: list[Item] = []
        if submissions:
            found = await self.items(ids[:submissions])
            recent = [entry for entry in found if isinstance(entry, Item)]
        user = user_from_firebase(raw, recent)
        if user is None:
            raise UpstreamError(f"{FIREBASE_NAME} sent a user of an unknown shape.")
        return user

    async def updates(self) -> tuple[set[int], set[str]]:
        """Recently changed item ids and usernames (``/updates.json``), never cached."""
        value = _object(
            await self.firebase.get_json("updates.json", fresh=True), FIREBASE_NAME, "updates"
        )
        items, profiles = value.get("items"), value.get("profiles")
        return (
            {entry for entry in items if type(entry) is int} if isinstance(items, list) else set(),
            {entry for entry in profiles if isinstance(entry, str)}
            if isinstance(profiles, list)
            else set(),
        )

    # ------------------------------------------------------------------ threads

    async def thread(self, item_id: int, depth: int, max_comments: int) -> Thread:
        """An item and its comments up to ``depth`` levels, at most ``max_comments``.

        Algolia's ``items/{id}`` gives the whole tree in one request; if it fails (down,
        budget spent, breaker open) or has not answered within ``algolia_thread_seconds``,
        the Firebase ``kids`` are walked level by level instead. Every level
        keeps HN's ranked order: top-level comments follow the root's ``kids``, and since
        Algolia does not rank nested replies, the replies of each shown comment with two or
        more are put in the order of that comment's Firebase ``kids`` (see
        :meth:`_rank_replies`). Deleted and dead comments are dropped; their replies stay
        (with the dropped comment as ``parent``). On both paths a comment's ``reply_count``
        is its replies that are neither deleted nor dead.
        """
        root_raw = await self.raw_item(item_id)
        root = await self._item(root_raw)
        if depth == 0 or not root.reply_ids:
            return Thread(item=root, comments=[], truncated=bool(root.reply_ids), source="firebase")
        source: Literal["algolia", "firebase"] = "algolia"
        try:
            # A short try: a hung Algolia must leave the call time to walk Firebase.
            with call_deadline(self.settings.algolia_thread_seconds, self._now):
                tree = await self._algolia_tree(item_id, root.reply_ids, depth, max_comments)
            await self._rank_replies(tree)
        except UpstreamError as exc:
            logger.info("thread %d: Algolia failed (%s); walking Firebase kids", item_id, exc)
            source = "firebase"
            tree = await self._firebase_tree(root.id, root.reply_ids, depth, max_comments)
        return Thread(
            item=root, comments=tree.in_reading_order(), truncated=tree.truncated, source=source
        )

    async def _algolia_tree(
        self, item_id: int, ranked_ids: list[int], depth: int, max_comments: int
    ) -> _Tree:
        value = await self.algolia.get_json(
            f"items/{item_id}", ttl_seconds=self.settings.items_ttl_seconds
        )
        node = _object(value, ALGOLIA_NAME, f"item {item_id}")
        rank = {comment_id: index for index, comment_id in enumerate(ranked_ids)}
        top = sorted(
            algolia_children(node),
            key=lambda child: rank.get(child.get("id"), len(rank)),  # type: ignore[arg-type]
        )
        tree = _Tree(item_id, {}, {})
        frontier: list[tuple[JSONObject, int]] = [(child, item_id) for child in top]
        level = 1
        while frontier:
            next_frontier: list[tuple[JSONObject, int]] = []
            for child, parent in frontier:
                child_id = child.get("id")
                if type(child_id) is not int:
                    continue
                tree.children.setdefault(parent, []).append(child_id)
                comment = comment_from_algolia(child, level, parent)
                if comment is not None:
                    if len(tree.chosen) >= max_comments:
                        tree.truncated = True
                        continue
                    tree.chosen[child_id] = comment
                grandchildren = algolia_children(child)
                if grandchildren and level >= depth:
                    tree.truncated = True
                elif grandchildren:
                    next_frontier.extend((grandchild, child_id) for grandchild in grandchildren)
            frontier = next_frontier
            level += 1
        return tree

    async def _rank_replies(self, tree: _Tree) -> None:
        """Put the replies of every shown comment in HN's ranked order (its Firebase ``kids``).

        One Firebase request per comment with two or more replies shown (cached like any
        item, bounded by the client's concurrency); where one fails, Algolia's order stays.
        """
        parents = [
            parent
            for parent, children in tree.children.items()
            if parent != tree.root_id and len(children) > 1
        ]
        rankings = await asyncio.gather(*(self._ranked_kids(parent) for parent in parents))
        for parent, kids in zip(parents, rankings, strict=True):
            if kids:
                rank = {kid: index for index, kid in enumerate(kids)}
                tree.children[parent].sort(key=lambda child: rank.get(child, len(rank)))

    async def _ranked_kids(self, item_id: int) -> list[int]:
        try:
            value = await self.firebase.get_json(
                f"item/{item_id}.json", ttl_seconds=self.settings.items_ttl_seconds
            )
        except UpstreamError as exc:
            logger.info("thread: no ranking for the replies of %d (%s)", item_id, exc)
            return []
        kids = value.get("kids") if isinstance(value, dict) else None
        return [kid for kid in kids if type(kid) is int] if isinstance(kids, list) else []

    async def _firebase_tree(
        self, root_id: int, kids: list[int], depth: int, max_comments: int
    ) -> _Tree:
        tree = _Tree(root_id, {root_id: list(kids)}, {})
        # Every comment object the walk read, to tell live replies from removed ones.
        read: dict[int, JSONObject] = {}
        frontier: list[tuple[int, int]] = [(kid, root_id) for kid in kids]
        level = 1
        while frontier:
            next_frontier: list[tuple[int, int]] = []
            start = 0
            # Fetch this level in chunks of what may still be chosen: deleted and dead
            # comments do not count, so a chunk may leave room for the next.
            while start < len(frontier) and len(tree.chosen) < max_comments:
                chunk = frontier[start : start + max_comments - len(tree.chosen)]
                start += len(chunk)
                found = await asyncio.gather(
                    *(self._comment_raw(comment_id) for comment_id, _ in chunk)
                )
                for (comment_id, parent), raw in zip(chunk, found, strict=True):
                    if raw is None:
                        continue
                    read[comment_id] = raw
                    comment = comment_from_firebase(raw, level, parent)
                    if comment is not None:
                        if len(tree.chosen) >= max_comments:
                            tree.truncated = True
                            continue
                        tree.chosen[comment_id] = comment
                    replies = raw.get("kids")
                    reply_ids = (
                        [reply for reply in replies if type(reply) is int]
                        if isinstance(replies, list)
                        else []
                    )
                    if reply_ids:
                        tree.children[comment_id] = reply_ids
                        if level >= depth:
                            tree.truncated = True
                        else:
                            next_frontier.extend((reply, comment_id) for reply in reply_ids)
            if start < len(frontier):
                tree.truncated = True
                break
            frontier = next_frontier
            level += 1
        await self._count_live_replies(tree, read)
        return tree

    async def _count_live_replies(self, tree: _Tree, read: dict[int, JSONObject]) -> None:
        """Set each chosen comment's ``reply_count`` to its replies that are neither deleted
        nor dead, as the Algolia path counts them (Firebase ``kids`` name removed replies
        too). Replies the walk did not read (below ``depth``, past ``max_comments``) are
        fetched for this, cached like any item; one that cannot be read is counted."""
        unread = [
            kid
            for comment_id in tree.chosen
            for kid in tree.children.get(comment_id, ())
            if kid not in read
        ]
        found = await asyncio.gather(*(self._comment_raw(kid) for kid in unread))
        read.update((kid, raw) for kid, raw in zip(unread, found, strict=True) if raw is not None)
        removed = {comment_id for comment_id, raw in read.items() if is_gone(raw)}
        tree.chosen = {
            comment_id: comment.model_copy(
                update={
                    "reply_count": sum(
                        kid not in removed for kid in tree.children.get(comment_id, ())
                    )
                }
            )
            for comment_id, comment in tree.chosen.items()
        }

    async def _comment_raw(self, comment_id: int) -> JSONObject | None:
        """A comment's Firebase object, deleted and dead ones included; None if unreadable."""
        try:
            value = await self.firebase.get_json(
                f"item/{comment_id}.json", ttl_seconds=self.settings.items_ttl_seconds
            )
        except UpstreamError as exc:
            logger.info("thread walk: comment %d skipped: %s", comment_id, exc)
            return None
        return value if isinstance(value, dict) else None

    # ------------------------------------------------------------------ Algolia search

    async def search(
        self,
        query: str,
        *,
        item_type: SearchType | None = None,
        author: str | None = None,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        min_points: int | None = None,
        min_comments: int | None = None,
        sort: Sort = "relevance",
        page: int = 1,
        hits_per_page: int = 20,
    ) -> SearchResults:
        """Algolia ``search`` (relevance) or ``search_by_date`` (newest first); ``page``
        counts from 1.

        ``tags`` are ANDed (hn.algolia.com/api: "filter on a specific tag ... default
        operator is AND"); ``since`` and ``until`` are whole UTC days, both included.
        """
        params = search_params(
            query,
            item_type=item_type,
            author=author,
            since=since,
            until=until,
            min_points=min_points,
            min_comments=min_comments,
            page=page,
            hits_per_page=hits_per_page,
        )
        endpoint = "search" if sort == "relevance" else "search_by_date"
        value = await self.algolia.get_json(
            endpoint, params, ttl_seconds=self.settings.search_ttl_seconds
        )
        answer = _object(value, ALGOLIA_NAME, "the search")
        raw_hits = answer.get("hits")
        if not isinstance(raw_hits, list):
            raise UpstreamError(f"{ALGOLIA_NAME} sent search results without hits.")
        hits: list[SearchHit] = [
            hit
            for hit in (hit_from_algolia(raw) for raw in raw_hits if isinstance(raw, dict))
            if hit is not None
        ]
        total = answer.get("nbHits")
        pages = answer.get("nbPages")
        return SearchResults(
            query=query,
            sort=sort,
            page=page,
            pages=pages if isinstance(pages, int) else 0,
            total_hits=total if isinstance(total, int) else len(hits),
            hits=hits,
        )


def check_date_range(since: datetime.date | None, until: datetime.date | None) -> None:
    """Raises ValueError when ``since`` is after ``until`` (both days are included)."""
    if since is not None and until is not None and since > until:
        raise ValueError(f"since ({since}) is after until ({until})")


def search_params(
    query: str,
    *,
    item_type: SearchType | None = None,
    author: str | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    min_points: int | None = None,
    min_comments: int | None = None,
    page: int = 1,
    hits_per_page: int = 20,
) -> dict[str, str]:
    """The query parameters of an Algolia HN search for ``page`` (counted from 1).

    Raises:
        ValueError: ``since`` is after ``until``.
    """
    check_date_range(since, until)
    # Algolia counts pages from 0; people, and our tools, from 1.
    params = {"query": query, "page": str(page - 1), "hitsPerPage": str(hits_per_page)}
    tags: list[str] = []
    if item_type is not None:
        tags.append(item_type)
    if author:
        tags.append(f"author_{author}")
    if tags:
        params["tags"] = ",".join(tags)
    numeric: list[str] = []
    if since is not None:
        numeric.append(f"created_at_i>={_unix_day(since)}")
    if until is not None:
        numeric.append(f"created_at_i<{_unix_day(until + _ONE_DAY)}")
    if min_points is not None:
        numeric.append(f"points>={min_points}")
    if min_comments is not None:
        numeric.append(f"num_comments>={min_comments}")
    if numeric:
        params["numericFilters"] = ",".join(numeric)
    return params
