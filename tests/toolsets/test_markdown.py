"""The Markdown pieces the renderers share (``toolsets/_markdown.py``): exact output of each.

What each tool's whole text looks like is the tool sets' ``test_*_render.py``'s.
"""

from __future__ import annotations

import datetime

import pytest

from ssemcp.toolsets._markdown import (
    DAY,
    HOUR,
    MINUTE,
    AgeUnits,
    ago,
    escape_block_start,
    excerpt,
    fenced,
    grouped,
    joined,
    link,
    moment,
    one_line,
    plural,
)

UNITS: AgeUnits = ((DAY, "day", "days"), (HOUR, "h", "h"))


def test_one_line_folds_every_run_of_white_space_to_one_space() -> None:
    assert one_line("  a\tb\n\nc \r\n d  ") == "a b c d"
    assert one_line("") == ""


def test_link_escapes_brackets_and_backslashes_in_its_text() -> None:
    assert link("a [b] \\ c", "https://x.test/") == "[a \\[b\\] \\\\ c](https://x.test/)"


def test_link_percent_encodes_what_would_end_its_target() -> None:
    assert link("t", "https://x.test/a b(c)<d>") == "[t](https://x.test/a%20b%28c%29%3Cd%3E)"


def test_link_text_is_one_line() -> None:
    assert link("two\nlines", "https://x.test/") == "[two lines](https://x.test/)"


@pytest.mark.parametrize(
    ("line", "escaped"),
    [
        ("# Comments", "\\# Comments"),
        ("###### six", "\\###### six"),
        ("   # indented", "   \\# indented"),
        ("===", "\\==="),  # a setext underline makes the line above a heading
        ("---", "\\---"),
        ("-", "\\-"),
        ("* * *", "\\* * *"),
        ("```python", "\\```python"),
        ("~~~", "\\~~~"),
        ("[1]: https://evil.example", "\\[1]: https://evil.example"),
        ("<!-- the rest is hidden", "\\<!-- the rest is hidden"),
        ("<div>", "\\<div>"),
        ("</p>", "\\</p>"),
        ("<?php", "\\<?php"),
        ("> # quoted heading", "> \\# quoted heading"),
        ("- [x]: y", "- \\[x]: y"),
        ("1. ```", "1. \\```"),
        ("> - ---", "> - \\---"),
    ],
)
def test_escape_block_start_keeps_a_line_from_opening_a_block(line: str, escaped: str) -> None:
    assert escape_block_start(line) == escaped


@pytest.mark.parametrize(
    "line",
    [
        "#hashtag",  # a heading needs a space after its #s
        "    # four spaces is code, inside a list item's text it is text",
        "- a list item",
        "1. re: the first part",
        "> a quote",
        "[docs](https://x.test/) says",
        "<https://x.test/>",  # an autolink, not HTML
        "a < b and <3",
        "-- a signature",
        "**bold**",
        "",
    ],
)
def test_escape_block_start_leaves_other_lines_alone(line: str) -> None:
    assert escape_block_start(line) == line


@pytest.mark.parametrize(
    ("code", "fence"),
    [
        ("x = 1", "```"),
        ("", "```"),
        ("a `b` ``c``", "```"),
        ("```\nnot the end\n```", "````"),
        ("inline ``````` run", "````````"),
        ("~~~\n~~~", "```"),  # tildes never close a backtick fence
    ],
)
def test_fenced_code_fence_is_longer_than_any_backtick_run_in_it(code: str, fence: str) -> None:
    assert fenced(code) == f"{fence}\n{code}\n{fence}"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short enough", 12, "short enough"),
        ("one  two\nthree", 13, "one two three"),
        ("alpha beta gamma", 12, "alpha beta…"),
        ("alpha beta, gamma", 13, "alpha beta…"),
        ("alpha beta gamma", 11, "alpha…"),  # the cut falls after "beta": still goes back
        ("unbroken-word-that-goes-on", 10, "unbroken-…"),
    ],
)
def test_excerpt_cuts_back_to_a_space_and_drops_trailing_punctuation(
    text: str, limit: int, expected: str
) -> None:
    result = excerpt(text, limit)
    assert result == expected
    assert len(result) <= limit


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("alpha beta gamma", 11, "alpha beta…"),  # the cut falls right after a word
        ("alpha beta gamma", 12, "alpha beta…"),
        ("alpha — beta gamma", 11, "alpha…"),
    ],
)
def test_excerpt_can_keep_the_word_ending_at_the_cut_and_strip_other_characters(
    text: str, limit: int, expected: str
) -> None:
    result = excerpt(text, limit, trailing=" ,;:.-\u2013\u2014", keep_word_ending_at_cut=True)
    assert result == expected
    assert len(result) <= limit


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0"), (999, "999"), (1000, "1 000"), (12_345, "12 345"), (1_234_567, "1 234 567")],
)
def test_grouped_separates_thousands_with_a_space(count: int, expected: str) -> None:
    assert grouped(count) == expected


def test_plural_adds_s_unless_told_the_plural_and_writes_the_number_as_asked() -> None:
    assert plural(1, "comment") == "1 comment"
    assert plural(0, "comment") == "0 comments"
    assert plural(2, "repository", "repositories") == "2 repositories"
    assert plural(1, "repository", "repositories") == "1 repository"
    assert plural(12_345, "star") == "12345 stars"
    assert plural(12_345, "star", number=grouped) == "12 345 stars"


def test_joined_skips_missing_parts_and_is_none_when_nothing_is_left() -> None:
    assert joined("a", None, "", "b") == "a, b"
    assert joined("a", "b", separator=" ") == "a b"
    assert joined(None, "") is None
    assert joined() is None


def test_moment_reads_iso_8601_and_takes_a_naive_time_as_utc() -> None:
    assert moment("2026-11-24T12:00:00Z") == datetime.datetime(
        2026, 11, 24, 12, tzinfo=datetime.UTC
    )
    assert moment("2026-11-24T12:00:00") == datetime.datetime(2026, 11, 24, 12, tzinfo=datetime.UTC)
    offset = moment("2026-11-24T13:00:00+01:00")
    assert offset is not None
    assert (
        offset.timestamp() == datetime.datetime(2026, 11, 24, 12, tzinfo=datetime.UTC).timestamp()
    )


def test_moment_is_none_for_no_time_or_an_unreadable_one() -> None:
    assert moment(None) is None
    assert moment("yesterday") is None


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (HOUR, "1 h ago"),
        (DAY - 1, "23 h ago"),
        (DAY, "1 day ago"),
        (2 * DAY + HOUR, "2 days ago"),
        (HOUR - 1, None),
        (0, None),
        (-MINUTE, None),
    ],
)
def test_ago_counts_in_the_largest_unit_that_fits_rounded_down(
    seconds: int, expected: str | None
) -> None:
    assert ago(seconds, UNITS) == expected
