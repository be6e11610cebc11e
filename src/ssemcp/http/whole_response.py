"""A whole response, head and body, handed to uvicorn's httptools cycle in one step.

Owns the shortcut past ASGI's two ``send`` messages for the answers a server gives most: a
``tools/call`` result, a 202. Through ASGI, each such answer is two awaited calls of uvicorn's
``send``, and the first one walks the headers: it copies the list, runs two regular expressions
over every name and value, lowercases the names, and looks for ``content-length``,
``transfer-encoding`` and ``connection`` among them. For headers that are our own constants,
that is the same work with the same outcome every time. On the bench machine, answering this
way served about 8 % more legacy calls (scenario c) and 15 % more ``tools/call`` over
Streamable HTTP (scenario a) a second (bench/README.md).

:func:`write_whole_response` does what uvicorn's ``send`` does for those two messages (0.54,
``RequestResponseCycle.send``) and writes the same bytes: the status line, the server's
default headers (``date``, ``server``), the response's own header lines, its
``content-length``, ``connection: close`` when the connection will not be kept alive, and the
body (none for ``HEAD``); then the same completion steps (the cycle's message event, the
close, ``on_response``). It does so only when ``send`` is the bound ``send`` of uvicorn's
httptools cycle and that cycle can take a whole response now: nothing sent yet, no access log
to write, no write back-pressure to wait out. Otherwise it does nothing and says so, and the
caller sends the two ASGI messages: another server, uvicorn's h11 protocol, and every wrapper
of ``send`` (CORS, the app's own body deadline) take the ASGI path, as before.

It also ends a connection whose reader stopped reading (:func:`abort_cycle`). Both are
registered with :mod:`ssemcp.asgi.shortcuts` when this module is imported (by
``ssemcp.http.uvicorn_protocol``), through which the transports call them without importing
uvicorn. The header lines are checked once, when ``shortcuts.header_lines`` encodes
them (as uvicorn checks each header it sends). tests/http/test_whole_response.py holds the
bytes and the cycle's state against uvicorn's own ``send``, so an upgrade that changes either
is caught.
"""

from __future__ import annotations

from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

from ssemcp.asgi import shortcuts
from ssemcp.http.response_writer import ResponseWriter

__all__ = ["abort_cycle", "on_cycle_disconnect", "write_whole_response"]


def write_whole_response(cycle: object, status: int, headers: bytes, body: bytes) -> bool:
    """Write a whole response through uvicorn's httptools ``cycle``, if it can take one now.

    Args:
        cycle: uvicorn's request cycle.
        status: the status code; one whose response has a body (not 1xx, 204 or 304).
        headers: the response's header lines, from ``shortcuts.header_lines``.
        body: the whole body.

    Returns:
        True once the response is written (or dropped, as uvicorn drops what is sent after
        the client went away); False if nothing was done, and the caller must send
        ``http.response.start`` and ``http.response.body`` itself.
    """
    assert type(cycle) is RequestResponseCycle
    if cycle.response_started or cycle.access_log or cycle.flow.write_paused:
        # The ASGI path says what is wrong, logs the request, or waits for the reader.
        return False
    if cycle.disconnected:
        return True
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    # In uvicorn's order: the same bytes as the two ASGI messages would have written.
    head = [STATUS_LINE[status]]
    for name, value in cycle.default_headers:
        head += (name, b": ", value, b"\r\n")
    head += (headers, b"content-length: %d\r\n" % len(body))
    if not cycle.keep_alive:
        head.append(b"connection: close\r\n")
    head.append(b"\r\n")
    if cycle.scope["method"] != "HEAD":
        head.append(body)
    cycle.transport.write(b"".join(head))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()
    return True


def abort_cycle(cycle: object) -> None:
    """Close ``cycle``'s connection at once, dropping what is unsent. uvicorn then sees the
    connection lost: the cycle is disconnected and a ``send`` waiting for the reader returns."""
    assert type(cycle) is RequestResponseCycle
    # The transport, or ssemcp's ResponseWriter standing in for it (uvicorn_protocol).
    cycle.transport.abort()


def on_cycle_disconnect(cycle: object, callback: Callable[[], object]) -> bool:
    """Have ssemcp's protocol call ``callback`` if ``cycle``'s connection is lost before its
    response is complete; False under uvicorn's own protocol, which has no such hook."""
    assert type(cycle) is RequestResponseCycle
    # The transport, or ssemcp's ResponseWriter standing in for it (uvicorn_protocol).
    writer: object = cycle.transport
    if type(writer) is not ResponseWriter:
        return False
    writer.on_lost = callback
    return True


shortcuts.register(
    RequestResponseCycle,
    shortcuts.Shortcuts(write_whole_response, abort_cycle, on_cycle_disconnect),
)
