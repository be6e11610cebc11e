"""The official Python SDK's client (``mcp==2.3.0``) runs whole sessions against three
replicas behind nginx round-robin, every request landing on the next replica: MCP
2026-07-28 (no session; a sampling question answered by a multi round-trip request whose
retry lands elsewhere; a ``subscriptions/listen`` stream told of a change made on another
replica), a 2025-11-25 Streamable HTTP session and a 2024-11-05 legacy SSE session (progress,
sampling answered by a POST that reaches another replica than the waiting handler's, and a
resource subscription told of a change made elsewhere).

Each test checks the alternation itself: the ``whoami`` tool names the process that ran
each call, and nginx names the replica of every HTTP exchange (``x-served-by``).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client, MCPDeprecationWarning
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ResourceUpdated
from mcp.shared._httpx_utils import create_mcp_http_client
from replica_server import WATCHED
from scaleout_harness import SERVED_BY, TOKEN, Cluster

pytestmark = pytest.mark.interop

MODERN: Final = "2026-07-28"
SESSION_REVISION: Final = "2025-11-25"
WHOAMI_CALLS: Final = 6
# An answer that has not come in this long is not coming; generous for a loaded machine.
DEADLINE_SECONDS: Final = 15.0
AUTHORIZATION: Final = {"authorization": f"Bearer {TOKEN}"}


@dataclass
class Exchanges:
    """The replica (nginx's upstream address) that answered each HTTP exchange, in order."""

    served_by: list[str] = field(default_factory=list)

    async def note(self, response: httpx2.Response) -> None:
        address = response.headers.get(SERVED_BY)
        if address:
            self.served_by.append(address)


@contextlib.asynccontextmanager
async def http_client() -> AsyncIterator[tuple[httpx2.AsyncClient, Exchanges]]:
    exchanges = Exchanges()
    async with create_mcp_http_client(headers=AUTHORIZATION) as client:
        client.event_hooks["response"].append(exchanges.note)
        yield client, exchanges


async def sample(
    context: Any, params: types.CreateMessageRequestParams
) -> types.CreateMessageResult:
    [message] = params.messages
    assert isinstance(message.content, types.TextContent)
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(text=f"answer to {message.content.text}"),
        model="py-fake-model",
    )


