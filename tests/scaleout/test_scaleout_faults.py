"""Faults of a scaled-out deployment, through nginx round-robin in front of three replicas:
a replica killed with SIGKILL mid-stream (the client resumes on another replica with
``Last-Event-ID`` and loses no event it was sent, none twice), and Redis stopped and
restarted mid-run (clear 503s with a JSON-RPC error while it is away, the replicas stay up,
and serve again once it is back, without a restart).

Driven by httpx at the wire, so the test decides exactly which events it has read before the
kill (spec 2025-11-25 basic/transports, "Resumability and Redelivery": the server "MAY replay
messages that would have been sent after the last event ID"; ssemcp's event logs on Redis make
that every replica's, not only the dead one's).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Final

import anyio
import httpx
import httpx2
import mcp_types
import pytest
import redis.asyncio as redis_client
from mcp import Client, MCPDeprecationWarning
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from scaleout_harness import SERVED_BY, TOKEN, Cluster

from ssemcp.sse import Event, SSEParser
from ssemcp.state.redis.names import DEFAULT_PREFIX

SESSION_REVISION: Final = "2025-11-25"
WATCHED: Final = "scaleout://watched"
DEADLINE_SECONDS: Final = 15.0
# Redis comes back on the same port; the replicas' clients reconnect by themselves.
RECOVERY_DEADLINE_SECONDS: Final = 30.0
POLL_INTERVAL_SECONDS: Final = 0.05
BASE_HEADERS: Final = {
    "authorization": f"Bearer {TOKEN}",
    "accept": "application/json, text/event-stream",
}


def initialize_body() -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": SESSION_REVISION,
            "capabilities": {},
            "clientInfo": {"name": "scaleout-faults", "version": "1"},
        },
    }


@dataclass
class Session:
    """One 2025-11-25 session opened through nginx, at the wire."""

    http: httpx.AsyncClient
    url: str
    session_id: str
    next_id: int = 1

    @property
    def headers(self) -> dict[str, str]:
        return {
            **BASE_HEADERS,
            "mcp-session-id": self.session_id,
            "mcp-protocol-version": SESSION_REVISION,
        }

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        return {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}

    async def call(self, method: str, params: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            self.url, json=self.request(method, params), headers=self.headers
        )


async def open_session(http: httpx.AsyncClient, url: str) -> Session:
    response = await http.post(url, json=initialize_body(), headers=BASE_HEADERS)
    assert response.status_code == 200, response.text
    session = Session(http, url, response.headers["mcp-session-id"])
    initialized = await http.post(
        url,
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers=session.headers,
    )
    assert initialized.status_code == 202, initialized.text
    return session


class EventReader:
    """The events of one SSE response, read as they come; ``read_until`` waits for more."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.parser = SSEParser()
        self.events: list[Event] = []
        # One iterator for the whole body: each read_until goes on where the last stopped.
        self._chunks = response.aiter_raw()

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        """(event id, JSON-RPC message) of every event with data (priming events have none)."""
        return [(event.id, json.loads(event.data)) for event in self.events if event.data]

    async def read_until(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        """Read until ``count`` messages have arrived (or the stream ends); each read is
        bounded by the client's timeout."""
        while len(self.messages()) < count:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                break
            self.events += self.parser.feed(chunk)
        return self.messages()


@contextlib.asynccontextmanager
async def event_stream(
    http: httpx.AsyncClient, method: str, url: str, **options: Any
) -> AsyncIterator[EventReader]:
    async with http.stream(method, url, **options) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response)


def progress_of(message: dict[str, Any]) -> float:
    assert message["method"] == "notifications/progress", message
    return float(message["params"]["progress"])


@contextlib.contextmanager
def replica_back_afterwards(replicas: Cluster) -> Iterator[None]:
    """Whatever the test kills is started again, so the module's other tests find three."""
    try:
        yield
    finally:
        for replica in replicas.replicas:
            if not replica.running:
                replica.start(replicas.environment)
        replicas.wait_until_nginx_uses_every_replica()


