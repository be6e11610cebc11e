"""The access log: one line per HTTP exchange and per MCP request, as text or JSON.

Owns what a line holds and how it is written: the ``ssemcp.access`` logger (INFO), the
line's fields, their text form (``key=value`` pairs, logfmt: a value with a space, a quote or
a control character is JSON-quoted, so no peer input can start a line of its own), the JSON
formatter of ``--log-format json`` (every ``ssemcp`` record, access lines with their fields at
the top level), and an HTTP exchange's record (:class:`Exchange`).

A line never holds a token: no header is logged but the session id (cut to its start,
``asgi.short_id``: it is a bearer of the session), no query string (where a secret may
travel), and the principal only by its subject. Tool and prompt arguments appear only with
``log_arguments`` (``--log-arguments``), cut to :data:`MAX_LOGGED_ARGUMENTS` characters.

An exchange's line is written when its ASGI call returns: a JSON reply or 202 when it is
sent, a batch or an SSE reply when it completes, a stream (a GET, the legacy ``/sse``, a
``subscriptions/listen``) when it ends. An exchange that carried one MCP request gets one
line with the request's fields; one that carried several (a batch) gets its own line and one
``kind=mcp`` line each. On stdio every request gets a ``kind=mcp`` line (stderr).
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import re
import time
from collections.abc import Awaitable
from contextvars import Token
from typing import Final, TextIO

import orjson

from ssemcp.asgi import PRINCIPAL_KEY, ASGIMessage, ASGISend, Scope, short_id, shortcuts
from ssemcp.observe._hook import WATCHER, Watcher
from ssemcp.observe.calls import NAME_KEYS, CallRecord, CallStats
from ssemcp.observe.watch import CallWatcher

__all__ = [
    "ACCESS_LOGGER",
    "MAX_LOGGED_ARGUMENTS",
    "MAX_LOGGED_VALUE",
    "TEXT_FORMAT",
    "AccessLine",
    "AccessLogHandler",
    "Exchange",
    "JSONFormatter",
    "StdioWatcher",
    "access_log_enabled",
]

ACCESS_LOGGER: Final = "ssemcp.access"
logger = logging.getLogger(ACCESS_LOGGER)

# A path, a tool name or a resource URI longer than this is cut (with "…"): a line stays a line.
MAX_LOGGED_VALUE: Final = 200
# Arguments, as compact JSON, are cut here.
MAX_LOGGED_ARGUMENTS: Final = 1000
# A value written bare in a text line; anything else is JSON-quoted. "…" ends a cut session id.
_BARE: Final = re.compile(r"[A-Za-z0-9_\-.,/:@+%*~…]+")
_SESSION_HEADER: Final = b"mcp-session-id"
_SESSION_HEADER_LINE: Final = b"mcp-session-id: "
_SESSION_QUERY: Final = re.compile(rb"(?:^|&)session_id=([^&]+)")


def access_log_enabled() -> bool:
    """Whether access lines would be written now (the logger passes INFO)."""
    return logger.isEnabledFor(logging.INFO)


def _cut(value: str, limit: int = MAX_LOGGED_VALUE) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# Memoised: a server sees the same peer, path, session, principal, tool and outcome again and
# again. A pure function of its argument, bounded, so a client cycling values only evicts.
@functools.lru_cache(maxsize=4096)
def _text(value: str) -> str:
    return value if _BARE.fullmatch(value) else json.dumps(value)


class AccessLine:
    """One access line's fields, in order; ``str()`` is its text form (``key=value ...``),
    built only if a handler formats the record."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, object]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        # Most of a line's pairs recur from line to line (kind=http, method=POST, path=/mcp,
        # rpc=tools/call, outcome=ok, ...): each is rendered once and found again by the
        # (key, value) item itself, with no tuple made (7 000 instructions a line, not 30 000).
        pairs = _PAIRS
        return " ".join([pairs.get(item) or _pair(item) for item in self.fields.items()])


