"""A real uvicorn serving an ssemcp app on a free 127.0.0.1 port, for the HTTP tests.

Owns starting a server, waiting until it listens (polled, with a deadline, never a fixed
sleep), handing the test its base URL and clients for it, and stopping it in ``finally``:
in-process (:func:`live_app`, :func:`live_server`) on the test's own event loop, or as the
``ssemcp serve`` command in a subprocess (:func:`serve_subprocess`) when a test must see a
whole process (its memory, its exit). What the tests send, and what they expect, is theirs.

The in-process server runs as ``ssemcp serve`` runs it (``ssemcp.cli``): our httptools
protocol with a header deadline and size bound (``ssemcp.http.uvicorn_protocol``),
``proxy_headers=False`` (``ssemcp.http.proxy`` decides who is a proxy), no access log. Only
the graceful-shutdown bound is shorter, so that a test with streams still open stops in
about two seconds rather than five.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import uvicorn

from ssemcp import Server
from ssemcp.http import create_app
from ssemcp.http.timeouts import DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_HEADER_TIMEOUT_SECONDS
from ssemcp.http.uvicorn_protocol import (
    DEFAULT_LINGER_SECONDS,
    DEFAULT_MAX_HEADER_BYTES,
    http_protocol,
)
from ssemcp.http.uvicorn_server import GracefulServer

__all__ = [
    "CLIENT_TIMEOUT_SECONDS",
    "GRACEFUL_SHUTDOWN_SECONDS",
    "HOST",
    "STARTUP_DEADLINE_SECONDS",
    "LiveServer",
    "ServerProcess",
    "live_app",
    "live_server",
    "serve_subprocess",
    "ssemcp_subprocess",
    "wait_until",
]

HOST: Final = "127.0.0.1"
# Starting uvicorn in-process takes milliseconds; a loaded CI machine gets ample slack, and a
# server that never starts still fails well inside pytest's 120 s per test.
STARTUP_DEADLINE_SECONDS: Final = 10.0
# A subprocess imports Python, ssemcp and the server module first: seconds, not milliseconds.
SUBPROCESS_STARTUP_DEADLINE_SECONDS: Final = 20.0
# uvicorn waits this long for open connections (SSE streams never end by themselves) before
# cancelling them. ``ssemcp serve`` waits 5 s; tests need not.
GRACEFUL_SHUTDOWN_SECONDS: Final = 2.0
# How long a stopped subprocess may take to exit before it is killed: its graceful shutdown
# (5 s, ssemcp.cli) plus margin.
SUBPROCESS_EXIT_DEADLINE_SECONDS: Final = 10.0
# What an httpx client of these tests waits for one response before it fails.
CLIENT_TIMEOUT_SECONDS: Final = 10.0
# How often a poll looks again: short against every deadline above, long against a loop turn.
POLL_INTERVAL_SECONDS: Final = 0.01
# The initialize request with which the HTTP tests open a session (as JSON for httpx).
INITIALIZE: Final = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout_seconds: float = STARTUP_DEADLINE_SECONDS,
    message: str = "condition not reached in time",
) -> None:
    """Poll ``condition`` (sync or async) until it holds; fail the test at the deadline."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        assert time.monotonic() < deadline, message
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


@dataclass
class LiveServer:
    """One uvicorn serving ``app`` in-process at ``url`` (``http://127.0.0.1:<port>``)."""

    app: Any
    url: str
    uvicorn_server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def port(self) -> int:
        return int(self.url.rpartition(":")[2])

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    def client(self, **options: Any) -> httpx.AsyncClient:
        """An httpx client for this server (enter it with ``async with``)."""
        options.setdefault("timeout", CLIENT_TIMEOUT_SECONDS)
        return httpx.AsyncClient(base_url=self.url, **options)

    async def open_connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw TCP connection to the server, for tests that cut requests at a precise byte."""
        return await asyncio.open_connection(HOST, self.port)

    async def stop(self) -> None:
        """Shut down as on SIGTERM and wait until uvicorn has finished (idempotent)."""
        self.uvicorn_server.should_exit = True
        await self.task


@contextlib.asynccontextmanager
async def live_app(
    app: Any,
    *,
    root_path: str = "",
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS,
    body_timeout_seconds: float | None = DEFAULT_BODY_TIMEOUT_SECONDS,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    keep_alive_seconds: float = 5.0,
    linger_seconds: float = DEFAULT_LINGER_SECONDS,
    graceful_shutdown_seconds: float = GRACEFUL_SHUTDOWN_SECONDS,
) -> AsyncIterator[LiveServer]:
    """Serve the ASGI ``app`` on a free 127.0.0.1 port, as ``ssemcp serve`` would.

    Args:
        app: the ASGI app (usually what ``create_app`` built).
        root_path: uvicorn's ``--root-path``.
        header_timeout_seconds: the request-head deadline (``ssemcp serve --header-timeout``).
        body_timeout_seconds: the protocol's request-body deadline (``--body-timeout``).
        max_header_bytes: the request-head size bound.
        keep_alive_seconds: how long a connection may idle between requests (uvicorn's
            ``timeout_keep_alive``, whose default is 5).
        linger_seconds: how long a connection closed mid-request waits for the client's EOF.
        graceful_shutdown_seconds: how long shutdown waits for open connections.

    Yields:
        The running server; it is stopped when the block exits, however it exits.
    """
    config = uvicorn.Config(
        app,
        host=HOST,
        port=0,  # the kernel picks a free port: no race with other tests
        lifespan="on",
        # No dictConfig of uvicorn's own: its loggers then propagate, so pytest (caplog, and
        # the report of a failed test) sees uvicorn's errors next to ours.
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        http=http_protocol(
            header_timeout_seconds=header_timeout_seconds,
            body_timeout_seconds=body_timeout_seconds,
            max_header_bytes=max_header_bytes,
            linger_seconds=linger_seconds,
        ),
        timeout_keep_alive=keep_alive_seconds,
        timeout_graceful_shutdown=graceful_shutdown_seconds,
        root_path=root_path,
    )
    # Sessions end as soon as shutdown begins. (ssemcp serve drains first: calls in flight
    # get --shutdown-grace; tests/drain runs the command to see that.)
    close_sessions = getattr(app, "close_sessions", None)
    uvicorn_server = (
        GracefulServer(config, on_shutdown=close_sessions)
        if close_sessions is not None
        else uvicorn.Server(config)
    )
    task = asyncio.create_task(uvicorn_server.serve())
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        while not uvicorn_server.started:
            assert not task.done(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start in time"
            await asyncio.sleep(POLL_INTERVAL_SECONDS)
        port = uvicorn_server.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(app, f"http://{HOST}:{port}", uvicorn_server, task)
    finally:
        uvicorn_server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def live_server(server: Server, **app_options: Any) -> AsyncIterator[LiveServer]:
    """Serve ``create_app(server, **app_options)`` with :func:`live_app`'s defaults."""
    async with live_app(create_app(server, **app_options)) as live:
        yield live


