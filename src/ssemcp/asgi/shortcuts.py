"""What the transports do past ASGI, when the HTTP server beneath them has said how.

Owns the table of server-specific shortcuts and the three calls the transports make through
it: a whole response in one step (:func:`send_whole_response`), the end of a connection whose
response can never finish (:func:`abort`: a reader that stopped reading), and word of a
client gone before its response was complete (:func:`on_disconnect`), without a task per
request reading ``receive`` for it. A server's layer
registers the type of its request cycle when it is imported (uvicorn's httptools cycle:
``ssemcp.http.whole_response``). Nothing here imports a server, so that ``import ssemcp``,
``Server`` and the stdio transport never load uvicorn. With nothing registered for a ``send``,
each call says so, and the caller takes the ASGI path.

The table is filled at import and read after, as ``codecs`` keeps its search functions: which
server types exist is a fact about the process, not state of an app.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, Final, NamedTuple

from ssemcp.asgi import ASGISend

__all__ = [
    "Shortcuts",
    "abort",
    "header_lines",
    "load_for_loaded_servers",
    "on_disconnect",
    "register",
    "register_wrapper",
    "send_whole_response",
]


class Shortcuts(NamedTuple):
    """What a server's request cycle can do past ASGI; each takes the cycle (the ``send``'s
    ``__self__``)."""

    # (cycle, status, header lines, body) -> True once written, False to take the ASGI path.
    send_whole_response: Callable[[object, int, bytes, bytes], bool]
    # Close the cycle's connection at once, what is unsent dropped.
    abort: Callable[[object], None]
    # (cycle, callback) -> True if the callback will be called when the connection is lost
    # before the cycle's response is complete.
    on_disconnect: Callable[[object, Callable[[], object]], bool]


_SHORTCUTS: Final[dict[type, Shortcuts]] = {}


def register(cycle_type: type, shortcuts: Shortcuts) -> None:
    """Use ``shortcuts`` for every ``send`` bound to an instance of ``cycle_type``."""
    _SHORTCUTS[cycle_type] = shortcuts


def register_wrapper(
    wrapper_type: type, sent_whole: Callable[[Any, int, bytes, bytes], None]
) -> None:
    """Keep the server's shortcuts for a ``send`` bound to an instance of ``wrapper_type``: a
    wrapper that only looks at what is sent and names the ``send`` it wraps ``wrapped_send``
    (the app's body deadline, the access log's exchange). ``sent_whole(wrapper, status,
    headers, body)`` is told of each whole response written in one step, which the wrapper's
    own ``send`` never saw."""

    def whole(wrapper: Any, status: int, headers: bytes, body: bytes) -> bool:
        if not send_whole_response(wrapper.wrapped_send, status, headers, body):
            return False
        sent_whole(wrapper, status, headers, body)
        return True

    def abort_wrapped(wrapper: Any) -> None:
        abort(wrapper.wrapped_send)

    def on_wrapped_disconnect(wrapper: Any, callback: Callable[[], object]) -> bool:
        return on_disconnect(wrapper.wrapped_send, callback)

    register(wrapper_type, Shortcuts(whole, abort_wrapped, on_wrapped_disconnect))


# The layers that register shortcuts, by the server package they build on.
_LAYERS: Final = {"uvicorn": "ssemcp.http.whole_response"}


def load_for_loaded_servers() -> None:
    """Import the shortcut layer of each server already loaded in this process (at the ASGI
    lifespan's startup: an app mounted under ``uvicorn app:app`` gets uvicorn's shortcuts, an
    app that is never served by uvicorn never imports it)."""
    for server_package, layer in _LAYERS.items():
        if server_package in sys.modules:
            importlib.import_module(layer)


# RFC 9110 section 5.1: a field name is a token; section 5.5: a field value holds no CR, LF or
# NUL. (uvicorn's own patterns, HEADER_RE and HEADER_VALUE_RE, are the same rules.)
_NOT_A_TOKEN: Final = re.compile(rb"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_NOT_A_VALUE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# Headers the shortcut writes itself, or that would change how the response is framed.
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
    """Write a whole response in one step, if the server beneath ``send`` has a shortcut.

    Args:
        send: the ``send`` the app was given.
        status: the status code; one whose response has a body (not 1xx, 204 or 304).
        headers: the response's header lines, from :func:`header_lines`.
        body: the whole body.

    Returns:
        True once the response is written (or dropped, as a server drops what is sent after
        the client went away); False if nothing was done, and the caller must send
        ``http.response.start`` and ``http.response.body`` itself.
    """
    cycle = getattr(send, "__self__", None)
    shortcuts = _SHORTCUTS.get(type(cycle))
    return shortcuts is not None and shortcuts.send_whole_response(cycle, status, headers, body)


def on_disconnect(send: ASGISend, callback: Callable[[], object]) -> bool:
    """Call ``callback`` (once, from the event loop) if the client of ``send``'s response
    goes away before that response is complete. A later call replaces the callback.

    Returns:
        True if the server beneath will; False if it has no such shortcut (then only a
        ``receive`` that returns ``http.disconnect`` tells).
    """
    cycle = getattr(send, "__self__", None)
    # A wrapper that only looks at what is sent (the app's body deadline) names what it wraps:
    # the client's leaving is the connection's, whoever is between.
    while (wrapped := getattr(cycle, "wrapped_send", None)) is not None:
        cycle = getattr(wrapped, "__self__", None)
    shortcuts = _SHORTCUTS.get(type(cycle))
    return shortcuts is not None and shortcuts.on_disconnect(cycle, callback)


def abort(send: ASGISend) -> bool:
    """Close the connection of ``send``'s response at once, dropping what is unsent: for a
    response whose writes wait on a reader that stopped reading, so could never end.

    Returns:
        True if done; False if the server beneath has no such shortcut (then the app can only
        return with its response unfinished, and the server closes the connection).
    """
    cycle = getattr(send, "__self__", None)
    shortcuts = _SHORTCUTS.get(type(cycle))
    if shortcuts is None:
        return False
    shortcuts.abort(cycle)
    return True
