"""``ssemcp trace --sse URL``: follow any SSE endpoint, show each frame and its framing style.

Owns naming a frame's framing style (:func:`framing_style`: named events, default ``message``
events with the type inside the JSON, bare ``data:`` lines) and following a stream as an
``EventSource`` does (WHATWG HTML "Server-sent events": reconnect after the stream's ``retry``
with ``Last-Event-ID``; a 204 means stop), bounded by a count of reconnections and a duration.
It knows nothing of MCP.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from ssemcp.client._trace import TracePrinter
from ssemcp.client._wire import FrameAssembler, SSEFrame
from ssemcp.errors import StreamError
from ssemcp.sse import SSEParser

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["DEFAULT_RECONNECT_MILLISECONDS", "FramingStyle", "follow", "framing_style"]

# WHATWG leaves the initial reconnection time to the user agent ("a user-agent-defined
# value, probably in the region of a few seconds"); browsers use 3 s.
DEFAULT_RECONNECT_MILLISECONDS: Final = 3000


class FramingStyle:
    """The names of the framing styles a stream's data frames come in."""

    NAMED = "named events"  # event: <type> on each frame (as OpenAI's Responses API sends)
    TYPED_JSON = "message events, type inside the JSON"  # no event:, {"type": ...} in data
    BARE = "bare data lines"  # no event:, data without a type (a chunk, or [DONE])
    CONTROL = "no data (comment, id or retry only)"


def framing_style(frame: SSEFrame) -> str:
    """Which style ``frame`` is framed in (see :class:`FramingStyle`)."""
    if frame.data is None:
        return FramingStyle.CONTROL
    if frame.event not in (None, "", "message"):
        return FramingStyle.NAMED
    try:
        value = json.loads(frame.data)
    except ValueError:
        return FramingStyle.BARE
    if isinstance(value, dict) and isinstance(value.get("type") or value.get("method"), str):
        return FramingStyle.TYPED_JSON
    return FramingStyle.BARE


def _frames_to(
    assembler: FrameAssembler, show: Callable[[SSEFrame], None]
) -> Callable[[bytes], None]:
    """An ``SSEParser`` line hook that hands each whole frame to ``show``."""

    def on_line(line: bytes) -> None:
        frame = assembler.line(line)
        if frame is not None:
            show(frame)

    return on_line


async def follow(
    url: str,
    output: Console,
    errors: Console,
    *,
    headers: Mapping[str, str],
    token: str | None,
    timeout_seconds: float,
    max_reconnects: int,
    duration_seconds: float | None,
    as_json: bool = False,
) -> int:
    """Follow the stream at ``url``, printing each frame; returns the exit code (0 when the
    server ended it with 204, the duration passed, or the reconnections ran out after a
    stream that worked; 3 when it could not be read; 4 on 401/403)."""
    import httpx
    from rich.text import Text

    printer = TracePrinter(output)
    styles: Counter[str] = Counter()
    last_event_id = ""
    retry_milliseconds = DEFAULT_RECONNECT_MILLISECONDS
    reconnects = 0
    request_headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **headers}
    if token:
        request_headers["Authorization"] = f"Bearer {token}"
    code = 0

    def note(style: str, text: str) -> None:
        # Text, not markup: URLs, headers and errors come from the peer.
        errors.print(Text(text, style=style), soft_wrap=True)

    def show(frame: SSEFrame) -> None:
        style = framing_style(frame)
        styles[style] += 1
        if as_json:
            print_json_line(frame, style)
        else:
            printer.on_wire(frame)
            if style != FramingStyle.CONTROL:
                output.print(Text(f"      style: {style}", style="dim"))

    def print_json_line(frame: SSEFrame, style: str) -> None:
        line: dict[str, object] = {
            "event": frame.event,
            "id": frame.id,
            "retry": frame.retry,
            "data": frame.data,
            "comments": list(frame.comments),
            "style": style,
        }
        if not frame.terminated:
            line["terminated"] = False
        output.print(
            json.dumps(line, ensure_ascii=False), markup=False, highlight=False, soft_wrap=True
        )

    async def run(http: httpx.AsyncClient) -> int:
        nonlocal last_event_id, retry_milliseconds, reconnects
        exchange = 0
        while True:
            exchange += 1
            sent = dict(request_headers)
            if last_event_id:
                sent["Last-Event-ID"] = last_event_id
            resuming = f" (Last-Event-ID: {last_event_id})" if last_event_id else ""
            note("dim", f"#{exchange} GET {url}{resuming}")
            try:
                async with http.stream("GET", url, headers=sent) as response:
                    content_type = response.headers.get("content-type", "").partition(";")[0]
                    note(
                        "dim",
                        f"#{exchange} {response.status_code} {response.reason_phrase} "
                        f"{content_type}",
                    )
                    if response.status_code == 204:
                        # WHATWG: a 204 tells the client to stop reconnecting.
                        note("dim", "204: the server asks not to reconnect")
                        return 0
                    if response.status_code in (401, 403):
                        challenge = response.headers.get("www-authenticate", "")
                        note("red", f"HTTP {response.status_code} {challenge}")
                        return 4
                    if response.status_code != 200 or content_type.strip() != "text/event-stream":
                        note(
                            "red",
                            f"not an event stream: {response.status_code} "
                            f"{content_type or 'no content type'}",
                        )
                        return 3
                    assembler = FrameAssembler(exchange)
                    parser = SSEParser(
                        last_event_id=last_event_id, on_line=_frames_to(assembler, show)
                    )
                    try:
                        async for chunk in response.aiter_bytes():
                            parser.feed(chunk)
                    finally:
                        unterminated = assembler.end()
                        if unterminated is not None:
                            show(unterminated)
                        last_event_id = parser.last_event_id
                        if parser.retry_milliseconds is not None:
                            retry_milliseconds = parser.retry_milliseconds
                    note("dim", f"#{exchange} the server ended the stream")
            except StreamError as exc:
                note("red", f"#{exchange} {exc}")
                return 3
            except httpx.HTTPError as exc:
                note("red", f"#{exchange} {type(exc).__name__}: {exc}")
                if exchange == 1:
                    return 3
            if reconnects >= max_reconnects:
                note("dim", f"stopping after {reconnects} reconnection(s)")
                return 0
            reconnects += 1
            note("dim", f"reconnecting in {retry_milliseconds} ms")
            await asyncio.sleep(retry_milliseconds / 1000)

    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_seconds, read=None)) as http:
        try:
            async with asyncio.timeout(duration_seconds):
                code = await run(http)
        except TimeoutError:
            note("dim", f"stopping: {duration_seconds:g} s passed")
    summary = ", ".join(f"{count} {style}" for style, count in styles.items()) or "no frames"
    note(
        "bold",
        f"frames: {summary}; last event id {last_event_id!r}; "
        f"retry {retry_milliseconds} ms; {reconnects} reconnection(s)",
    )
    return code