# ---------------------------------------------------------------------- a whole process


@dataclass
class ServerProcess:
    """``ssemcp serve`` running in a subprocess at ``url``; its stderr goes to ``log_path``."""

    process: asyncio.subprocess.Process
    url: str
    log_path: Path
    exit_code: int | None = field(default=None)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    def rss_bytes(self) -> int:
        """The process's resident set size now (Linux ``/proc/<pid>/status``, ``VmRSS``)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                value, unit = line.split()[1:3]
                assert unit == "kB", line
                return int(value) * 1024
        raise AssertionError(f"no VmRSS in /proc/{self.pid}/status")

    def log(self) -> str:
        """What the server has written to stderr so far."""
        return self.log_path.read_text(errors="replace")

    async def stop(self) -> int:
        """SIGTERM (uvicorn's graceful shutdown), wait; SIGKILL past the deadline. Idempotent.

        Returns:
            The exit code.
        """
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(SUBPROCESS_EXIT_DEADLINE_SECONDS):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode


def _free_port() -> int:
    # The subprocess needs a port number on its command line, so it cannot bind port 0 and
    # tell us; another process could take this one in between, which startup then reports.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def ssemcp_subprocess(
    command: str,
    *arguments: str,
    log_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[ServerProcess]:
    """Run ``python -m ssemcp COMMAND --host 127.0.0.1 --port P ARGUMENTS...`` (``serve``,
    ``bridge``).

    Ready once ``GET /healthz`` answers 200 (polled, with a deadline). Stopped with SIGTERM
    in ``finally``, killed if it does not exit in time.

    Args:
        arguments: the command's options (and, for ``bridge``, ``--`` and the child).
        log_dir: where the server's stderr is written (a file does not fill up as a pipe
            nobody reads would).
        environ: the environment (default: this process's).
    """
    port = _free_port()
    log_path = log_dir / f"ssemcp-{command}-{port}.log"
    environment = {**(os.environ if environ is None else environ), "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ssemcp",
            command,
            "--host",
            HOST,
            "--port",
            str(port),
            *arguments,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
            env=environment,
        )
    running = ServerProcess(process, f"http://{HOST}:{port}", log_path)
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:

            async def answers_health() -> bool:
                assert process.returncode is None, f"ssemcp {command} exited:\n{running.log()}"
                try:
                    response = await client.get(running.url + "/healthz")
                except httpx.TransportError:
                    return False
                return response.status_code == 200

            await wait_until(
                answers_health,
                timeout_seconds=SUBPROCESS_STARTUP_DEADLINE_SECONDS,
                message=f"ssemcp {command} did not answer /healthz in time",
            )
        yield running
    finally:
        running.exit_code = await running.stop()


@contextlib.asynccontextmanager
async def serve_subprocess(
    target: str, *arguments: str, log_dir: Path
) -> AsyncIterator[ServerProcess]:
    """Run ``python -m ssemcp serve TARGET --port P ARGUMENTS...`` on 127.0.0.1
    (:func:`ssemcp_subprocess`).

    Args:
        target: ``module:attribute`` or ``path/to/file.py:attribute``.
        arguments: more ``ssemcp serve`` options.
        log_dir: where the server's stderr is written.
    """
    async with ssemcp_subprocess("serve", target, *arguments, log_dir=log_dir) as running:
        yield running
