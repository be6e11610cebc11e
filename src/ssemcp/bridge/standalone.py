"""2026-07-28 requests served by ``ssemcp bridge``: each run on a child's 2025 session.

Owns the bridge's sessionless leg (a :class:`~ssemcp.server.sessionless.ServeSessionless`):
a request is checked as ssemcp's own leg checks it (``protocol.sessionless.context_for``:
``_meta``, headers, version; ``check_param_headers``: a tool call's ``Mcp-Param-*`` headers
against the arguments the child's tool marks ``x-mcp-header``), ``server/discover`` is
answered from the child's ``initialize``, and anything else is forwarded to a child the
:class:`ChildPool` lends (one per principal, or the shared one) and its answer completed
(``bridge.modern``). A request the child makes to its
client during the call (sampling, elicitation, roots) cannot be pushed to a client without a
session: the round ends with an ``InputRequiredResult`` and the call is **held open** on the
child (``bridge.held``) under a sealed ``requestState``; the client's retry answers the child's
request and the same call goes on. Held calls are bounded in number and time; an expired one
is cancelled on its child.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from ssemcp._types import JSONObject
from ssemcp.bridge.held import DEFAULT_HOLD_SECONDS, DEFAULT_MAX_HELD_CALLS, HeldCalls
from ssemcp.bridge.modern import (
    Question,
    answer_of,
    child_params,
    completed,
    discover_of,
    held_state,
    input_required_result,
    question_of,
    server_info_of,
)
from ssemcp.bridge.upstream import Upstream
from ssemcp.errors import InternalError, InvalidParams, MethodNotFound, ProtocolError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    Response,
    error_response,
)
from ssemcp.protocol.request_context import Principal, RequestContext
from ssemcp.protocol.request_state import RequestStateKeys, binding_of
from ssemcp.protocol.sessionless import check_param_headers, context_for
from ssemcp.server.context import Send
from ssemcp.server.registry import Server

__all__ = ["ChildPool", "StandaloneRequests"]

logger = logging.getLogger(__name__)

Reply = Response | ErrorResponse
_CANCELLED = "notifications/cancelled"
_LOG = "notifications/message"


class ChildPool(Protocol):
    """Lends the child a principal's 2026-07-28 requests run on (``sessions.Bridge``)."""

    async def acquire(self, principal: Principal | None) -> Upstream:
        """The principal's child, initialized (its ``initialize_result`` set).

        Raises:
            InternalError: no child can be had (too many, or it cannot start).
        """
        ...

    def release(self, upstream: Upstream) -> None:
        """A request (or held call) that ``acquire`` lent ``upstream`` to has ended."""
        ...


def _binding(request: Request, principal: Principal | None) -> str:
    params = request.params or {}
    name = params.get("uri" if request.method == "resources/read" else "name")
    return binding_of(
        request.method, name if type(name) is str else None, params.get("arguments"), principal
    )


