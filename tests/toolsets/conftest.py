"""Fixtures of the tool set tests: the local fixture upstream and HN servers on it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# tests/ has no packages: make the fixture upstream and the in-memory MCP client importable.
_TESTS = Path(__file__).resolve().parent.parent
for _directory in (_TESTS / "fixtures", _TESTS / "server"):
    if str(_directory) not in sys.path:
        sys.path.insert(0, str(_directory))

from hn_harness import HN  # noqa: E402
from upstream_server import UpstreamFixture  # noqa: E402

MakeHN = Callable[..., Awaitable[HN]]


@pytest.fixture
def upstream() -> Iterator[UpstreamFixture]:
    """The fixture HN APIs on a free 127.0.0.1 port; stopped after the test."""
    with UpstreamFixture() as fixture:
        yield fixture


@pytest.fixture
async def make_hn(upstream: UpstreamFixture) -> AsyncIterator[MakeHN]:
    """Build servers with the HN tool set on ``upstream``, each with an initialized in-memory
    client (``capabilities=`` for the client, settings overrides as keywords); all are closed
    after the test."""
    started: list[HN] = []

    async def make(**options: Any) -> HN:
        hn = await HN.start(upstream, **options)
        started.append(hn)
        return hn

    yield make
    for hn in started:
        await hn.close()


@pytest.fixture
async def hn(make_hn: MakeHN) -> HN:
    """A server with the HN tool set and default test settings."""
    return await make_hn()
