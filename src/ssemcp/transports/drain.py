"""Draining at shutdown: which calls are in flight, refusing new ones, cutting what is left.

Owns the record of the requests a server is serving (a :class:`Call` each, started and ended
by the transport that runs it), the drain's states (serving, draining, cut) and its counts:
how many calls finished within the grace and how many were cut, each cut one logged on one
line. It does no I/O: the transports answer a refused request (503) and a cut one (a JSON-RPC
error), and the caller (``MCPApp.drain``, the stdio transport) sets the grace and the order in
which streams end.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from typing import Final

from ssemcp.errors import InternalError
from ssemcp.jsonrpc import ErrorResponse, Invalid, Message, Request, Response, error_response

__all__ = [
    "DEFAULT_SHUTDOWN_GRACE_SECONDS",
    "Call",
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


class Call:
    """One request being served: the task that serves it, and whether the drain cut it.

    A transport starts it (:meth:`Drain.start`) as the request's handler begins and ends it
    in a ``finally``. When the handler's task is cancelled and ``is_cut`` is set, the
    cancellation is the drain's: the transport takes it back and answers the request with
    :func:`cut_replies`.
    """

    __slots__ = ("_drain", "is_cut", "request", "task")

    def __init__(self, drain: Drain, task: asyncio.Task[object], request: object) -> None:
        self._drain = drain
        self.task = task
        self.request = request
        self.is_cut = False

    def end(self) -> None:
        """The call is over (answered, failed, cancelled or cut). Idempotent."""
        self._drain._end(self)


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
        self._calls: dict[Call, None] = {}
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
        return len(self._calls)

    def start(self, request: object) -> Call:
        """Record that the current task serves ``request`` until the returned call ends.

        The transport checks :attr:`is_draining` first and refuses a new request (503)
        rather than start it; a call started while draining (a client's answer to a call in
        flight, which must pass) is tracked all the same.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            # Taken once: asyncio.current_task() without it asks get_running_loop() each time.
            loop = self._loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None
        call = Call(self, task, request)
        self._calls[call] = None
        return call

    def _end(self, call: Call) -> None:
        if self._calls.pop(call, 0) is None and self.is_draining:
            if call.is_cut:
                self.cut_count += 1
            else:
                self.finished_count += 1
            if not self._calls:
                for waiter in self._waiters:
                    _resolve(waiter)

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
        self.in_flight_at_start = len(self._calls)
        logger.info(
            "shutting down: refusing new requests; %d call(s) in flight may finish within %g s",
            len(self._calls),
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
            return not self._calls
        return await self._wait(self.grace_left(), is_grace=True)

    async def _wait(self, timeout_seconds: float, *, is_grace: bool) -> bool:
        if not self._calls:
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
        return not self._calls

    def hurry(self) -> None:
        """End the grace at once, whether its wait has begun or not (a second signal)."""
        self._is_hurried = True
        if self._grace_waiter is not None:
            _resolve(self._grace_waiter)

    def cut(self) -> int:
        """Cancel every call still in flight, each logged on one line. Returns how many."""
        self.state = DrainState.CUT
        calls = [call for call in self._calls if not call.is_cut]
        for call in calls:
            call.is_cut = True
            logger.warning(
                "shutdown: cut %s, still running after the %g s grace",
                _describe(call.request),
                self.grace_seconds,
            )
            call.task.cancel()
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