class _Call:
    """One request forwarded to a child: while a round waits on it, and while it is held for
    its client's answers. It is a client of its upstream of its own (``Upstream.attach``), so
    that the child's requests during it, and its ids, are its alone."""

    def __init__(
        self,
        pool: ChildPool,
        upstream: Upstream,
        request: Request,
        context: RequestContext,
        server_info: JSONObject,
    ) -> None:
        self.pool = pool
        self.upstream = upstream
        self.method = request.method
        self.context = context
        self.server_info = server_info
        # The child's questions not yet answered, in the order asked, and how many of each
        # kind it asked (their keys).
        self.questions: list[Question] = []
        self._counts: dict[str, int] = {}
        # A question this client cannot answer (-32021): the request's error.
        self.refusal: ProtocolError | None = None
        # The stream of the round being served (None while held): progress and logs go there.
        self.round_send: Send | None = None
        self._waker: asyncio.Future[None] | None = None
        self.owner = upstream.attach(self)
        forwarded = Request(request.id, request.method, child_params(request.params))
        self.task: asyncio.Task[Reply | None] = asyncio.get_running_loop().create_task(
            upstream.call(self.owner, forwarded, self.channel)
        )
        self.task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[Reply | None]) -> None:
        self.upstream.detach(self.owner)  # what the child still asks is answered with an error
        self.pool.release(self.upstream)
        self._wake()

    def _wake(self) -> None:
        waker = self._waker
        if waker is not None and not waker.done():
            waker.set_result(None)

    async def wait(self) -> None:
        """Until the call ends, or the child asks something."""
        self._waker = asyncio.get_running_loop().create_future()
        try:
            await self._waker
        finally:
            self._waker = None

    async def deliver(self, message: Message, send: Send | None) -> bool:
        """What the child sent this call (``upstream.Owner``): on the call's channel, or,
        unrelated to any call (a list change), nowhere."""
        try:
            if send is not None:
                await send(message)
            elif type(message) is Request:
                return False  # a question with no call to carry it: the child hears so
            elif type(message) is Notification and message.method == _CANCELLED:
                self._withdrawn(message)
        except Exception as exc:
            logger.debug("a bridged 2026-07-28 call could not take a message: %s", exc)
            return False
        return True

    def _withdrawn(self, notification: Notification) -> None:
        """The child gave up a question of its: it is not asked (again)."""
        request_id = (notification.params or {}).get("requestId")
        self.questions = [
            question for question in self.questions if question.child_id != request_id
        ]

    async def channel(self, message: Message) -> None:
        """Where the child's messages related to this call arrive (``Upstream.call``'s send).

        Raises:
            ProtocolError: a request of the child's that this client cannot be asked; the
                upstream answers the child with an error.
        """
        if type(message) is Request:
            if message.method == "ping":
                # No 2026-07-28 client is pinged (basic/utilities/ping is gone): we answer.
                await self.upstream.answer(self.owner, Response(message.id, {}))
                return
            try:
                self.context.check_client_request(message.method)
            except ProtocolError as exc:
                if exc.code == -32021 and self.refusal is None:
                    self.refusal = exc
                    self._wake()
                raise
            count = self._counts[message.method] = self._counts.get(message.method, 0) + 1
            self.questions.append(question_of(message, count))
            self._wake()
            return
        if type(message) is Notification and message.method == _LOG:
            # server/utilities/logging: no log message without the request's own logLevel.
            level = (message.params or {}).get("level")
            if type(level) is not str or not self.context.log_enabled(level):
                return
        send = self.round_send
        if send is not None:
            await send(message)

    async def fail_questions(self, reason: str) -> None:
        """Answer every question still open with an error, so the child does not wait."""
        questions, self.questions = self.questions, []
        for question in questions:
            await self.upstream.answer(
                self.owner, error_response(question.child_id, InternalError(reason))
            )

    def reply_for(self, request: Request) -> Reply:
        """The call's answer, under the id of the round that gets it."""
        task = self.task
        reply = None if task.cancelled() or task.exception() is not None else task.result()
        if reply is None:
            return error_response(request.id, InternalError("the bridged call was cancelled"))
        answer = completed(self.method, reply, self.server_info)
        if type(answer) is Response:
            return Response(request.id, answer.result)
        assert type(answer) is ErrorResponse
        return ErrorResponse(request.id, answer.error)