async def test_response_stream_cut_by_sigkill_resumes_on_another_replica(
    replicas: Cluster,
) -> None:
    with replica_back_afterwards(replicas):
        async with httpx.AsyncClient(timeout=DEADLINE_SECONDS) as http:
            session = await open_session(http, replicas.mcp_url)
            call = session.request(
                "tools/call",
                {
                    "name": "progress_then_wait",
                    "arguments": {"steps": 4},
                    "_meta": {"progressToken": 7},
                },
            )
            async with event_stream(
                http, "POST", replicas.mcp_url, json=call, headers=session.headers
            ) as stream:
                serving = replicas.replica_at(stream.response.headers[SERVED_BY])
                sent = await stream.read_until(4)
                assert [progress_of(message) for _, message in sent] == [1, 2, 3, 4]
                # The client has taken in the first two; the replica dies with no drain.
                acknowledged_id = sent[1][0]
                replicas.kill(serving)
            resumed_headers = {**session.headers, "last-event-id": acknowledged_id}
            async with event_stream(
                http, "GET", replicas.mcp_url, headers=resumed_headers
            ) as resumed:
                assert resumed.response.headers[SERVED_BY] != serving.address
                replayed = await resumed.read_until(2)
            # Exactly the events after the acknowledged one, in order, none twice.
            assert [progress_of(message) for _, message in replayed] == [3, 4]
            assert [event_id for event_id, _ in replayed] == [sent[2][0], sent[3][0]]
            # The session goes on, on the replicas still alive.
            whoami = await session.call("tools/call", {"name": "whoami", "arguments": {}})
            assert whoami.status_code == 200, whoami.text


async def test_get_stream_of_a_killed_replica_resumes_elsewhere_and_keeps_receiving(
    replicas: Cluster,
) -> None:
    with replica_back_afterwards(replicas):
        async with httpx.AsyncClient(timeout=DEADLINE_SECONDS) as http:
            session = await open_session(http, replicas.mcp_url)
            subscribed = await session.call("resources/subscribe", {"uri": WATCHED})
            assert subscribed.status_code == 200, subscribed.text
            touch = {"name": "touch", "arguments": {"uri": WATCHED}}
            async with event_stream(
                http, "GET", replicas.mcp_url, headers=session.headers
            ) as stream:
                holder = replicas.replica_at(stream.response.headers[SERVED_BY])
                for expected in (1, 2):
                    touched = await session.call("tools/call", touch)
                    assert touched.status_code == 200, touched.text
                    sent = await stream.read_until(expected)
                assert [message["method"] for _, message in sent] == [
                    "notifications/resources/updated"
                ] * 2
                replicas.kill(holder)
            resumed_headers = {**session.headers, "last-event-id": sent[0][0]}
            async with event_stream(
                http, "GET", replicas.mcp_url, headers=resumed_headers
            ) as resumed:
                assert resumed.response.headers[SERVED_BY] != holder.address
                # The one not taken in is replayed; then a change made now arrives too.
                [replayed] = await resumed.read_until(1)
                assert replayed == sent[1]
                touched = await session.call("tools/call", touch)
                assert touched.status_code == 200, touched.text
                after = await resumed.read_until(2)
            assert after[1][1]["method"] == "notifications/resources/updated"
            assert after[1][0] not in {event_id for event_id, _ in sent}


async def logged_updates(cluster: Cluster, session_id: str) -> int:
    """How many resources/updated events the session's log in Redis holds."""
    client = redis_client.Redis.from_url(cluster.redis.url)
    try:
        entries = await client.xrange(f"{DEFAULT_PREFIX}:log:{session_id}")
    finally:
        await client.aclose()
    return sum(
        1
        for _, fields in entries
        if fields[b"d"] and json.loads(fields[b"d"])["method"] == "notifications/resources/updated"
    )


async def test_changes_made_after_the_holder_was_killed_are_logged_once_and_replayed(
    replicas: Cluster,
) -> None:
    """The replica holding the GET stream dies; the session's changes go on (no replica
    holds the stream, and the dead one's lease has not lapsed): the replicas still serving
    the session log each once, and the client that resumes gets each once."""
    with replica_back_afterwards(replicas):
        async with httpx.AsyncClient(timeout=DEADLINE_SECONDS) as http:
            session = await open_session(http, replicas.mcp_url)
            subscribed = await session.call("resources/subscribe", {"uri": WATCHED})
            assert subscribed.status_code == 200, subscribed.text
            touch = {"name": "touch", "arguments": {"uri": WATCHED}}
            served_by = set()
            for _ in range(6):  # round-robin: every replica serves the session
                whoami = await session.call("tools/call", {"name": "whoami", "arguments": {}})
                served_by.add(whoami.headers[SERVED_BY])
            assert len(served_by) == 3
            async with event_stream(
                http, "GET", replicas.mcp_url, headers=session.headers
            ) as stream:
                holder = replicas.replica_at(stream.response.headers[SERVED_BY])
                touched = await session.call("tools/call", touch)
                assert touched.status_code == 200, touched.text
                [first] = await stream.read_until(1)
                replicas.kill(holder)
            for _ in range(3):
                touched = await session.call("tools/call", touch)
                assert touched.status_code == 200, touched.text
            deadline = time.monotonic() + DEADLINE_SECONDS
            while await logged_updates(replicas, session.session_id) < 4:
                assert time.monotonic() < deadline, "the changes were not logged"
                await asyncio.sleep(POLL_INTERVAL_SECONDS)
            resumed_headers = {**session.headers, "last-event-id": first[0]}
            async with event_stream(
                http, "GET", replicas.mcp_url, headers=resumed_headers
            ) as resumed:
                replayed = await resumed.read_until(3)
                assert [message["method"] for _, message in replayed] == [
                    "notifications/resources/updated"
                ] * 3
                # And nothing twice: one more change is the next event.
                touched = await session.call("tools/call", touch)
                assert touched.status_code == 200, touched.text
                after = await resumed.read_until(4)
            assert len({event_id for event_id, _ in after}) == 4
            assert await logged_updates(replicas, session.session_id) == 5


