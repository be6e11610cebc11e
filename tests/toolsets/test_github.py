"""The GitHub tool set through an in-memory MCP client, against the fixture GitHub API; and
both new tool sets through a real transport.

Owns what a client sees of ``github_repo``, ``github_search_repos`` and ``github_trending``,
good paths and bad: name and bound checks before any request, GitHub's refusals (rate limits
with their reset time, rejected tokens and queries) and failures as ``isError`` results, the
token sent only when set and never logged, caching (counted in fixture hits), and the
settings. The last test spawns ``python -m ssemcp stdio tests/fixtures/weather_github_server.py
:server`` under the official MCP Python SDK's stdio client with the environment pointing at
the fixture. Every successful call's text block is checked to be the rendering of its
structured content; the renderings themselves are ``test_github_render.py``'s.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from toolset_harness import WALL_CLOCK_NOW, MakeTools, ToolClient
from weather_github_upstream import FORECAST_PREFIX, GITHUB_PREFIX, WeatherGitHubFixture

from ssemcp.toolsets.github import GitHubSettings
from ssemcp.toolsets.github.refusals import GitHubRateLimited, RefusalReader

SEARCH = f"{GITHUB_PREFIX}/search/repositories"
HTTPX = f"{GITHUB_PREFIX}/repos/encode/httpx"
CPYTHON = f"{GITHUB_PREFIX}/repos/python/cpython"
TOKEN = "ghp_fixtureTOKEN0123456789abcdefghijklmnop"
SERVER_TARGET = f"{Path(__file__).parents[1] / 'fixtures' / 'weather_github_server.py'}:server"


@pytest.fixture
def upstream() -> Iterator[WeatherGitHubFixture]:
    # The fixture's rate-limit resets are counted from the tool set's (fake) wall clock.
    with WeatherGitHubFixture(now=lambda: WALL_CLOCK_NOW) as fixture:
        yield fixture


def names(repositories: list[dict[str, Any]]) -> list[str]:
    return [repository["full_name"] for repository in repositories]


# ---------------------------------------------------------------------- definitions


async def test_github_tools_are_read_only_open_world_and_have_output_schemas(
    github: ToolClient,
) -> None:
    tools = await github.tools()
    assert sorted(tools) == ["github_repo", "github_search_repos", "github_trending"]
    for tool in tools.values():
        assert tool["title"]
        assert len(tool["description"]) > 80
        assert tool["annotations"]["readOnlyHint"] is True
        assert tool["annotations"]["openWorldHint"] is True
        assert tool["annotations"]["destructiveHint"] is False
        assert tool["outputSchema"]["type"] == "object"
        assert "summary" in tool["outputSchema"]["properties"]


async def test_input_schemas_state_patterns_bounds_and_choices(github: ToolClient) -> None:
    tools = await github.tools()
    repo = tools["github_repo"]["inputSchema"]
    assert repo["required"] == ["owner", "repo"]
    assert repo["properties"]["owner"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9-]{0,38}$"
    assert repo["properties"]["repo"]["pattern"] == "^[A-Za-z0-9._-]{1,100}$"
    search = tools["github_search_repos"]["inputSchema"]["properties"]
    assert search["sort"]["enum"] == ["stars", "forks", "updated", "best-match"]
    assert search["sort"]["default"] == "best-match"
    assert (search["limit"]["minimum"], search["limit"]["maximum"]) == (1, 50)
    assert search["limit"]["default"] == 10
    assert search["query"]["maxLength"] == 256
    trending = tools["github_trending"]["inputSchema"]["properties"]
    assert trending["since"]["enum"] == ["day", "week", "month"]
    assert trending["since"]["default"] == "week"


# ---------------------------------------------------------------------- github_repo


async def test_repo_details_have_counts_license_dates_and_a_summary(github: ToolClient) -> None:
    repo, text = await github.ok_with_text("github_repo", {"owner": "encode", "repo": "httpx"})
    assert text == (
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
    assert repo["full_name"] == "encode/httpx"
    assert (repo["owner"], repo["name"]) == ("encode", "httpx")
    assert repo["url"] == "https://github.com/encode/httpx"
    assert repo["language"] == "Python"
    assert (repo["stars"], repo["forks"], repo["open_issues"], repo["watchers"]) == (
        14512,
        1003,
        96,
        105,
    )
    assert repo["topics"] == ["asyncio", "http", "python", "trio"]
    assert repo["license"] == "BSD-3-Clause"
    assert repo["default_branch"] == "master"
    assert repo["homepage"] == "https://www.python-httpx.org/"
    assert repo["created_at"] == "2019-03-22T00:42:35Z"
    assert repo["pushed_at"] == "2026-11-20T09:12:44Z"
    assert (repo["archived"], repo["is_fork"], repo["visibility"]) == (False, False, "public")
    assert repo["summary"] == (
        "encode/httpx (Python, 14,512 stars): A next generation HTTP client for Python. 🦋 "
        "Forks: 1,003; open issues and PRs: 96; last push 2026-11-20T09:12:44Z; license "
        "BSD-3-Clause."
    )


async def test_an_unidentified_license_is_named_and_missing_facts_are_null(
    github: ToolClient,
) -> None:
    cpython = await github.ok("github_repo", {"owner": "python", "repo": "cpython"})
    assert cpython["license"] == "Other"  # GitHub's spdx_id is NOASSERTION
    old, text = await github.ok_with_text("github_repo", {"owner": "octocat", "repo": "old-thing"})
    assert text.split("\n")[:4] == [
        "# octocat/old-thing (archived)",
        "",
        "- Stars: 12 · Forks: 3 · Open issues and PRs: 0 · Watchers: 2",
        "- License: none stated",
    ]
    assert (old["description"], old["language"], old["license"], old["homepage"]) == (
        None,
        None,
        None,
        None,
    )
    assert old["archived"] is True
    assert "archived" in old["summary"]


async def test_requests_carry_githubs_media_type_and_api_version_and_no_token_by_default(
    github: ToolClient,
) -> None:
    await github.ok("github_repo", {"owner": "encode", "repo": "httpx"})
    (request,) = github.upstream.seen(HTTPX)
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"].startswith("ssemcp/")
    assert "authorization" not in request.headers


async def test_the_token_is_sent_as_a_bearer_header_and_never_logged(
    make_github: MakeTools, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    github = await make_github(token=TOKEN, max_attempts=2)
    github.upstream.fail(SEARCH, "500", times=1)  # a retry logs a line
    await github.ok("github_repo", {"owner": "encode", "repo": "httpx"})
    await github.ok("github_search_repos", {"query": "http"})
    github.upstream.fail(CPYTHON, "ratelimit")
    text = await github.failed("github_repo", {"owner": "python", "repo": "cpython"})
    for request in github.upstream.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert caplog.records  # the debug and retry lines were captured ...
    assert TOKEN not in caplog.text  # ... and none shows the token
    assert TOKEN not in text
    assert TOKEN not in repr(GitHubSettings(token=TOKEN))


async def test_an_unknown_repo_is_an_error_that_suggests_searching(github: ToolClient) -> None:
    text = await github.failed("github_repo", {"owner": "encode", "repo": "nope"})
    assert text == (
        "GitHub has no repository encode/nope (or it is private). Check the spelling, or find "
        "it with github_search_repos."
    )


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"owner": "-encode", "repo": "httpx"}, "owner"),
        ({"owner": "encode/httpx", "repo": "httpx"}, "owner"),
        ({"owner": "x" * 40, "repo": "httpx"}, "owner"),
        ({"owner": "", "repo": "httpx"}, "owner"),
        ({"owner": "encode", "repo": "ht tpx"}, "repo"),
        ({"owner": "encode", "repo": "../../user"}, "repo"),
        ({"owner": "encode", "repo": "x" * 101}, "repo"),
        ({"owner": "encode"}, "repo"),
    ],
)
async def test_names_github_could_not_have_are_refused_before_any_request(
    github: ToolClient, arguments: dict[str, Any], field: str
) -> None:
    text = await github.failed("github_repo", arguments)
    assert text.startswith(f"Invalid arguments for tool 'github_repo': {field}: ")
    assert github.upstream.total_hits() == 0


@pytest.mark.parametrize("repo", [".", ".."])
async def test_dot_names_are_refused_before_any_request(github: ToolClient, repo: str) -> None:
    text = await github.failed("github_repo", {"owner": "encode", "repo": repo})
    assert text == f"{repo!r} is not a repository name."
    assert github.upstream.total_hits() == 0


async def test_a_repo_is_cached_for_five_minutes(github: ToolClient) -> None:
    await github.ok("github_repo", {"owner": "encode", "repo": "httpx"})
    github.clock.now += 299
    await github.ok("github_repo", {"owner": "encode", "repo": "httpx"})
    assert github.upstream.hits_for(HTTPX) == 1
    github.clock.now += 2
    await github.ok("github_repo", {"owner": "encode", "repo": "httpx"})
    assert github.upstream.hits_for(HTTPX) == 2


# ---------------------------------------------------------------------- refusals and failures


async def test_a_rate_limit_gives_the_reset_time_and_suggests_a_token(github: ToolClient) -> None:
    github.upstream.fail(HTTPX, "ratelimit")
    text = await github.failed("github_repo", {"owner": "encode", "repo": "httpx"})
    assert text == (
        "GitHub's API rate limit is used up (60 requests an hour); it resets at "
        "2026-11-24T12:25:00Z, in 25 minutes. Wait until then, or ask the server's operator "
        "to set GITHUB_TOKEN: a token raises the limit from 60 to 5000 requests an hour."
    )
    assert github.upstream.hits_for(HTTPX) == 1  # not retried: it would fail the same way


async def test_a_rate_limit_with_a_token_only_says_when_it_resets(
    make_github: MakeTools,
) -> None:
    github = await make_github(token=TOKEN)
    github.upstream.fail(SEARCH, "ratelimit")
    text = await github.failed("github_trending", {})
    assert text.endswith("it resets at 2026-11-24T12:25:00Z, in 25 minutes. Wait until then.")


async def test_a_secondary_rate_limit_says_how_long_to_wait(github: ToolClient) -> None:
    github.upstream.fail(SEARCH, "secondary")
    text = await github.failed("github_search_repos", {"query": "http"})
    assert text == (
        "The GitHub API asks us to slow down (secondary rate limit); try again in 42 seconds."
    )
    assert github.upstream.hits_for(SEARCH) == 1


def _headers(**values: str) -> httpx.Headers:
    return httpx.Headers({name.replace("_", "-"): value for name, value in values.items()})


@pytest.mark.parametrize(
    ("reset_in_seconds", "when"),
    [
        (60, "in 1 minute."),
        (61, "in 2 minutes."),
        (3600, "in 60 minutes."),
        (0, "now."),
        (-30, "now."),
    ],
)
def test_the_reset_is_rounded_up_to_whole_minutes(reset_in_seconds: int, when: str) -> None:
    reader = RefusalReader(has_token=True, now=lambda: 1000.0)
    error = reader(
        403,
        _headers(x_ratelimit_remaining="0", x_ratelimit_reset=str(1000 + reset_in_seconds)),
        b"{}",
    )
    assert isinstance(error, GitHubRateLimited)
    assert f"Z, {when} Wait until then." in str(error)


def test_a_rate_limit_without_a_reset_header_still_says_the_limit_is_used_up() -> None:
    reader = RefusalReader(has_token=True, now=lambda: 0.0)
    error = reader(
        429, _headers(x_ratelimit_remaining="0", x_ratelimit_resource="search"), b"not json"
    )
    assert str(error) == (
        "GitHub's search API rate limit is used up; it resets within the hour. Wait until then."
    )


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            401,
            b'{"message": "Bad credentials"}',
            "The GitHub API rejected the token in GITHUB_TOKEN (HTTP 401: Bad credentials). "
            "Ask the server's operator to fix or remove it.",
        ),
        (
            422,
            b'{"message": "Validation Failed", "errors": [{"message": "The listed users '
            b'cannot be searched"}]}',
            "The GitHub API rejected the search (HTTP 422: Validation Failed: The listed users "
            "cannot be searched). Simplify the query: plain words, at most 256 characters and "
            "five AND/OR/NOT.",
        ),
        (
            403,
            b'{"message": "Repository access blocked"}',
            "The GitHub API refused the request (HTTP 403): Repository access blocked",
        ),
    ],
)
def test_githubs_own_message_explains_other_refusals(
    status: int, body: bytes, message: str
) -> None:
    reader = RefusalReader(has_token=False, now=lambda: 0.0)
    assert str(reader(status, _headers(x_ratelimit_remaining="59"), body)) == message


@pytest.mark.parametrize(("status", "body"), [(404, b'{"message": "Not Found"}'), (403, b"<html>")])
def test_refusals_without_anything_specific_get_the_generic_handling(
    status: int, body: bytes
) -> None:
    assert RefusalReader(has_token=False, now=lambda: 0.0)(status, _headers(), body) is None


async def test_a_403_without_rate_limit_headers_is_not_called_a_rate_limit(
    github: ToolClient,
) -> None:
    github.upstream.fail(HTTPX, "404")  # GitHub's JSON 404 body goes the generic way
    text = await github.failed("github_repo", {"owner": "encode", "repo": "httpx"})
    assert "rate limit" not in text
    assert text.startswith("GitHub has no repository encode/httpx")


async def test_search_500_every_time_is_an_error_after_the_bounded_attempts(
    make_github: MakeTools,
) -> None:
    github = await make_github(max_attempts=2)
    github.upstream.fail(SEARCH, "500")
    text = await github.failed("github_search_repos", {"query": "http"})
    assert text == "The GitHub API answered HTTP 500 (after 2 attempts); try again later."
    assert github.upstream.hits_for(SEARCH) == 2


async def test_a_slow_repo_times_out_into_an_error(make_github: MakeTools) -> None:
    github = await make_github(timeout_seconds=0.2, max_attempts=1)
    github.upstream.fail(HTTPX, "slow", delay_seconds=2.0)
    text = await github.failed("github_repo", {"owner": "encode", "repo": "httpx"})
    assert text == "The GitHub API timed out after 0.2 s (after 1 attempt); try again later."


async def test_malformed_search_json_is_an_error(github: ToolClient) -> None:
    github.upstream.fail(SEARCH, "malformed")
    text = await github.failed("github_trending", {})
    assert text == ("The GitHub API sent malformed JSON for search/repositories; try again later.")


# ---------------------------------------------------------------------- github_search_repos


async def test_search_by_best_match_sends_no_sort_and_keeps_githubs_order(
    github: ToolClient,
) -> None:
    results, text = await github.ok_with_text("github_search_repos", {"query": "http"})
    assert text.split("\n") == [
        '# GitHub search: "http"',
        "",
        "2 repositories match, best match first.",
        "",
        "1. [encode/httpx](https://github.com/encode/httpx) — ★ 14 512 · Python · A next "
        "generation HTTP client for Python. 🦋",
        "2. [rustacean/tiny-http-rs](https://github.com/rustacean/tiny-http-rs) — ★ 5 100 · "
        "Rust · A tiny HTTP server in Rust",
    ]
    assert names(results["repositories"]) == ["encode/httpx", "rustacean/tiny-http-rs"]
    assert (results["query"], results["sort"], results["total_count"]) == ("http", "best-match", 2)
    assert results["incomplete_results"] is False
    assert results["summary"].split("\n") == [
        "2 repositories match 'http'; the top 2 by best-match:",
        "1. encode/httpx (Python, 14,512 stars): A next generation HTTP client for Python. 🦋",
        "2. rustacean/tiny-http-rs (Rust, 5,100 stars): A tiny HTTP server in Rust",
    ]
    (request,) = github.upstream.seen(SEARCH)
    assert request.query == {"q": "http", "per_page": "10"}


async def test_search_by_stars_in_a_language_sends_the_qualifier_sort_and_order(
    github: ToolClient,
) -> None:
    results = await github.ok(
        "github_search_repos", {"query": "", "language": "Python", "sort": "stars", "limit": 3}
    )
    assert names(results["repositories"]) == ["pallets/flask", "python/cpython", "encode/httpx"]
    assert results["total_count"] == 4
    (request,) = github.upstream.seen(SEARCH)
    assert request.query == {
        "q": "language:Python",
        "per_page": "3",
        "sort": "stars",
        "order": "desc",
    }


@pytest.mark.parametrize(
    ("language", "qualifier", "expected"),
    [
        ("Jupyter Notebook", 'language:"Jupyter Notebook"', "nbfan/notebook-llm"),
        ("C++", "language:C++", "cppdev/fast-json-cpp"),
    ],
)
async def test_language_names_with_spaces_or_symbols_are_sent_intact(
    github: ToolClient, language: str, qualifier: str, expected: str
) -> None:
    results = await github.ok("github_search_repos", {"language": language})
    assert names(results["repositories"]) == [expected]
    assert github.upstream.seen(SEARCH)[0].query["q"] == qualifier


async def test_search_sorted_by_update_or_forks(github: ToolClient) -> None:
    updated = await github.ok(
        "github_search_repos", {"query": "python", "sort": "updated", "limit": 2}
    )
    assert names(updated["repositories"]) == ["python/cpython", "zed-labs/fastmcp-tools"]
    forks = await github.ok("github_search_repos", {"query": "python", "sort": "forks"})
    assert names(forks["repositories"])[0] == "python/cpython"


async def test_a_search_without_matches_is_an_empty_list_not_an_error(
    github: ToolClient,
) -> None:
    results, text = await github.ok_with_text("github_search_repos", {"query": "zzzz-nothing"})
    assert text == '# GitHub search: "zzzz-nothing"\n\nNo repositories match.'
    assert results["repositories"] == []
    assert results["summary"] == "0 repositories match 'zzzz-nothing'."


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "limit": 51}, "limit"),
        ({"query": "x", "sort": "score"}, "sort"),
        ({"query": "x" * 257}, "query"),
        ({"query": "x", "language": "Py;thon"}, "language"),
        ({"query": "x", "language": " Python"}, "language"),
    ],
)
async def test_search_arguments_out_of_bounds_are_refused_naming_the_field(
    github: ToolClient, arguments: dict[str, Any], field: str
) -> None:
    text = await github.failed("github_search_repos", arguments)
    assert text.startswith(f"Invalid arguments for tool 'github_search_repos': {field}")
    assert github.upstream.total_hits() == 0


async def test_a_search_with_neither_words_nor_language_is_refused(github: ToolClient) -> None:
    text = await github.failed("github_search_repos", {"query": "   "})
    assert text == "Give words to search for, a language, or both."
    assert github.upstream.total_hits() == 0


async def test_a_repeated_search_is_served_from_the_cache(github: ToolClient) -> None:
    first = await github.ok("github_search_repos", {"query": "mcp", "sort": "stars"})
    second = await github.ok("github_search_repos", {"query": "mcp", "sort": "stars"})
    assert first == second
    assert github.upstream.hits_for(SEARCH) == 1
    await github.ok("github_search_repos", {"query": "mcp", "sort": "forks"})
    assert github.upstream.hits_for(SEARCH) == 2


# ---------------------------------------------------------------------- github_trending


async def test_trending_this_week_is_the_most_starred_repos_created_since_a_week_ago(
    github: ToolClient,
) -> None:
    trending, text = await github.ok_with_text("github_trending", {})
    assert text.split("\n")[:5] == [
        "# Trending on GitHub: past week",
        "",
        "3 repositories created since 2026-11-17, most stars first.",
        "",
        "1. [rustacean/tiny-http-rs](https://github.com/rustacean/tiny-http-rs) — ★ 5 100 · "
        "Rust · A tiny HTTP server in Rust",
    ]
    assert trending["since"] == "week"
    assert trending["created_since"] == "2026-11-17"
    assert trending["query"] == "created:>=2026-11-17"
    assert names(trending["repositories"]) == [
        "rustacean/tiny-http-rs",
        "zed-labs/fastmcp-tools",
        "acme/mcp-weather",
    ]
    assert trending["summary"].startswith(
        "Most-starred repositories created since 2026-11-17 (3 in all):\n1. rustacean/tiny-http-rs"
    )
    (request,) = github.upstream.seen(SEARCH)
    assert request.query == {
        "q": "created:>=2026-11-17",
        "sort": "stars",
        "order": "desc",
        "per_page": "10",
    }


@pytest.mark.parametrize(
    ("arguments", "start", "expected"),
    [
        ({"since": "day"}, "2026-11-23", ["rustacean/tiny-http-rs"]),
        (
            {"since": "month", "language": "C++"},
            "2026-10-25",
            ["cppdev/fast-json-cpp"],
        ),
        (
            {"since": "month", "limit": 2},
            "2026-10-25",
            ["rustacean/tiny-http-rs", "zed-labs/fastmcp-tools"],
        ),
    ],
)
async def test_trending_windows_languages_and_limits(
    github: ToolClient, arguments: dict[str, Any], start: str, expected: list[str]
) -> None:
    trending = await github.ok("github_trending", arguments)
    assert trending["created_since"] == start
    assert names(trending["repositories"]) == expected
    (request,) = github.upstream.seen(SEARCH)
    assert request.query["q"].startswith(f"created:>={start}")


async def test_the_trending_window_moves_with_the_clock(github: ToolClient) -> None:
    github.wall_clock.now += 86_400
    trending = await github.ok("github_trending", {"since": "day"})
    assert trending["created_since"] == "2026-11-24"
    assert trending["repositories"] == []


@pytest.mark.parametrize(
    ("arguments", "field"),
    [({"since": "year"}, "since"), ({"limit": 0}, "limit"), ({"language": "a/b"}, "language")],
)
async def test_trending_arguments_out_of_bounds_are_refused_naming_the_field(
    github: ToolClient, arguments: dict[str, Any], field: str
) -> None:
    text = await github.failed("github_trending", arguments)
    assert text.startswith(f"Invalid arguments for tool 'github_trending': {field}")
    assert github.upstream.total_hits() == 0


# ---------------------------------------------------------------------- settings


def test_settings_default_to_the_real_api_and_read_the_environment() -> None:
    assert GitHubSettings.from_env({}) == GitHubSettings()
    assert GitHubSettings().api_url == "https://api.github.com"
    assert GitHubSettings().token is None
    assert GitHubSettings().repo_ttl_seconds == GitHubSettings().search_ttl_seconds == 300
    settings = GitHubSettings.from_env(
        {
            "SSEMCP_GITHUB_API_URL": "http://127.0.0.1:1/github",
            "GITHUB_TOKEN": f" {TOKEN}\n",
            "SSEMCP_GITHUB_SEARCH_TTL_SECONDS": "5",
        }
    )
    assert settings.api_url == "http://127.0.0.1:1/github"
    assert settings.token == TOKEN
    assert settings.search_ttl_seconds == 5
    assert GitHubSettings.from_env({"GITHUB_TOKEN": "  "}).token is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SSEMCP_GITHUB_API_URL": "api.github.com"}, "not an http(s) base URL"),
        ({"SSEMCP_GITHUB_MAX_CONCURRENCY": "0"}, "must be at least 1"),
        ({"SSEMCP_GITHUB_REPO_TTL_SECONDS": "-1"}, "must be at least 0"),
        ({"GITHUB_TOKEN": "abc\ndef"}, "GITHUB_TOKEN is empty or spans several lines"),
    ],
)
def test_bad_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        GitHubSettings.from_env(environ)
    assert "def" not in str(raised.value)  # a bad token is not echoed


# ---------------------------------------------------------------------- a real transport


@pytest.mark.interop
async def test_sdk_client_over_stdio_gets_weather_and_github_with_the_token_from_the_env(
    upstream: WeatherGitHubFixture, tmp_path: Path
) -> None:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ssemcp", "stdio", SERVER_TARGET],
        env={
            **upstream.environment(),
            "GITHUB_TOKEN": TOKEN,
            "SSEMCP_WEATHER_BACKOFF_SECONDS": "0.001",
            "SSEMCP_GITHUB_BACKOFF_SECONDS": "0.001",
        },
    )
    with (tmp_path / "server-stderr.log").open("w+") as errlog:
        async with (
            stdio_client(parameters, errlog=errlog) as (read_stream, write_stream),
            ClientSession(read_stream, write_stream, read_timeout_seconds=30.0) as session,
        ):
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            current = await session.call_tool("weather_current", {"location": "Paris"})
            too_long = await session.call_tool(
                "weather_forecast", {"location": "Paris", "days": 17}
            )
            repo = await session.call_tool("github_repo", {"owner": "encode", "repo": "httpx"})
            upstream.fail(SEARCH, "ratelimit")
            limited = await session.call_tool("github_trending", {"since": "day"})
        errlog.seek(0)
        server_log = errlog.read()

    assert set(tools) == {
        "weather_current",
        "weather_forecast",
        "github_repo",
        "github_search_repos",
        "github_trending",
    }
    for tool in tools.values():
        assert tool.output_schema is not None
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert tool.annotations.open_world_hint is True

    assert not current.is_error
    assert isinstance(current.structured_content, dict)
    assert current.structured_content["place"]["country"] == "France"
    assert current.structured_content["conditions"] == "overcast"
    (block,) = current.content
    assert isinstance(block, types.TextContent)
    assert block.text.startswith(
        "# Current weather: Paris, Île-de-France, France\n\n- Conditions: overcast (night)\n"
    )

    assert too_long.is_error
    (error,) = too_long.content
    assert isinstance(error, types.TextContent)
    assert error.text.startswith("Invalid arguments for tool 'weather_forecast': days: ")

    assert not repo.is_error
    assert isinstance(repo.structured_content, dict)
    assert repo.structured_content["stars"] == 14512
    (repo_block,) = repo.content
    assert isinstance(repo_block, types.TextContent)
    assert repo_block.text.startswith("# encode/httpx\n")
    assert "- Stars: 14 512 · Forks: 1 003" in repo_block.text

    assert limited.is_error
    (refusal,) = limited.content
    assert isinstance(refusal, types.TextContent)
    assert "rate limit is used up" in refusal.text
    assert "it resets at 2026-11-24T12:25:00Z" in refusal.text

    assert upstream.hits_for(f"{FORECAST_PREFIX}/forecast") == 1
    github_requests = [r for r in upstream.requests if r.path.startswith(GITHUB_PREFIX)]
    assert len(github_requests) == 2
    for request in github_requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    for request in upstream.requests:
        if not request.path.startswith(GITHUB_PREFIX):
            assert "authorization" not in request.headers  # Open-Meteo never sees it
    assert TOKEN not in server_log
