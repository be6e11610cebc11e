"""Running the app on uvicorn: a ``uvicorn.Server`` that ends sessions when shutdown begins.

Owns binding the listening sockets before uvicorn starts (so that an address in use is one
clear error, not uvicorn's start-up and shutdown around a log line), telling the caller once
it serves, and the order of a clean stop. uvicorn stops accepting, waits up to
``timeout_graceful_shutdown`` for open requests, cancels the rest (logging each with a
traceback as "Exception in ASGI application"), and only then runs the ASGI lifespan shutdown.
An MCP server always has open requests at that point: GET streams, legacy SSE streams, SSE
replies of running tools. Ending every session first makes them all finish on their own, at
once, so the wait is short and nothing is cancelled from outside.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any, Protocol

import uvicorn

__all__ = ["GracefulServer", "ListenError", "run"]

logger = logging.getLogger(__name__)


class ListenError(Exception):
    """The server cannot listen on its address: in use, not permitted, or no such host."""

    def __init__(self, address: str, cause: OSError) -> None:
        self.address = address
        self.errno = cause.errno
        reason = cause.strerror.lower() if cause.strerror else str(cause)
        super().__init__(f"cannot listen on {address}: {reason}")


class GracefulServer(uvicorn.Server):
    """``uvicorn.Server`` that calls ``on_shutdown`` before its graceful wait.

    Args:
        config: the uvicorn configuration.
        on_shutdown: ends every session (``MCPApp.close_sessions``); called once.
        on_started: called once it serves, with the port it listens on.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        on_shutdown: Callable[[], None],
        on_started: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_started is not None:
            self._on_started(self.servers[0].sockets[0].getsockname()[1])

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            self._on_shutdown()
        except Exception:
            logger.exception("ending the sessions at shutdown failed")
        await super().shutdown(sockets)


class _ClosableApp(Protocol):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...

    def close_sessions(self) -> None: ...


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
    on_started: Callable[[int], None] | None = None,
    **config_options: Any,
) -> None:
    """Serve ``app`` (what ``create_app`` built) on uvicorn until a signal stops it.

    Args:
        on_started: called once the sockets listen and uvicorn serves, with the port.
        config_options: ``uvicorn.Config`` options (host, port, http, ...).

    Raises:
        ListenError: the host and port cannot be listened on; nothing was started.
    """
    config = uvicorn.Config(app, **config_options)
    sockets = _listen(config.host, config.port, config.backlog)
    server = GracefulServer(config, on_shutdown=app.close_sessions, on_started=on_started)
    server.run(sockets=sockets)
