"""Server-Sent Events: the ``text/event-stream`` wire format, encoded and parsed. No I/O.

Owns the bytes of an event stream exactly as the WHATWG HTML Standard, section 9.2
"Server-sent events", defines them: :func:`encode_event` and :func:`encode_comment` write
frames, and :class:`SSEParser` turns any split of a byte stream into the events an
``EventSource`` would dispatch ("Parsing an event stream", "Interpreting an event stream").
It does not know JSON-RPC or MCP: what an event's ``data`` means, which ids a server hands
out, when to reconnect and with which ``Last-Event-ID`` header, are the transports' business.

Encoding and parsing agree: parsing what :func:`encode_event` wrote gives the data back with
its line breaks (CR, LF, CRLF) normalised to LF, which is all SSE can carry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ssemcp.errors import LocalProtocolError, StreamError

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "KEEPALIVE",
    "Event",
    "SSEParser",
    "encode_comment",
    "encode_event",
]

# The standard sets no bound, and browsers set none. The pinned official Python SDK (mcp
# 2.3.0) bounds its client at 1 MiB per event (DEFAULT_MAX_SSE_EVENT_SIZE) and its server at
# 4 MiB per request body. We are more generous because an MCP event legitimately carries
# base64 blobs (images in tool results, resources/read) and a bound that is too small breaks
# real traffic (as Go's 64 KiB bufio.Scanner default is known to on SSE streams): 16 MiB
# holds a 12 MiB blob after base64's 4/3 growth, and still caps what a hostile server can
# make one client stream hold in memory.
DEFAULT_MAX_EVENT_BYTES: Final = 16 * 1024 * 1024

# What a server writes to keep an idle stream (and every proxy on its path) from timing out.
# A comment dispatches nothing (WHATWG "Interpreting an event stream": a line starting with
# a colon is ignored); the blank line after it dispatches nothing either, because the data
# buffer is empty between events.
KEEPALIVE: Final[bytes] = b": ping\n\n"

# WHATWG "Parsing an event stream": end-of-line = ( cr lf / cr / lf ). The alternation tries
# CRLF first, so a CRLF inside one chunk is one line end.
_LINE_END_BYTES: Final = re.compile(rb"\r\n|\r|\n")
_LINE_END_TEXT: Final = re.compile(r"\r\n|\r|\n")

# WHATWG: "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM), if any."
_BOM: Final = b"\xef\xbb\xbf"

# The standard puts no ceiling on ``retry``; we ignore a value past 2**64 - 1 ms (585 million
# years) like any other unusable one, so a hostile stream cannot make us convert a
# megabyte of digits into an int (and Python refuses past 4300 digits anyway).
_MAX_RETRY_MILLISECONDS: Final = 2**64 - 1
_MAX_RETRY_DIGITS: Final = len(str(_MAX_RETRY_MILLISECONDS))

_COLON: Final = 0x3A  # ord(":")


@dataclass(frozen=True, slots=True)
class Event:
    """One event as an ``EventSource`` dispatches it (a WHATWG ``MessageEvent``).

    Attributes:
        data: the event's ``data`` lines joined with LF.
        event: the event type; ``"message"`` when the stream named none (or named ``""``).
        id: the stream's last event ID when the event was dispatched; it carries over from
            earlier events until an ``id`` field changes it (the ``lastEventId`` attribute).
    """

    data: str
    event: str = "message"
    id: str = ""


def encode_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """Encode one event (or an id / retry frame) as UTF-8 ``text/event-stream`` bytes.

    Fields are written in the order ``event``, ``id``, ``retry``, then ``data``, and the frame
    ends with the blank line that makes the receiver dispatch it.

    Args:
        data: the payload. It is split on CR, LF and CRLF, one ``data:`` line per line, so the
            receiver gets it back with line breaks normalised to LF. ``""`` still writes one
            ``data:`` line, so the event dispatches with empty data: with ``id`` set, this is
            the MCP 2025-11-25 "priming event" (SEP-1699: an event ID and an empty data
            field). ``None`` writes no data line: the receiver dispatches nothing but still
            takes the ``id`` as its last event ID and the ``retry`` as its reconnection time.
        event: the event type. Omit it for the default, ``"message"``.
        id: the event ID, the value a client sends back as ``Last-Event-ID`` on reconnection.
            ``""`` resets the receiver's last event ID.
        retry: the reconnection time in milliseconds.

    Returns:
        The frame, ending in a blank line.

    Raises:
        LocalProtocolError: a field would not survive the trip. ``event`` or ``id`` holds
            CR or LF (they would end the line early); ``id`` holds NUL (WHATWG: an id field
            whose value contains NUL is ignored); ``event`` is ``""`` (it arrives as
            ``"message"``) or comes without ``data`` (nothing would be dispatched); ``retry``
            is negative or not an int; nothing at all is given; or a string is not
            encodable as UTF-8 (a lone surrogate).
    """
    # The hot path: a server writing one JSON-RPC message, which never holds a raw line
    # break (JSON escapes them), with a single format and a single encode.
    if (
        event is None
        and id is None
        and retry is None
        and data is not None
        and "\n" not in data
        and "\r" not in data
    ):
        return _encode_utf8(f"data: {data}\n\n")
    parts: list[str] = []
    if event is not None:
        if data is None:
            raise LocalProtocolError("an event type without data is never dispatched")
        if not event:
            raise LocalProtocolError('an empty event type is received as "message"; omit it')
        if "\n" in event or "\r" in event:
            raise LocalProtocolError("an SSE event type must not contain CR or LF")
        parts.append(f"event: {event}\n")
    if id is not None:
        if "\n" in id or "\r" in id:
            raise LocalProtocolError("an SSE event id must not contain CR or LF")
        if "\0" in id:
            raise LocalProtocolError("an SSE event id must not contain NUL (it would be ignored)")
        parts.append(f"id: {id}\n")
    if retry is not None:
        if type(retry) is not int or retry < 0:
            raise LocalProtocolError(f"retry must be a non-negative int, not {retry!r}")
        parts.append(f"retry: {retry}\n")
    if data is not None:
        # WHATWG: CR, LF and CRLF all end a line. Normalise them to LF, then start one data
        # line per line.
        if "\r" in data:
            data = data.replace("\r\n", "\n").replace("\r", "\n")
        parts.append("data: ")
        parts.append(data.replace("\n", "\ndata: "))
        parts.append("\n")
    elif not parts:
        raise LocalProtocolError("nothing to encode: give data, an id or a retry")
    parts.append("\n")
    return _encode_utf8("".join(parts))


def encode_comment(text: str = "") -> bytes:
    """Encode a comment, which the receiver ignores (:data:`KEEPALIVE` is one).

    Each line of ``text`` (split on CR, LF and CRLF) becomes its own ``:`` line, and a blank
    line follows: it dispatches nothing, as the data buffer is empty between events.

    Returns:
        ``b": text\\n\\n"``, or ``b":\\n\\n"`` for empty text.

    Raises:
        LocalProtocolError: ``text`` is not encodable as UTF-8 (a lone surrogate).
    """
    lines = [f": {line}\n" if line else ":\n" for line in _LINE_END_TEXT.split(text)]
    lines.append("\n")
    return _encode_utf8("".join(lines))


def _encode_utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError as exc:
        # WHATWG "Parsing an event stream": "Event streams are always encoded as UTF-8."
        raise LocalProtocolError("SSE text must be encodable as UTF-8") from exc


class SSEParser:
    """Incremental ``text/event-stream`` parser: feed it bytes, get the dispatched events.

    Any split of a stream into chunks gives the same events, and the work is O(n) in the
    bytes fed: each byte is scanned once, and an unfinished line waits in a buffer that grows
    by appending, never by rescanning.

    Attributes:
        last_event_id: the stream's last event ID string (WHATWG), set each time a blank line
            ends an event, whether or not that event is dispatched. It is what a client sends
            as ``Last-Event-ID`` when it reconnects. An ``id`` field whose event has not
            ended yet does not count.
        retry_milliseconds: the reconnection time the stream last asked for, or ``None``.

    Args:
        max_event_bytes: bound on what the parser holds for the event in progress: the bytes
            of its ``data`` lines so far plus the line being read (line ends not counted).
            Any line, even a comment, that would take the total past it raises
            :class:`StreamError`, so a peer cannot make us buffer without end.
        last_event_id: the last event ID to start from, when resuming a stream.
        on_line: called with each complete line (without its line end, BOM stripped) before
            it is interpreted, blank lines and comments included: how a wire trace sees the
            frames as sent (comments, ``retry``) when the events alone do not show them.

    Raises:
        LocalProtocolError: ``max_event_bytes`` is not positive, or ``last_event_id`` holds
            CR, LF or NUL (no stream could have set it).
    """

    def __init__(
        self,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        last_event_id: str = "",
        on_line: Callable[[bytes], None] | None = None,
    ) -> None:
        if max_event_bytes <= 0:
            raise LocalProtocolError(f"max_event_bytes must be positive, not {max_event_bytes}")
        if "\r" in last_event_id or "\n" in last_event_id or "\0" in last_event_id:
            raise LocalProtocolError("last_event_id must not contain CR, LF or NUL")
        self.max_event_bytes: Final = max_event_bytes
        self.last_event_id = last_event_id
        self.retry_milliseconds: int | None = None
        self._on_line = on_line

        # Per-stream state.
        self._is_at_stream_start = True  # a BOM may still come (and be held back in _line)
        self._ended_in_cr = False  # the last chunk ended in CR: a leading LF is not a line end
        self._is_closed = False  # close() was called, or the stream broke a bound
        self._line = bytearray()  # the unfinished line, without line end

        # Per-event state: the buffers of WHATWG "Interpreting an event stream".
        self._data_lines: list[str] = []  # the data buffer, one entry per data field
        self._data_bytes = 0  # stream bytes of the data lines above
        self._event_type = ""  # the event type buffer
        self._last_event_id_buffer = last_event_id

    def feed(self, chunk: bytes) -> list[Event]:
        """Parse the next bytes of the stream.

        Args:
            chunk: the next bytes, split anywhere (inside a CRLF or a UTF-8 character too).

        Returns:
            The events whose terminating blank line is in this chunk, in stream order.

        Raises:
            StreamError: the event in progress grew past ``max_event_bytes``. The stream
                cannot be trusted any further: events that ended earlier in the same chunk
                are lost with it, and the parser refuses more input.
            LocalProtocolError: the parser is closed, or already raised ``StreamError``.
        """
        if self._is_closed:
            raise LocalProtocolError("cannot feed an SSE parser that is closed or failed")
        if self._is_at_stream_start:
            if self._line:  # the first bytes of a possible BOM, held back
                chunk = bytes(self._line) + chunk
                self._line.clear()
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._line += chunk
                return []
            self._is_at_stream_start = False
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if not chunk:
            return []
        if self._ended_in_cr:
            self._ended_in_cr = False
            if chunk[0] == 0x0A:  # the LF of a CRLF split across two chunks
                chunk = chunk[1:]
                if not chunk:
                    return []

        if b"\r" in chunk:
            lines = _LINE_END_BYTES.split(chunk)
            # The CR ends its line now; if an LF opens the next chunk, it belongs to this CR.
            self._ended_in_cr = chunk[-1] == 0x0D
        else:
            lines = chunk.split(b"\n")
        unfinished = lines.pop()
        events: list[Event] = []
        if lines:
            if self._line:
                self._line += lines[0]
                lines[0] = bytes(self._line)
                self._line.clear()
            try:
                for line in lines:
                    self._process_line(line, events)
            except StreamError:
                self._is_closed = True
                raise
        self._line += unfinished
        if self._data_bytes + len(self._line) > self.max_event_bytes:
            self._is_closed = True
            raise StreamError(f"SSE event longer than {self.max_event_bytes} bytes")
        return events

    def close(self) -> None:
        """End of stream. An event without its terminating blank line is discarded.

        WHATWG "Interpreting an event stream": "Once the end of the file is reached, any
        pending data must be discarded. (If the file ends in the middle of an event, before
        the final empty line, the incomplete event is not dispatched.)" Further ``feed``
        calls raise :class:`LocalProtocolError`. Closing twice is harmless.
        """
        self._is_closed = True
        self._line.clear()
        self._data_lines.clear()
        self._data_bytes = 0
        self._event_type = ""

    def _process_line(self, line: bytes, events: list[Event]) -> None:
        """One line of WHATWG "Interpreting an event stream", without its line end."""
        if not line:  # "If the line is empty (a blank line): Dispatch the event"
            if self._on_line is not None:
                self._on_line(line)
            self._dispatch(events)
            return
        if self._data_bytes + len(line) > self.max_event_bytes:
            raise StreamError(f"SSE event longer than {self.max_event_bytes} bytes")
        if self._on_line is not None:
            self._on_line(line)
        if line[0] == _COLON:  # "If the line starts with a U+003A COLON character (:)"
            return  # "Ignore the line."
        # "Collect the characters on the line before the first U+003A COLON character (:),
        # and let field be that string. Collect the characters on the line after [it], and
        # let value be that string. If value starts with a U+0020 SPACE character, remove it
        # from value." A line without a colon is a field name with "the empty string as the
        # field value", which partition() gives too. Working on bytes is exact: colon, space
        # and the field names are ASCII, which UTF-8 never uses inside another character,
        # and Python's decoder never folds an ASCII byte into a replacement character.
        field, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            # "Append the field value to the data buffer, then append a single U+000A LINE
            # FEED (LF) character to the data buffer." Kept as a list, joined at dispatch.
            self._data_lines.append(value.decode("utf-8", "replace"))
            self._data_bytes += len(line)
        elif field == b"event":
            self._event_type = value.decode("utf-8", "replace")
        elif field == b"id":
            # "If the field value does not contain U+0000 NULL, then set the last event ID
            # buffer to the field value. Otherwise, ignore the field."
            if b"\0" not in value:
                self._last_event_id_buffer = value.decode("utf-8", "replace")
        elif field == b"retry":
            # "If the field value consists of only ASCII digits, then interpret the field
            # value as an integer in base ten, and set the event stream's reconnection time
            # to that integer. Otherwise, ignore the field."
            milliseconds = _parse_retry(value)
            if milliseconds is not None:
                self.retry_milliseconds = milliseconds
        # "Otherwise: The field is ignored."

    def _dispatch(self, events: list[Event]) -> None:
        """WHATWG "Interpreting an event stream", "dispatch the event"."""
        # "Set the last event ID string of the event source to the value of the last event ID
        # buffer." This comes before the empty-data check, so it happens even when nothing
        # is dispatched (an id-only frame).
        self.last_event_id = self._last_event_id_buffer
        if not self._data_lines:
            # "If the data buffer is an empty string, set the data buffer and the event type
            # buffer to the empty string and return."
            self._event_type = ""
            return
        # "If the data buffer's last character is a U+000A LINE FEED (LF) character, then
        # remove the last character from the data buffer." Joining with LF does exactly that.
        data = "\n".join(self._data_lines)
        # The type is "message" unless "the event type buffer has a value other than the
        # empty string".
        events.append(Event(data, self._event_type or "message", self.last_event_id))
        self._data_lines.clear()
        self._data_bytes = 0
        self._event_type = ""


def _parse_retry(value: bytes) -> int | None:
    """A ``retry`` field value as milliseconds, or ``None`` for a value to ignore."""
    if not value.isdigit():  # bytes.isdigit() is ASCII-only, and False for b""
        return None
    digits = value.lstrip(b"0") or b"0"
    if len(digits) > _MAX_RETRY_DIGITS:
        return None
    milliseconds = int(digits)
    return milliseconds if milliseconds <= _MAX_RETRY_MILLISECONDS else None
