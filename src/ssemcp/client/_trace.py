"""What ``ssemcp trace`` shows of a client's wire: a live printout, and a HAR 1.2 file.

Owns two observers of ``ssemcp.client`` wire events: :class:`TracePrinter` (each HTTP exchange
with its MCP headers and timing, each SSE frame as received, each JSON-RPC message
pretty-printed, a child's stdio lines) and :class:`HARRecorder` (the exchanges as HAR 1.2,
http://www.softwareishard.com/blog/har-12-spec/, SSE bodies as text). Secrets in
``Authorization`` and ``Cookie`` headers are masked in both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlsplit

from ssemcp._types import JSONObject, JSONValue
from ssemcp._version import __version__
from ssemcp.client._wire import (
    HTTPRequestSent,
    HTTPResponseEnded,
    HTTPResponseStarted,
    MessageEvent,
    SSEFrame,
    StdioLine,
    WireEvent,
    WireObserver,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["HARRecorder", "Observers", "TracePrinter", "mask_header"]

# Headers whose values are secrets: shown masked, in the printout and in the HAR file alike.
_SECRET_HEADERS: Final = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
# The request and response headers worth a line in the printout (the rest are in the HAR).
_SHOWN_HEADERS: Final = frozenset(
    {
        "authorization",
        "last-event-id",
        "www-authenticate",
        "allow",
        "location",
        "retry-after",
    }
)
# How much of an SSE data field or a stdio line the printout shows before the message it
# carries is printed whole.
_MAX_SHOWN_LINE_CHARS: Final = 160


def mask_header(name: str, value: str) -> str:
    """``value``, or a masked form of it for a header that carries a secret."""
    if name.lower() not in _SECRET_HEADERS:
        return value
    scheme, space, _ = value.partition(" ")
    return f"{scheme} ***" if space else "***"


def _is_shown(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("mcp-") or lowered in _SHOWN_HEADERS


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN_LINE_CHARS else text[:_MAX_SHOWN_LINE_CHARS] + "…"


class TracePrinter:
    """Prints each wire event as it happens, on ``console``."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._sent: MessageEvent | None = None

    def _line(self, *parts: tuple[str, str]) -> None:
        from rich.text import Text

        self.console.print(Text.assemble(*parts), soft_wrap=True, highlight=False)

    def _headers(self, headers: tuple[tuple[str, str], ...]) -> None:
        for name, value in headers:
            if _is_shown(name):
                self._line(("      ", ""), (f"{name}: ", "dim"), (mask_header(name, value), ""))

    def on_wire(self, event: WireEvent) -> None:
        # A message is sent before the request that carries it is: show it after that
        # request's line (or the stdin line), where it belongs.
        if isinstance(event, MessageEvent) and event.direction == "sent":
            self._flush()
            self._sent = event
            return
        if not isinstance(event, HTTPRequestSent | StdioLine) or (
            isinstance(event, StdioLine) and event.stream != "stdin"
        ):
            self._flush()
        self._show(event)
        if isinstance(event, HTTPRequestSent) or (
            isinstance(event, StdioLine) and event.stream == "stdin"
        ):
            self._flush()

    def flush(self) -> None:
        """Print a sent message still held (the connection failed before it went out)."""
        self._flush()

    def _flush(self) -> None:
        sent = self._sent
        if sent is not None:
            self._sent = None
            self._show(sent)

    def _show(self, event: WireEvent) -> None:
        if isinstance(event, HTTPRequestSent):
            url = urlsplit(event.url)
            path = url.path + (f"?{url.query}" if url.query else "")
            self._line(
                (f"#{event.exchange} ", "dim"),
                (f"→ {event.method} ", "bold cyan"),
                (path or "/", "cyan"),
                (f"  {url.scheme}://{url.netloc}", "dim"),
            )
            self._headers(event.headers)
        elif isinstance(event, HTTPResponseStarted):
            content_type = {k.lower(): v for k, v in event.headers}.get("content-type", "")
            style = "bold green" if event.status < 400 else "bold red"
            self._line(
                (f"#{event.exchange} ", "dim"),
                (f"← {event.status} {event.reason}", style),
                (f"  {content_type}" if content_type else "", ""),
                (f"  {event.wait_seconds * 1000:.1f} ms", "dim"),
            )
            self._headers(event.headers)
        elif isinstance(event, HTTPResponseEnded):
            ending = f"  ({event.error})" if event.error else ""
            self._line(
                (f"#{event.exchange} ", "dim"),
                (f"■ body ended after {event.total_seconds * 1000:.1f} ms, ", "dim"),
                (f"{len(event.body.encode())} bytes{ending}", "dim"),
            )
        elif isinstance(event, SSEFrame):
            self._frame(event)
        elif isinstance(event, MessageEvent):
            arrow, style = (
                ("⇢ sent", "yellow") if event.direction == "sent" else ("⇠ received", "magenta")
            )
            self._line((arrow, f"bold {style}"), ("  " + _summary(event.message), style))
            from rich.json import JSON

            self.console.print(JSON(json.dumps(event.message, ensure_ascii=False)), soft_wrap=True)
        elif isinstance(event, StdioLine):
            marks = {"stdin": ("stdin  →", "yellow"), "stdout": ("stdout ←", "magenta")}
            mark, style = marks.get(event.stream, ("stderr !", "red"))
            self._line((mark + " ", f"bold {style}"), (_cut(event.text), ""))

    def _frame(self, frame: SSEFrame) -> None:
        parts: list[tuple[str, str]] = [(f"#{frame.exchange} ", "dim"), ("┆ sse", "bold blue")]
        if frame.event is not None:
            parts.append((f"  event: {frame.event}", "blue"))
        if frame.id is not None:
            parts.append((f"  id: {frame.id}", "blue"))
        if frame.retry is not None:
            parts.append((f"  retry: {frame.retry}", "blue"))
        for name, value in frame.other_fields:
            parts.append((f"  {name}: {value}", "dim"))
        if not frame.terminated:
            parts.append(("  (no blank line ended it: not dispatched)", "yellow"))
        self._line(*parts)
        for comment in frame.comments:
            self._line(("      ", ""), (f": {comment}", "dim"))
        if frame.data is not None:
            for data_line in frame.data.split("\n"):
                self._line(("      ", ""), ("data: ", "dim"), (_cut(data_line), ""))


