"""``ssemcp trace``: the printout of a recorded exchange against its golden text, the HAR 1.2
file, and a live trace over HTTP and stdio."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fixture_server import build_server
from live_server import live_server
from rich.console import Console

from ssemcp._types import JSONObject
from ssemcp.cli import main
from ssemcp.client import (
    HTTPRequestSent,
    HTTPResponseEnded,
    HTTPResponseStarted,
    MessageEvent,
    SSEFrame,
    StdioLine,
    WireEvent,
)
from ssemcp.client._trace import HARRecorder, TracePrinter, mask_header

GOLDEN = Path(__file__).with_name("golden")
FIXTURE = Path(__file__).with_name("fixture_server.py")
EVENT_TYPES: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        HTTPRequestSent,
        HTTPResponseStarted,
        HTTPResponseEnded,
        SSEFrame,
        MessageEvent,
        StdioLine,
    )
}
RECORDINGS = ["recorded_call_2026", "recorded_list_sse"]


def load_events(name: str) -> list[WireEvent]:
    """A recorded exchange (tests/client/golden/*.json: the wire events of a real run, with
    times, ports and session ids fixed)."""
    events: list[WireEvent] = []
    for raw in json.loads((GOLDEN / f"{name}.json").read_text()):
        cls = EVENT_TYPES[raw.pop("kind")]
        for key in ("headers", "comments", "other_fields"):
            if key in raw:
                raw[key] = tuple(
                    tuple(item) if isinstance(item, list) else item for item in raw[key]
                )
        events.append(cls(**raw))
    return events


def render(events: list[WireEvent]) -> str:
    console = Console(width=100, record=True, file=open("/dev/null", "w"), color_system=None)  # noqa: SIM115
    printer = TracePrinter(console)
    for event in events:
        printer.on_wire(event)
    printer.flush()
    text = console.export_text()
    console.file.close()
    return text


@pytest.mark.parametrize("name", RECORDINGS)
def test_trace_of_a_recorded_exchange_matches_its_golden_text(name: str) -> None:
    golden = GOLDEN / f"{name}.txt"
    assert render(load_events(name)) == golden.read_text()


def test_trace_shows_each_sent_message_after_the_request_that_carries_it() -> None:
    lines = render(load_events("recorded_call_2026")).splitlines()
    post = next(index for index, line in enumerate(lines) if "→ POST /mcp" in line)
    assert lines[post + 1 : post + 3] == [
        "      mcp-protocol-version: 2026-07-28",
        "      mcp-method: server/discover",
    ]
    assert lines[post + 3].startswith("⇢ sent  server/discover (id 1)")


def test_trace_masks_secrets() -> None:
    assert mask_header("Authorization", "Bearer s3cret") == "Bearer ***"
    assert mask_header("cookie", "a=b") == "***"
    assert mask_header("Mcp-Method", "tools/list") == "tools/list"


def check_har(har: JSONObject) -> list[JSONObject]:
    """The fields HAR 1.2 requires (and devtools read), on every entry."""
    log = har["log"]
    assert isinstance(log, dict)
    assert log["version"] == "1.2"
    assert log["creator"] == {"name": "ssemcp", "version": log["creator"]["version"]}  # type: ignore[index]
    entries = log["entries"]
    assert isinstance(entries, list) and entries
    for entry in entries:
        assert isinstance(entry, dict)
        assert set(entry) >= {"startedDateTime", "time", "request", "response", "cache", "timings"}
        assert str(entry["startedDateTime"]).endswith("Z")
        request, response, timings = entry["request"], entry["response"], entry["timings"]
        assert (
            isinstance(request, dict) and isinstance(response, dict) and isinstance(timings, dict)
        )
        assert set(request) >= {
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        }
        assert set(response) >= {
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        }
        assert set(response["content"]) >= {"size", "mimeType"}  # type: ignore[arg-type]
        for header in [*request["headers"], *response["headers"]]:  # type: ignore[misc]
            assert set(header) == {"name", "value"}
        assert all(timings[key] >= 0 for key in ("send", "wait", "receive"))  # type: ignore[operator]
        # HAR 1.2: time is the sum of the timings that are not -1.
        assert entry["time"] == pytest.approx(
            sum(value for value in timings.values() if value != -1)  # type: ignore[misc]
        )
        if request["method"] == "POST":
            assert request["postData"]["mimeType"] == "application/json"  # type: ignore[index,call-overload]
            json.loads(request["postData"]["text"])  # type: ignore[index,call-overload,arg-type]
    return entries  # type: ignore[return-value]


def test_har_of_a_recorded_exchange_has_every_required_field_and_sse_bodies_as_text() -> None:
    recorder = HARRecorder()
    for event in load_events("recorded_call_2026"):
        recorder.on_wire(event)
    entries = check_har(json.loads(json.dumps(recorder.har())))
    assert [entry["response"]["status"] for entry in entries] == [200, 200]  # type: ignore[index,call-overload]
    streamed = entries[1]["response"]["content"]  # type: ignore[index,call-overload]
    assert streamed["mimeType"] == "text/event-stream"
    assert streamed["text"].count("data: ") == 3
    timings = entries[1]["timings"]
    assert timings == {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, **timings}
    assert (timings["send"], timings["wait"], timings["receive"]) == (0, 12.5, 25.0)  # type: ignore[index,call-overload]


async def invoke(*arguments: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(arguments))


async def test_live_trace_prints_the_wire_and_writes_a_har(tmp_path: Path) -> None:
    har_path = tmp_path / "trace.har"
    async with live_server(build_server()) as live:
        result = await invoke(
            "trace",
            live.mcp_url,
            "call",
            "steps",
            "count=2",
            "--har",
            str(har_path),
            "--token",
            "s3cret-token",
        )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "→ POST /mcp" in out
    assert "← 200 OK  application/json" in out
    assert "← 200 OK  text/event-stream" in out
    assert "mcp-method: tools/call" in out and "mcp-name: steps" in out
    assert "authorization: Bearer ***" in out and "s3cret-token" not in out
    assert out.count("┆ sse") == 3  # two progress notifications and the result
    assert "⇠ received  notifications/progress (notification)" in out
    assert out.rstrip().endswith(f"HAR written to {har_path}")
    har = json.loads(har_path.read_text())
    entries = check_har(har)
    assert "s3cret-token" not in har_path.read_text()
    assert [json.loads(entry["request"]["postData"]["text"])["method"] for entry in entries] == [  # type: ignore[index,call-overload,arg-type]
        "server/discover", "tools/list", "tools/list", "tools/list", "tools/list", "tools/call",
    ]  # fmt: skip


async def test_live_trace_of_the_legacy_transport_shows_the_endpoint_event() -> None:
    async with live_server(build_server()) as live:
        result = await invoke("trace", live.url + "/sse", "list", "prompts", "--transport", "sse")
    assert result.exit_code == 0, result.output
    assert "→ GET /sse" in result.stdout
    assert "event: endpoint" in result.stdout
    assert "data: /messages/?session_id=" in result.stdout
    assert "← 202 Accepted" in result.stdout


async def test_trace_of_a_stdio_command_shows_its_lines() -> None:
    command = [sys.executable, "-m", "ssemcp", "stdio", f"{FIXTURE}:server"]
    result = await invoke("trace", "read", "fixture://static", "--", *command)
    assert result.exit_code == 0, result.output
    assert 'stdin  → {"jsonrpc":"2.0","id":1,"method":"server/discover"' in result.stdout
    assert 'stdout ← {"jsonrpc":"2.0","id":1,"result":' in result.stdout
    assert result.stdout.rstrip().endswith("static text")


async def test_trace_of_an_unknown_action_is_a_usage_error() -> None:
    result = await invoke("trace", "http://127.0.0.1:1/mcp", "dance")
    assert result.exit_code == 2
    assert "trace runs one of" in result.output
