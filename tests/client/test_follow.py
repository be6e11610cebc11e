"""``ssemcp trace --sse URL`` against a local SSE endpoint in each framing style, and a
reconnection that carries ``Last-Event-ID``; ``framing_style`` without I/O."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner, Result
from live_server import LiveServer, live_app
from sse_endpoints import SSEEndpoints

from ssemcp.cli import main
from ssemcp.client import SSEFrame
from ssemcp.client._follow import FramingStyle, framing_style


@pytest.fixture
async def endpoints() -> AsyncIterator[tuple[SSEEndpoints, LiveServer]]:
    app = SSEEndpoints()
    async with live_app(app) as live:
        yield app, live


async def follow(url: str, *options: str) -> Result:
    arguments = ["trace", "--sse", url, "--json", *options]
    return await asyncio.to_thread(CliRunner().invoke, main, arguments)


def frames_of(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    ("frame", "style"),
    [
        (SSEFrame(1, "delta", None, None, '{"a":1}', ()), FramingStyle.NAMED),
        (SSEFrame(1, None, None, None, '{"type":"x"}', ()), FramingStyle.TYPED_JSON),
        (
            SSEFrame(1, "message", None, None, '{"jsonrpc":"2.0","method":"m"}', ()),
            FramingStyle.TYPED_JSON,
        ),
        (SSEFrame(1, None, None, None, '{"choices":[]}', ()), FramingStyle.BARE),
        (SSEFrame(1, None, None, None, "[DONE]", ()), FramingStyle.BARE),
        (SSEFrame(1, None, None, None, '{"type": 3}', ()), FramingStyle.BARE),
        (SSEFrame(1, None, "4", "10", None, ("ping",)), FramingStyle.CONTROL),
    ],
)
def test_framing_style_of_each_kind_of_frame(frame: SSEFrame, style: str) -> None:
    assert framing_style(frame) == style


@pytest.mark.parametrize(
    ("path", "styles"),
    [
        ("/named", [FramingStyle.NAMED] * 3),
        ("/typed", [FramingStyle.CONTROL, FramingStyle.TYPED_JSON, FramingStyle.TYPED_JSON]),
        ("/bare", [FramingStyle.BARE, FramingStyle.BARE]),
    ],
)
async def test_follow_names_the_framing_style_of_each_frame(
    endpoints: tuple[SSEEndpoints, LiveServer], path: str, styles: list[str]
) -> None:
    _, live = endpoints
    result = await follow(live.url + path, "--max-reconnects", "0")
    assert result.exit_code == 0, result.output
    frames = frames_of(result)
    assert [frame["style"] for frame in frames] == styles
    assert "stopping after 0 reconnection(s)" in result.stderr


async def test_follow_shows_event_names_comments_and_data(
    endpoints: tuple[SSEEndpoints, LiveServer],
) -> None:
    _, live = endpoints
    named = frames_of(await follow(live.url + "/named", "--max-reconnects", "0"))
    assert [frame["event"] for frame in named] == [
        "response.created", "response.output_text.delta", "response.completed",
    ]  # fmt: skip
    typed = frames_of(await follow(live.url + "/typed", "--max-reconnects", "0"))
    assert typed[0]["comments"] == ["a comment first"]
    assert typed[2]["data"] == '{"type":"message_stop"}'


async def test_follow_reconnects_with_last_event_id_until_the_server_says_204(
    endpoints: tuple[SSEEndpoints, LiveServer],
) -> None:
    app, live = endpoints
    result = await follow(live.url + "/resume", "--max-reconnects", "5")
    assert result.exit_code == 0, result.output
    frames = frames_of(result)
    assert [(frame["id"], frame["data"]) for frame in frames] == [
        ("1", "one"), ("2", "two"), ("3", "three"),
    ]  # fmt: skip
    assert frames[0]["retry"] == "10"
    assert app.last_event_ids == [None, "2", "3"]
    assert "204: the server asks not to reconnect" in result.stderr
    assert "2 reconnection(s)" in result.stderr


async def test_follow_stops_after_max_reconnects(
    endpoints: tuple[SSEEndpoints, LiveServer],
) -> None:
    app, live = endpoints
    result = await follow(live.url + "/resume", "--max-reconnects", "1")
    assert result.exit_code == 0, result.output
    assert app.last_event_ids == [None, "2"]
    assert "stopping after 1 reconnection(s)" in result.stderr


async def test_follow_stops_at_its_duration(endpoints: tuple[SSEEndpoints, LiveServer]) -> None:
    # /named ends at once and would be reconnected to (every 3 s, the default) for ever.
    _, live = endpoints
    result = await follow(live.url + "/named", "--max-reconnects", "1000", "--duration", "0.5")
    assert result.exit_code == 0, result.output
    assert "stopping: 0.5 s passed" in result.stderr


async def test_follow_of_something_that_is_not_an_event_stream_exits_3(
    endpoints: tuple[SSEEndpoints, LiveServer],
) -> None:
    _, live = endpoints
    result = await follow(live.url + "/plain")
    assert result.exit_code == 3
    assert "not an event stream" in result.stderr


async def test_follow_prints_frames_for_a_person_without_json(
    endpoints: tuple[SSEEndpoints, LiveServer],
) -> None:
    _, live = endpoints
    arguments = ["trace", "--sse", live.url + "/typed", "--max-reconnects", "0"]
    result = await asyncio.to_thread(CliRunner().invoke, main, arguments)
    assert result.exit_code == 0, result.output
    assert "#1 ┆ sse" in result.stdout
    assert ": a comment first" in result.stdout
    assert f"style: {FramingStyle.TYPED_JSON}" in result.stdout


def test_follow_refuses_a_target_or_action_too() -> None:
    result = CliRunner().invoke(main, ["trace", "--sse", "http://127.0.0.1:1/x", "list"])
    assert result.exit_code == 2


async def test_follow_shows_an_event_the_stream_ended_inside_as_not_dispatched(
    endpoints: tuple[SSEEndpoints, LiveServer],
) -> None:
    _, live = endpoints
    frames = frames_of(await follow(live.url + "/unterminated", "--max-reconnects", "0"))
    assert [(frame["data"], frame.get("terminated", True)) for frame in frames] == [
        ("whole", True),
        ("cut off", False),
    ]
    arguments = ["trace", "--sse", live.url + "/unterminated", "--max-reconnects", "0"]
    shown = await asyncio.to_thread(CliRunner().invoke, main, arguments)
    assert "(no blank line ended it: not dispatched)" in shown.stdout
