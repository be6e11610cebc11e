"""The readable text of each GitHub tool's result: its output model as compact Markdown.

Owns one pure function per output model (:func:`render_repository`, :func:`render_search`,
:func:`render_trending`) and the formatters only they use (descriptions cut for a listing,
dates with their age); links, grouped counts and excerpts are :mod:`.._markdown`'s. The text
is for a model and a human to read at a glance; the data itself travels as
``structuredContent``, built by :mod:`.models`. No I/O and no clock: ages ("4 days ago") are
measured from a ``now`` the caller passes in.
"""

from __future__ import annotations

import datetime
from typing import Final

from ssemcp.toolsets._markdown import (
    DAY,
    HOUR,
    AgeUnits,
    ago,
    excerpt,
    grouped,
    link,
    moment,
    one_line,
    plural,
)
from ssemcp.toolsets.github.models import (
    Repository,
    RepositorySummary,
    SearchResults,
    TrendingRepositories,
)

__all__ = [
    "DESCRIPTION_CHARS",
    "age",
    "grouped",
    "render_repository",
    "render_search",
    "render_trending",
]

# A description in a one-line listing: GitHub allows 350 characters, most are under 100;
# past this the line is cut at a word boundary. A repository's own page shows it whole.
DESCRIPTION_CHARS: Final = 120
_SORT_ORDERS: Final = {
    "best-match": "best match first",
    "stars": "most stars first",
    "forks": "most forks first",
    "updated": "most recently updated first",
}
_WINDOWS: Final = {"day": "past day", "week": "past week", "month": "past month"}
# Ages: the largest unit that fits, from the top of the table down.
_AGE_UNITS: Final[AgeUnits] = (
    (365 * DAY, "year", "years"),
    (30 * DAY, "month", "months"),
    (DAY, "day", "days"),
    (HOUR, "hour", "hours"),
)


# ---------------------------------------------------------------------- shared pieces


def _plural(count: int, singular: str, plural_name: str | None = None) -> str:
    return plural(count, singular, plural_name, number=grouped)


def _excerpt(text: str) -> str:
    # No dangling punctuation before the ellipsis: hyphen, en dash and em dash included;
    # a description cut right after a word keeps that word.
    return excerpt(
        text, DESCRIPTION_CHARS, trailing=" ,;:.-\u2013\u2014", keep_word_ending_at_cut=True
    )


def age(iso: str | None, now: float) -> str | None:
    """How long before ``now`` (Unix seconds) the ISO 8601 time was: "within the hour",
    "5 hours ago", "4 days ago", "2 months ago", "7 years ago"; None if unreadable."""
    when = moment(iso)
    if when is None:
        return None
    return ago(int(now - when.timestamp()), _AGE_UNITS) or "within the hour"


def _dated(iso: str | None, now: float) -> str | None:
    """ "2026-11-20 (4 days ago)", in UTC as GitHub gives it; the raw text if unreadable."""
    when = moment(iso)
    if when is None:
        return iso
    return f"{when.astimezone(datetime.UTC):%Y-%m-%d} ({age(iso, now)})"


def _listing_line(repo: RepositorySummary) -> str:
    """ "[owner/name](url) — ★ 12 345 · Python · archived · description"."""
    facts = [f"★ {grouped(repo.stars)}"]
    if repo.language:
        facts.append(repo.language)
    if repo.archived:
        facts.append("archived")
    if repo.description and repo.description.strip():
        facts.append(_excerpt(repo.description))
    return f"{link(repo.full_name, repo.url)} — {' · '.join(facts)}"


def _numbered(repositories: list[RepositorySummary]) -> list[str]:
    return [f"{number}. {_listing_line(repo)}" for number, repo in enumerate(repositories, 1)]


# ---------------------------------------------------------------------- github_repo


def render_repository(repo: Repository, now: float) -> str:
    """A repository as a heading (its name, and whether it is archived, a fork or not
    public), its description whole, and a list: stars, forks, open issues and pull
    requests, watchers; language and license; topics; last push and creation with their
    age; homepage, default branch and URL. Missing optional facts leave their line out,
    except a missing license, which is itself worth knowing."""
    flags = [
        flag for flag, is_set in (("archived", repo.archived), ("fork", repo.is_fork)) if is_set
    ]
    if repo.visibility and repo.visibility != "public":
        flags.append(repo.visibility)
    heading = f"# {repo.full_name}" + (f" ({', '.join(flags)})" if flags else "")
    lines = [heading, ""]
    if repo.description and repo.description.strip():
        lines += [one_line(repo.description), ""]
    counts = [
        f"Stars: {grouped(repo.stars)}",
        f"Forks: {grouped(repo.forks)}",
        f"Open issues and PRs: {grouped(repo.open_issues)}",
    ]
    if repo.watchers is not None:
        counts.append(f"Watchers: {grouped(repo.watchers)}")
    lines.append(f"- {' · '.join(counts)}")
    language = f"Language: {repo.language} · " if repo.language else ""
    lines.append(f"- {language}License: {repo.license or 'none stated'}")
    if repo.topics:
        lines.append(f"- Topics: {', '.join(repo.topics)}")
    dates = [
        f"{name}: {when}"
        for name, when in (
            ("Last push", _dated(repo.pushed_at, now)),
            ("Created", _dated(repo.created_at, now)),
        )
        if when
    ]
    if dates:
        lines.append(f"- {' · '.join(dates)}")
    if repo.homepage:
        lines.append(f"- Homepage: {repo.homepage}")
    if repo.default_branch:
        lines.append(f"- Default branch: {repo.default_branch}")
    lines.append(f"- URL: {repo.url}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- github_search_repos


def render_search(results: SearchResults) -> str:
    """A search page as the query sent (qualifiers included), how many match and in which
    order, then a numbered list, one repository a line:
    ``1. [owner/name](url) — ★ 12 345 · Python · description``."""
    order = _SORT_ORDERS.get(results.sort, f"sorted by {results.sort}")
    total = results.total_count
    shown = len(results.repositories)
    matches = (
        f"{_plural(total, 'repository', 'repositories')} {'matches' if total == 1 else 'match'}"
    )
    if not shown:
        status = f"{matches}, but GitHub sent none of them." if total else "No repositories match."
    elif shown < total:
        status = f"{matches}; the first {shown}, {order}."
    else:
        status = f"{matches}, {order}."
    if results.incomplete_results:
        status += " GitHub timed out before searching everything: more may match."
    lines = [f'# GitHub search: "{one_line(results.query)}"', "", status]
    if results.repositories:
        lines += ["", *_numbered(results.repositories)]
    return "\n".join(lines)


# ---------------------------------------------------------------------- github_trending


def render_trending(trending: TrendingRepositories) -> str:
    """The most-starred repositories created recently, as a heading (language and window),
    a line saying from how many and since when, then a numbered list as
    :func:`render_search`'s."""
    window = _WINDOWS[trending.since]
    about = f"{trending.language}, {window}" if trending.language else window
    language = f"{trending.language} " if trending.language else ""
    created = _plural(trending.total_count, f"{language}repository", f"{language}repositories")
    created += f" created since {trending.created_since}"
    shown = len(trending.repositories)
    if not shown:
        status = f"No {language}repositories created since {trending.created_since} were found."
    elif shown < trending.total_count:
        status = f"The {shown} most-starred of {created}."
    else:
        status = f"{created}, most stars first."
    lines = [f"# Trending on GitHub: {about}", "", status]
    if trending.repositories:
        lines += ["", *_numbered(trending.repositories)]
    return "\n".join(lines)
