"""The readable text of each HN tool's result: its output model as compact Markdown.

Owns one pure function per output model (:func:`render_stories`, :func:`render_item`,
:func:`render_thread`, :func:`render_user`, :func:`render_search`, :func:`render_summary`)
and the formatters only they use (relative times, timestamps, listing lines); links, plurals
and excerpts are :mod:`.._markdown`'s. The text is for a model and a human to read at a
glance; the data itself travels as ``structuredContent``, built by :mod:`.models`. No I/O and
no clock: relative times ("3 h ago") are measured from a ``now`` the caller passes in.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Final

from ssemcp.toolsets._markdown import (
    DAY,
    HOUR,
    MINUTE,
    AgeUnits,
    ago,
    excerpt,
    joined,
    link,
    moment,
    one_line,
    plural,
)
from ssemcp.toolsets.hackernews.models import (
    HN_ITEM_URL,
    Comment,
    Feed,
    Item,
    SearchHit,
    SearchResults,
    StoryList,
    Thread,
    ThreadSummary,
    User,
)

__all__ = [
    "DEFAULT_MAX_THREAD_CHARS",
    "relative_time",
    "render_item",
    "render_search",
    "render_stories",
    "render_summary",
    "render_thread",
    "render_user",
]

# A thread's text stops at a comment boundary before this many characters (~10k tokens at
# ~4 characters a token). Claude Code, for one, moves a tool result of over 50,000
# characters out of the conversation into a file, and warns past 10,000 tokens; the
# structured content still carries every comment.
DEFAULT_MAX_THREAD_CHARS: Final = 40_000
# Comment and search-hit excerpts in one-line listings: about two lines of prose.
EXCERPT_CHARS: Final = 160

_FEED_TITLES: Final[dict[Feed, str]] = {
    "top": "Top stories",
    "new": "New stories",
    "best": "Best stories",
    "ask": "Ask HN",
    "show": "Show HN",
    "job": "Jobs",
}
_KIND_NAMES: Final = {
    "story": "story",
    "comment": "comment",
    "job": "job",
    "poll": "poll",
    "pollopt": "poll option",
}
_SORT_NAMES: Final = {"relevance": "best match first", "date": "newest first"}
# Relative times: the largest unit that fits, from the top of the table down.
_TIME_UNITS: Final[AgeUnits] = (
    (365 * DAY, "year", "years"),
    (30 * DAY, "month", "months"),
    (DAY, "day", "days"),
    (HOUR, "h", "h"),
    (MINUTE, "min", "min"),
)


# ---------------------------------------------------------------------- shared pieces


def relative_time(iso: str | None, now: float) -> str | None:
    """How long before ``now`` (Unix seconds) the ISO 8601 time was: "just now",
    "5 min ago", "3 h ago", "2 days ago", "4 months ago", "19 years ago"; None if unreadable.
    A time more than a minute after ``now`` (clock skew) is "in the future"."""
    when = moment(iso)
    if when is None:
        return None
    seconds = int(now - when.timestamp())
    if seconds < -MINUTE:
        return "in the future"
    return ago(seconds, _TIME_UNITS) or "just now"


def _date(iso: str | None) -> str | None:
    when = moment(iso)
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%d") if when else None


def _stamp(iso: str | None, now: float, *, with_time: bool = True) -> str | None:
    """ "2007-04-04 19:16 UTC (19 years ago)", or the date alone without ``with_time``."""
    when = moment(iso)
    if when is None:
        return None
    absolute = when.astimezone(datetime.UTC).strftime(
        "%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d"
    )
    return f"{absolute} ({relative_time(iso, now)})"


def _points_by(points: int | None, author: str | None) -> str | None:
    """ "111 points by pg", "111 points", "by pg" or None."""
    return joined(
        plural(points, "point") if points is not None else None,
        f"by {author}" if author else None,
        separator=" ",
    )


def _title_line(item: Item, now: float, *, show_author: bool = True) -> str:
    """A titled item in a list: link, then points, author, age, comments and id."""
    facts = joined(
        _KIND_NAMES[item.type] if item.type != "story" else None,
        _points_by(item.score, item.by if show_author else None),
        relative_time(item.time, now),
        plural(item.descendants, "comment") if item.descendants is not None else None,
    )
    title = link(item.title or "(untitled)", item.url or item.hn_url)
    return f"{title} — {facts} (id {item.id})" if facts else f"{title} (id {item.id})"


def _heading(item: Item) -> str:
    if item.title:
        return one_line(item.title)
    return f"{_KIND_NAMES[item.type].capitalize()} {item.id}"


# ---------------------------------------------------------------------- hn_stories


def render_stories(page: StoryList, now: float) -> str:
    """A feed page as a numbered list, one story a line:
    ``1. [Title](url) — 512 points by pg, 3 h ago, 104 comments (id 12345)``.

    A story's number is its rank, its place in the feed. A story that could not be shown
    keeps its number with a line saying so, so the list counts up by one as Markdown
    renumbers it anyway. The next page's offset closes the text.
    """
    title = _FEED_TITLES[page.feed]
    shown = len(page.stories) + len(page.unavailable)
    if not shown:
        return (
            f"# {title}\n\nNo stories at offset {page.offset}; the feed holds "
            f"{plural(page.total, 'story', 'stories')}."
        )
    lines = [f"# {title} ({page.offset + 1} to {page.offset + shown} of {page.total})", ""]
    by_rank = {story.rank: story for story in page.stories}
    # The ids not shown fill the ranks no story has, in the page's order.
    unavailable = iter(page.unavailable)
    for rank in range(page.offset + 1, page.offset + shown + 1):
        story = by_rank.get(rank)
        if story is not None:
            lines.append(f"{rank}. {_title_line(story, now)}")
        else:
            item_id = next(unavailable, None)
            lines.append(f"{rank}. Not shown: deleted, dead or failed to load (id {item_id})")
    if page.offset + shown < page.total:
        lines += ["", f"Next page: offset={page.offset + shown}."]
    return "\n".join(lines)


# ---------------------------------------------------------------------- hn_item


def render_item(item: Item, now: float) -> str:
    """An item: a heading (its title, or kind and id), a list of facts (kind, author,
    time, points or votes, comments or replies, parent, link, HN page), its text, and a
    poll's options with their votes."""
    facts = [f"Type: {_KIND_NAMES[item.type]} (id {item.id})"]
    if item.by:
        facts.append(f"By: {item.by}")
    posted = _stamp(item.time, now)
    if posted:
        facts.append(f"Posted: {posted}")
    if item.score is not None:
        facts.append(f"{'Votes' if item.type == 'pollopt' else 'Points'}: {item.score}")
    if item.descendants is not None:
        facts.append(f"Comments: {item.descendants}")
    elif item.reply_ids:
        facts.append(f"Replies: {len(item.reply_ids)} direct")
    if item.parent is not None:
        facts.append(f"In reply to: {item.parent}")
    if item.poll is not None:
        facts.append(f"Poll: {item.poll}")
    if item.url:
        facts.append(f"Link: {item.url}")
    facts.append(f"HN: {item.hn_url}")
    lines = [f"# {_heading(item)}", "", *(f"- {fact}" for fact in facts)]
    if item.text:
        lines += ["", item.text]
    if item.poll_options is not None:
        lines += ["", "## Poll options", ""]
        if not item.poll_options:
            lines.append("None could be read.")
        for number, option in enumerate(item.poll_options, start=1):
            votes = f" — {plural(option.score, 'vote')}" if option.score is not None else ""
            text = one_line(option.text) if option.text else "(no text)"
            lines.append(f"{number}. {text}{votes} (id {option.id})")
    return "\n".join(lines)


