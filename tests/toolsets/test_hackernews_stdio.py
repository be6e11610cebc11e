"""The HN tool set over a real transport: the official MCP Python SDK (``mcp==2.3.0``) spawns
``python -m ssemcp stdio tests/fixtures/hackernews_server.py:server`` with the base URLs in
``SSEMCP_HN_API_URL`` / ``SSEMCP_ALGOLIA_API_URL`` pointing at the fixture upstream.

Owns what a real peer sees end to end: the listings, structured tool results, an ``isError``
result, resources, completion, a prompt with embedded resources, a subscription's update
notification, and sampling through the SDK's callback. Breadth is
``test_hackernews_tools.py``'s; this file proves the wiring (settings from the environment,
cleanup at shutdown) in a separate process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
import mcp_types as types
import pytest
from hackernews_upstream import HackerNewsFixture
from mcp import ClientSession, MCPDeprecationWarning, StdioServerParameters, stdio_client
from mcp.client.session import ClientRequestContext

pytestmark = pytest.mark.interop

SERVER_TARGET = f"{Path(__file__).parents[1] / 'fixtures' / 'hackernews_server.py'}:server"
REQUEST_TIMEOUT_SECONDS = 30.0
DEADLINE_SECONDS = 10.0


@pytest.fixture
def server_stderr(tmp_path: Path) -> Iterator[TextIO]:
    with (tmp_path / "server-stderr.log").open("w+") as stream:
        yield stream


@asynccontextmanager
async def connect(
    upstream: HackerNewsFixture, errlog: TextIO, **session_options: Any
) -> AsyncIterator[ClientSession]:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ssemcp", "stdio", SERVER_TARGET],
        env={
            **upstream.environment(),
            "SSEMCP_HN_BACKOFF_SECONDS": "0.001",
            "SSEMCP_HN_POLL_INTERVAL_SECONDS": "0.02",
        },
    )
    async with (
        stdio_client(parameters, errlog=errlog) as (read_stream, write_stream),
        ClientSession(
            read_stream,
            write_stream,
            read_timeout_seconds=REQUEST_TIMEOUT_SECONDS,
            **session_options,
        ) as session,
    ):
        await session.initialize()
        yield session


async def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll for a state another thread or task changes, with a deadline (no event to wait on)."""
    with anyio.move_on_after(DEADLINE_SECONDS):
        while not predicate():  # noqa: ASYNC110
            await anyio.sleep(0.01)
    assert predicate(), f"timed out waiting for {what}"


def text_of(result: types.CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, types.TextContent)
    return block.text


async def test_sdk_client_lists_calls_reads_completes_and_gets_prompts(
    upstream: HackerNewsFixture, server_stderr: TextIO
) -> None:
    async with connect(upstream, server_stderr) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        stories = await session.call_tool("hn_stories", {"feed": "top", "limit": 3})
        deleted = await session.call_tool("hn_item", {"id": 8000})
        templates = await session.list_resource_templates()
        read = await session.read_resource("hn://item/126809")
        completion = await session.complete(
            types.ResourceTemplateReference(uri="hn://stories/{feed}"),
            {"name": "feed", "value": "s"},
        )
        prompt = await session.get_prompt("hn_front_page_digest", {"count": "2"})

    assert set(tools) == {
        "hn_stories",
        "hn_item",
        "hn_thread",
        "hn_user",
        "hn_search",
        "hn_summarize_thread",
    }
    assert tools["hn_stories"].output_schema is not None
    assert tools["hn_stories"].annotations is not None
    assert tools["hn_stories"].annotations.read_only_hint is True

    assert not stories.is_error
    assert isinstance(stories.structured_content, dict)
    assert [story["id"] for story in stories.structured_content["stories"]] == [8863, 8004, 121003]
    # The text block is readable Markdown (ages depend on today's date: not compared).
    story_lines = text_of(stories).splitlines()
    assert story_lines[:2] == ["# Top stories (1 to 3 of 7)", ""]
    assert story_lines[2].startswith(
        "1. [My YC app: Dropbox - Throw away your USB drive]"
        "(http://www.getdropbox.com/u/2/screencast.html) — 111 points by dhouston, "
    )
    assert story_lines[2].endswith(" ago, 8 comments (id 8863)")
    assert story_lines[-1] == "Next page: offset=3."

    assert deleted.is_error
    assert text_of(deleted) == "Item 8000 was deleted; it has no content to show."

    assert {template.uri_template for template in templates.resource_templates} >= {
        "hn://stories/{feed}",
        "hn://item/{id}",
        "hn://user/{username}",
    }
    (contents,) = read.contents
    assert isinstance(contents, types.TextResourceContents)
    assert contents.mime_type == "application/json"
    assert [option["score"] for option in json.loads(contents.text)["poll_options"]] == [335, 163]

    assert completion.completion.values == ["show"]

    instructions, *embedded = prompt.messages
    assert isinstance(instructions.content, types.TextContent)
    assert len(embedded) == 2
    for message in embedded:
        assert isinstance(message.content, types.EmbeddedResource)
        assert isinstance(message.content.resource, types.TextResourceContents)
    assert [str(message.content.resource.uri) for message in embedded] == [  # type: ignore[union-attr]
        "hn://item/8863",
        "hn://item/8004",
    ]
    assert upstream.hits_for("/v0/topstories.json") == 1  # the prompt reused the cached feed


async def test_sdk_client_hears_of_a_subscribed_change_and_samples_a_summary(
    upstream: HackerNewsFixture, server_stderr: TextIO
) -> None:
    updated: list[str] = []
    sampled: list[types.CreateMessageRequestParams] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updated.append(str(message.params.uri))

    async def sample(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        sampled.append(params)
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(text="People argue about FTP."),
            model="fake-model-1",
            stop_reason="endTurn",
        )

    story = "/v0/item/8863.json"
    async with connect(
        upstream, server_stderr, message_handler=on_message, sampling_callback=sample
    ) as session:
        # 2025-11-25 is negotiated, where resources/subscribe is current; the SDK warns of
        # its removal in a later revision.
        with pytest.warns(MCPDeprecationWarning):
            await session.subscribe_resource("hn://item/8863")
        await wait_until(lambda: upstream.hits_for(story) >= 1, "the baseline fetch")
        upstream.set(story, upstream.get(story) | {"score": 200})
        await wait_until(lambda: updated == ["hn://item/8863"], "the update notification")
        summary = await session.call_tool("hn_summarize_thread", {"id": 8863})

    assert not summary.is_error
    assert isinstance(summary.structured_content, dict)
    assert summary.structured_content["summary"] == "People argue about FTP."
    assert summary.structured_content["model"] == "fake-model-1"
    assert text_of(summary).startswith("# Summary of “My YC app: Dropbox")
    (params,) = sampled
    content = params.messages[0].content
    assert isinstance(content, types.TextContent)
    assert "I have a few qualms with this app" in content.text
