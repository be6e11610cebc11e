"""The readable text of the HN tools (``render.py``): exact output for each renderer.

Owns the Markdown a model reads: numbered story lists, items with their facts, threads as
indented trees (removed parents, depth jumps, cutting for length), profiles, search pages
and summaries; with empty lists, missing optional fields, Unicode, and relative times
measured from an injected ``now``. No I/O: models are built by hand. What reaches a client
through the server is ``test_hackernews_tools.py``'s.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest

from ssemcp.toolsets.hackernews.html import html_to_text
from ssemcp.toolsets.hackernews.models import (
    Comment,
    Item,
    PollOption,
    RankedItem,
    SearchHit,
    SearchResults,
    StoryList,
    Thread,
    ThreadSummary,
    User,
)
from ssemcp.toolsets.hackernews.render import (
    DEFAULT_MAX_THREAD_CHARS,
    relative_time,
    render_item,
    render_search,
    render_stories,
    render_summary,
    render_thread,
    render_user,
)

NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC).timestamp()
THREE_HOURS_AGO = "2026-11-24T09:00:00Z"
LONG_AGO = "2007-04-04T19:16:40Z"


def item(**fields: Any) -> Item:
    """A story with every optional field empty, then ``fields``."""
    item_id = fields.get("id", 1)
    defaults: dict[str, Any] = {
        "id": item_id,
        "type": "story",
        "by": None,
        "time": None,
        "title": None,
        "url": None,
        "text": None,
        "score": None,
        "descendants": None,
        "reply_ids": [],
        "parent": None,
        "poll": None,
        "hn_url": f"https://news.ycombinator.com/item?id={item_id}",
    }
    return Item(**(defaults | fields))


def ranked(story: Item, rank: int) -> RankedItem:
    """``story`` at place ``rank`` of a feed."""
    return RankedItem(**dict(story), rank=rank)


DROPBOX = item(
    id=8863,
    by="dhouston",
    time=LONG_AGO,
    title="My YC app: Dropbox - Throw away your USB drive",
    url="http://www.getdropbox.com/u/2/screencast.html",
    score=111,
    descendants=8,
    reply_ids=[9224, 8884],
)


def comment(comment_id: int, depth: int, parent: int, **fields: Any) -> Comment:
    defaults: dict[str, Any] = {
        "id": comment_id,
        "by": "alice",
        "time": THREE_HOURS_AGO,
        "text": f"Comment {comment_id}.",
        "depth": depth,
        "parent": parent,
        "reply_count": 0,
    }
    return Comment(**(defaults | fields))


def hit(**fields: Any) -> SearchHit:
    hit_id = fields.get("id", 1)
    defaults: dict[str, Any] = {
        "id": hit_id,
        "type": "story",
        "title": None,
        "url": None,
        "author": None,
        "points": None,
        "num_comments": None,
        "time": None,
        "text": None,
        "story_id": None,
        "story_title": None,
        "parent_id": None,
        "hn_url": f"https://news.ycombinator.com/item?id={hit_id}",
    }
    return SearchHit(**(defaults | fields))


def user(**fields: Any) -> User:
    defaults: dict[str, Any] = {
        "id": "pg",
        "created": None,
        "karma": None,
        "about": None,
        "submission_count": 0,
        "submissions": [],
        "hn_url": "https://news.ycombinator.com/user?id=pg",
    }
    return User(**(defaults | fields))


def ago(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(NOW - seconds, datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------- relative times

MINUTE, HOUR, DAY = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "just now"),
        (59, "just now"),
        (-59, "just now"),  # a clock a little behind HN's
        (-61, "in the future"),
        (60, "1 min ago"),
        (59 * MINUTE, "59 min ago"),
        (HOUR, "1 h ago"),
        (3 * HOUR + 59 * MINUTE, "3 h ago"),
        (DAY - 1, "23 h ago"),
        (DAY, "1 day ago"),
        (29 * DAY, "29 days ago"),
        (30 * DAY, "1 month ago"),
        (364 * DAY, "12 months ago"),
        (365 * DAY, "1 year ago"),
        (20 * 365 * DAY, "20 years ago"),
    ],
)
def test_relative_time_uses_the_largest_unit_that_fits(seconds: float, expected: str) -> None:
    assert relative_time(ago(seconds), NOW) == expected


@pytest.mark.parametrize("iso", [None, "", "yesterday", "2026-13-01T00:00:00Z"])
def test_relative_time_of_a_missing_or_unreadable_time_is_none(iso: str | None) -> None:
    assert relative_time(iso, NOW) is None


def test_relative_time_reads_offsets_and_naive_times_as_utc() -> None:
    assert relative_time("2026-11-24T10:00:00+01:00", NOW) == "3 h ago"
    assert relative_time("2026-11-24T09:00:00", NOW) == "3 h ago"


# ---------------------------------------------------------------------- hn_stories


def test_stories_are_a_numbered_list_with_points_author_age_and_comments() -> None:
    page = StoryList(
        feed="top",
        offset=0,
        total=2,
        stories=[
            ranked(DROPBOX, 1),
            ranked(
                item(
                    id=12345,
                    by="pg",
                    time=THREE_HOURS_AGO,
                    title="Hackers and Painters",
                    url="http://paulgraham.com/hp.html",
                    score=512,
                    descendants=104,
                ),
                2,
            ),
        ],
        unavailable=[],
    )
    assert render_stories(page, NOW) == (
        "# Top stories (1 to 2 of 2)\n"
        "\n"
        "1. [My YC app: Dropbox - Throw away your USB drive]"
        "(http://www.getdropbox.com/u/2/screencast.html) — 111 points by dhouston, "
        "19 years ago, 8 comments (id 8863)\n"
        "2. [Hackers and Painters](http://paulgraham.com/hp.html) — 512 points by pg, "
        "3 h ago, 104 comments (id 12345)"
    )


def test_stories_are_numbered_by_rank_with_unavailable_ones_in_their_place() -> None:
    page = StoryList(
        feed="ask",
        offset=30,
        total=200,
        stories=[
            ranked(item(id=5, title="Ask HN: Who is hiring?", score=1, descendants=1, by="a"), 32)
        ],
        unavailable=[6, 7],
    )
    assert render_stories(page, NOW) == (
        "# Ask HN (31 to 33 of 200)\n"
        "\n"
        "31. Not shown: deleted, dead or failed to load (id 6)\n"
        "32. [Ask HN: Who is hiring?](https://news.ycombinator.com/item?id=5) — 1 point by a, "
        "1 comment (id 5)\n"
        "33. Not shown: deleted, dead or failed to load (id 7)\n"
        "\n"
        "Next page: offset=33."
    )


def test_stories_with_missing_fields_say_only_what_is_known() -> None:
    page = StoryList(
        feed="job",
        offset=0,
        total=3,
        stories=[
            ranked(item(id=1, type="job", title="Acme is hiring", time=THREE_HOURS_AGO), 1),
            ranked(item(id=2), 2),  # no title, author, score, time or comments
            ranked(item(id=3, title="Scoreless", by="bob"), 3),
        ],
        unavailable=[],
    )
    assert render_stories(page, NOW) == (
        "# Jobs (1 to 3 of 3)\n"
        "\n"
        "1. [Acme is hiring](https://news.ycombinator.com/item?id=1) — job, 3 h ago (id 1)\n"
        "2. [(untitled)](https://news.ycombinator.com/item?id=2) (id 2)\n"
        "3. [Scoreless](https://news.ycombinator.com/item?id=3) — by bob (id 3)"
    )


def test_empty_stories_page_says_where_the_feed_ends() -> None:
    empty = StoryList(feed="new", offset=50, total=7, stories=[], unavailable=[])
    assert render_stories(empty, NOW) == (
        "# New stories\n\nNo stories at offset 50; the feed holds 7 stories."
    )
    nothing = StoryList(feed="show", offset=0, total=1, stories=[], unavailable=[])
    assert (
        render_stories(nothing, NOW)
        == "# Show HN\n\nNo stories at offset 0; the feed holds 1 story."
    )


def test_a_page_of_only_unavailable_stories_lists_their_ids() -> None:
    page = StoryList(feed="best", offset=0, total=2, stories=[], unavailable=[8000, 8001])
    assert render_stories(page, NOW) == (
        "# Best stories (1 to 2 of 2)\n"
        "\n"
        "1. Not shown: deleted, dead or failed to load (id 8000)\n"
        "2. Not shown: deleted, dead or failed to load (id 8001)"
    )


def test_story_titles_and_urls_cannot_break_the_markdown_link() -> None:
    page = StoryList(
        feed="top",
        offset=0,
        total=1,
        stories=[
            ranked(
                item(
                    id=9,
                    title="Show HN: [beta] 東京 ☕ C:\\path",
                    url="https://en.wikipedia.org/wiki/Go_(game) <x>",
                    score=3,
                ),
                1,
            )
        ],
        unavailable=[],
    )
    assert render_stories(page, NOW).splitlines()[2] == (
        "1. [Show HN: \\[beta\\] 東京 ☕ C:\\\\path]"
        "(https://en.wikipedia.org/wiki/Go_%28game%29%20%3Cx%3E) — 3 points (id 9)"
    )


# ---------------------------------------------------------------------- hn_item


def test_story_item_lists_its_facts() -> None:
    assert render_item(DROPBOX, NOW) == (
        "# My YC app: Dropbox - Throw away your USB drive\n"
        "\n"
        "- Type: story (id 8863)\n"
        "- By: dhouston\n"
        "- Posted: 2007-04-04 19:16 UTC (19 years ago)\n"
        "- Points: 111\n"
        "- Comments: 8\n"
        "- Link: http://www.getdropbox.com/u/2/screencast.html\n"
        "- HN: https://news.ycombinator.com/item?id=8863"
    )


def test_comment_item_shows_its_parent_replies_and_markdown_text() -> None:
    reply = item(
        id=9224,
        type="comment",
        by="BrandonM",
        time=THREE_HOURS_AGO,
        text="Two points:\n\n1. *First*.\n\n```\ncode  here\n```",
        reply_ids=[9272, 9479],
        parent=8863,
    )
    assert render_item(reply, NOW) == (
        "# Comment 9224\n"
        "\n"
        "- Type: comment (id 9224)\n"
        "- By: BrandonM\n"
        "- Posted: 2026-11-24 09:00 UTC (3 h ago)\n"
        "- Replies: 2 direct\n"
        "- In reply to: 8863\n"
        "- HN: https://news.ycombinator.com/item?id=9224\n"
        "\n"
        "Two points:\n\n1. *First*.\n\n```\ncode  here\n```"
    )


def test_poll_item_lists_its_options_with_votes() -> None:
    poll = item(
        id=126809,
        type="poll",
        by="pg",
        title="Poll: ban Valleywag?",
        score=46,
        descendants=0,
        poll_options=[
            PollOption(id=126810, text="Yes, ban them.", score=335),
            PollOption(id=126811, text="No,\nkeep them.", score=1),
            PollOption(id=126812, text=None, score=None),
        ],
    )
    assert render_item(poll, NOW) == (
        "# Poll: ban Valleywag?\n"
        "\n"
        "- Type: poll (id 126809)\n"
        "- By: pg\n"
        "- Points: 46\n"
        "- Comments: 0\n"
        "- HN: https://news.ycombinator.com/item?id=126809\n"
        "\n"
        "## Poll options\n"
        "\n"
        "1. Yes, ban them. — 335 votes (id 126810)\n"
        "2. No, keep them. — 1 vote (id 126811)\n"
        "3. (no text) (id 126812)"
    )


def test_poll_whose_options_could_not_be_read_says_so() -> None:
    poll = item(id=5, type="poll", title="Which?", poll_options=[])
    assert render_item(poll, NOW).endswith("## Poll options\n\nNone could be read.")


def test_poll_option_item_shows_its_votes_and_poll() -> None:
    option = item(id=126811, type="pollopt", text="No.", score=163, poll=126809)
    assert render_item(option, NOW) == (
        "# Poll option 126811\n"
        "\n"
        "- Type: poll option (id 126811)\n"
        "- Votes: 163\n"
        "- Poll: 126809\n"
        "- HN: https://news.ycombinator.com/item?id=126811\n"
        "\n"
        "No."
    )


def test_item_with_nothing_optional_is_its_kind_id_and_hn_page() -> None:
    assert render_item(item(id=77, type="job"), NOW) == (
        "# Job 77\n\n- Type: job (id 77)\n- HN: https://news.ycombinator.com/item?id=77"
    )


def test_item_keeps_unicode_titles_and_text() -> None:
    story = item(id=3, title="Ünïcödé — 日本語 🚀", text="Ça va ? 👍", by="zoë")
    assert render_item(story, NOW) == (
        "# Ünïcödé — 日本語 🚀\n"
        "\n"
        "- Type: story (id 3)\n"
        "- By: zoë\n"
        "- HN: https://news.ycombinator.com/item?id=3\n"
        "\n"
        "Ça va ? 👍"
    )


# ---------------------------------------------------------------------- hn_thread

ROOT_HEADER = (
    "# My YC app: Dropbox - Throw away your USB drive\n"
    "\n"
    "- Type: story (id 8863)\n"
    "- By: dhouston\n"
    "- Posted: 2007-04-04 19:16 UTC (19 years ago)\n"
    "- Points: 111\n"
    "- Comments: 8\n"
    "- Link: http://www.getdropbox.com/u/2/screencast.html\n"
    "- HN: https://news.ycombinator.com/item?id=8863\n"
    "\n"
    "## Comments\n"
    "\n"
)


def thread(comments: list[Comment], *, truncated: bool = False) -> Thread:
    return Thread(item=DROPBOX, comments=comments, truncated=truncated, source="algolia")


def test_thread_is_an_indented_tree_with_author_and_age() -> None:
    tree = thread(
        [
            comment(9224, 1, 8863, by="BrandonM", text="First.\n\nSecond paragraph."),
            comment(9272, 2, 9224, by="dhouston", time=ago(5 * MINUTE)),
            comment(9500, 3, 9272, by="BrandonM", text="Fair enough & good luck."),
            comment(8952, 1, 8863, by="jganetsk", text="Code:\n\n```\n  x = 1\n```"),
        ]
    )
    assert render_thread(tree, NOW) == ROOT_HEADER + (
        "4 shown.\n"
        "\n"
        "- BrandonM, 3 h ago (id 9224)\n"
        "  First.\n"
        "\n"
        "  Second paragraph.\n"
        "  - dhouston, 5 min ago (id 9272)\n"
        "    Comment 9272.\n"
        "    - BrandonM, 3 h ago (id 9500)\n"
        "      Fair enough & good luck.\n"
        "- jganetsk, 3 h ago (id 8952)\n"
        "  Code:\n"
        "\n"
        "  ```\n"
        "    x = 1\n"
        "  ```"
    )


def fenced_lines(text: str) -> set[int]:
    """Indexes of the lines of ``text`` inside (or delimiting) a fenced code block, as
    CommonMark reads fences: a run of three or more backticks or tildes opens one, and only a
    run of the same character at least as long, alone on its line, closes it."""
    inside: set[int] = set()
    opening: str | None = None
    for index, line in enumerate(text.split("\n")):
        stripped = line.strip()
        run = len(stripped) - len(stripped.lstrip(stripped[:1])) if stripped else 0
        if opening is None:
            if run >= 3 and stripped[0] in "`~":
                opening = stripped[:run]
                inside.add(index)
            continue
        inside.add(index)
        if run >= len(opening) and stripped == stripped[0] * run and stripped[0] == opening[0]:
            opening = None
    return inside


def test_thread_code_with_a_backtick_run_cannot_swallow_the_comments_after_it() -> None:
    # Markdown shown as code, its own fence left open: one fence line inside the code.
    code = html_to_text("In a README:<p><pre><code>Install:\n```\npip install x</code></pre>")
    tree = thread(
        [
            comment(8952, 1, 8863, by="jganetsk", text=code),
            comment(8884, 1, 8863, by="jsomers", text="Later comment."),
        ]
    )
    text = render_thread(tree, NOW)
    lines = text.split("\n")
    inside = fenced_lines(text)
    assert [lines[index].strip() for index in sorted(inside)] == [
        "````",
        "Install:",
        "```",
        "pip install x",
        "````",
    ]
    assert lines.index("- jsomers, 3 h ago (id 8884)") not in inside
    assert text.endswith("- jsomers, 3 h ago (id 8884)\n  Later comment.")


def test_thread_text_from_hn_cannot_forge_headings_or_link_definitions() -> None:
    forged = html_to_text(
        "## Poll options<p>[hn]: https:&#x2F;&#x2F;evil.example<p>Fake title<br>---"
        "<p>&gt; # Summary"
    )
    tree = thread([comment(8952, 1, 8863, by="mallory", text=forged)])
    text = render_thread(tree, NOW)
    headings = [line for line in text.split("\n") if re.match(r" {0,3}(?:> ?)*#{1,6}( |$)", line)]
    assert headings == ["# My YC app: Dropbox - Throw away your USB drive", "## Comments"]
    assert not re.search(r"^ *(?:> ?)*\[[^\]]*\]:", text, re.MULTILINE)
    assert not re.search(r"^ *[-=]+ *$", text, re.MULTILINE)  # no setext underline
    assert text.endswith(
        "- mallory, 3 h ago (id 8952)\n"
        "  \\## Poll options\n"
        "\n"
        "  \\[hn]: https://evil.example\n"
        "\n"
        "  Fake title\n"
        "  \\---\n"
        "\n"
        "  > \\# Summary"
    )


def test_thread_without_comments_says_none() -> None:
    assert render_thread(thread([]), NOW) == ROOT_HEADER + "None."


def test_thread_cut_by_depth_or_limit_says_more_exist() -> None:
    assert render_thread(thread([], truncated=True), NOW) == ROOT_HEADER + (
        "None shown; replies exist beyond the depth or max_comments asked for."
    )
    assert render_thread(thread([comment(1, 1, 8863)], truncated=True), NOW) == ROOT_HEADER + (
        "1 shown; more exist beyond the depth or max_comments asked for.\n"
        "\n"
        "- alice, 3 h ago (id 1)\n"
        "  Comment 1."
    )


def test_thread_reply_to_a_deleted_or_dead_comment_names_the_removed_parent() -> None:
    # 9479 (top level) was deleted: the Thread leaves it out and keeps its reply 9480, which
    # sits at its own depth under the comment above, saying whose reply it is.
    tree = thread(
        [
            comment(9224, 1, 8863),
            comment(9272, 2, 9224),
            comment(9480, 2, 9479, by="aston"),
            comment(8884, 1, 8863),
        ]
    )
    assert render_thread(tree, NOW) == ROOT_HEADER + (
        "4 shown.\n"
        "\n"
        "- alice, 3 h ago (id 9224)\n"
        "  Comment 9224.\n"
        "  - alice, 3 h ago (id 9272)\n"
        "    Comment 9272.\n"
        "  - aston, 3 h ago (id 9480, reply to removed comment 9479)\n"
        "    Comment 9480.\n"
        "- alice, 3 h ago (id 8884)\n"
        "  Comment 8884."
    )


def test_thread_indents_at_most_one_level_deeper_than_the_comment_above() -> None:
    # Two removed levels between 1 and 4: four more spaces would make a Markdown code block.
    tree = thread([comment(1, 1, 8863), comment(4, 4, 3), comment(5, 5, 4), comment(6, 2, 1)])
    assert render_thread(tree, NOW) == ROOT_HEADER + (
        "4 shown.\n"
        "\n"
        "- alice, 3 h ago (id 1)\n"
        "  Comment 1.\n"
        "  - alice, 3 h ago (id 4, reply to removed comment 3)\n"
        "    Comment 4.\n"
        "    - alice, 3 h ago (id 5)\n"
        "      Comment 5.\n"
        "  - alice, 3 h ago (id 6)\n"
        "    Comment 6."
    )


def test_thread_comment_without_author_time_or_text() -> None:
    tree = thread([comment(1, 1, 8863, by=None, time=None, text=None)])
    assert render_thread(tree, NOW) == ROOT_HEADER + (
        "1 shown.\n\n- (unknown author) (id 1)\n  (no text)"
    )


def test_thread_keeps_unicode_text() -> None:
    tree = thread([comment(1, 1, 8863, by="zoë", text="日本語\n\n🚀 ok")])
    assert render_thread(tree, NOW) == ROOT_HEADER + (
        "1 shown.\n\n- zoë, 3 h ago (id 1)\n  日本語\n\n  🚀 ok"
    )


def test_thread_of_a_comment_starts_its_replies_at_the_top_level() -> None:
    root = item(id=9224, type="comment", by="BrandonM", text="Root.", parent=8863)
    tree = Thread(
        item=root,
        comments=[comment(9272, 1, 9224), comment(9500, 2, 9272)],
        truncated=False,
        source="firebase",
    )
    assert render_thread(tree, NOW).endswith(
        "Root.\n"
        "\n"
        "## Comments\n"
        "\n"
        "2 shown.\n"
        "\n"
        "- alice, 3 h ago (id 9272)\n"
        "  Comment 9272.\n"
        "  - alice, 3 h ago (id 9500)\n"
        "    Comment 9500."
    )


def long_thread(count: int) -> Thread:
    """``count`` comments of ~500 characters: top-level ones, each with one reply."""
    comments = []
    for number in range(1, count + 1):
        depth = 1 if number % 2 else 2
        parent = 8863 if depth == 1 else number - 1
        comments.append(comment(number, depth, parent, text=f"{number} " + "word " * 100))
    return thread(comments)


def test_very_long_thread_is_cut_between_comments_and_says_how_many_are_shown() -> None:
    rendered = render_thread(long_thread(500), NOW)
    body, note = rendered.rsplit("\n\n", 1)
    assert len(body) <= DEFAULT_MAX_THREAD_CHARS
    shown = body.count(", 3 h ago (id ")
    assert 50 < shown < 500
    assert note == f"[Cut for length: the first {shown} of 500 comments are shown.]"
    # The last comment shown is whole: its header and its full text.
    *_, last_header, last_text = body.splitlines()
    assert last_header.endswith(f"(id {shown})")
    assert last_text.strip() == f"{shown} " + "word " * 99 + "word"


def test_thread_cut_keeps_the_item_and_may_show_no_comment() -> None:
    rendered = render_thread(long_thread(3), NOW, max_chars=10)
    assert (
        rendered
        == ROOT_HEADER + "3 shown.\n\n[Cut for length: the first 0 of 3 comments are shown.]"
    )


def test_thread_that_fits_exactly_is_not_cut() -> None:
    tree = long_thread(3)
    whole = render_thread(tree, NOW, max_chars=10**6)
    assert render_thread(tree, NOW, max_chars=len(whole)) == whole
    assert render_thread(tree, NOW, max_chars=len(whole) - 1).endswith(
        "[Cut for length: the first 2 of 3 comments are shown.]"
    )


# ---------------------------------------------------------------------- hn_user


def test_user_shows_karma_created_about_and_latest_submissions() -> None:
    profile = user(
        id="dhouston",
        created="2007-03-30T21:17:47Z",
        karma=4011,
        about="Founder/CEO of Dropbox (<http://www.dropbox.com>)\n\nyc summer '07",
        submission_count=4,
        submissions=[
            item(
                id=9600,
                type="comment",
                by="dhouston",
                time=ago(2 * DAY),
                text="Thanks!",
                parent=9500,
            ),
            item(
                id=9601,
                type="comment",
                by="dhouston",
                time=ago(DAY),
                text="A long reply.\n\n" + "word " * 40,
                parent=9224,
            ),
            item(
                id=8863,
                by="dhouston",
                time=LONG_AGO,
                title="My YC app: Dropbox",
                url="http://www.getdropbox.com/",
                score=111,
                descendants=8,
            ),
        ],
        hn_url="https://news.ycombinator.com/user?id=dhouston",
    )
    assert render_user(profile, NOW) == (
        "# dhouston\n"
        "\n"
        "- Karma: 4011\n"
        "- Created: 2007-03-30 (19 years ago)\n"
        "- Submissions: 4\n"
        "- HN: https://news.ycombinator.com/user?id=dhouston\n"
        "\n"
        "## About\n"
        "\n"
        "Founder/CEO of Dropbox (<http://www.dropbox.com>)\n"
        "\n"
        "yc summer '07\n"
        "\n"
        "## Latest submissions\n"
        "\n"
        "1. Comment on item 9500, 2 days ago (id 9600): Thanks!\n"
        "2. Comment on item 9224, 1 day ago (id 9601): A long reply. " + "word " * 28 + "word…\n"
        "3. [My YC app: Dropbox](http://www.getdropbox.com/) — 111 points, 19 years ago, "
        "8 comments (id 8863)"
    )


def test_user_with_nothing_optional_is_the_count_and_hn_page() -> None:
    assert render_user(user(), NOW) == (
        "# pg\n\n- Submissions: 0\n- HN: https://news.ycombinator.com/user?id=pg"
    )


def test_user_submission_of_a_poll_option_or_without_text() -> None:
    profile = user(
        submission_count=2,
        submissions=[
            item(id=2, type="pollopt", poll=1, text="Yes", score=3),
            item(id=3, type="comment", parent=1),
        ],
    )
    assert render_user(profile, NOW).endswith(
        "## Latest submissions\n\n1. Poll option of poll 1 (id 2): Yes\n2. Comment on item 1 (id 3)"
    )


def test_user_excerpts_cut_unicode_text_by_characters() -> None:
    profile = user(
        submission_count=1,
        submissions=[item(id=4, type="comment", parent=1, text="日本語 " * 60)],
    )
    line = render_user(profile, NOW).splitlines()[-1]
    excerpt = line.removeprefix("1. Comment on item 1 (id 4): ")
    assert excerpt == "日本語 " * 38 + "日本語…"
    assert len(excerpt) <= 160


# ---------------------------------------------------------------------- hn_search


def test_search_lists_stories_and_comments_under_the_query_and_page() -> None:
    results = SearchResults(
        query="dropbox",
        sort="relevance",
        page=1,
        pages=3,
        total_hits=42,
        hits=[
            hit(
                id=8863,
                title="My YC app: Dropbox",
                url="http://www.getdropbox.com/",
                author="dhouston",
                points=111,
                num_comments=8,
                time=LONG_AGO,
            ),
            hit(
                id=9224,
                type="comment",
                author="BrandonM",
                time="2007-04-04T22:54:46Z",
                text="I have a few qualms:\n\n1. FTP.",
                story_id=8863,
                story_title="My YC app: Dropbox",
                parent_id=8863,
            ),
        ],
    )
    assert render_search(results) == (
        '# Search: "dropbox"\n'
        "\n"
        "42 hits, best match first; page 1 of 3. Next page: page=2.\n"
        "\n"
        "1. [My YC app: Dropbox](http://www.getdropbox.com/) — 111 points by dhouston, "
        "2007-04-04, 8 comments (id 8863)\n"
        "2. Comment by BrandonM on [My YC app: Dropbox]"
        "(https://news.ycombinator.com/item?id=8863), 2007-04-04 (id 9224)\n"
        "   > I have a few qualms: 1. FTP."
    )


def test_search_last_page_by_date_has_no_next_page() -> None:
    results = SearchResults(
        query="x", sort="date", page=3, pages=3, total_hits=41, hits=[hit(id=5, title="X")]
    )
    assert render_search(results) == (
        '# Search: "x"\n'
        "\n"
        "41 hits, newest first; page 3 of 3.\n"
        "\n"
        "1. [X](https://news.ycombinator.com/item?id=5) (id 5)"
    )


def test_search_without_hits() -> None:
    none = SearchResults(query="zzz", sort="relevance", page=1, pages=0, total_hits=0, hits=[])
    assert render_search(none) == '# Search: "zzz"\n\n0 hits, best match first.'
    past_the_end = SearchResults(query="a", sort="date", page=9, pages=2, total_hits=30, hits=[])
    assert render_search(past_the_end) == (
        '# Search: "a"\n\n30 hits, newest first; page 9 of 2.\n\nNo hits on this page.'
    )


def test_search_with_filters_only_and_odd_hits() -> None:
    results = SearchResults(
        query="  ",
        sort="date",
        page=1,
        pages=1,
        total_hits=1,
        hits=[
            hit(id=1, type="comment", text="Orphan comment."),
            hit(id=2, type="comment", author="a", story_id=7),
            hit(id=3, type="job", title="Acme [hiring]", points=1, time=THREE_HOURS_AGO),
            hit(id=10, title="Ten", text="日本語 " * 60),
        ],
    )
    lines = render_search(results).splitlines()
    assert lines[:3] == [
        "# Search: (filters only)",
        "",
        "1 hit, newest first; page 1 of 1.",
    ]
    assert lines[4:] == [
        "1. Comment (id 1)",
        "   > Orphan comment.",
        "2. Comment by a on [item 7](https://news.ycombinator.com/item?id=7) (id 2)",
        "3. [Acme \\[hiring\\]](https://news.ycombinator.com/item?id=3) — job, 1 point, "
        "2026-11-24 (id 3)",
        "4. [Ten](https://news.ycombinator.com/item?id=10) (id 10)",
        "   > " + "日本語 " * 38 + "日本語…",
    ]


def test_search_excerpt_indent_follows_the_number_width() -> None:
    hits = [hit(id=number, title=f"T{number}", text="body") for number in range(1, 11)]
    results = SearchResults(query="t", sort="relevance", page=1, pages=1, total_hits=10, hits=hits)
    assert render_search(results).splitlines()[-2:] == [
        "10. [T10](https://news.ycombinator.com/item?id=10) (id 10)",
        "    > body",
    ]


# ---------------------------------------------------------------------- hn_summarize_thread


def test_summary_names_the_discussion_and_its_writer() -> None:
    summary = ThreadSummary(
        id=8863,
        title="My YC app: Dropbox",
        summary="Commenters doubt the market.\n\nSome love the video.",
        model="fake-model-1",
        comments_read=6,
    )
    assert render_summary(summary) == (
        "# Summary of “My YC app: Dropbox”\n"
        "\n"
        "Commenters doubt the market.\n"
        "\n"
        "Some love the video.\n"
        "\n"
        "*Written by fake-model-1 from 6 comments of item 8863.*"
    )


def test_summary_without_title_or_model() -> None:
    summary = ThreadSummary(id=9224, title=None, summary="Short.", model=None, comments_read=1)
    assert render_summary(summary) == (
        "# Summary of item 9224\n\nShort.\n\n*Written by the client's model from 1 comment of "
        "item 9224.*"
    )


# ---------------------------------------------------------------------- every renderer


def test_no_rendering_has_trailing_whitespace() -> None:
    texts = [
        render_thread(long_thread(20), NOW),
        render_item(item(id=1, text="a\n\nb"), NOW),
        render_user(user(about="x\n\ny"), NOW),
        render_search(
            SearchResults(
                query="q", sort="date", page=1, pages=1, total_hits=1, hits=[hit(text="a\n\nb")]
            )
        ),
    ]
    for text in texts:
        assert all(line == line.rstrip() for line in text.splitlines())
        assert not text.endswith("\n")