# A text line's "key=value" pairs of str (and None) values, by (key, value); bounded, as
# _text's cache is, so a client cycling values only stops new pairs from being kept.
_PAIRS: Final[dict[tuple[str, object], str]] = {}
_MAX_PAIRS: Final = 4096


def _pair(item: tuple[str, object]) -> str:
    key, value = item
    if type(value) is str:
        text = f"{key}={_text(value)}"
    elif value is None:
        text = f"{key}=-"
    else:
        return f"{key}={value}"  # a number: not kept (ids, sizes and durations vary)
    if len(_PAIRS) < _MAX_PAIRS:
        _PAIRS[item] = text
    return text


def _record(fields: dict[str, object]) -> logging.LogRecord:
    # makeRecord, not info(): the caller's file and line say nothing here, and finding them
    # walks the stack on every line.
    return logger.makeRecord(ACCESS_LOGGER, logging.INFO, "", 0, "%s", (AccessLine(fields),), None)


def _emit(fields: dict[str, object]) -> None:
    if logger.isEnabledFor(logging.INFO):
        handler = _sole_handler()
        if handler is not None:
            handler.write_line(fields)
        else:
            logger.handle(_record(fields))


def _sole_handler() -> AccessLogHandler | None:
    """The :class:`AccessLogHandler` an ``ssemcp`` command installed, when it is the one
    thing that would see an access line as ``logging`` would hand it on: no handler or filter
    of the user's on the ``ssemcp.access`` logger, no other handler on ``ssemcp`` and no
    filter on this one (a filter on ``ssemcp`` itself sees only records logged there),
    nothing propagated to the root, its own formatter, and the standard record factory.
    Else None, and the line goes through ``logging`` with a :class:`~logging.LogRecord`, as
    any other does."""
    parent = logger.parent
    if (
        logger.handlers
        or logger.filters
        or not logger.propagate
        or parent is None
        or parent.propagate
        or len(parent.handlers) != 1
        or logging.getLogRecordFactory() is not logging.LogRecord
    ):
        return None
    handler = parent.handlers[0]
    if (
        type(handler) is not AccessLogHandler
        or handler.filters
        or handler.formatter is not handler.own_formatter
        or handler.level > logging.INFO
    ):
        return None
    return handler


def _call_fields(fields: dict[str, object], record: CallRecord) -> None:
    """Add a request's fields to a line."""
    fields["rpc"] = record.method or None  # "": no request could be read
    if record.name is not None:
        fields[NAME_KEYS[record.method]] = _cut(record.name)
    request_id = record.request_id
    fields["id"] = _cut(request_id) if type(request_id) is str else request_id
    if "principal" not in fields:
        fields["principal"] = record.principal
    fields["outcome"] = record.outcome
    if record.code is not None:
        fields["code"] = record.code
    if record.notifications is not None:
        fields["notifications"] = record.notifications
    if record.arguments is not None:
        text = orjson.dumps(record.arguments, default=str).decode()
        fields["arguments"] = _cut(text, MAX_LOGGED_ARGUMENTS)


def _milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 3)


class StdioWatcher(CallWatcher):
    """A stdio loop's watcher: every request gets a ``kind=mcp`` line (stderr)."""

    __slots__ = ()

    def __init__(self, stats: CallStats | None = None, log_arguments: bool = False) -> None:
        super().__init__(stats, log_arguments)
        self.keeps_log = True

    def finished(self, record: CallRecord) -> None:
        fields: dict[str, object] = {"kind": "mcp", "transport": "stdio"}
        _call_fields(fields, record)
        fields["duration_ms"] = _milliseconds(record.duration_seconds)
        _emit(fields)


