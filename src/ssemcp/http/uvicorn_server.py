"""Running the app on uvicorn: a ``uvicorn.Server`` that ends sessions when shutdown begins.

Owns the order of a clean stop. uvicorn stops accepting, waits up to
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

__all__ = ["GracefulServer", "run"]

logger = logging.getLogger(__name__)


class GracefulServer(uvicorn.Server):
    """``uvicorn.Server`` that calls ``on_shutdown`` before its graceful wait.

    Args:
        config: the uvicorn configuration.
        on_shutdown: ends every session (``MCPApp.close_sessions``); called once.
    """

    def __init__(self, config: uvicorn.Config, *, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            self._on_shutdown()
        except Exception:
            logger.exception("ending the sessions at shutdown failed")
        await super().shutdown(sockets)


class _ClosableApp(Protocol):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...

    def close_sessions(self) -> None: ...


def run(app: _ClosableApp, **config_options: Any) -> None:
    """Serve ``app`` (what ``create_app`` built) on uvicorn until a signal stops it.

    Args:
        config_options: ``uvicorn.Config`` options (host, port, http, ...).
    """
    config = uvicorn.Config(app, **config_options)
    GracefulServer(config, on_shutdown=app.close_sessions).run()
