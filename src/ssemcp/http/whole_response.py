"""A whole response, head and body, handed to uvicorn's httptools cycle in one step.

Owns the shortcut past ASGI's two ``send`` messages for the answers a server gives most: a
``tools/call`` result, a 202. Through ASGI, each such answer is two awaited calls of uvicorn's
``send``, and the first one walks the headers: it copies the list, runs two regular expressions
over every name and value, lowercases the names, and looks for ``content-length``,
``transfer-encoding`` and ``connection`` among them. For headers that are our own constants,
that is the same work with the same outcome every time. On the bench machine, answering this
way served about 8 % more legacy calls (scenario c) and 15 % more ``tools/call`` over
Streamable HTTP (scenario a) a second (bench/README.md).

:func:`send_whole_response` does what uvicorn's ``send`` does for those two messages (0.54,
``RequestResponseCycle.send``) and writes the same bytes: the status line, the server's
default headers (``date``, ``server``), the response's own header lines, its
``content-length``, ``connection: close`` when the connection will not be kept alive, and the
body (none for ``HEAD``); then the same completion steps (the cycle's message event, the
close, ``on_response``). It does so only when ``send`` is the bound ``send`` of uvicorn's
httptools cycle and that cycle can take a whole response now: nothing sent yet, no access log
to write, no write back-pressure to wait out. Otherwise it does nothing and says so, and the
caller sends the two ASGI messages: another server, uvicorn's h11 protocol, and every wrapper
of ``send`` (CORS, the app's own body deadline) take the ASGI path, as before.

The header lines are checked once, when :func:`header_lines` encodes them (as uvicorn checks
each header it sends), so callers build them from constants or from values they made.
tests/http/test_whole_response.py holds the bytes and the cycle's state against uvicorn's own
``send``, so an upgrade that changes either is caught.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

from ssemcp.http.asgi import ASGISend

__all__ = ["header_lines", "send_whole_response"]

# RFC 9110 section 5.1: a field name is a token; section 5.5: a field value holds no CR, LF or
# NUL. (uvicorn's own patterns, HEADER_RE and HEADER_VALUE_RE, are the same rules.)
_NOT_A_TOKEN: Final = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_NOT_A_VALUE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# Headers this module writes itself, or that would change how the response is framed.
_FRAMING: Final = frozenset({b"content-length", b"transfer-encoding", b"connection"})


def header_lines(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """``name: value`` lines, each ended by CRLF, for :func:`send_whole_response`.

    Raises:
        ValueError: a name that is not a token, a value with a control character, or a
            header that frames the message (``content-length``, ``transfer-encoding``,
            ``connection``): the response's length is its body's.
    """
    lines = []
    for name, value in headers:
        name = name.lower()
        if not name or _NOT_A_TOKEN.search(name):
            raise ValueError(f"not a header name: {name!r}")
        if _NOT_A_VALUE.search(value):
            raise ValueError(f"not a header value: {value!r}")
        if name in _FRAMING:
            raise ValueError(f"{name.decode()} is the response's own, not the caller's")
        lines.append(b"%s: %s\r\n" % (name, value))
    return b"".join(lines)


def send_whole_response(send: ASGISend, status: int, headers: bytes, body: bytes) -> bool:
    """Write a whole response through uvicorn's httptools cycle, if ``send`` is its ``send``.

    Args:
        send: the ``send`` the app was given.
        status: the status code; one whose response has a body (not 1xx, 204 or 304).
        headers: the response's header lines, from :func:`header_lines`.
        body: the whole body.

    Returns:
        True once the response is written (or dropped, as uvicorn drops what is sent after
        the client went away); False if nothing was done, and the caller must send
        ``http.response.start`` and ``http.response.body`` itself.
    """
    cycle = getattr(send, "__self__", None)
    if type(cycle) is not RequestResponseCycle:
        return False
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
