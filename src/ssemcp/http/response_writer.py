"""Response bytes leave once per turn of the event loop, all connections together.

Owns the path from uvicorn's request cycles to a connection's transport. uvicorn writes a
response's head when the app sends ``http.response.start`` and its body at
``http.response.body``, each at once: two ``send()`` system calls, and two TCP segments (uvicorn
sets ``TCP_NODELAY``) for a ``tools/call`` answer of a few hundred bytes. Worse, writes made
one by one in the middle of a turn that answers dozens of requests each reach a client that
has just gone back to sleep, and waking it is the most expensive part of a system call: on the
bench machine, writing every response at the end of the turn instead measured 35.7 us a call
against 42.3 (scenario a, bench/README.md).

So a :class:`ResponseWriter` stands in for the transport in each request cycle, and holds what
it writes: the loop's :class:`HeldWrites` writes out every connection's held bytes in one
callback at the end of the turn (``call_soon``, scheduled by the first write of the turn),
each connection's in one ``writelines``. Two bounds make bytes leave sooner:
:data:`MAX_HELD_BYTES` on a connection, so that a large body reaches the transport, whose
buffer limits pause the app (uvicorn's flow control) as they did; and
:data:`MAX_HELD_CONNECTIONS` on a turn, so that a fan-out to a thousand streams reaches its
first readers while the rest are being written (held to the end, the last one's event came
later: 14.3 ms against 11.3). Bytes leave in the order they were written, and no later than
the end of the turn in which they were written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

__all__ = ["MAX_HELD_BYTES", "MAX_HELD_CONNECTIONS", "HeldWrites", "ResponseWriter"]

logger = logging.getLogger(__name__)

# asyncio's and uvloop's default high-water mark for a transport's write buffer: holding more
# than the transport would take before pausing the app would defeat that pause.
MAX_HELD_BYTES: Final = 64 * 1024
# Twice the bench's 32 connections, whose answers in a turn all wait for its end; a fan-out's
# writes leave in batches of this many.
MAX_HELD_CONNECTIONS: Final = 64


class HeldWrites:
    """The writers of one loop holding bytes in its current turn, flushed together in one
    callback at the turn's end.

    Args:
        loop: the loop whose turns these are.
    """

    __slots__ = ("_scheduled", "_writers", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._writers: list[ResponseWriter] = []
        self._scheduled = False

    def add(self, writer: ResponseWriter) -> None:
        """Flush ``writer`` at the end of this turn, or with the others once
        :data:`MAX_HELD_CONNECTIONS` hold bytes (unless something flushes it first)."""
        writers = self._writers
        writers.append(writer)
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._flush_at_end_of_turn)
        elif len(writers) >= MAX_HELD_CONNECTIONS:
            self._flush()

    def _flush_at_end_of_turn(self) -> None:
        self._scheduled = False
        self._flush()

    def _flush(self) -> None:
        writers = self._writers
        self._writers = []
        for writer in writers:
            try:
                writer.flush()
            except Exception:
                # One connection's failure must not keep the others' bytes back.
                logger.exception("writing a response failed")


class ResponseWriter:
    """The transport of a connection as its request cycles see it (``write``, ``close``,
    ``is_closing``), holding what they write until the end of the loop's turn.

    Args:
        transport: the connection's transport.
        held_writes: the loop's writers with bytes held in this turn.
        close: how a cycle's ``close`` closes the connection (default: the transport's
            ``close``); the protocol passes its lingering close.
    """

    __slots__ = (
        "_close",
        "_held",
        "_held_bytes",
        "_held_writes",
        "_is_closed",
        "_transport",
        "on_lost",
    )

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        held_writes: HeldWrites,
        close: Callable[[], object] | None = None,
    ) -> None:
        self._transport = transport
        self._held_writes = held_writes
        self._close = transport.close if close is None else close
        self._held: list[bytes] | None = None
        self._held_bytes = 0
        self._is_closed = False
        # Called by the protocol if the connection is lost before the current cycle's
        # response is complete (ssemcp.asgi.shortcuts.on_disconnect); reset per cycle.
        self.on_lost: Callable[[], object] | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            self._held = [data]
            self._held_bytes = len(data)
            self._held_writes.add(self)
        else:
            held.append(data)
            self._held_bytes += len(data)
        if self._held_bytes >= MAX_HELD_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write what is held, if anything, in one call (unless the connection is closing:
        then it is dropped, as the rest of the response will be)."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._is_closed and not self._transport.is_closing():
                self._transport.writelines(held)

    def is_closing(self) -> bool:
        return self._is_closed or self._transport.is_closing()

    def end(self) -> None:
        """Write what is held; from now on drop what is written, and say the connection is
        closing (its owner is closing it)."""
        self.flush()
        self._is_closed = True

    def abort(self) -> None:
        """Close the connection at once: what is held, and what the transport buffers, is
        dropped (a reader that stopped reading would never take it)."""
        self._held = None
        self._is_closed = True
        self._transport.abort()

    def close(self) -> None:
        """:meth:`end`, then close the connection as the writer's owner closes it (the
        transport's ``close`` unless it said otherwise)."""
        self.end()
        self._close()
