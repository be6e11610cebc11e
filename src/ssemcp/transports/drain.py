"""Draining at shutdown: which calls are in flight, refusing new ones, cutting what is left.

Owns the record of the requests a server is serving (the task of each, with what it serves,
added and removed by the transport that runs it), the drain's states (serving, draining, cut)
and its counts: how many calls finished within the grace and how many were cut, each cut one
logged on one line. It does no I/O: the transports answer a refused request (503) and a cut
one (a JSON-RPC error), and the caller (``MCPApp.drain``, the stdio transport) sets the grace
and the order in which streams end.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from typing import Any, Final

from ssemcp.errors import InternalError
from ssemcp.jsonrpc import ErrorResponse, Invalid, Message, Request, Response, error_response

__all__ = [
    "DEFAULT_SHUTDOWN_GRACE_SECONDS",
    "Drain",
    "DrainState",
    "cut_error",
    "cut_replies",
]

logger = logging.getLogger(__name__)

# How long in-flight calls may finish once shutdown begins (SIGTERM, or stdin's end) before
# they are cut. uvicorn's own graceful wait was 5 s, and so was stdio's: kept, so that a
# supervisor's usual stop timeout (systemd's 90 s, Kubernetes' 30 s) stays well above it.
DEFAULT_SHUTDOWN_GRACE_SECONDS: Final = 5.0


class DrainState(enum.Enum):
    """Where a drain is; it only moves forward."""

    SERVING = "serving"  # calls start and end as usual
    DRAINING = "draining"  # no new call starts; those in flight may finish
    CUT = "cut"  # the grace is over: what was still running has been cancelled


def _describe(request: object) -> str:
    """``tools/call slow (id 7)``: what a cut call's log line names (never its arguments)."""
    if type(request) is list:
        requests = [item for item in request if type(item) is Request]
        return f"a batch of {len(requests)} request(s)"
    if type(request) is not Request:
        return "a request"
    params = request.params
    name = params.get("name") if request.method == "tools/call" and type(params) is dict else None
    what = f"{request.method} {name}" if isinstance(name, str) else request.method
    return f"{what[:100]} (id {request.id!r})"


def cut_error(grace_seconds: float) -> InternalError:
    """What a cut call's client is told. JSON-RPC 2.0 section 5: a request "MUST" get a
    response; -32603 (internal error) is the server's own failure to finish it."""
    return InternalError(
        f"the server shut down before this request finished (cut after the "
        f"{grace_seconds:g} s shutdown grace)"
    )


def cut_replies(
    payload: Message | Invalid | list[Message | Invalid], grace_seconds: float
) -> ErrorResponse | list[Response | ErrorResponse] | None:
    """The replies to a cut call: an error for each request its payload carried."""
    error = cut_error(grace_seconds)
    if type(payload) is Request:
        return error_response(payload.id, error)
    if type(payload) is list:
        return [error_response(item.id, error) for item in payload if type(item) is Request]
    return None