# ---------------------------------------------------------------------- hn_thread


def _comment_block(comment: Comment, level: int, orphan: bool, now: float) -> str:
    """One comment as a list item ``level`` deep, its text indented beneath it."""
    indent = "  " * (level - 1)
    header = joined(comment.by or "(unknown author)", relative_time(comment.time, now))
    notes = f"id {comment.id}, reply to removed comment {comment.parent}" if orphan else None
    lines = [f"{indent}- {header} ({notes or f'id {comment.id}'})"]
    body = comment.text or "(no text)"
    # Blank lines stay empty: no trailing whitespace, and the list item stays open.
    lines += [f"{indent}  {line}".rstrip() if line.strip() else "" for line in body.split("\n")]
    return "\n".join(lines)


def render_thread(thread: Thread, now: float, max_chars: int = DEFAULT_MAX_THREAD_CHARS) -> str:
    """An item (as :func:`render_item`) and its comments as an indented tree.

    Each comment is a list item two spaces deeper per level, with its author and age, its
    text beneath. Deleted and dead comments are not in a :class:`Thread`; a reply whose
    parent was removed says so, and is indented one level under the comment above it at
    most, so that the Markdown stays a list however many levels were removed.

    Args:
        max_chars: comments stop before the text would grow past this; a last line says
            how many were shown. The item itself is always shown whole.
    """
    parts = [render_item(thread.item, now), "", "## Comments", ""]
    count = len(thread.comments)
    if count:
        summary = f"{count} shown"
        if thread.truncated:
            summary += "; more exist beyond the depth or max_comments asked for"
        parts.append(summary + ".")
    else:
        parts.append(
            "None shown; replies exist beyond the depth or max_comments asked for."
            if thread.truncated
            else "None."
        )
    text = "\n".join(parts)
    shown_ids = {thread.item.id}
    previous_level = 0
    for index, comment in enumerate(thread.comments):
        level = min(comment.depth, previous_level + 1)
        orphan = comment.parent not in shown_ids
        block = _comment_block(comment, level, orphan, now)
        # The first comment follows a blank line; later ones follow the previous comment.
        separator = "\n\n" if index == 0 else "\n"
        if len(text) + len(separator) + len(block) > max_chars:
            return f"{text}\n\n[Cut for length: the first {index} of {count} comments are shown.]"
        text += separator + block
        shown_ids.add(comment.id)
        previous_level = level
    return text


