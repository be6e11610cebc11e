"""One write for a small response: its head waits for its first body bytes.

Owns the path from uvicorn's request cycles to a connection's transport. uvicorn writes a
response's status line and headers when the app sends ``http.response.start`` and its body at
``http.response.body``: two writes, so two ``send()`` system calls and, as uvicorn sets
``TCP_NODELAY``, two TCP segments for an answer that fits in one. A ``tools/call`` answer is a
head and a few hundred bytes of JSON sent back to back, and a system call costs the bench
machine about 1.5 us under load, 3 % of a call (bench/README.md).

A :class:`ResponseWriter` stands in for the transport in each request cycle. The first write of
a response, its head, is held back and leaves with the next write, or at the end of the event
loop's current turn if nothing follows it by then (:class:`HeldHeads`, one per loop): the head
of an SSE stream is not held while the stream waits for its first event. Every other write
goes straight through, after whatever is held, so bytes leave in the order they were written.
"""

from __future__ import annotations

import asyncio
import logging

__all__ = ["HeldHeads", "ResponseWriter"]

logger = logging.getLogger(__name__)


class HeldHeads:
    """The writers of one loop that hold a head in its current turn, flushed together at the
    turn's end: one ``call_soon`` per turn, not one per response (a turn under load answers
    dozens of requests, and a callback costs more than the list it replaces).

    Args:
        loop: the loop whose turns these are.
    """

    __slots__ = ("_scheduled", "_writers", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._writers: list[ResponseWriter] = []
        self._scheduled = False

    def add(self, writer: ResponseWriter) -> None:
        """Flush ``writer`` at the end of this turn (unless something else flushes it first)."""
        self._writers.append(writer)
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        writers = self._writers
        self._writers = []
        for writer in writers:
            try:
                writer.flush()
            except Exception:
                # One connection's failure must not keep the others' heads back.
                logger.exception("writing a response head failed")


class ResponseWriter:
    """The transport of a connection as its request cycles see it: ``write``, ``close`` and
    ``is_closing``, holding each response's head until its body.

    Args:
        transport: the connection's transport.
        held_heads: where a held head waits for the end of the loop's turn.
    """

    __slots__ = ("_held", "_held_heads", "_hold_next", "_transport")

    def __init__(self, transport: asyncio.WriteTransport, held_heads: HeldHeads) -> None:
        self._transport = transport
        self._held_heads = held_heads
        self._held: bytes | None = None
        self._hold_next = False

    def hold_next_write(self) -> None:
        """Hold the next write (a new response's head) until the write after it, or until the
        end of the loop's current turn."""
        self._hold_next = True

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            # One system call for both; writelines copies neither.
            self._transport.writelines((held, data))
        elif self._hold_next:
            self._hold_next = False
            self._held = data
            # If the app sends nothing more in this turn (a stream that waits for its first
            # event, a handler that awaits between head and body), the head leaves alone.
            self._held_heads.add(self)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Write what is held, if anything (unless the connection is closing: then it is
        dropped, as the rest of the response will be)."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()