class Updates:
    """The ``notifications/resources/updated`` a client received, and a wait for more."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self._arrived = anyio.Event()

    async def on_message(self, message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.uris.append(message.params.uri)
            self._arrived.set()

    async def wait_for(self, count: int) -> None:
        with anyio.fail_after(DEADLINE_SECONDS):
            while len(self.uris) < count:
                self._arrived = anyio.Event()
                await self._arrived.wait()


def text_of(result: types.CallToolResult) -> str:
    assert not result.is_error, result
    [block] = result.content
    assert isinstance(block, types.TextContent)
    return block.text


def pids_of(replicas: Cluster) -> set[str]:
    return {f"pid={replica.pid}" for replica in replicas.replicas}


async def posts_since(replicas: Cluster, mark: int, path: str, count: int) -> list[str]:
    """The replicas nginx sent the POSTs to ``path`` to, after access log line ``mark``,
    once ``count`` are there (nginx writes a line once it has sent the response: polled,
    with a deadline)."""
    with anyio.fail_after(DEADLINE_SECONDS):
        while True:
            posts = [
                line.split()[3]
                for line in replicas.access_log()[mark:]
                if line.startswith(f"POST {path} ")
            ]
            if len(posts) >= count:
                return posts
            await anyio.sleep(0.01)


async def whoami_alternates(client: Client, replicas: Cluster, *, legacy: bool = False) -> None:
    """Six calls in a row: never the same replica twice running, all three used. Over
    legacy SSE it is the POSTs that alternate (nginx's access log), and the stream's holder
    runs every call."""
    mark = len(replicas.access_log())
    served = [text_of(await client.call_tool("whoami", {})) for _ in range(WHOAMI_CALLS)]
    if legacy:
        assert len(set(served)) == 1 and set(served) <= pids_of(replicas), served
        # The client's notifications/initialized may finish after the mark: one more.
        served = await posts_since(replicas, mark, "/messages/", WHOAMI_CALLS)
    assert len(set(served)) == len(replicas.replicas), served
    assert all(first != second for first, second in itertools.pairwise(served))


async def touch_on_every_replica(client: Client, replicas: Cluster, path: str) -> int:
    """Call ``touch`` twice per replica, its POSTs reaching each replica; how many calls."""
    mark = len(replicas.access_log())
    touches = 2 * len(replicas.replicas)
    for _ in range(touches):
        await client.call_tool("touch", {"uri": WATCHED})
    posted_to = set(await posts_since(replicas, mark, path, touches))
    assert posted_to == {replica.address for replica in replicas.replicas}, posted_to
    return touches


async def progress_and_sampling(client: Client) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    counted = await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)
    assert text_of(counted).endswith("counted 3")
    assert progress == [(step, 3, f"step {step}") for step in (1, 2, 3)]
    asked = text_of(await client.call_tool("ask_model", {"prompt": "Capital of France?"}))
    assert asked.endswith(": py-fake-model: answer to Capital of France?"), asked


async def test_2026_07_28_calls_alternate_replicas_with_progress_and_sampling(
    replicas: Cluster,
) -> None:
    async with (
        http_client() as (http, exchanges),
        Client(
            streamable_http_client(replicas.mcp_url, http_client=http),
            sampling_callback=sample,
            read_timeout_seconds=DEADLINE_SECONDS,
        ) as client,
    ):
        assert client.protocol_version == MODERN
        await whoami_alternates(client, replicas)
        # The sampling question ends round one on one replica; the retry, with the answer
        # and the sealed requestState, lands on another, which opens it with the shared key.
        await progress_and_sampling(client)
    assert set(exchanges.served_by) == {replica.address for replica in replicas.replicas}


async def test_2026_07_28_listen_stream_hears_a_change_made_on_another_replica(
    replicas: Cluster,
) -> None:
    async with (
        http_client() as (http, _),
        Client(
            streamable_http_client(replicas.mcp_url, http_client=http),
            read_timeout_seconds=DEADLINE_SECONDS,
        ) as client,
        client.listen(resource_subscriptions=[WATCHED]) as subscription,
    ):
        # A touch on each replica, whichever holds the listen stream: each is heard before
        # the next is made (the SDK folds an event into an equal one still unread).
        mark = len(replicas.access_log())
        events = aiter(subscription)
        touches = 2 * len(replicas.replicas)
        for _ in range(touches):
            await client.call_tool("touch", {"uri": WATCHED})
            with anyio.fail_after(DEADLINE_SECONDS):
                event = await anext(events)
            assert event == ResourceUpdated(uri=WATCHED)
    posted_to = set(await posts_since(replicas, mark, "/mcp", touches))
    assert posted_to == {replica.address for replica in replicas.replicas}


async def test_2025_session_on_every_replica_with_progress_sampling_and_subscription(
    replicas: Cluster,
) -> None:
    updates = Updates()

    async with (
        http_client() as (http, exchanges),
        Client(
            streamable_http_client(replicas.mcp_url, http_client=http),
            mode="legacy",
            sampling_callback=sample,
            read_timeout_seconds=DEADLINE_SECONDS,
            message_handler=updates.on_message,
        ) as client,
    ):
        assert client.protocol_version == SESSION_REVISION
        await whoami_alternates(client, replicas)
        await progress_and_sampling(client)
        # The SDK warns that 2026-07-28 replaced it; this session is 2025's.
        with pytest.warns(MCPDeprecationWarning):
            await client.subscribe_resource(WATCHED)
        touches = await touch_on_every_replica(client, replicas, "/mcp")
        await updates.wait_for(touches)
        with pytest.warns(MCPDeprecationWarning):
            await client.unsubscribe_resource(WATCHED)
    assert updates.uris == [WATCHED] * touches
    assert set(exchanges.served_by) == {replica.address for replica in replicas.replicas}


async def test_legacy_sse_session_posts_to_every_replica_and_hears_on_its_stream(
    replicas: Cluster,
) -> None:
    updates = Updates()

    async with Client(
        sse_client(
            replicas.sse_url,
            headers=AUTHORIZATION,
            sse_read_timeout=DEADLINE_SECONDS,
        ),
        mode="legacy",
        sampling_callback=sample,
        read_timeout_seconds=DEADLINE_SECONDS,
        message_handler=updates.on_message,
    ) as client:
        # The GET /sse stream is held by one replica; each POST /messages/ lands on the next,
        # and every answer arrives on the stream exactly once (a duplicate id would fail).
        await whoami_alternates(client, replicas, legacy=True)
        await progress_and_sampling(client)
        # The SDK warns that 2026-07-28 replaced it; this session is 2025's.
        with pytest.warns(MCPDeprecationWarning):
            await client.subscribe_resource(WATCHED)
        touches = await touch_on_every_replica(client, replicas, "/messages/")
        await updates.wait_for(touches)
    assert updates.uris == [WATCHED] * touches