class Exchange(CallWatcher):
    """One HTTP exchange's record: what the app's ``send`` carried (status, body bytes, a new
    session's id), the requests dispatched during it, and its line at :meth:`end`.

    Its :meth:`send` stands in front of the server's; a whole response in one step
    (``asgi.shortcuts``) passes through it too, so the shortcut is kept.
    """

    __slots__ = (
        "_calls",
        "_scope",
        "_send",
        "_started",
        "body_bytes",
        "is_open",
        "route",
        "session",
        "status",
        "statuses",
        "token",
        "wrapped_send",
    )

    def __init__(
        self, scope: Scope, send: ASGISend, stats: CallStats | None, log_arguments: bool
    ) -> None:
        super().__init__(stats, log_arguments)
        self.keeps_log = True
        self._scope = scope
        self._send = send
        # The server's send (asgi.shortcuts.on_disconnect looks through): an attribute, not
        # a property, as the shortcuts read it on every response.
        self.wrapped_send = send
        self._started = time.perf_counter()
        self._calls: list[CallRecord] = []
        self.status: int | None = None
        self.body_bytes = 0
        self.session: str | None = None
        self.is_open = True
        # With metrics: where its response is counted, by (route, status code), as it starts.
        self.statuses: dict[tuple[str, int], int] | None = None
        self.route = ""
        # What set this exchange as the watcher of its task's requests (ssemcp.observe.observer).
        self.token: Token[Watcher | None] | None = None

    def send(self, message: ASGIMessage) -> Awaitable[None]:
        kind = message["type"]
        if kind == "http.response.body":
            self.body_bytes += len(message.get("body", b""))
        elif kind == "http.response.start":
            self.status = message["status"]
            if self.statuses is not None:
                self._count_status(message["status"])
            for name, value in message.get("headers", ()):
                if name == _SESSION_HEADER:
                    self.session = value.decode("latin-1")
        return self._send(message)

    def sent_whole(self, status: int, headers: bytes, body: bytes) -> None:
        """A whole response went in one step (``asgi.shortcuts``)."""
        self.status = status
        if self.statuses is not None:
            self._count_status(status)
        self.body_bytes += len(body)
        start = headers.find(_SESSION_HEADER_LINE)
        if start >= 0:
            start += len(_SESSION_HEADER_LINE)
            self.session = headers[start : headers.find(b"\r\n", start)].decode("latin-1")

    def _count_status(self, status: int) -> None:
        statuses = self.statuses
        assert statuses is not None
        key = (self.route, status)
        statuses[key] = statuses.get(key, 0) + 1

    def finished(self, record: CallRecord) -> None:
        if self.is_open:
            self._calls.append(record)
        else:
            # Ended after its exchange (nothing does today): a line of its own.
            self._write_call(record)

    def _session_id(self) -> str | None:
        session = self.session
        if session is None:
            for name, value in self._scope["headers"]:
                if name == _SESSION_HEADER:
                    session = value.decode("latin-1")
                    break
            else:
                # The legacy transport names its session in the query (POST /messages/).
                found = _SESSION_QUERY.search(self._scope.get("query_string", b""))
                if found is not None:
                    session = found[1].decode("latin-1")
        return short_id(session) if session else None

    def _who(self, fields: dict[str, object]) -> None:
        """Add the session and principal of the exchange."""
        fields["session"] = self._session_id()
        principal = self._scope.get(PRINCIPAL_KEY)
        fields["principal"] = principal.subject if principal is not None else None

    def _peer(self) -> str | None:
        # After ssemcp.http.proxy: the client's own address when a trusted proxy said so.
        client = self._scope.get("client")
        return client[0] if client else None

    def _write_call(self, record: CallRecord) -> None:
        fields: dict[str, object] = {"kind": "mcp", "transport": "http", "peer": self._peer()}
        self._who(fields)
        _call_fields(fields, record)
        fields["duration_ms"] = _milliseconds(record.duration_seconds)
        _emit(fields)

    def end(self) -> None:
        """The exchange is over: write its line (and its requests', if several)."""
        self.is_open = False
        if self.token is not None:
            WATCHER.reset(self.token)
        duration_seconds = time.perf_counter() - self._started
        scope = self._scope
        path = scope["path"]
        client = scope.get("client")
        principal = scope.get(PRINCIPAL_KEY)
        # _peer() and _who(), inlined: this runs on every exchange.
        fields: dict[str, object] = {
            "kind": "http",
            "peer": client[0] if client else None,
            "method": scope["method"],
            "path": path if len(path) <= MAX_LOGGED_VALUE else _cut(path),
            "status": self.status,
            "bytes": self.body_bytes,
            "duration_ms": round(duration_seconds * 1000, 3),
            "session": self._session_id(),
            "principal": principal.subject if principal is not None else None,
        }
        calls = self._calls
        if len(calls) == 1:
            _call_fields(fields, calls[0])
            _emit(fields)
            return
        _emit(fields)
        for record in calls:
            self._write_call(record)


