"""The shapes the GitHub tools return, and how each is built from the REST API's JSON.

Owns the output models (their JSON Schemas become the tools' ``outputSchema``) and the pure
functions that read a repository object (``GET /repos/{owner}/{repo}``, or an item of
``GET /search/repositories``) into them. Shape problems raise
:class:`~ssemcp.toolsets._upstream.UpstreamError`. No I/O.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from ssemcp._types import JSONObject, JSONValue
from ssemcp.toolsets._upstream import UpstreamError

__all__ = [
    "Repository",
    "RepositorySummary",
    "SearchResults",
    "Since",
    "TrendingRepositories",
    "listing",
    "one_line",
    "repository_from_github",
    "search_page",
    "summary_from_github",
]

UPSTREAM: Final = "The GitHub API"
Since = Literal["day", "week", "month"]

_FROZEN: Final = ConfigDict(frozen=True)


class RepositorySummary(BaseModel):
    """A repository as a search lists it."""

    model_config = _FROZEN

    full_name: str = Field(description="owner/name")
    description: str | None
    url: str = Field(description="The repository's page on github.com.")
    language: str | None = Field(description="The main language, as GitHub detects it.")
    stars: int
    forks: int
    open_issues: int = Field(description="Open issues and pull requests.")
    topics: list[str]
    license: str | None = Field(description="SPDX id (or name) of the license.")
    created_at: str | None = Field(description="ISO 8601, UTC.")
    pushed_at: str | None = Field(description="Last push, ISO 8601, UTC.")
    archived: bool


class Repository(RepositorySummary):
    """A repository's details."""

    summary: str = Field(description="The repository in one readable sentence.")
    owner: str
    name: str
    homepage: str | None
    default_branch: str | None
    watchers: int | None = Field(description="People watching (subscribed to) it.")
    size_kb: int | None
    is_fork: bool
    visibility: str | None
    updated_at: str | None = Field(description="ISO 8601, UTC.")


class SearchResults(BaseModel):
    """One page of a repository search."""

    model_config = _FROZEN

    summary: str = Field(description="The results in a few readable lines.")
    query: str = Field(description="The search query sent to GitHub, qualifiers included.")
    sort: str
    total_count: int = Field(description="How many repositories match in all.")
    incomplete_results: bool = Field(description="GitHub timed out before searching it all.")
    repositories: list[RepositorySummary]


class TrendingRepositories(BaseModel):
    """The most-starred repositories created recently."""

    model_config = _FROZEN

    summary: str = Field(description="The results in a few readable lines.")
    since: Since
    created_since: str = Field(description="Only repositories created on or after this date.")
    language: str | None
    query: str = Field(description="The search query sent to GitHub.")
    total_count: int
    repositories: list[RepositorySummary]


def _unexpected(what: str) -> UpstreamError:
    return UpstreamError(f"{UPSTREAM} sent an unexpected answer ({what}); try again later.")


def _text(value: JSONValue) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: JSONValue) -> int | None:
    return value if type(value) is int else None


def _license(value: JSONValue) -> str | None:
    if not isinstance(value, dict):
        return None
    spdx = _text(value.get("spdx_id"))
    # GitHub says "NOASSERTION" for a license it could not identify; its name is better.
    if spdx and spdx != "NOASSERTION":
        return spdx
    return _text(value.get("name"))


def _summary_fields(repo: JSONValue) -> JSONObject:
    if not isinstance(repo, dict):
        raise _unexpected("a repository is not an object")
    full_name = _text(repo.get("full_name"))
    url = _text(repo.get("html_url"))
    if full_name is None or url is None:
        raise _unexpected("a repository has no full_name or html_url")
    topics = repo.get("topics")
    return {
        "full_name": full_name,
        "description": _text(repo.get("description")),
        "url": url,
        "language": _text(repo.get("language")),
        "stars": _count(repo.get("stargazers_count")) or 0,
        "forks": _count(repo.get("forks_count")) or 0,
        "open_issues": _count(repo.get("open_issues_count")) or 0,
        "topics": [topic for topic in topics if isinstance(topic, str)]
        if isinstance(topics, list)
        else [],
        "license": _license(repo.get("license")),
        "created_at": _text(repo.get("created_at")),
        "pushed_at": _text(repo.get("pushed_at")),
        "archived": repo.get("archived") is True,
    }


def summary_from_github(repo: JSONValue) -> RepositorySummary:
    """A search item as a summary.

    Raises:
        UpstreamError: it lacks the fields every repository has.
    """
    return RepositorySummary.model_validate(_summary_fields(repo))


def one_line(repo: RepositorySummary) -> str:
    """ "owner/name (Python, 12,345 stars): description"."""
    facts = [repo.language] if repo.language else []
    facts.append(f"{repo.stars:,} stars")
    if repo.archived:
        facts.append("archived")
    described = f": {repo.description}" if repo.description else ""
    return f"{repo.full_name} ({', '.join(facts)}){described}"


def repository_from_github(repo: JSONValue) -> Repository:
    """A ``GET /repos/{owner}/{repo}`` answer as details.

    Raises:
        UpstreamError: it lacks the fields every repository has.
    """
    fields = _summary_fields(repo)
    assert isinstance(repo, dict)  # _summary_fields checked
    owner = repo.get("owner")
    login = _text(owner.get("login")) if isinstance(owner, dict) else None
    name = _text(repo.get("name"))
    full_name = str(fields["full_name"])
    if login is None or name is None:
        login, _, name = full_name.partition("/")
    summary = one_line(RepositorySummary.model_validate(fields)) + (
        f" Forks: {fields['forks']:,}; open issues and PRs: {fields['open_issues']:,}"
        f"; last push {fields['pushed_at'] or 'unknown'}"
        f"; license {fields['license'] or 'none stated'}."
    )
    return Repository.model_validate(
        {
            **fields,
            "summary": summary,
            "owner": login,
            "name": name,
            "homepage": _text(repo.get("homepage")),
            "default_branch": _text(repo.get("default_branch")),
            "watchers": _count(repo.get("subscribers_count")),
            "size_kb": _count(repo.get("size")),
            "is_fork": repo.get("fork") is True,
            "visibility": _text(repo.get("visibility")),
            "updated_at": _text(repo.get("updated_at")),
        }
    )


def search_page(answer: JSONValue) -> tuple[int, bool, list[RepositorySummary]]:
    """``(total_count, incomplete_results, items)`` of a ``/search/repositories`` answer.

    Raises:
        UpstreamError: it is not a search answer.
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
        raise _unexpected("no search items")
    items = answer["items"]
    assert isinstance(items, list)
    total = _count(answer.get("total_count"))
    return (
        total if total is not None else len(items),
        answer.get("incomplete_results") is True,
        [summary_from_github(item) for item in items],
    )


def listing(heading: str, repositories: list[RepositorySummary]) -> str:
    """A heading and one numbered line per repository."""
    lines = [heading]
    lines += [f"{number}. {one_line(repo)}" for number, repo in enumerate(repositories, 1)]
    return "\n".join(lines)
