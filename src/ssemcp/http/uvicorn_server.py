"""Running the app on uvicorn: a ``uvicorn.Server`` that drains before it stops.

Owns binding the listening sockets before uvicorn starts (so that an address in use is one
clear error, not uvicorn's start-up and shutdown around a log line), telling the caller once
it serves, and the order of a clean stop. On its own, uvicorn closes idle keep-alive
connections, waits up to ``timeout_graceful_shutdown`` for open requests, cancels the rest
(logging each with a traceback as "Exception in ASGI application"), runs the ASGI lifespan
shutdown, and then raises the signal it caught again, so that the process dies of it. Here a
signal instead stops accepting at once (the listening sockets close: a new connection is
refused) and the app drains (``MCPApp.drain``: new requests on open connections get 503, calls
in flight get up to the grace, then streams end with their last event); only then does
uvicorn's own shutdown run, with nothing left to wait for, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Generator
from types import FrameType
from typing import Any, Final, Protocol

import uvicorn

__all__ = ["GracefulServer", "ListenError", "run"]

logger = logging.getLogger(__name__)

# What uvicorn's own graceful wait allows once the drain is over: the streams' last events
# and the cut calls' errors are written by then, so this bounds only a stuck write.
AFTER_DRAIN_SECONDS: Final = 2


class ListenError(Exception):
    """The server cannot listen on its address: in use, not permitted, or no such host."""

    def __init__(self, address: str, cause: OSError) -> None:
        self.address = address
        self.errno = cause.errno
        reason = cause.strerror.lower() if cause.strerror else str(cause)
        super().__init__(f"cannot listen on {address}: {reason}")


class GracefulServer(uvicorn.Server):
    """``uvicorn.Server`` that drains before its own shutdown, and exits without raising the
    signal again.

    Args:
        config: the uvicorn configuration.
        on_shutdown: ends every session (``MCPApp.close_sessions``); called once, after the
            drain.
        on_started: called once it serves, with the port it listens on.
        begin_drain: called as soon as a signal arrives, with the listening sockets closed:
            new requests are refused from then on (``MCPApp.begin_drain``).
        drain: awaited at shutdown before anything else is closed (``MCPApp.drain`` with
            the grace); None: no drain, uvicorn's own graceful wait alone.
        hurry_drain: called on a second signal: stop waiting for calls in flight.
        close_idle_on_drain: close idle keep-alive connections as the drain begins, and each
            busy one once its response is complete (what uvicorn's own shutdown does). For a
            replica behind a load balancer: the balancer's pooled connections to it close, so
            its next requests go to another replica instead of getting 503 here (nginx does
            not retry a POST that got an answer). Alone, a server keeps them: a client's answer
            to a call in flight may have no other way in once new connections are refused.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        on_shutdown: Callable[[], None],
        on_started: Callable[[int], None] | None = None,
        begin_drain: Callable[[], None] | None = None,
        drain: Callable[[], Awaitable[None]] | None = None,
        hurry_drain: Callable[[], None] | None = None,
        close_idle_on_drain: bool = False,
    ) -> None:
        super().__init__(config)
        self._close_idle_on_drain = close_idle_on_drain
        self._on_shutdown = on_shutdown
        self._on_started = on_started
        self._begin_drain = begin_drain
        self._drain = drain
        self._hurry_drain = hurry_drain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listening_sockets: list[socket.socket] = []
        self._is_accepting = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._listening_sockets = list(sockets or [])
        await super().startup(sockets)
        if self.started and self._on_started is not None:
            self._on_started(self.servers[0].sockets[0].getsockname()[1])

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        is_second = self.should_exit
        super().handle_exit(sig, frame)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        # A signal handler runs between two bytecodes of whatever the loop was doing: the
        # work goes to the loop, at once rather than at uvicorn's next tick (0.1 s).
        if is_second:
            if self._hurry_drain is not None:
                loop.call_soon_threadsafe(self._hurry_drain)
        elif self.started:
            loop.call_soon_threadsafe(self._stop_accepting)

    def _stop_accepting(self) -> None:
        """Close the listening sockets (a new connection is refused, and a load balancer
        moves on) and begin the drain. Idempotent."""
        if not self._is_accepting:
            return
        self._is_accepting = False
        for server in self.servers:
            server.close()
        for listener in self._listening_sockets:
            listener.close()
        if self._begin_drain is not None:
            self._begin_drain()
        if self._close_idle_on_drain:
            for connection in list(self.server_state.connections):
                connection.shutdown()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._drain is not None and self.started:
            self._stop_accepting()
            try:
                await self._drain()
            except Exception:
                logger.exception("draining at shutdown failed")
        try:
            self._on_shutdown()
        except Exception:
            logger.exception("ending the sessions at shutdown failed")
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn raises the signal it caught again once it has shut down, so that the
        # process dies of it (exit status 128 + 15 for SIGTERM). A drain that ended is a
        # clean stop: the process exits 0, as supervisors expect of a requested stop.
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