def _summary(message: JSONValue) -> str:
    """A one-line name for a JSON-RPC message: method and id, or the id it answers."""
    if not isinstance(message, dict):
        return ""
    if "method" in message:
        ident = f" (id {message['id']!r})" if "id" in message else " (notification)"
        return f"{message['method']}{ident}"
    if "error" in message:
        error = message["error"]
        code = error.get("code") if isinstance(error, dict) else None
        return f"error {code} for id {message.get('id')!r}"
    return f"result for id {message.get('id')!r}"


class Observers:
    """Hands each wire event to several observers, in order."""

    def __init__(self, *observers: WireObserver | None) -> None:
        self._observers = [observer for observer in observers if observer is not None]

    def on_wire(self, event: WireEvent) -> None:
        for observer in self._observers:
            observer.on_wire(event)


@dataclass
class _Entry:
    request: HTTPRequestSent
    response: HTTPResponseStarted | None = None
    ended: HTTPResponseEnded | None = None
    extra: JSONObject = field(default_factory=dict)


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _har_headers(headers: tuple[tuple[str, str], ...]) -> list[JSONValue]:
    return [{"name": name, "value": mask_header(name, value)} for name, value in headers]


def _milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 3)


class HARRecorder:
    """Records the HTTP exchanges; :meth:`har` gives them as a HAR 1.2 ``log``."""

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}

    def on_wire(self, event: WireEvent) -> None:
        if isinstance(event, HTTPRequestSent):
            self._entries[event.exchange] = _Entry(event)
        elif isinstance(event, HTTPResponseStarted):
            entry = self._entries.get(event.exchange)
            if entry is not None:
                entry.response = event
        elif isinstance(event, HTTPResponseEnded):
            entry = self._entries.get(event.exchange)
            if entry is not None:
                entry.ended = event

    def har(self) -> JSONObject:
        """The HAR document: ``{"log": {"version": "1.2", "creator", "entries"}}``."""
        return {
            "log": {
                "version": "1.2",
                "creator": {"name": "ssemcp", "version": __version__},
                "pages": [],
                "entries": [self._entry(entry) for entry in self._entries.values()],
            }
        }

    def _entry(self, entry: _Entry) -> JSONObject:
        request = entry.request
        url = urlsplit(request.url)
        request_headers = {name.lower(): value for name, value in request.headers}
        har_request: JSONObject = {
            "method": request.method,
            "url": request.url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _har_headers(request.headers),
            "queryString": [{"name": name, "value": value} for name, value in parse_qsl(url.query)],
            "headersSize": -1,
            "bodySize": len(request.body.encode()),
        }
        if request.body:
            har_request["postData"] = {
                "mimeType": request_headers.get("content-type", "application/json"),
                "params": [],
                "text": request.body,
            }
        response = entry.response
        body = entry.ended.body if entry.ended is not None else ""
        wait = response.wait_seconds if response is not None else 0.0
        total = entry.ended.total_seconds if entry.ended is not None else wait
        if response is not None:
            response_headers = {name.lower(): value for name, value in response.headers}
            har_response: JSONObject = {
                "status": response.status,
                "statusText": response.reason,
                "httpVersion": response.http_version,
                "cookies": [],
                "headers": _har_headers(response.headers),
                "content": {
                    "size": len(body.encode()),
                    "mimeType": response_headers.get("content-type", ""),
                    "text": body,
                },
                "redirectURL": response_headers.get("location", ""),
                "headersSize": -1,
                "bodySize": len(body.encode()),
            }
        else:
            # No response at all (refused, reset): HAR has no place for it but status 0,
            # which devtools show as a failed request.
            har_response = {
                "status": 0,
                "statusText": "",
                "httpVersion": "",
                "cookies": [],
                "headers": [],
                "content": {"size": 0, "mimeType": ""},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": -1,
            }
        wait_ms = _milliseconds(wait)
        receive_ms = _milliseconds(max(total - wait, 0.0))
        timings: JSONObject = {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": 0,
            "wait": wait_ms,
            "receive": receive_ms,
        }
        har_entry: JSONObject = {
            "startedDateTime": _iso(request.started_at),
            # HAR 1.2: "time" is the sum of the timings that are not -1.
            "time": round(wait_ms + receive_ms, 3),
            "request": har_request,
            "response": har_response,
            "cache": {},
            "timings": timings,
        }
        if entry.ended is not None and entry.ended.error:
            har_entry["_error"] = entry.ended.error
        return har_entry
