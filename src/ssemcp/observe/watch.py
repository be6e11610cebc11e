"""Timing a dispatched request and recording how it ended: the :class:`~ssemcp.observe._hook.
Watcher` that ``ssemcp.server.dispatch`` finds.

Owns the one coroutine frame a watched request gains: two clock reads, the outcome, the
counters (``ssemcp.observe.calls``) and, when an access log is kept, the request's record for
it (``ssemcp.observe.access_log`` says where its line goes). It never changes the result or
the exception the request ends with.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Final

from ssemcp._types import JSONObject
from ssemcp.errors import ProtocolError
from ssemcp.jsonrpc import Request
from ssemcp.observe.calls import (
    CANCELLED,
    ERROR,
    INPUT_REQUIRED,
    MAX_PENDING,
    NAME_KEYS,
    OK,
    TOOL_ERROR,
    CallRecord,
    CallStats,
)
from ssemcp.protocol.request_context import RequestContext
from ssemcp.server.context import InputRequired

if TYPE_CHECKING:
    from ssemcp.server.registry import Server

__all__ = ["CallWatcher", "call_record", "metric_name"]

_NO_PARAMS: Final[JSONObject] = {}
_perf_counter: Final = time.perf_counter
# The code of an unexpected exception: dispatch's callers answer it with an internal error.
_INTERNAL_ERROR_CODE = -32603


def metric_name(server: Server, request: Request) -> str:
    """The ``name`` label of a request: its tool's or prompt's name when the server has one
    by that name, else "". Names a client made up never become labels (each label value is a
    time series the scraper keeps)."""
    method = request.method
    if method == "tools/call":
        registered: object = server.tools
    elif method == "prompts/get":
        registered = server.prompts
    else:
        return ""
    name = (request.params or {}).get("name")
    if type(name) is str and name in registered:  # type: ignore[operator]
        return name
    return ""


def call_record(
    request: Request,
    context: RequestContext,
    outcome: str,
    code: int | None,
    duration_seconds: float,
    log_arguments: bool,
) -> CallRecord:
    """What the access log shows of one request."""
    params = request.params or {}
    key = NAME_KEYS.get(request.method)
    name: object = None
    if key is not None:
        name = params.get("uri" if key == "resource" else "name")
    principal = context.principal
    return CallRecord(
        request.method,
        name if type(name) is str else None,
        request.id,
        principal.subject if principal is not None else None,
        outcome,
        code,
        duration_seconds,
        params.get("arguments") if log_arguments else None,
    )


class CallWatcher:
    """Watches requests: counts each in ``stats`` (None: no metrics) and hands its record to
    :meth:`finished` when an access log is kept (``keeps_log``).

    Args:
        stats: the app's counters, or None.
        log_arguments: records carry the request's arguments.
    """

    __slots__ = ("keeps_log", "last_served", "log_arguments", "stats")

    def __init__(self, stats: CallStats | None, log_arguments: bool = False) -> None:
        self.stats = stats
        self.log_arguments = log_arguments
        self.keeps_log = False
        self.last_served: Request | None = None

    async def observe(
        self,
        pending: Awaitable[JSONObject],
        server: Server,
        request: Request,
        context: RequestContext,
    ) -> JSONObject:
        started = _perf_counter()
        outcome = CANCELLED
        code: int | None = None
        try:
            result = await pending
            outcome = TOOL_ERROR if result.get("isError") is True else OK
            return result
        except ProtocolError as exc:
            outcome = ERROR
            code = exc.code
            raise
        except InputRequired:
            outcome = INPUT_REQUIRED
            raise
        except asyncio.CancelledError:
            raise
        except Exception:
            outcome = ERROR
            code = _INTERNAL_ERROR_CODE
            raise
        finally:
            duration_seconds = _perf_counter() - started
            self.last_served = request
            stats = self.stats
            if stats is not None:
                # CallStats.record, inline: this runs on every request (bench scenario a). A
                # tools/call's durations are found by its name alone, which also says the
                # name is the server's (only those get a list: metric_name says why).
                method = request.method
                durations = None
                if method == "tools/call":
                    try:  # noqa: SIM105 (contextlib.suppress costs a context manager a call)
                        durations = stats.tool_durations.get(
                            (request.params or _NO_PARAMS).get("name")  # type: ignore[arg-type]
                        )
                    except TypeError:
                        pass  # a name that is no string (the request got -32602)
                if durations is None:
                    durations = stats.durations_of(method, metric_name(server, request))
                durations.append(duration_seconds)
                if outcome is not OK:
                    stats.count_outcome(method, metric_name(server, request), outcome)
                if len(durations) >= MAX_PENDING:
                    stats.fold()
            if self.keeps_log:
                self.finished(
                    call_record(
                        request, context, outcome, code, duration_seconds, self.log_arguments
                    )
                )

    def answered(
        self, server: Server, request: Request, context: RequestContext, code: int | None
    ) -> None:
        outcome = OK if code is None else ERROR
        self._count(request.method, metric_name(server, request), outcome, 0.0)
        if self.keeps_log:
            self.finished(call_record(request, context, outcome, code, 0.0, self.log_arguments))

    def refused(
        self, server: Server | None, request: Request | None, context: RequestContext, code: int
    ) -> None:
        if request is None:
            # No method to name it by: counted (and logged) under the method "".
            self._count("", "", ERROR, 0.0)
            if self.keeps_log:
                principal = context.principal
                self.finished(
                    CallRecord(
                        "",
                        None,
                        None,
                        principal.subject if principal is not None else None,
                        ERROR,
                        code,
                        0.0,
                    )
                )
            return
        name = metric_name(server, request) if server is not None else ""
        self._count(request.method, name, ERROR, 0.0)
        if self.keeps_log:
            self.finished(call_record(request, context, ERROR, code, 0.0, self.log_arguments))

    def listened(self, server: Server, request: Request, record: CallRecord) -> None:
        self._count(request.method, "", record.outcome, record.duration_seconds)
        if self.keeps_log:
            self.finished(record)

    def _count(self, method: str, name: str, outcome: str, duration_seconds: float) -> None:
        stats = self.stats
        if stats is not None:
            stats.record(method, name, outcome, duration_seconds)

    def finished(self, record: CallRecord) -> None:
        """A request ended; what its record becomes is the subclass's (a log line)."""
