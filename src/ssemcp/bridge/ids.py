"""Which child request id stands for which client's request, and back. No I/O.

Owns the ids the bridge writes to a child: every request it forwards gets a fresh integer, so
that requests of several clients on one child (``--shared``), and the bridge's own requests
(the handshake it replays after a restart), never collide; the answer is routed back by that
integer to the client and the id it used. Progress tokens are rewritten the same way, since
two clients may pick the same one. Ids keep their type: a client's ``7`` and ``"7"`` are two
requests (spec basic/index: a request id is "a string or integer").
"""

from __future__ import annotations

from typing import Final

from ssemcp.jsonrpc import RequestId

__all__ = ["BRIDGE_OWNER", "IdMap"]

# The owner of the bridge's own requests to a child (the handshake replayed after a restart).
BRIDGE_OWNER: Final = 0


class IdMap:
    """Fresh integers for ``(owner, original)`` pairs, and the way back.

    ``owner`` is a number naming one client session; ``original`` is what that client used.
    """

    __slots__ = ("_back", "_forward", "_next")

    def __init__(self) -> None:
        self._next = 1
        self._back: dict[int, tuple[int, RequestId]] = {}
        self._forward: dict[tuple[int, RequestId], int] = {}

    def __len__(self) -> int:
        return len(self._back)

    def add(self, owner: int, original: RequestId) -> int:
        """The fresh integer that stands for ``original`` of ``owner`` until :meth:`pop`.

        A pair already mapped keeps its integer (a client that reuses an id in flight is
        wrong, and the child will say so; the map must not grow for it).
        """
        key = (owner, original)
        known = self._forward.get(key)
        if known is not None:
            return known
        rewritten = self._next
        self._next += 1
        self._back[rewritten] = key
        self._forward[key] = rewritten
        return rewritten

    def get(self, rewritten: object) -> tuple[int, RequestId] | None:
        """The owner and original id ``rewritten`` stands for, or None (not ours, or gone)."""
        if type(rewritten) is not int:
            return None
        return self._back.get(rewritten)

    def find(self, owner: int, original: RequestId) -> int | None:
        """The integer standing for ``original`` of ``owner``, if mapped now."""
        return self._forward.get((owner, original))

    def pop(self, rewritten: int) -> tuple[int, RequestId] | None:
        """Forget ``rewritten``; return what it stood for."""
        key = self._back.pop(rewritten, None)
        if key is not None:
            del self._forward[key]
        return key

    def drop_owner(self, owner: int) -> list[int]:
        """Forget every id of ``owner`` (its session ended); return their integers."""
        dropped = [rewritten for rewritten, key in self._back.items() if key[0] == owner]
        for rewritten in dropped:
            self.pop(rewritten)
        return dropped