class Drain:
    """The calls in flight in one server (every transport of an app shares one), and the
    drain of them at shutdown.

    Args:
        grace_seconds: how long calls in flight may finish once the drain begins; what is
            still running then is cut. Only reported here: the caller waits
            (:meth:`wait`).
    """

    def __init__(self, grace_seconds: float = DEFAULT_SHUTDOWN_GRACE_SECONDS) -> None:
        if grace_seconds < 0:
            raise ValueError("grace_seconds must be 0 or more")
        self.grace_seconds = grace_seconds
        self.state = DrainState.SERVING
        # A plain attribute, read on every request: True from begin() on.
        self.is_draining = False
        # The task serving each call in flight, and what it serves (for the log line of a
        # cut). A transport's hot path adds to and removes from it inline (a dict store and
        # pop: no call of ours per request), then calls ended() only while draining.
        self.calls: dict[asyncio.Task[Any], object] = {}
        self._cut: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Who waits for the calls to end; the grace's own wait is also ended by hurry().
        self._waiters: list[asyncio.Future[None]] = []
        self._grace_waiter: asyncio.Future[None] | None = None
        # A second signal came: no more waiting for the grace, even if its wait has not
        # begun yet.
        self._is_hurried = False
        self.in_flight_at_start = 0
        self._began_at: float | None = None
        self.finished_count = 0
        self.cut_count = 0

    @property
    def in_flight(self) -> int:
        """Calls running now."""
        return len(self.calls)

    def start(self, request: object) -> asyncio.Task[Any]:
        """Record that the current task serves ``request``; :meth:`end` it when it is over.

        (A hot path does the same inline: ``calls[task] = request``, then ``calls.pop``.)
        The transport checks :attr:`is_draining` first and refuses a new request (503)
        rather than start it.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            # Taken once: asyncio.current_task() without it asks get_running_loop() each time.
            loop = self._loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None
        self.calls[task] = request
        return task

    def end(self, task: asyncio.Task[Any]) -> None:
        """The call ``task`` served is over (answered, failed, cancelled or cut). Idempotent."""
        if self.calls.pop(task, None) is not None and self.is_draining:
            self.ended(task)

    def ended(self, task: asyncio.Task[Any]) -> None:
        """While draining: ``task``'s call is over and out of :attr:`calls`; count it, and
        end the waits once no call is left."""
        if task in self._cut:
            self.cut_count += 1
        else:
            self.finished_count += 1
        if not self.calls:
            for waiter in self._waiters:
                _resolve(waiter)

    def was_cut(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether the drain cancelled ``task`` (then its transport answers with an error)."""
        return task in self._cut

    def begin(self) -> bool:
        """Stop starting calls: from now on new requests are refused. Idempotent.

        Returns:
            Whether this call began the drain.
        """
        if self.is_draining:
            return False
        self.is_draining = True
        self.state = DrainState.DRAINING
        self._began_at = time.monotonic()
        self.in_flight_at_start = len(self.calls)
        # Said at INFO only when there is something to wait for: a stdio server ends with
        # every session of its desktop client, and its log should not grow by it.
        logger.log(
            logging.INFO if self.calls else logging.DEBUG,
            "shutting down: refusing new requests; %d call(s) in flight may finish within %g s",
            len(self.calls),
            self.grace_seconds,
        )
        return True

    def grace_left(self) -> float:
        """Seconds of the grace left, counted from :meth:`begin` (the signal), not from
        when the caller gets round to waiting."""
        if self._began_at is None:
            return self.grace_seconds
        return max(0.0, self._began_at + self.grace_seconds - time.monotonic())

    async def wait(self, timeout_seconds: float) -> bool:
        """Wait until no call is in flight or ``timeout_seconds`` pass. Returns whether no
        call is in flight."""
        return await self._wait(timeout_seconds, is_grace=False)

    async def wait_for_grace(self) -> bool:
        """Wait until no call is in flight, the grace (:meth:`grace_left`) is over, or
        :meth:`hurry` is called. Returns whether no call is in flight."""
        if self._is_hurried:
            return not self.calls
        return await self._wait(self.grace_left(), is_grace=True)

    async def _wait(self, timeout_seconds: float, *, is_grace: bool) -> bool:
        if not self.calls:
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        if is_grace:
            self._grace_waiter = waiter
        timer = loop.call_later(timeout_seconds, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.remove(waiter)
            if self._grace_waiter is waiter:
                self._grace_waiter = None
        return not self.calls

    def hurry(self) -> None:
        """End the grace at once, whether its wait has begun or not (a second signal)."""
        self._is_hurried = True
        if self._grace_waiter is not None:
            _resolve(self._grace_waiter)

    def cut(self) -> int:
        """Cancel every call still in flight, each logged on one line. Returns how many."""
        self.state = DrainState.CUT
        calls = [(task, request) for task, request in self.calls.items() if task not in self._cut]
        for task, request in calls:
            self._cut.add(task)
            logger.warning(
                "shutdown: cut %s, still running after the %g s grace",
                _describe(request),
                self.grace_seconds,
            )
            task.cancel()
        return len(calls)

    def summary(self) -> str:
        """The drain's last log line: how many calls finished and how many were cut."""
        return (
            f"drained: {self.finished_count} call(s) finished, {self.cut_count} cut "
            f"(grace {self.grace_seconds:g} s)"
        )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