# An exchange's send keeps the server's shortcuts (they find a send's type here).
shortcuts.register_wrapper(Exchange, Exchange.sent_whole)


# The text form of every ssemcp record (``ssemcp serve``, ``stdio``, ``bridge``).
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class AccessLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``ssemcp``'s commands log through (stderr, ``--log-format``), which writes
    an access line itself when nothing else would see it (:func:`_sole_handler`): the same
    text or JSON its formatter would make, without a :class:`~logging.LogRecord`, the
    formatter's passes or ``logging``'s dispatch, which cost more than the line's request.

    Args:
        stream: where lines go.
        log_format: ``text`` or ``json`` (:class:`JSONFormatter`).
    """

    def __init__(self, stream: TextIO, log_format: str = "text") -> None:
        super().__init__(stream)
        self.is_json = log_format == "json"
        self.own_formatter: logging.Formatter = (
            JSONFormatter() if self.is_json else logging.Formatter(TEXT_FORMAT)
        )
        self.setFormatter(self.own_formatter)
        # The second the time prefix below was made for, and the prefix.
        self._second = -1
        self._prefix = ""

    def _time_prefix(self, now: float) -> str:
        """The part of a line's time before its milliseconds, as the formatter writes it:
        local time (``Formatter.converter``) for text, UTC ISO 8601 for JSON; made once a
        second."""
        second = int(now)
        if second != self._second:
            if self.is_json:
                moment = datetime.datetime.fromtimestamp(second, datetime.UTC)
                self._prefix = moment.strftime("%Y-%m-%dT%H:%M:%S")
            else:
                self._prefix = time.strftime(
                    "%Y-%m-%d %H:%M:%S", self.own_formatter.converter(second)
                )
            self._second = second
        return self._prefix

    def write_line(self, fields: dict[str, object]) -> None:
        """Write one access line of ``fields``, as :meth:`emit` would write its record."""
        now = time.time()
        milliseconds = int((now - int(now)) * 1000)
        try:
            if self.is_json:
                entry: dict[str, object] = {
                    "time": f"{self._time_prefix(now)}.{milliseconds:03d}+00:00",
                    "level": "INFO",
                    "logger": ACCESS_LOGGER,
                }
                entry.update(fields)
                line = orjson.dumps(entry, default=str).decode()
            else:
                line = (
                    f"{self._time_prefix(now)},{milliseconds:03d} INFO {ACCESS_LOGGER}: "
                    f"{AccessLine(fields)}"
                )
            # The handler's lock, as emit() holds it (made by StreamHandler.__init__).
            with self.lock:  # type: ignore[union-attr]
                stream = self.stream
                stream.write(line + self.terminator)
                stream.flush()
        except RecursionError:
            raise  # as StreamHandler.emit does
        except Exception:
            self.handleError(_record(fields))


class JSONFormatter(logging.Formatter):
    """One JSON object per record (``--log-format json``): ``time`` (UTC, ISO 8601),
    ``level``, ``logger``, and ``message`` (or, for an access line, its fields); an exception's
    traceback as ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
        }
        args = record.args
        if type(args) is tuple and len(args) == 1 and type(args[0]) is AccessLine:
            entry.update(args[0].fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()
