"""The calls ``ssemcp bridge`` holds open for a 2026-07-28 client's answers. No I/O.

Owns the bound on them: a call whose child asked its client something (sampling, elicitation,
roots) waits here, under a random handle its ``requestState`` names, until the client's retry
takes it (once: the next round is held under a new handle, so a replayed state finds nothing),
or until it has waited ``hold_seconds``, or, past ``max_held`` calls, not at all. Ending an
expired call (cancelling it on its child) is ``ssemcp.bridge.standalone``'s; time comes in as
an argument.
"""

from __future__ import annotations

import secrets
from typing import Final, Generic, TypeVar

__all__ = ["DEFAULT_HOLD_SECONDS", "DEFAULT_MAX_HELD_CALLS", "HeldCalls"]

# Long enough for a person to answer an elicitation form, and no longer than the request
# state that names the call lives (protocol.request_state: 10 minutes); each held call keeps a
# request open on a child, so a client that never retries must not keep it long.
DEFAULT_HOLD_SECONDS: Final = 300.0
# Each held call is a request in flight on a child process: a few per child on average is
# generous, and a client that starts calls it never finishes is bounded by this.
DEFAULT_MAX_HELD_CALLS: Final = 128
# 16 random bytes: a handle cannot be guessed (the state is sealed anyway).
_HANDLE_BYTES: Final = 16

Call = TypeVar("Call")


class HeldCalls(Generic[Call]):
    """Calls waiting for their client's retry, by handle, each until its deadline.

    Args:
        max_held: calls held at most.
        hold_seconds: how long one is held.

    Raises:
        ValueError: a bound that is not positive.
    """

    def __init__(
        self, max_held: int = DEFAULT_MAX_HELD_CALLS, hold_seconds: float = DEFAULT_HOLD_SECONDS
    ) -> None:
        if max_held < 1 or hold_seconds <= 0:
            raise ValueError("max_held and hold_seconds must be positive")
        self.max_held = max_held
        self.hold_seconds = hold_seconds
        # Insertion order is deadline order: every call is held for the same time.
        self._held: dict[str, tuple[Call, float]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, call: Call, now: float) -> tuple[str, float] | None:
        """Hold ``call``; its handle and deadline, or None when ``max_held`` are held."""
        if len(self._held) >= self.max_held:
            return None
        handle = secrets.token_urlsafe(_HANDLE_BYTES)
        deadline = now + self.hold_seconds
        self._held[handle] = (call, deadline)
        return handle, deadline

    def take(self, handle: str, now: float) -> Call | None:
        """The call held under ``handle``, no longer held; None if there is none (taken
        already, never held) or it is past its deadline (it stays for :meth:`expire`)."""
        entry = self._held.get(handle)
        if entry is None or entry[1] <= now:
            return None
        del self._held[handle]
        return entry[0]

    def expire(self, now: float) -> list[Call]:
        """The calls past their deadline, no longer held."""
        expired: list[Call] = []
        for handle, (call, deadline) in list(self._held.items()):
            if deadline > now:
                break
            del self._held[handle]
            expired.append(call)
        return expired

    def next_deadline(self) -> float | None:
        """When the first held call expires; None when none is held."""
        for _, deadline in self._held.values():
            return deadline
        return None

    def drain(self) -> list[Call]:
        """Every held call, no longer held (shutdown)."""
        calls = [call for call, _ in self._held.values()]
        self._held.clear()
        return calls
