"""What GitHub means when it refuses a request: rate limits, bad tokens, rejected queries.

Owns turning a 4xx answer (status, headers, the start of the body) into an
:class:`~ssemcp.toolsets._upstream.UpstreamError` a model can act on, above all a used-up rate
limit with the time it resets. Plugged into the upstream client as its ``on_refusal`` hook;
no I/O here, and the clock is injected.

docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api: "If you exceed your
primary rate limit, you will receive a 403 or 429 response, and the x-ratelimit-remaining
header will be 0"; "x-ratelimit-reset: The time at which the current rate limit window resets,
in UTC epoch seconds". A secondary rate limit answers 403 or 429, with a ``retry-after``
header (seconds) when GitHub gives one.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Callable
from typing import Final

import httpx

from ssemcp.toolsets._upstream import UpstreamError

__all__ = ["GitHubRateLimited", "RefusalReader"]

UPSTREAM: Final = "The GitHub API"
# What a model is shown of GitHub's own message.
_MAX_MESSAGE_CHARS: Final = 300
# docs.github.com rate limits: the primary limit without a token is 60 requests an hour.
_UNAUTHENTICATED_LIMIT: Final = 60


class GitHubRateLimited(UpstreamError):
    """GitHub's rate limit for us is used up; the message says when it resets."""


def _github_message(body: bytes) -> str | None:
    """GitHub's ``message``, with the ``message`` of each entry of ``errors`` (422)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("message"), str):
        return None
    message: str = answer["message"]
    errors = answer.get("errors")
    if isinstance(errors, list):
        details = [
            error["message"]
            for error in errors
            if isinstance(error, dict) and isinstance(error.get("message"), str)
        ]
        if details:
            message += ": " + "; ".join(details)
    return message[:_MAX_MESSAGE_CHARS]


class RefusalReader:
    """The ``on_refusal`` hook of the GitHub client.

    Args:
        has_token: whether requests carry a token (the advice differs).
        now: the wall clock, in UTC epoch seconds (``time.time``; tests inject one).
    """

    def __init__(self, has_token: bool, now: Callable[[], float]) -> None:
        self.has_token = has_token
        self._now = now

    def __call__(self, status: int, headers: httpx.Headers, body: bytes) -> UpstreamError | None:
        if status in (403, 429):
            limited = self._rate_limited(headers)
            if limited is not None:
                return limited
        message = _github_message(body)
        if status == 401:
            return UpstreamError(
                f"{UPSTREAM} rejected the token in GITHUB_TOKEN (HTTP 401"
                f"{': ' + message if message else ''}). Ask the server's operator to fix or "
                "remove it."
            )
        if status == 422:
            return UpstreamError(
                f"{UPSTREAM} rejected the search (HTTP 422: {message or 'Validation Failed'}). "
                "Simplify the query: plain words, at most 256 characters and five AND/OR/NOT."
            )
        if status == 403 and message:
            return UpstreamError(f"{UPSTREAM} refused the request (HTTP 403): {message}")
        return None  # 404 and the rest: the generic handling

    def _rate_limited(self, headers: httpx.Headers) -> UpstreamError | None:
        if headers.get("x-ratelimit-remaining") == "0":
            return GitHubRateLimited(self._primary_message(headers))
        retry_after = headers.get("retry-after", "")
        if retry_after.isdigit():
            return GitHubRateLimited(
                f"{UPSTREAM} asks us to slow down (secondary rate limit); try again in "
                f"{int(retry_after)} seconds."
            )
        return None

    def _primary_message(self, headers: httpx.Headers) -> str:
        limit = headers.get("x-ratelimit-limit", "")
        resource = headers.get("x-ratelimit-resource", "")
        what = f"{resource} " if resource and resource != "core" else ""
        # docs.github.com rate limits: the core limit is per hour, the search limit per minute.
        window = {"": "an hour", "core": "an hour", "search": "a minute"}.get(resource, "a window")
        per = f" ({limit} requests {window})" if limit.isdigit() else ""
        reset = headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            reset_at = datetime.datetime.fromtimestamp(int(reset), datetime.UTC)
            minutes = math.ceil((int(reset) - self._now()) / 60)
            when = f"it resets at {reset_at:%Y-%m-%dT%H:%M:%SZ}, " + (
                f"in {minutes} minute{'s' if minutes != 1 else ''}" if minutes > 0 else "now"
            )
        else:
            when = "it resets within the hour"
        advice = (
            "Wait until then."
            if self.has_token
            else "Wait until then, or ask the server's operator to set GITHUB_TOKEN: a token "
            f"raises the limit from {_UNAUTHENTICATED_LIMIT} to 5000 requests an hour."
        )
        return f"GitHub's {what}API rate limit is used up{per}; {when}. {advice}"