class _ClosableApp(Protocol):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...

    def close_sessions(self) -> None: ...

    def begin_drain(self, grace_seconds: float) -> None: ...

    def hurry_drain(self) -> None: ...

    def drain(self, grace_seconds: float) -> Awaitable[None]: ...

    @property
    def is_replicated(self) -> bool: ...


def _display_address(host: str | None, port: int) -> str:
    host = host or "0.0.0.0"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _listen(host: str | None, port: int, backlog: int) -> list[socket.socket]:
    """Listening sockets on every address ``host`` resolves to, as asyncio's
    ``create_server`` would bind them ("localhost": 127.0.0.1 and ::1; "": every interface).

    Raises:
        ListenError: ``host`` does not resolve, or an address cannot be bound.
    """
    address = _display_address(host, port)
    try:
        resolved = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise ListenError(address, exc) from None
    listeners: list[socket.socket] = []
    try:
        for family, kind, protocol, _name, socket_address in dict.fromkeys(resolved):
            try:
                listener = socket.socket(family, kind, protocol)
            except OSError:
                continue  # a family this machine lacks (IPv6 off), as asyncio skips it
            listeners.append(listener)
            # As asyncio: restartable at once despite TIME_WAIT; IPv6 sockets take no IPv4.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            listener.bind(socket_address)
            # Listening now, not when uvicorn starts: a bound socket that does not listen
            # leaves the port to another SO_REUSEADDR socket.
            listener.listen(backlog)
    except OSError as exc:
        for listener in listeners:
            listener.close()
        raise ListenError(address, exc) from None
    if not listeners:
        raise ListenError(address, OSError(f"no usable address for {host!r}"))
    return listeners


def run(
    app: _ClosableApp,
    *,
    shutdown_grace_seconds: float,
    on_started: Callable[[int], None] | None = None,
    **config_options: Any,
) -> None:
    """Serve ``app`` (what ``create_app`` built) on uvicorn until a signal stops it.

    Args:
        shutdown_grace_seconds: how long calls in flight may finish after SIGTERM or SIGINT
            (a second signal cuts them at once).
        on_started: called once the sockets listen and uvicorn serves, with the port.
        config_options: ``uvicorn.Config`` options (host, port, http, ...).

    Raises:
        ListenError: the host and port cannot be listened on; nothing was started.
    """
    config = uvicorn.Config(app, timeout_graceful_shutdown=AFTER_DRAIN_SECONDS, **config_options)
    sockets = _listen(config.host, config.port, config.backlog)
    server = GracefulServer(
        config,
        on_shutdown=app.close_sessions,
        on_started=on_started,
        begin_drain=lambda: app.begin_drain(shutdown_grace_seconds),
        drain=lambda: app.drain(shutdown_grace_seconds),
        hurry_drain=app.hurry_drain,
        close_idle_on_drain=app.is_replicated,
    )
    server.run(sockets=sockets)