class StandaloneRequests:
    """The 2026-07-28 leg of a bridge: pass :meth:`serve` as ``create_app``'s
    ``sessionless``.

    Args:
        pool: lends each principal's child.
        max_held: calls held open for their client's answers at most; past it, a child's
            question gets an error at once (its call goes on).
        hold_seconds: how long a held call waits for its client's retry; then it is
            cancelled on the child, and the retry is told so.
        clock: wall-clock seconds (request states expire by it).
    """

    def __init__(
        self,
        pool: ChildPool,
        *,
        max_held: int = DEFAULT_MAX_HELD_CALLS,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._held: HeldCalls[_Call] = HeldCalls(max_held, hold_seconds)
        self._clock = clock
        self._expiry: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[object]] = set()

    @property
    def held_count(self) -> int:
        """Calls held open now."""
        return len(self._held)

    async def serve(
        self,
        server: Server,
        request: Request,
        headers: Mapping[bytes, bytes] | None,
        send: Send,
        principal: Principal | None = None,
    ) -> Reply:
        """Serve one request that stands alone (``ServeSessionless``); ``server`` lends only
        its request state keys."""
        method = request.method
        try:
            context = context_for(request, headers, principal)
            if method not in context.revision.client_methods:
                # basic/transports/streamable-http: an unimplemented method "MUST" get -32601.
                raise MethodNotFound(f"Method not found: {method}")
            keys = server.request_state_keys
            params = request.params or {}
            if "requestState" in params:
                call = await self._resume(request, params, keys, principal)
            else:
                upstream = await self._pool.acquire(principal)
                initialize_result = upstream.initialize_result
                assert initialize_result is not None
                if method == "server/discover":
                    self._pool.release(upstream)
                    return Response(request.id, discover_of(initialize_result, listens=True))
                if method == "tools/call" and headers is not None:
                    try:
                        await self._check_param_headers(upstream, params, headers)
                    except BaseException:
                        self._pool.release(upstream)
                        raise
                call = _Call(
                    self._pool, upstream, request, context, server_info_of(initialize_result)
                )
            return await self._round(call, request, send, keys, principal)
        except ProtocolError as exc:
            return error_response(request.id, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("internal error bridging %s", method)
            return error_response(request.id, InternalError("Internal error"))

    @staticmethod
    async def _check_param_headers(
        upstream: Upstream, params: JSONObject, headers: Mapping[bytes, bytes]
    ) -> None:
        """A tool call's ``Mcp-Param-*`` headers against the arguments the child's tool marks
        (server/tools, "x-mcp-header"), as ssemcp's own leg checks its tools'.

        Raises:
            HeaderMismatch: a header missing or disagreeing with its argument (-32020, 400).
            InternalError: the child could not list its tools.
        """
        name = params.get("name")
        if type(name) is not str:
            return  # the child's own check says what is wrong
        marks = (await upstream.tool_header_params()).get(name)
        if marks:
            check_param_headers(marks, params.get("arguments"), headers)

    async def _resume(
        self,
        request: Request,
        params: JSONObject,
        keys: RequestStateKeys,
        principal: Principal | None,
    ) -> _Call:
        """The held call a retry continues, given the client's answers.

        Raises:
            InvalidParams: a state that is not ours, not this request's, or expired; a call
                let go of or answered already; answers of the wrong shape.
        """
        now = self._clock()
        responses = params.get("inputResponses", {})
        if type(responses) is not dict:
            raise InvalidParams('Invalid params: "inputResponses" must be an object')
        state = held_state(keys.open(params["requestState"], _binding(request, principal), now))
        call = self._held.take(state.call, now)
        if call is None:
            if now >= state.held_until:
                raise InvalidParams(
                    "Invalid params: the bridged call this requestState continues waited "
                    f"{self._held.hold_seconds:g} s for its answers and was cancelled; "
                    "send the request anew"
                )
            raise InvalidParams(
                "Invalid params: the bridged call this requestState continues has been "
                "answered already, or has ended; send the request anew"
            )
        try:
            answered = [
                (question, answer)
                for question in call.questions
                if (answer := answer_of(question, responses)) is not None
            ]
        except InvalidParams:
            self._end(call, "the client's answer was malformed")
            raise
        for question, answer in answered:
            call.questions.remove(question)
            await call.upstream.answer(call.owner, Response(question.child_id, answer))
        return call

    async def _round(
        self,
        call: _Call,
        request: Request,
        send: Send,
        keys: RequestStateKeys,
        principal: Principal | None,
    ) -> Reply:
        """Wait for the call to end, or for its child to ask; the round's reply."""
        call.round_send = send
        try:
            while True:
                if call.refusal is not None:
                    self._end(call, "the client cannot answer it")
                    return error_response(request.id, call.refusal)
                if call.task.done():
                    return call.reply_for(request)
                if call.questions:
                    # Questions asked together (one read of the child's stdout) go out in one
                    # round: let those already read arrive.
                    await asyncio.sleep(0)
                    if call.task.done() or call.refusal is not None:
                        continue
                    held = self._hold(call, request, keys, principal)
                    if held is not None:
                        return held
                    await call.fail_questions(
                        f"the bridge holds {self._held.max_held} calls waiting for their "
                        "clients' answers already"
                    )
                    continue
                await call.wait()
        except asyncio.CancelledError:
            # The client closed the stream (basic/transports: cancellation): the call ends.
            self._end(call, "the client cancelled the request")
            raise
        finally:
            call.round_send = None

    def _hold(
        self,
        call: _Call,
        request: Request,
        keys: RequestStateKeys,
        principal: Principal | None,
    ) -> Response | None:
        now = self._clock()
        held = self._held.hold(call, now)
        if held is None:
            logger.warning("%d bridged calls held already: a question fails", len(self._held))
            return None
        handle, held_until = held
        state = keys.seal(
            _binding(request, principal), {"call": handle, "heldUntil": held_until}, now
        )
        self._schedule_expiry()
        return Response(
            request.id, input_required_result(list(call.questions), state, call.server_info)
        )

    def _schedule_expiry(self) -> None:
        if self._expiry is not None:
            return
        deadline = self._held.next_deadline()
        if deadline is None:
            return
        delay = max(deadline - self._clock(), 0.0)
        self._expiry = asyncio.get_running_loop().call_later(delay, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        for call in self._held.expire(self._clock()):
            logger.info(
                "a bridged %s got no answer from its client in time: cancelled", call.method
            )
            self._end(call, "the client did not answer in time")
        self._schedule_expiry()

    def _end(self, call: _Call, reason: str) -> None:
        """Cancel ``call`` on its child, after failing its open questions."""
        if call.task.done():
            return
        task = call.task

        async def ending() -> None:
            await call.fail_questions(reason)
            task.cancel()

        self._in_background(ending())

    def _in_background(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        """Cancel every held call (at shutdown)."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        for call in self._held.drain():
            self._end(call, "the bridge is shutting down")
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
