"""The readable text of the GitHub tools (``render.py``): exact output for each renderer.

Owns the Markdown a model reads: a repository's page, search pages and trending lists as
numbered ``[owner/name](url) — ★ 12 345 · Python · description`` lines; with empty results,
missing optional fields, flags (archived, fork, private), Unicode, descriptions cut cleanly
for length, grouped counts and ages measured from an injected ``now``. No I/O: models are
built by hand. What reaches a client through the server is ``test_github.py``'s.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from ssemcp.toolsets.github.models import (
    Repository,
    RepositorySummary,
    SearchResults,
    TrendingRepositories,
)
from ssemcp.toolsets.github.render import (
    DESCRIPTION_CHARS,
    age,
    grouped,
    render_repository,
    render_search,
    render_trending,
)

NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC).timestamp()
HOUR, DAY = 3600, 86400


def summary(full_name: str = "encode/httpx", **fields: Any) -> RepositorySummary:
    """A repository with every optional field empty, then ``fields``."""
    defaults: dict[str, Any] = {
        "full_name": full_name,
        "description": None,
        "url": f"https://github.com/{full_name}",
        "language": None,
        "stars": 0,
        "forks": 0,
        "open_issues": 0,
        "topics": [],
        "license": None,
        "created_at": None,
        "pushed_at": None,
        "archived": False,
    }
    return RepositorySummary(**(defaults | fields))


def repository(full_name: str = "encode/httpx", **fields: Any) -> Repository:
    owner, _, name = full_name.partition("/")
    base = summary(full_name).model_dump()
    defaults: dict[str, Any] = {
        "summary": "(not rendered)",
        "owner": owner,
        "name": name,
        "homepage": None,
        "default_branch": None,
        "watchers": None,
        "size_kb": None,
        "is_fork": False,
        "visibility": None,
        "updated_at": None,
    }
    return Repository(**(base | defaults | fields))


HTTPX = summary(
    language="Python",
    stars=14512,
    description="A next generation HTTP client for Python. 🦋",
)
TINY = summary(
    "rustacean/tiny-http-rs", language="Rust", stars=5100, description="A tiny HTTP server"
)


def search(repositories: list[RepositorySummary], **fields: Any) -> SearchResults:
    defaults: dict[str, Any] = {
        "summary": "(not rendered)",
        "query": "http",
        "sort": "best-match",
        "total_count": len(repositories),
        "incomplete_results": False,
        "repositories": repositories,
    }
    return SearchResults(**(defaults | fields))


def trending(repositories: list[RepositorySummary], **fields: Any) -> TrendingRepositories:
    defaults: dict[str, Any] = {
        "summary": "(not rendered)",
        "since": "week",
        "created_since": "2026-11-17",
        "language": None,
        "query": "created:>=2026-11-17",
        "total_count": len(repositories),
        "repositories": repositories,
    }
    return TrendingRepositories(**(defaults | fields))


def ago(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(NOW - seconds, datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------- shared pieces


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0"), (999, "999"), (1000, "1 000"), (12345, "12 345"), (1234567, "1 234 567")],
)
def test_counts_group_thousands_with_a_space(count: int, text: str) -> None:
    assert grouped(count) == text


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "within the hour"),
        (HOUR - 1, "within the hour"),
        (-5 * HOUR, "within the hour"),  # a clock behind GitHub's
        (HOUR, "1 hour ago"),
        (23 * HOUR, "23 hours ago"),
        (DAY, "1 day ago"),
        (4 * DAY, "4 days ago"),
        (30 * DAY, "1 month ago"),
        (364 * DAY, "12 months ago"),
        (365 * DAY, "1 year ago"),
        (15 * 365 * DAY, "15 years ago"),
    ],
)
def test_ages_use_the_largest_unit_that_fits(seconds: float, expected: str) -> None:
    assert age(ago(seconds), NOW) == expected


@pytest.mark.parametrize("iso", [None, "", "last week", "2026-13-01T00:00:00Z"])
def test_the_age_of_a_missing_or_unreadable_time_is_none(iso: str | None) -> None:
    assert age(iso, NOW) is None


def test_ages_read_offsets_and_naive_times_as_utc() -> None:
    assert age("2026-11-24T10:00:00+01:00", NOW) == "3 hours ago"
    assert age("2026-11-24T09:00:00", NOW) == "3 hours ago"


# ---------------------------------------------------------------------- github_repo


def test_a_repository_shows_description_counts_language_license_topics_dates_and_url() -> None:
    repo = repository(
        description="A next generation HTTP client for Python. 🦋",
        language="Python",
        stars=14512,
        forks=1003,
        open_issues=96,
        watchers=105,
        topics=["asyncio", "http", "python", "trio"],
        license="BSD-3-Clause",
        created_at="2019-03-22T00:42:35Z",
        pushed_at="2026-11-20T09:12:44Z",
        homepage="https://www.python-httpx.org/",
        default_branch="master",
        visibility="public",
    )
    assert render_repository(repo, NOW) == (
        "# encode/httpx\n"
        "\n"
        "A next generation HTTP client for Python. 🦋\n"
        "\n"
        "- Stars: 14 512 · Forks: 1 003 · Open issues and PRs: 96 · Watchers: 105\n"
        "- Language: Python · License: BSD-3-Clause\n"
        "- Topics: asyncio, http, python, trio\n"
        "- Last push: 2026-11-20 (4 days ago) · Created: 2019-03-22 (7 years ago)\n"
        "- Homepage: https://www.python-httpx.org/\n"
        "- Default branch: master\n"
        "- URL: https://github.com/encode/httpx"
    )


def test_a_repository_without_optional_facts_says_no_license_and_keeps_counts_and_url() -> None:
    assert render_repository(repository("octocat/empty"), NOW) == (
        "# octocat/empty\n"
        "\n"
        "- Stars: 0 · Forks: 0 · Open issues and PRs: 0\n"
        "- License: none stated\n"
        "- URL: https://github.com/octocat/empty"
    )


def test_archived_forked_and_private_repositories_say_so_in_the_heading() -> None:
    repo = repository("me/fork", archived=True, is_fork=True, visibility="private")
    assert render_repository(repo, NOW).startswith("# me/fork (archived, fork, private)\n\n")
    assert render_repository(repository(visibility="internal"), NOW).startswith(
        "# encode/httpx (internal)\n"
    )


def test_a_repository_description_is_shown_whole_on_one_line_and_unicode_is_kept() -> None:
    description = "Библиотека для HTTP —\n東京 ☕ " + "long " * 80
    text = render_repository(repository(description=description, language="C++"), NOW)
    lines = text.split("\n")
    assert lines[2] == " ".join(description.split())
    assert lines[5] == "- Language: C++ · License: none stated"


def test_unreadable_dates_are_shown_as_sent() -> None:
    repo = repository(pushed_at="yesterday-ish", created_at=None)
    assert "\n- Last push: yesterday-ish\n" in render_repository(repo, NOW)


# ---------------------------------------------------------------------- github_search_repos


def test_search_results_are_a_numbered_list_of_links_with_stars_language_description() -> None:
    assert render_search(search([HTTPX, TINY])) == (
        '# GitHub search: "http"\n'
        "\n"
        "2 repositories match, best match first.\n"
        "\n"
        "1. [encode/httpx](https://github.com/encode/httpx) — ★ 14 512 · Python · "
        "A next generation HTTP client for Python. 🦋\n"
        "2. [rustacean/tiny-http-rs](https://github.com/rustacean/tiny-http-rs) — ★ 5 100 · "
        "Rust · A tiny HTTP server"
    )


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("stars", "most stars first"),
        ("forks", "most forks first"),
        ("updated", "most recently updated first"),
    ],
)
def test_a_partial_page_says_how_many_match_in_all_and_in_which_order(
    sort: str, order: str
) -> None:
    text = render_search(search([HTTPX], query="language:Python", sort=sort, total_count=12345))
    assert text.split("\n")[:3] == [
        '# GitHub search: "language:Python"',
        "",
        f"12 345 repositories match; the first 1, {order}.",
    ]


def test_an_empty_search_says_nothing_matches() -> None:
    assert render_search(search([], query="zzzz")) == (
        '# GitHub search: "zzzz"\n\nNo repositories match.'
    )


def test_a_single_match_and_a_page_github_sent_empty() -> None:
    assert render_search(search([TINY])).split("\n")[2] == "1 repository matches, best match first."
    assert render_search(search([], total_count=3)) == (
        '# GitHub search: "http"\n\n3 repositories match, but GitHub sent none of them.'
    )


def test_incomplete_results_warn_that_more_may_match() -> None:
    text = render_search(search([HTTPX], incomplete_results=True, total_count=40))
    assert text.split("\n")[2] == (
        "40 repositories match; the first 1, best match first. GitHub timed out before "
        "searching everything: more may match."
    )


def test_a_listing_leaves_out_a_missing_language_and_description_and_flags_archived() -> None:
    bare = summary("octocat/bare", stars=7)
    old = summary("octocat/old", stars=1200, archived=True, description="   ")
    lines = render_search(search([bare, old])).split("\n")
    assert lines[4:] == [
        "1. [octocat/bare](https://github.com/octocat/bare) — ★ 7",
        "2. [octocat/old](https://github.com/octocat/old) — ★ 1 200 · archived",
    ]


def test_long_descriptions_are_cut_at_a_word_with_an_ellipsis() -> None:
    words = "Fast, typed HTTP for Python — sync and async, HTTP/1.1 and HTTP/2, with pooling, "
    (line,) = render_search(search([summary(description=words * 3)])).split("\n")[4:]
    shown = line.split(" — ★ 0 · ", 1)[1]
    assert shown == (
        "Fast, typed HTTP for Python — sync and async, HTTP/1.1 and HTTP/2, with pooling, Fast, "
        "typed HTTP for Python — sync and…"
    )
    assert len(shown) == DESCRIPTION_CHARS


def test_a_cut_description_leaves_no_dangling_punctuation_before_the_ellipsis() -> None:
    kept = ("word " * 22).strip()
    description = f"{kept}, — {'supercalifragilistic' * 2} end"
    (line,) = render_search(search([summary(description=description)])).split("\n")[4:]
    assert line.endswith(f" — ★ 0 · {kept}…")


def test_a_description_cut_at_the_end_of_a_word_keeps_that_word() -> None:
    description = "a" * (DESCRIPTION_CHARS - 1) + " tail"
    (line,) = render_search(search([summary(description=description)])).split("\n")[4:]
    assert line.endswith(" — ★ 0 · " + "a" * (DESCRIPTION_CHARS - 1) + "…")


def test_a_description_without_spaces_is_cut_mid_word_and_unicode_is_cut_by_character() -> None:
    description = "東" * (DESCRIPTION_CHARS + 10)
    (line,) = render_search(search([summary(description=description)])).split("\n")[4:]
    assert line.endswith(" — ★ 0 · " + "東" * (DESCRIPTION_CHARS - 1) + "…")


def test_descriptions_on_several_lines_are_flattened_to_one() -> None:
    repo = summary(description="Line one.\n\n# Not a heading\r\n- nor a list")
    (line,) = render_search(search([repo])).split("\n")[4:]
    assert line.endswith(" — ★ 0 · Line one. # Not a heading - nor a list")


def test_names_and_urls_cannot_break_the_markdown_link() -> None:
    odd = summary("a/b", url="https://example.com/x (y) <z>")
    odd = odd.model_copy(update={"full_name": "a/[b]"})
    (line,) = render_search(search([odd])).split("\n")[4:]
    assert line == "1. [a/\\[b\\]](https://example.com/x%20%28y%29%20%3Cz%3E) — ★ 0"


def test_list_numbers_run_past_nine() -> None:
    repositories = [summary(f"o/r{number}", stars=number) for number in range(1, 12)]
    lines = render_search(search(repositories)).split("\n")
    assert lines[-2:] == [
        "10. [o/r10](https://github.com/o/r10) — ★ 10",
        "11. [o/r11](https://github.com/o/r11) — ★ 11",
    ]


# ---------------------------------------------------------------------- github_trending


def test_trending_names_the_window_and_lists_the_repositories_by_stars() -> None:
    assert render_trending(trending([TINY, HTTPX])) == (
        "# Trending on GitHub: past week\n"
        "\n"
        "2 repositories created since 2026-11-17, most stars first.\n"
        "\n"
        "1. [rustacean/tiny-http-rs](https://github.com/rustacean/tiny-http-rs) — ★ 5 100 · "
        "Rust · A tiny HTTP server\n"
        "2. [encode/httpx](https://github.com/encode/httpx) — ★ 14 512 · Python · "
        "A next generation HTTP client for Python. 🦋"
    )


def test_trending_in_a_language_says_how_many_of_how_many() -> None:
    text = render_trending(
        trending(
            [HTTPX],
            since="month",
            created_since="2026-10-25",
            language="Jupyter Notebook",
            total_count=1500,
        )
    )
    assert text.split("\n")[:3] == [
        "# Trending on GitHub: Jupyter Notebook, past month",
        "",
        "The 1 most-starred of 1 500 Jupyter Notebook repositories created since 2026-10-25.",
    ]


def test_trending_with_one_repository_and_with_none() -> None:
    one = render_trending(
        trending([TINY], since="day", created_since="2026-11-23", language="Rust")
    )
    assert one.split("\n")[:3] == [
        "# Trending on GitHub: Rust, past day",
        "",
        "1 Rust repository created since 2026-11-23, most stars first.",
    ]
    assert render_trending(trending([], since="day", created_since="2026-11-24")) == (
        "# Trending on GitHub: past day\n\nNo repositories created since 2026-11-24 were found."
    )
    assert render_trending(trending([], language="C++")).endswith(
        "No C++ repositories created since 2026-11-17 were found."
    )
