"""``Bridge``: the session factory that hosts a stdio MCP server behind ssemcp's transports.

Owns which child each session talks to (a child of its own, started at its ``initialize``, or
one shared child with ``shared``), the bound on live children (past it a new session gets
503), ending children when their session ends and at shutdown, and the environment they run
in (``ssemcp.bridge.child.child_environment``). Pass :meth:`Bridge.connect` as ``sessions`` to
:func:`ssemcp.http.create_app`, and register :meth:`Bridge.aclose` as a cleanup of the app's
server (``ssemcp bridge`` does both).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from ssemcp.bridge.child import Child, child_environment
from ssemcp.bridge.relay import Relay
from ssemcp.bridge.restart import RestartPolicy
from ssemcp.bridge.upstream import (
    DEFAULT_CHILD_TIMEOUT_SECONDS,
    DEFAULT_STARTUP_TIMEOUT_SECONDS,
    Upstream,
)
from ssemcp.jsonrpc import Message
from ssemcp.protocol.request_context import Principal
from ssemcp.server.context import Send
from ssemcp.server.hosted import SessionRefused
from ssemcp.transports.stdio import DEFAULT_MAX_LINE_BYTES

__all__ = ["DEFAULT_MAX_CHILDREN", "Bridge"]

logger = logging.getLogger(__name__)

# A child is a whole process (tens of MiB for a Node or Python server): a few dozen fit on a
# small machine, and a client that opens more sessions than that at once is unusual.
DEFAULT_MAX_CHILDREN: Final = 32


class Bridge:
    """Hosts ``command`` (a stdio MCP server) for every session of an ssemcp app.

    Args:
        command: the program and its arguments (run without a shell).
        shared: one child for every session, instead of one each.
        max_children: live children at most (one per session unless ``shared``).
        child_timeout_seconds: how long a waiting request lets its child say nothing before
            it fails and the child is restarted.
        startup_timeout_seconds: the same bound until a child has written its first line.
        restart_policy: how often, and how soon, a dead child is started again.
        environ: the environment children inherit, less the bridge's secrets.
        max_line_bytes: the longest line a child may write.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        shared: bool = False,
        max_children: int = DEFAULT_MAX_CHILDREN,
        child_timeout_seconds: float = DEFAULT_CHILD_TIMEOUT_SECONDS,
        startup_timeout_seconds: float = DEFAULT_STARTUP_TIMEOUT_SECONDS,
        restart_policy: RestartPolicy | None = None,
        environ: Mapping[str, str] | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        if not command:
            raise ValueError("the bridge needs a command to run")
        if max_children < 1:
            raise ValueError("max_children must be 1 or more")
        self.command = tuple(command)
        self.shared = shared
        self.max_children = max_children
        self._child_timeout_seconds = child_timeout_seconds
        self._startup_timeout_seconds = startup_timeout_seconds
        self._restart_policy = restart_policy or RestartPolicy()
        self._env = child_environment(os.environ if environ is None else environ)
        self._max_line_bytes = max_line_bytes
        self._shared: Upstream | None = None
        # Upstreams of live sessions (one each unless shared); and those being ended.
        self._upstreams: dict[Upstream, None] = {}
        self._closing: set[asyncio.Task[None]] = set()
        # Every child started and not yet reaped, for shutdown (and tests) to see.
        self.children: dict[Child, None] = {}

    def _upstream(self, label: str) -> Upstream:
        return Upstream(
            self.command,
            env=self._env,
            label=label,
            child_timeout_seconds=self._child_timeout_seconds,
            startup_timeout_seconds=self._startup_timeout_seconds,
            restart_policy=self._restart_policy,
            max_line_bytes=self._max_line_bytes,
            on_start=self._started,
        )

    def _started(self, child: Child) -> None:
        self.children[child] = None
        child.exited.add_done_callback(lambda _: self.children.pop(child, None))

    def connect(
        self,
        send: Send,
        *,
        send_nowait: Callable[[Message], bool] | None = None,
        principal: Principal | None = None,
        session_id: str = "",
    ) -> Relay:
        """The relay of a new session (a :class:`~ssemcp.server.hosted.SessionFactory`).

        Raises:
            SessionRefused: ``max_children`` sessions have a child already.
        """
        if self.shared:
            if self._shared is None:
                self._shared = self._upstream("shared")
                self._upstreams[self._shared] = None
            return Relay(self._shared, send)
        if len(self._upstreams) >= self.max_children:
            raise SessionRefused(
                f"all {self.max_children} bridged server processes are in use; retry later"
            )
        label = session_id[:6] + "…" if session_id else "-"
        upstream = self._upstream(label)
        self._upstreams[upstream] = None
        return Relay(upstream, send, on_close=self._session_ended)

    def _session_ended(self, relay: Relay) -> None:
        upstream = relay.upstream
        if upstream in self._upstreams:
            del self._upstreams[upstream]
            task = asyncio.get_running_loop().create_task(upstream.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @property
    def session_child_count(self) -> int:
        """Sessions holding a child slot now."""
        return len(self._upstreams)

    async def aclose(self) -> None:
        """End every child and wait until each is reaped (at shutdown). Idempotent."""
        upstreams = list(self._upstreams)
        self._upstreams.clear()
        self._shared = None
        await asyncio.gather(
            *(upstream.close() for upstream in upstreams), *self._closing, return_exceptions=True
        )
        if self.children:
            await asyncio.gather(
                *(child.terminate() for child in list(self.children)), return_exceptions=True
            )
