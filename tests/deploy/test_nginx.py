"""ssemcp behind a real nginx (Debian's), configured by docs/deploy/nginx.conf, on loopback.

Two deployments, each an ``ssemcp serve --config`` process with nginx in front under the
``/tools/`` prefix and a 2 s ``proxy_read_timeout``; nginx connects from 127.0.0.2:

- ``trusting``: ``trusted_proxies = ["127.0.0.2"]``, keepalive every 0.5 s, the public name
  mcp.example.com allowed as Host and Origin;
- ``untrusting``: no trusted proxy, the default 15 s keepalive (longer than nginx waits).

The tests' own direct requests come from 127.0.0.1, a peer ssemcp does not trust. Through
nginx they check the prefix (the legacy ``endpoint`` event, the index page, the official
Python SDK's clients for HTTP+SSE, a 2025 session and a 2026-07-28 request), who is believed,
the Host and Origin checks, an unbuffered first event, and long streams outliving nginx's
read timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import mcp_types as types
import pytest
from deploy_harness import PREFIX, Running, free_port, nginx, render_site, ssemcp_serve
from mcp import Client, ClientSession
from mcp.client.sse import sse_client

pytestmark = pytest.mark.interop

PUBLIC_HOST: Final = "mcp.example.com"
TRUSTING_CONFIG: Final = f"""
toolsets = ["utilities"]
keepalive = 0.5
trusted_proxies = ["127.0.0.2"]
allowed_hosts = ["127.0.0.1", "{PUBLIC_HOST}"]
allowed_origins = ["https://{PUBLIC_HOST}"]
"""
UNTRUSTING_CONFIG: Final = """
toolsets = ["utilities"]
"""
# nginx's proxy_read_timeout in these tests is 2 s: a stream is read for longer than that.
LONGER_THAN_READ_TIMEOUT_SECONDS: Final = 5.0
# An answer that has not come in this long is not coming; generous for a loaded machine.
DEADLINE_SECONDS: Final = 10.0
# Streams opened to measure the time to their first byte; the median of these is checked.
FIRST_BYTE_SAMPLES: Final = 15
INITIALIZE: Final = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "deploy-test", "version": "1"},
    },
}
STREAM_HEADERS: Final = {"accept": "text/event-stream"}
POST_HEADERS: Final = {"accept": "application/json, text/event-stream"}


@dataclass
class Deployment:
    """ssemcp and the nginx in front of it; ``public`` is the prefixed base URL."""

    ssemcp: Running
    proxy: Running

    @property
    def public(self) -> str:
        return self.proxy.url + PREFIX


@pytest.fixture(scope="module")
def trusting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from _deploy(tmp_path_factory.mktemp("trusting"), TRUSTING_CONFIG)


@pytest.fixture(scope="module")
def untrusting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from _deploy(tmp_path_factory.mktemp("untrusting"), UNTRUSTING_CONFIG)


def _deploy(directory: Path, config: str) -> Iterator[Deployment]:
    with ssemcp_serve(directory / "ssemcp", config) as server:
        nginx_port = free_port()
        ssemcp_port = int(server.url.rpartition(":")[2])
        site = render_site(nginx_port, ssemcp_port)
        with nginx(directory / "nginx", site, nginx_port) as proxy:
            yield Deployment(server, proxy)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=DEADLINE_SECONDS)


async def first_event(http: httpx.AsyncClient, url: str, **headers: str) -> tuple[int, str]:
    """The status of ``GET url`` and the data of the first event of its stream."""
    async with http.stream("GET", url, headers={**STREAM_HEADERS, **headers}) as response:
        if response.status_code != 200:
            return response.status_code, ""
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                return response.status_code, line.removeprefix("data: ")
    raise AssertionError("the stream ended before its first event")


class StreamWatcher:
    """Reads an SSE body in a task of its own, so that waiting for it never cancels the read
    (cancelling an ``aiter_raw`` mid-read would close the stream we are watching)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.received = bytearray()
        self.ended = asyncio.Event()
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read(chunks))

    async def _read(self, chunks: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in chunks:
                self.received += chunk
                self._arrived.set()
        except httpx.RemoteProtocolError:
            pass  # nginx cut the chunked body short: the stream ended all the same
        finally:
            self.ended.set()
            self._arrived.set()

    async def ends_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ended.wait(), seconds)
        return self.ended.is_set()

    async def receives(self, needle: bytes, seconds: float) -> bool:
        """Whether ``needle`` arrives within ``seconds`` (polled on each chunk)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while needle not in self.received and not self.ended.is_set():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return needle in self.received

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def only_text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent), block
    return block.text


# -- the path prefix


async def test_endpoint_event_names_the_prefixed_url_behind_a_trusted_proxy(
    trusting: Deployment,
) -> None:
    async with client() as http:
        status, endpoint = await first_event(http, trusting.public + "/sse")
    assert status == 200
    assert endpoint.startswith(f"{PREFIX}/messages/?session_id=")


async def test_index_page_names_the_prefixed_endpoints(trusting: Deployment) -> None:
    async with client() as http:
        response = await http.get(trusting.public + "/")
    assert response.status_code == 200
    for path in ("/tools/mcp", "/tools/sse", "/tools/healthz"):
        assert path in response.text


async def test_python_sdk_sse_client_works_under_the_prefix(trusting: Deployment) -> None:
    async with (
        sse_client(trusting.public + "/sse", sse_read_timeout=DEADLINE_SECONDS) as streams,
        ClientSession(*streams) as session,
    ):
        await session.initialize()
        result = await session.call_tool("echo", {"message": "through nginx"})
    assert only_text(result) == "through nginx"


async def test_python_sdk_streamable_2025_session_through_nginx(trusting: Deployment) -> None:
    async with Client(trusting.public + "/mcp", mode="legacy") as mcp_client:
        assert mcp_client.protocol_version == "2025-11-25"
        tools = await mcp_client.list_tools()
        result = await mcp_client.call_tool("echo", {"message": "a session"})
    assert "echo" in {tool.name for tool in tools.tools}
    assert only_text(result) == "a session"


async def test_python_sdk_2026_request_through_nginx(trusting: Deployment) -> None:
    async with Client(trusting.public + "/mcp") as mcp_client:
        assert mcp_client.protocol_version == "2026-07-28"
        result = await mcp_client.call_tool("echo", {"message": "no session"})
    assert only_text(result) == "no session"


# -- X-Forwarded-* believed from --trusted-proxy only


async def test_an_untrusted_proxys_prefix_is_ignored(untrusting: Deployment) -> None:
    # Without --trusted-proxy the prefix nginx sends is not believed: the endpoint event
    # names a path the public URL does not have (which is why the option exists).
    async with client() as http:
        status, endpoint = await first_event(http, untrusting.public + "/sse")
    assert status == 200
    assert endpoint.startswith("/messages/?session_id=")


async def test_a_direct_client_cannot_forge_forwarded_headers(trusting: Deployment) -> None:
    forged = {"x-forwarded-prefix": "/evil", "x-forwarded-host": PUBLIC_HOST}
    async with client() as http:
        status, endpoint = await first_event(http, trusting.ssemcp.url + "/sse", **forged)
        assert status == 200
        assert endpoint.startswith("/messages/?session_id=")
        # Not believed, X-Forwarded-Host cannot make a refused Host acceptable.
        refused = await http.get(
            trusting.ssemcp.url + "/",
            headers={"host": "evil.example", "x-forwarded-host": "127.0.0.1"},
        )
    assert refused.status_code == 421


async def test_a_client_cannot_forge_forwarded_headers_through_nginx(
    trusting: Deployment,
) -> None:
    # nginx sets each X-Forwarded-* header itself, replacing the client's.
    forged = {"x-forwarded-prefix": "/evil", "x-forwarded-host": "evil.example"}
    async with client() as http:
        status, endpoint = await first_event(http, trusting.public + "/sse", **forged)
    assert status == 200
    assert endpoint.startswith(f"{PREFIX}/messages/?session_id=")


# -- Host and Origin checks behind the proxy


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        (PUBLIC_HOST, "/", 200),
        ("127.0.0.1", "/", 200),
        ("evil.example", "/", 421),
        ("evil.example", "/mcp", 421),
        ("evil.example", "/healthz", 200),  # health checks are exempt, behind nginx too
    ],
)
async def test_host_check_sees_the_name_the_client_used(
    trusting: Deployment, host: str, path: str, expected: int
) -> None:
    async with client() as http:
        response = await http.get(trusting.public + path, headers={"host": host})
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("origin", "expected"),
    [(f"https://{PUBLIC_HOST}", 200), ("https://evil.example", 403), ("null", 403)],
)
async def test_origin_check_holds_through_nginx(
    trusting: Deployment, origin: str, expected: int
) -> None:
    async with client() as http:
        response = await http.post(
            trusting.public + "/mcp",
            json=INITIALIZE,
            headers={**POST_HEADERS, "host": PUBLIC_HOST, "origin": origin},
        )
    assert response.status_code == expected


# -- streaming


async def test_first_byte_of_an_sse_stream_is_not_held_by_nginx(untrusting: Deployment) -> None:
    # The endpoint event is the only thing the server sends for 15 s (its keepalive), so a
    # buffering proxy would hold it; each must arrive, and typically within 100 ms.
    waits: list[float] = []
    async with client() as http:
        for _ in range(FIRST_BYTE_SAMPLES):
            started = time.monotonic()
            async with http.stream("GET", untrusting.public + "/sse") as response:
                async for chunk in response.aiter_raw():
                    assert chunk.startswith(b"event: endpoint\n")
                    break
            waits.append(time.monotonic() - started)
    # The median, not every sample: a loaded machine may stall any one of them.
    assert statistics.median(waits) < 0.1, waits


async def test_a_legacy_stream_outlives_the_read_timeout_thanks_to_keepalives(
    trusting: Deployment,
) -> None:
    async with (
        client() as http,
        http.stream("GET", trusting.public + "/sse", headers=STREAM_HEADERS) as stream,
    ):
        watcher = StreamWatcher(stream.aiter_raw())
        try:
            assert await watcher.receives(b"\n\n", DEADLINE_SECONDS)
            endpoint = watcher.received.decode().split("data: ")[1].split("\n")[0]
            assert not await watcher.ends_within(LONGER_THAN_READ_TIMEOUT_SECONDS)
            assert b": ping" in watcher.received
            # Still a working stream: a request's answer arrives on it.
            posted = await http.post(trusting.proxy.url + endpoint, json=INITIALIZE)
            assert posted.status_code == 202, posted.text
            assert await watcher.receives(b'"id":1', DEADLINE_SECONDS)
        finally:
            await watcher.aclose()


async def test_a_streamable_get_stream_outlives_the_read_timeout(trusting: Deployment) -> None:
    async with client() as http:
        opened = await http.post(trusting.public + "/mcp", json=INITIALIZE, headers=POST_HEADERS)
        assert opened.status_code == 200
        session = {"mcp-session-id": opened.headers["mcp-session-id"]}
        initialized = await http.post(
            trusting.public + "/mcp",
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers={**POST_HEADERS, **session, "mcp-protocol-version": "2025-11-25"},
        )
        assert initialized.status_code == 202
        headers = {**STREAM_HEADERS, **session, "mcp-protocol-version": "2025-11-25"}
        async with http.stream("GET", trusting.public + "/mcp", headers=headers) as stream:
            assert stream.status_code == 200
            watcher = StreamWatcher(stream.aiter_raw())
            try:
                assert not await watcher.ends_within(LONGER_THAN_READ_TIMEOUT_SECONDS)
                assert b": ping" in watcher.received
            finally:
                await watcher.aclose()


async def test_without_keepalives_nginx_cuts_an_idle_stream(untrusting: Deployment) -> None:
    # The control for the two tests above: a server whose keepalive (15 s) is longer than
    # nginx's read timeout (2 s) loses the stream, so the keepalives are what keeps it.
    async with (
        client() as http,
        http.stream("GET", untrusting.public + "/sse", headers=STREAM_HEADERS) as stream,
    ):
        watcher = StreamWatcher(stream.aiter_raw())
        try:
            assert await watcher.ends_within(DEADLINE_SECONDS)
        finally:
            await watcher.aclose()
    assert watcher.received.startswith(b"event: endpoint\n")
    assert b": ping" not in watcher.received