# ---------------------------------------------------------------------- hn_user


def _submission_line(item: Item, now: float) -> str:
    if item.title:
        return _title_line(item, now, show_author=False)
    kind = _KIND_NAMES[item.type].capitalize()
    if item.parent is not None:
        kind += f" on item {item.parent}"
    elif item.poll is not None:
        kind += f" of poll {item.poll}"
    line = f"{joined(kind, relative_time(item.time, now))} (id {item.id})"
    return f"{line}: {excerpt(item.text, EXCERPT_CHARS)}" if item.text else line


def render_user(user: User, now: float) -> str:
    """A profile: karma, creation date, submission count, HN page, the about text, and the
    recent submissions asked for (stories as links, comments as excerpts)."""
    facts: list[str] = []
    if user.karma is not None:
        facts.append(f"Karma: {user.karma}")
    created = _stamp(user.created, now, with_time=False)
    if created:
        facts.append(f"Created: {created}")
    facts += [f"Submissions: {user.submission_count}", f"HN: {user.hn_url}"]
    lines = [f"# {user.id}", "", *(f"- {fact}" for fact in facts)]
    if user.about:
        lines += ["", "## About", "", user.about]
    if user.submissions:
        lines += ["", "## Latest submissions", ""]
        lines += [
            f"{number}. {_submission_line(item, now)}"
            for number, item in enumerate(user.submissions, start=1)
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------- hn_search


def _hit_line(hit: SearchHit) -> str:
    day = _date(hit.time)
    if hit.type == "comment":
        on: str | None = None
        if hit.story_id is not None:
            story = hit.story_title or f"item {hit.story_id}"
            on = f"on {link(story, f'{HN_ITEM_URL}{hit.story_id}')}"
        head = " ".join(
            part for part in ("Comment", f"by {hit.author}" if hit.author else None, on) if part
        )
        return f"{joined(head, day)} (id {hit.id})"
    facts = joined(
        _KIND_NAMES.get(hit.type, hit.type) if hit.type != "story" else None,
        _points_by(hit.points, hit.author),
        day,
        plural(hit.num_comments, "comment") if hit.num_comments is not None else None,
    )
    title = link(hit.title or "(untitled)", hit.url or hit.hn_url)
    return f"{title} — {facts} (id {hit.id})" if facts else f"{title} (id {hit.id})"


def _numbered(entries: Sequence[tuple[str, str | None]]) -> list[str]:
    """A numbered list whose entries may carry a quoted excerpt, indented under them."""
    lines: list[str] = []
    for number, (line, quote) in enumerate(entries, start=1):
        marker = f"{number}. "
        lines.append(marker + line)
        if quote:
            lines.append(" " * len(marker) + "> " + quote)
    return lines


def render_search(results: SearchResults) -> str:
    """Search hits as a numbered list under the query, the hit count, the order and the
    page (from 1, as the tool's ``page`` argument counts). Stories show title, points,
    author, date and comments; comments their story, author and date; each an excerpt of its
    text."""
    query = f'"{one_line(results.query)}"' if results.query.strip() else "(filters only)"
    status = f"{plural(results.total_hits, 'hit')}, {_SORT_NAMES[results.sort]}"
    if results.pages:
        status += f"; page {results.page} of {results.pages}."
        if results.page < results.pages:
            status += f" Next page: page={results.page + 1}."
    else:
        status += "."
    lines = [f"# Search: {query}", "", status]
    if results.hits:
        entries = [
            (_hit_line(hit), excerpt(hit.text, EXCERPT_CHARS) if hit.text else None)
            for hit in results.hits
        ]
        lines += ["", *_numbered(entries)]
    elif results.total_hits:
        lines += ["", "No hits on this page."]
    return "\n".join(lines)


# ---------------------------------------------------------------------- hn_summarize_thread


def render_summary(summary: ThreadSummary) -> str:
    """The summary under a heading naming the discussion, and who wrote it from what."""
    about = f"“{one_line(summary.title)}”" if summary.title else f"item {summary.id}"
    writer = summary.model or "the client's model"
    source = f"{plural(summary.comments_read, 'comment')} of item {summary.id}"
    return f"# Summary of {about}\n\n{summary.summary}\n\n*Written by {writer} from {source}.*"