@pytest.mark.interop
async def test_official_client_whose_get_stream_replica_is_killed_hears_every_change_once(
    replicas: Cluster,
) -> None:
    """The official Python client (``mcp``) holds its session's GET stream on a replica
    that is killed with SIGKILL; changes go on meanwhile, on the replicas still alive. The
    client reconnects by itself (``Last-Event-ID``, after the ``retry`` its priming event
    named) and hears every change once, in order: none lost, none twice."""
    updates: list[str] = []
    arrived = anyio.Event()
    get_streams: list[str] = []

    async def on_message(message: Any) -> None:
        nonlocal arrived
        if isinstance(message, mcp_types.ResourceUpdatedNotification):
            updates.append(message.params.uri)
            arrived.set()

    async def note(response: httpx2.Response) -> None:
        if response.request.method == "GET" and SERVED_BY in response.headers:
            get_streams.append(response.headers[SERVED_BY])

    async def wait_for(count: int) -> None:
        nonlocal arrived
        with anyio.fail_after(DEADLINE_SECONDS):
            while len(updates) < count:
                arrived = anyio.Event()
                await arrived.wait()

    with replica_back_afterwards(replicas):
        async with (
            create_mcp_http_client(headers={"authorization": f"Bearer {TOKEN}"}) as http,
            Client(
                streamable_http_client(replicas.mcp_url, http_client=http),
                mode="legacy",
                read_timeout_seconds=DEADLINE_SECONDS,
                message_handler=on_message,
            ) as client,
        ):
            http.event_hooks["response"].append(note)
            with pytest.warns(MCPDeprecationWarning):
                await client.subscribe_resource(WATCHED)
            for _ in range(3):  # round-robin: every replica serves the session
                await client.call_tool("whoami", {})
            await client.call_tool("touch", {"uri": WATCHED})
            await wait_for(1)
            [holder_address] = get_streams
            replicas.kill(replicas.replica_at(holder_address))
            for _ in range(4):
                await client.call_tool("touch", {"uri": WATCHED})
            await wait_for(5)
            # Reconnected elsewhere; one more change, and nothing else arrives twice.
            await client.call_tool("touch", {"uri": WATCHED})
            await wait_for(6)
            await client.call_tool("whoami", {})
            assert updates == [WATCHED] * 6
            assert len(get_streams) >= 2 and holder_address not in get_streams[1:]


def assert_service_unavailable(response: httpx.Response) -> None:
    """503 with a JSON-RPC error saying so, never a stack trace or a hang."""
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert isinstance(error["code"], int)
    assert "Traceback" not in response.text


async def test_redis_stopped_gives_503s_and_service_returns_with_redis(
    replicas: Cluster,
) -> None:
    async with httpx.AsyncClient(timeout=DEADLINE_SECONDS) as http:
        session = await open_session(http, replicas.mcp_url)
        whoami = {"name": "whoami", "arguments": {}}
        replicas.redis.stop()
        try:
            # One of each on every replica: a request of a session, a new session.
            for _ in replicas.replicas:
                assert_service_unavailable(await session.call("tools/call", whoami))
                assert_service_unavailable(
                    await http.post(replicas.mcp_url, json=initialize_body(), headers=BASE_HEADERS)
                )
            assert all(replica.running for replica in replicas.replicas)
        finally:
            replicas.redis.start()
        # Back without restarting a replica: a new session serves on all three.
        deadline = time.monotonic() + RECOVERY_DEADLINE_SECONDS
        while True:
            response = await http.post(
                replicas.mcp_url, json=initialize_body(), headers=BASE_HEADERS
            )
            if response.status_code == 200:
                break
            assert response.status_code == 503, response.text
            assert time.monotonic() < deadline, "no recovery after Redis came back"
            await asyncio.sleep(POLL_INTERVAL_SECONDS)
        fresh = await open_session(http, replicas.mcp_url)
        served = set()
        for _ in replicas.replicas:
            answered = await fresh.call("tools/call", whoami)
            assert answered.status_code == 200, answered.text
            served.add(answered.headers[SERVED_BY])
        assert served == {replica.address for replica in replicas.replicas}
        assert all(replica.running for replica in replicas.replicas)
