"""Collecting what an SDK client's callbacks receive, and waiting for enough of it.

SDK callbacks (progress, logging, messages) run in tasks of their own, so they may still be
pending when the call they belong to has returned: tests wait, with a deadline, never sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final, Generic, TypeVar

import pytest

T = TypeVar("T")

# Callbacks arrive within milliseconds; the bound only stops a broken test from hanging.
CALLBACK_DEADLINE_SECONDS: Final = 10.0


class Received(Generic[T]):
    """What a callback received, and a way to wait until enough has arrived."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._arrived = asyncio.Event()

    def add(self, item: T) -> None:
        self.items.append(item)
        self._arrived.set()

    async def wait_for(self, count: int, matching: Callable[[T], bool] | None = None) -> list[T]:
        """All items received, once ``count`` of them satisfy ``matching`` (every item, when
        None); fails the test at the deadline."""

        def matched() -> int:
            if matching is None:
                return len(self.items)
            return sum(1 for item in self.items if matching(item))

        try:
            async with asyncio.timeout(CALLBACK_DEADLINE_SECONDS):
                while matched() < count:
                    await self._arrived.wait()
                    self._arrived.clear()
        except TimeoutError:
            pytest.fail(f"waited for {count} matching callbacks, got {self.items}")
        return self.items
