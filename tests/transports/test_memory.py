"""MemoryReclaimer: one reclamation per burst of ended sessions, none for ordinary churn; and
what a connection's protocol object holds."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import AsyncIterator

import pytest
from live_server import INITIALIZE, live_app

from ssemcp import Server
from ssemcp.http import create_app
from ssemcp.http.uvicorn_protocol import BoundedProtocol
from ssemcp.transports import memory
from ssemcp.transports.memory import MemoryReclaimer, reclaim_memory

# Long enough for a loop tick under load, short enough to keep the tests quick.
DELAY = 0.02


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def end_sessions(reclaimer: MemoryReclaimer, first: int, last: int) -> None:
    """Observe the open count after each session ends, from ``first`` open down to ``last``."""
    for open_count in range(first - 1, last - 1, -1):
        reclaimer.observe(open_count)


async def test_a_burst_that_ends_is_reclaimed_once() -> None:
    reclaim = Counter()
    reclaimer = MemoryReclaimer(min_drop=100, delay_seconds=DELAY, reclaim=reclaim)
    end_sessions(reclaimer, 1000, 0)
    assert reclaim.calls == 0  # not while the sessions are still ending
    await asyncio.sleep(DELAY * 5)
    assert reclaim.calls == 1


async def test_ordinary_churn_is_never_reclaimed() -> None:
    reclaim = Counter()
    # A steady 500 open sessions, one ending as another opens, many times over.
    steady = MemoryReclaimer(min_drop=100, delay_seconds=DELAY, reclaim=reclaim)
    for _ in range(2000):
        steady.observe(499)
    # A fall by more than the minimum that leaves more than half open.
    most_remain = MemoryReclaimer(min_drop=100, delay_seconds=DELAY, reclaim=reclaim)
    end_sessions(most_remain, 500, 260)
    # A fall to half that is less than the minimum.
    few_end = MemoryReclaimer(min_drop=100, delay_seconds=DELAY, reclaim=reclaim)
    end_sessions(few_end, 150, 70)
    await asyncio.sleep(DELAY * 5)
    assert reclaim.calls == 0


async def test_sessions_that_keep_ending_put_it_off_until_the_longest_delay() -> None:
    reclaim = Counter()
    reclaimer = MemoryReclaimer(
        min_drop=10, delay_seconds=DELAY * 4, max_delay_seconds=DELAY * 8, reclaim=reclaim
    )
    reclaimer.observe(1000)
    began = asyncio.get_running_loop().time()
    open_count = 500
    # One session ends every DELAY: each puts the reclamation off, up to the longest delay.
    while reclaim.calls == 0:
        open_count -= 1
        reclaimer.observe(open_count)
        await asyncio.sleep(DELAY)
        assert asyncio.get_running_loop().time() - began < DELAY * 40, "never reclaimed"
    assert 500 - open_count < 20


async def test_the_next_burst_is_measured_from_what_remained() -> None:
    reclaim = Counter()
    reclaimer = MemoryReclaimer(min_drop=100, delay_seconds=DELAY, reclaim=reclaim)
    end_sessions(reclaimer, 1000, 400)
    await asyncio.sleep(DELAY * 5)
    assert reclaim.calls == 1
    # 400 remained: 300 ending is more than half of them, but less than the minimum drop.
    end_sessions(reclaimer, 400, 310)
    await asyncio.sleep(DELAY * 5)
    assert reclaim.calls == 1
    end_sessions(reclaimer, 310, 150)
    await asyncio.sleep(DELAY * 5)
    assert reclaim.calls == 2


async def test_cancel_drops_a_scheduled_reclamation() -> None:
    reclaim = Counter()
    reclaimer = MemoryReclaimer(min_drop=100, delay_seconds=DELAY, reclaim=reclaim)
    end_sessions(reclaimer, 1000, 0)
    reclaimer.cancel()
    await asyncio.sleep(DELAY * 5)
    assert reclaim.calls == 0


async def test_a_failing_reclamation_is_logged_and_the_next_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    def failing() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("no")

    reclaimer = MemoryReclaimer(min_drop=100, delay_seconds=DELAY, reclaim=failing)
    end_sessions(reclaimer, 1000, 0)
    await asyncio.sleep(DELAY * 5)
    assert calls == 1
    assert "reclaiming memory failed" in caplog.text
    end_sessions(reclaimer, 1000, 0)
    await asyncio.sleep(DELAY * 5)
    assert calls == 2


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="min_drop"):
        MemoryReclaimer(min_drop=0)
    with pytest.raises(ValueError, match="delay"):
        MemoryReclaimer(delay_seconds=-1)
    with pytest.raises(ValueError, match="delay"):
        MemoryReclaimer(delay_seconds=3, max_delay_seconds=2)


def test_reclaim_memory_collects_cycles_and_trims_the_heap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    trims: list[int] = []

    def fake_trim(pad: int) -> int:
        trims.append(pad)
        return 1

    monkeypatch.setattr(memory, "_malloc_trim", lambda: fake_trim)
    gc.collect()
    Cycle()
    assert any(type(thing) is Cycle for thing in gc.get_objects())
    reclaim_memory()
    assert not any(type(thing) is Cycle for thing in gc.get_objects())
    assert trims == [0]


def test_reclaim_memory_runs_where_the_c_library_has_no_malloc_trim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    reclaim_memory()


def test_glibc_malloc_trim_is_found_on_linux() -> None:
    # CI runs on glibc Linux: there the real function must be found and callable.
    trim = memory._malloc_trim()
    assert trim is not None
    assert trim(0) in (0, 1)


# ---------------------------------------------------------------------- in the transports

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
SESSIONS = 8


async def test_sessions_ended_by_delete_are_reclaimed_once() -> None:
    app = create_app(Server("memory"))
    reclaim = Counter()
    app.transport._reclaimer = MemoryReclaimer(min_drop=4, delay_seconds=DELAY, reclaim=reclaim)
    async with live_app(app) as live, live.client() as client:
        session_ids = []
        for _ in range(SESSIONS):
            response = await client.post(live.url + "/mcp", json=INITIALIZE, headers=HEADERS)
            session_ids.append(response.headers["mcp-session-id"])
        for session_id in session_ids:
            response = await client.delete(
                live.url + "/mcp", headers={"mcp-session-id": session_id}
            )
            assert response.status_code == 204
        await asyncio.sleep(DELAY * 10)
        assert reclaim.calls == 1


async def test_legacy_streams_that_close_are_reclaimed_once() -> None:
    app = create_app(Server("memory"))
    assert app.legacy_sse is not None
    reclaim = Counter()
    app.legacy_sse._reclaimer = MemoryReclaimer(min_drop=4, delay_seconds=DELAY, reclaim=reclaim)
    async with live_app(app) as live, live.client() as client:
        lines: list[AsyncIterator[str]] = []
        async with contextlib.AsyncExitStack() as streams:
            for _ in range(SESSIONS):
                response = await streams.enter_async_context(
                    client.stream("GET", live.url + "/sse")
                )
                assert response.status_code == 200
                # Kept: a line iterator left to the collector would close its stream.
                lines.append(response.aiter_lines())
                while not (await anext(lines[-1])).startswith("data: "):
                    pass  # until the endpoint event: then the session is open
            assert app.legacy_sse.session_count == SESSIONS
        deadline = asyncio.get_running_loop().time() + 5
        while app.legacy_sse.session_count or reclaim.calls == 0:
            assert asyncio.get_running_loop().time() < deadline, "never reclaimed"
            await asyncio.sleep(DELAY)
        await asyncio.sleep(DELAY * 5)
        assert reclaim.calls == 1


# ---------------------------------------------------------------------- per connection


async def test_a_connection_s_own_state_leaves_its_instance_dict_shared() -> None:
    # BoundedProtocol keeps its state in slots. Added to uvicorn's attributes in the instance
    # dict, it took that dict past the 30 keys a shared-key dict holds: 1 584 bytes instead
    # of 296 (CPython 3.11), 1.3 KiB more per connection, and so per idle stream.
    async with live_app(create_app(Server("per-connection"))) as live:
        reader, writer = await live.open_connection()
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            (protocol,) = live.uvicorn_server.server_state.connections
        finally:
            writer.close()
    assert isinstance(protocol, BoundedProtocol)
    assert not set(BoundedProtocol.__slots__) & set(vars(protocol))
    assert sys.getsizeof(vars(protocol)) < 1024
