"""What the client reports of its wire to an observer: the events, and the SSE frames as sent.

Owns the event types (:data:`WireEvent`), the :class:`WireObserver` protocol a trace or a test
implements, and :class:`FrameAssembler`, which turns the lines ``ssemcp.sse.SSEParser``
reports into whole frames (comments, ``retry`` and all). No I/O: the transports emit, the
observer decides what to print or record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias

from ssemcp._types import JSONValue

__all__ = [
    "FrameAssembler",
    "HTTPRequestSent",
    "HTTPResponseEnded",
    "HTTPResponseStarted",
    "MessageEvent",
    "SSEFrame",
    "StdioLine",
    "WireEvent",
    "WireObserver",
]


@dataclass(frozen=True, slots=True)
class HTTPRequestSent:
    """An HTTP request, as it went out. ``exchange`` numbers the exchanges of one client."""

    exchange: int
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: str
    started_at: float  # wall-clock seconds (time.time())


@dataclass(frozen=True, slots=True)
class HTTPResponseStarted:
    """The status and headers of the response to exchange ``exchange``."""

    exchange: int
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    wait_seconds: float  # from the request's start to the response's headers


@dataclass(frozen=True, slots=True)
class HTTPResponseEnded:
    """The end of the response body of exchange ``exchange`` (its text, as received)."""

    exchange: int
    body: str
    total_seconds: float
    error: str | None = None  # why the body ended early, if it did


@dataclass(frozen=True, slots=True)
class SSEFrame:
    """One SSE frame as received, up to its blank line, with every field it had."""

    exchange: int
    event: str | None
    id: str | None
    retry: str | None
    data: str | None
    comments: tuple[str, ...]
    other_fields: tuple[tuple[str, str], ...] = ()
    # False for the lines a stream ended with and no blank line closed: WHATWG discards
    # them ("the incomplete event is not dispatched"), a trace still shows them.
    terminated: bool = True


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One JSON-RPC message, sent or received, as JSON."""

    direction: Literal["sent", "received"]
    message: JSONValue


@dataclass(frozen=True, slots=True)
class StdioLine:
    """One line of a child process: written to its stdin, read from its stdout or stderr."""

    stream: Literal["stdin", "stdout", "stderr"]
    text: str


WireEvent: TypeAlias = (
    "HTTPRequestSent | HTTPResponseStarted | HTTPResponseEnded | SSEFrame | MessageEvent "
    "| StdioLine"
)


class WireObserver(Protocol):
    """Receives every wire event of a client, in order. It must not block or raise."""

    def on_wire(self, event: WireEvent) -> None: ...


@dataclass
class FrameAssembler:
    """Collects the lines of one SSE frame until its blank line (WHATWG "Interpreting an
    event stream": field name before the first colon, one leading space dropped from the
    value, a line starting with a colon a comment)."""

    exchange: int
    _fields: list[tuple[str, str]] = field(default_factory=list)
    _comments: list[str] = field(default_factory=list)

    def line(self, raw: bytes) -> SSEFrame | None:
        """Take one line (without its line end); returns the frame a blank line ends."""
        if not raw:
            if not self._fields and not self._comments:
                return None
            frame = self._frame()
            self._fields.clear()
            self._comments.clear()
            return frame
        text = raw.decode("utf-8", "replace")
        if text.startswith(":"):
            self._comments.append(text[1:].removeprefix(" "))
            return None
        name, _, value = text.partition(":")
        self._fields.append((name, value.removeprefix(" ")))
        return None

    def end(self) -> SSEFrame | None:
        """The stream ended: the lines of a frame no blank line closed, if any."""
        if not self._fields and not self._comments:
            return None
        frame = self._frame(terminated=False)
        self._fields.clear()
        self._comments.clear()
        return frame

    def _frame(self, *, terminated: bool = True) -> SSEFrame:
        event = id_ = retry = None
        data: list[str] = []
        other: list[tuple[str, str]] = []
        for name, value in self._fields:
            if name == "event":
                event = value
            elif name == "id":
                id_ = value
            elif name == "retry":
                retry = value
            elif name == "data":
                data.append(value)
            else:
                other.append((name, value))
        return SSEFrame(
            self.exchange,
            event,
            id_,
            retry,
            "\n".join(data) if data else None,
            tuple(self._comments),
            tuple(other),
            terminated,
        )
