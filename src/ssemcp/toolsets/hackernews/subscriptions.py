"""``SubscriptionPoller``: turning HN changes into ``notifications/resources/updated``.

Owns which ``hn://`` URIs are watched (told by the server's subscription counts), the one
polling task that runs while any is watched, and deciding what changed: a feed's ids, or an
item or profile that ``/v0/updates.json`` names and whose content differs from what we saw.
Serving the resources is :mod:`ssemcp.toolsets.hackernews`'s business; fetching is
:mod:`.api`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Final, Literal

from ssemcp._types import JSONValue
from ssemcp.server.registry import Server
from ssemcp.server.uritemplate import UriTemplate
from ssemcp.toolsets._upstream import UpstreamError, UpstreamNotFound
from ssemcp.toolsets.hackernews.api import HackerNewsAPI
from ssemcp.toolsets.hackernews.models import FEEDS, Feed

__all__ = [
    "ITEM_TEMPLATE",
    "POLLER_TASK_NAME",
    "STORIES_TEMPLATE",
    "USER_TEMPLATE",
    "SubscriptionPoller",
]

logger = logging.getLogger(__name__)

STORIES_TEMPLATE: Final = "hn://stories/{feed}"
ITEM_TEMPLATE: Final = "hn://item/{id}"
USER_TEMPLATE: Final = "hn://user/{username}"
# Tests (and operators) find the polling task by this name.
POLLER_TASK_NAME: Final = "ssemcp-hackernews-poller"


@dataclass(frozen=True, slots=True)
class _Target:
    kind: Literal["stories", "item", "user"]
    key: str


_TEMPLATES: Final = (
    ("stories", UriTemplate(STORIES_TEMPLATE), "feed"),
    ("item", UriTemplate(ITEM_TEMPLATE), "id"),
    ("user", UriTemplate(USER_TEMPLATE), "username"),
)


def _target(uri: str) -> _Target | None:
    """What an ``hn://`` URI watches, or None for a URI that is not ours (or not valid)."""
    for kind, template, variable in _TEMPLATES:
        values = template.match(uri)
        if values is None:
            continue
        key = values.get(variable, "")
        if kind == "stories" and key not in FEEDS:
            return None
        if kind == "item" and not (key.isdigit() and int(key) >= 1):  # HN ids start at 1
            return None
        if kind == "user" and not key:
            return None
        return _Target(kind, key)  # type: ignore[arg-type]
    return None


class SubscriptionPoller:
    """Polls HN while any ``hn://`` resource has a subscriber.

    Register :meth:`on_subscription_change` with ``server.on_subscription_change`` and
    :meth:`aclose` with ``server.add_cleanup``.

    Args:
        server: whose subscribers to notify.
        api: the upstreams.
        interval_seconds: the wait between two polls.
    """

    def __init__(self, server: Server, api: HackerNewsAPI, interval_seconds: float) -> None:
        self._server = server
        self._api = api
        self.interval_seconds = interval_seconds
        self._watched: dict[str, _Target] = {}
        # URI -> the content last seen (feed ids, item or profile JSON).
        self._seen: dict[str, JSONValue] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def watched(self) -> frozenset[str]:
        return frozenset(self._watched)

    def on_subscription_change(self, uri: str, subscribers: int) -> None:
        """Start watching ``uri`` at its first subscriber, stop at its last."""
        target = _target(uri)
        if target is None:
            return
        if subscribers > 0:
            self._watched[uri] = target
            if not self.is_running:
                self._task = asyncio.get_running_loop().create_task(
                    self._run(), name=POLLER_TASK_NAME
                )
            return
        self._watched.pop(uri, None)
        self._seen.pop(uri, None)
        if not self._watched and self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        """Stop polling (the transport is shutting down)."""
        self._watched.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while self._watched:
            try:
                await self.poll_once()
            except UpstreamError as exc:
                logger.info("hn subscriptions: poll failed: %s", exc)
            except Exception:
                logger.exception("hn subscriptions: poll crashed")
            await asyncio.sleep(self.interval_seconds)

    async def poll_once(self) -> list[str]:
        """One round: record what new subscriptions see now, and notify what changed.

        Returns:
            The URIs whose subscribers were notified.
        """
        watched = dict(self._watched)
        # First sight of a URI is its baseline: nothing to compare with yet.
        new = [(uri, target) for uri, target in watched.items() if uri not in self._seen]
        await asyncio.gather(*(self._baseline(uri, target) for uri, target in new))
        for uri, _ in new:
            del watched[uri]  # just fetched: compared from the next round on
        # A feed is compared whole; items and profiles only when updates.json names them.
        candidates = [uri for uri, target in watched.items() if target.kind == "stories"]
        if len(candidates) < len(watched):
            item_ids, usernames = await self._api.updates()
            candidates += [
                uri
                for uri, target in watched.items()
                if (target.kind == "item" and int(target.key) in item_ids)
                or (target.kind == "user" and target.key in usernames)
            ]
        differs = await asyncio.gather(*(self._differs(uri, watched[uri]) for uri in candidates))
        changed = [uri for uri, differ in zip(candidates, differs, strict=True) if differ]
        for uri in changed:
            if uri in self._watched:
                logger.debug("hn subscriptions: %s changed", uri)
                self._server.notify_resource_updated(uri)
        return changed

    async def _baseline(self, uri: str, target: _Target) -> None:
        try:
            self._seen[uri] = await self._content(target)
        except UpstreamError as exc:
            logger.info("hn subscriptions: %s: no baseline yet: %s", uri, exc)

    async def _differs(self, uri: str, target: _Target) -> bool:
        if uri not in self._seen:
            return False  # no baseline yet (its first fetch failed)
        try:
            content = await self._content(target)
        except UpstreamError as exc:
            logger.info("hn subscriptions: %s: %s", uri, exc)
            return False
        if uri not in self._watched or content == self._seen.get(uri):
            return False
        self._seen[uri] = content
        return True

    async def _content(self, target: _Target) -> JSONValue:
        """What a subscriber of ``target`` sees, fetched past the cache (and re-cached).

        Raises:
            UpstreamError: the upstream failed (a missing item is content, not a failure).
        """
        try:
            if target.kind == "stories":
                feed: Feed = target.key  # type: ignore[assignment]
                return list(await self._api.feed_ids(feed, fresh=True))
            if target.kind == "item":
                return await self._api.raw_item(int(target.key), fresh=True)
            return await self._api.raw_user(target.key, fresh=True)
        except UpstreamNotFound as exc:
            # A deleted or dead item is a state to compare: disappearing is a change.
            return {"unavailable": str(exc)}
