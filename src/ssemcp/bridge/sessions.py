"""``Bridge``: the session factory that hosts a stdio MCP server behind ssemcp's transports.

Owns which child each session talks to (a child of its own, started at its ``initialize``, or
one shared child with ``shared``), which child a 2026-07-28 request (no session) runs on (its
principal's: one child per authenticated subject, one for every anonymous client, ended after
``idle_seconds`` unused; or the shared one), the bound on live children (past it a new session
gets 503), ending children when their session ends and at shutdown, and the environment they
run in (``ssemcp.bridge.child.child_environment``). Pass :meth:`Bridge.connect` as
``sessions``, :meth:`Bridge.serve_sessionless` as ``sessionless`` and :meth:`Bridge.open_listen`
as ``listen`` to :func:`ssemcp.http.create_app`, and register :meth:`Bridge.aclose` as a
cleanup of the app's server (``ssemcp bridge`` does all four).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final

from ssemcp.bridge.child import Child, child_environment
from ssemcp.bridge.held import DEFAULT_HOLD_SECONDS, DEFAULT_MAX_HELD_CALLS
from ssemcp.bridge.modern import child_initialize_params
from ssemcp.bridge.relay import Relay
from ssemcp.bridge.restart import RestartPolicy
from ssemcp.bridge.standalone import StandaloneRequests
from ssemcp.bridge.subscriptions import ChildSubscription, open_child_listen
from ssemcp.bridge.upstream import (
    DEFAULT_CHILD_TIMEOUT_SECONDS,
    DEFAULT_STARTUP_TIMEOUT_SECONDS,
    Upstream,
)
from ssemcp.errors import InternalError
from ssemcp.jsonrpc import ErrorResponse, Message, Request
from ssemcp.protocol.request_context import Principal
from ssemcp.server.context import Send
from ssemcp.server.hosted import SessionRefused
from ssemcp.server.registry import Server
from ssemcp.transports.stdio import DEFAULT_MAX_LINE_BYTES

__all__ = ["DEFAULT_IDLE_CHILD_SECONDS", "DEFAULT_MAX_CHILDREN", "Bridge"]

logger = logging.getLogger(__name__)

# A child is a whole process (tens of MiB for a Node or Python server): a few dozen fit on a
# small machine, and a client that opens more sessions than that at once is unusual.
DEFAULT_MAX_CHILDREN: Final = 32
# How long a principal's child for 2026-07-28 requests outlives its last request: as long as
# an idle session lives (the transports' default), since it stands in for one.
DEFAULT_IDLE_CHILD_SECONDS: Final = 1800.0


class _PrincipalChild:
    """The child of one principal's 2026-07-28 requests: how many use it, and the timer that
    ends it once nobody has for ``idle_seconds``."""

    __slots__ = ("idle_timer", "key", "upstream", "users")

    def __init__(self, key: tuple[str | None, str] | None, upstream: Upstream) -> None:
        self.key = key
        self.upstream = upstream
        self.users = 0
        self.idle_timer: asyncio.TimerHandle | None = None


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
        idle_seconds: how long a principal's child (2026-07-28) outlives its last request.
        max_held_calls: 2026-07-28 calls held open for their client's answers at most.
        hold_seconds: how long such a call waits for its client's retry.
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
        idle_seconds: float = DEFAULT_IDLE_CHILD_SECONDS,
        max_held_calls: int = DEFAULT_MAX_HELD_CALLS,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
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
        # 2026-07-28: each principal's child (None: anonymous clients), and the leg itself.
        self._idle_seconds = idle_seconds
        self._principal_children: dict[tuple[str | None, str] | None, _PrincipalChild] = {}
        self._by_upstream: dict[Upstream, _PrincipalChild] = {}
        self.standalone = StandaloneRequests(
            self, max_held=max_held_calls, hold_seconds=hold_seconds
        )
        self.serve_sessionless = self.standalone.serve

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

    async def acquire(self, principal: Principal | None) -> Upstream:
        """The child a principal's 2026-07-28 request runs on, initialized by the bridge if no
        session has (``standalone.ChildPool``). Per the bridge's promise that one client's
        state never leaks into another's, a child serves one principal: without a session,
        the principal is what tells clients apart (anonymous clients are one principal).

        Raises:
            InternalError: ``max_children`` children are live, or the child cannot start.
        """
        if self.shared:
            if self._shared is None:
                self._shared = self._upstream("shared")
                self._upstreams[self._shared] = None
            upstream = self._shared
        else:
            key = None if principal is None else (principal.issuer, principal.subject)
            entry = self._principal_children.get(key)
            if entry is None:
                if len(self._upstreams) >= self.max_children:
                    raise InternalError(
                        f"all {self.max_children} bridged server processes are in use; retry later"
                    )
                upstream = self._upstream("2026:" + ("-" if principal is None else "principal"))
                entry = _PrincipalChild(key, upstream)
                self._upstreams[upstream] = None
                self._principal_children[key] = entry
                self._by_upstream[upstream] = entry
            entry.users += 1
            if entry.idle_timer is not None:
                entry.idle_timer.cancel()
                entry.idle_timer = None
            upstream = entry.upstream
        try:
            await upstream.handshake(child_initialize_params())
        except BaseException:
            self.release(upstream)
            raise
        return upstream

    def release(self, upstream: Upstream) -> None:
        """A 2026-07-28 request (or held call) on ``upstream`` has ended."""
        entry = self._by_upstream.get(upstream)
        if entry is None:
            return  # the shared child, or one already ended
        entry.users -= 1
        if entry.users == 0 and entry.idle_timer is None:
            entry.idle_timer = asyncio.get_running_loop().call_later(
                self._idle_seconds, self._end_principal_child, entry
            )

    def _end_principal_child(self, entry: _PrincipalChild) -> None:
        entry.idle_timer = None
        if entry.users or self._by_upstream.get(entry.upstream) is not entry:
            return  # in use again, or let go of already (shutdown)
        del self._principal_children[entry.key]
        del self._by_upstream[entry.upstream]
        self._upstreams.pop(entry.upstream, None)
        task = asyncio.get_running_loop().create_task(entry.upstream.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def open_listen(
        self,
        server: Server,
        request: Request,
        headers: Mapping[bytes, bytes] | None,
        principal: Principal | None,
    ) -> Awaitable[ChildSubscription | ErrorResponse]:
        """A 2026-07-28 ``subscriptions/listen`` on its principal's child (an
        ``OpenListen``: pass it as ``create_app``'s ``listen``)."""
        return open_child_listen(self, server, request, headers, principal)

    @property
    def principal_child_count(self) -> int:
        """Principals whose 2026-07-28 requests have a child now."""
        return len(self._principal_children)

    @property
    def session_child_count(self) -> int:
        """Sessions holding a child slot now."""
        return len(self._upstreams)

    async def aclose(self) -> None:
        """End every child and wait until each is reaped (at shutdown). Idempotent."""
        await self.standalone.aclose()
        for entry in self._principal_children.values():
            if entry.idle_timer is not None:
                entry.idle_timer.cancel()
        self._principal_children.clear()
        self._by_upstream.clear()
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
