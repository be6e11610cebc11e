"""``Translator``: a 2025 local client's session relayed to a server that speaks only
2026-07-28, as that server's requests.

Owns the I/O of the translation: the ``server/discover`` probe, the local ``initialize``
answered from it, each local request sent as a 2026-07-28 one with the session's ``_meta``
(ids unchanged) and its result turned back, an ``InputRequiredResult`` asked of the local
client as requests of the server (elicitation, sampling, roots) whose answers go back in the
retry with its ``requestState``, the methods 2026-07-28 removed answered here, and one
``subscriptions/listen`` stream for what the session hears unasked (list changes, the
resources it subscribed to). A tool call carries the ``Mcp-Param-*`` headers of the
arguments the tool marks ``x-mcp-header`` (server/tools), known from the server's own
``tools/list``, asked once and again after ``notifications/tools/list_changed``. The rules are
``connect._modern``'s; HTTP is ``RawSession``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ssemcp._types import JSONObject
from ssemcp.client._errors import ClientError, RemoteError
from ssemcp.client._protocol import (
    MAX_INPUT_ROUNDS,
    ProbeVerdict,
    input_requests_of,
    modern_params,
    param_headers,
    probe_verdict,
    retry_params,
)
from ssemcp.client._raw import FailureHandler, MessageHandler, RawSession
from ssemcp.connect._modern import (
    LOCAL_METHODS,
    LocalSession,
    initialize_result_of,
    listed_tool_marks,
    listen_params,
    local_notification,
    local_result,
    needs_translation,
)
from ssemcp.errors import ProtocolError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    error_response,
)
from ssemcp.protocol.sessionless import HeaderParam

__all__ = ["Translator"]

logger = logging.getLogger(__name__)

_DISCOVER_ID: Final = "ssemcp-connect-discover"
_QUESTION_ID_PREFIX: Final = "ssemcp-connect-q"
_LISTEN_ID_PREFIX: Final = "ssemcp-connect-listen-"
_TOOLS_ID_PREFIX: Final = "ssemcp-connect-tools-"
_TOOLS_LIST_CHANGED: Final = "notifications/tools/list_changed"
# The notifications of a request's own stream that a 2025 session gets as they are.
_REQUEST_NOTIFICATIONS: Final = frozenset({"notifications/progress", "notifications/message"})
_ACKNOWLEDGED: Final = "notifications/subscriptions/acknowledged"

SessionMaker = Callable[[MessageHandler, FailureHandler], RawSession]


def _key(request_id: RequestId) -> tuple[type, RequestId]:
    return (type(request_id), request_id)


@dataclass
class _Call:
    """A local request on its way through the remote's rounds (basic/patterns/mrtr)."""

    request: Request  # as last sent, with its _meta (and, on a retry, the answers)
    # Its Mcp-Param-* headers (a tool call's): every round carries them.
    headers: dict[str, str] | None = None
    rounds: int = 0
    # The InputRequiredResult being answered; each question's key by its local request id,
    # and the answers gathered so far.
    asked: JSONObject | None = None
    pending: dict[str, str] = field(default_factory=dict)
    answers: JSONObject = field(default_factory=dict)


class Translator:
    """One local session translated into 2026-07-28 requests.

    Args:
        make_session: makes the remote connection (a ``RawSession`` for ``"2026"``), given
            where its messages and failures go.
        send_local: writes a message to the local client.
        fail_local: tells the local client a request of its will not be answered, and why.
        timeout_seconds: how long the ``server/discover`` probe may take.
    """

    def __init__(
        self,
        make_session: SessionMaker,
        *,
        send_local: Callable[[Message], None],
        fail_local: Callable[[RequestId, ClientError], None],
        timeout_seconds: float,
    ) -> None:
        self._session = make_session(self._on_message, self._on_failure)
        self._send_local = send_local
        self._fail_local = fail_local
        self._timeout_seconds = timeout_seconds
        self._discover: JSONObject | None = None
        self._probe: asyncio.Future[Response | ErrorResponse] | None = None
        self._local = LocalSession()
        self._calls: dict[tuple[type, RequestId], _Call] = {}
        self._questions: dict[tuple[type, RequestId], tuple[RequestId, str]] = {}
        self._question_ids = itertools.count(1)
        self._listen_ids = itertools.count(1)
        self._listen_id: str | None = None
        # Each tool's x-mcp-header arguments, from the server's tools/list (None: not known,
        # or changed since); the bridge's own tools/list requests waiting for their answers.
        self._header_params: dict[str, tuple[HeaderParam, ...]] | None = None
        self._tool_list_changes = 0
        self._listing = asyncio.Lock()
        self._own: dict[str, asyncio.Future[Response | ErrorResponse | None]] = {}
        self._own_ids = itertools.count(1)
        self.idle = asyncio.Event()
        self.idle.set()
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ the start

    async def probe(self, initialize: Request, *, force: bool = False) -> JSONObject | None:
        """The remote's ``server/discover`` result if it asks for translation (it speaks
        only 2026-07-28; with ``force``, if it speaks 2026-07-28 at all), else None.

        Raises:
            ClientError: the remote could not be reached, or refused the probe's credentials.
        """
        self._local = LocalSession.of(initialize)
        self._probe = asyncio.get_running_loop().create_future()
        params = modern_params({}, self._local.capabilities, self._local.client_info)
        try:
            await self._session.send(Request(_DISCOVER_ID, "server/discover", params))
            async with asyncio.timeout(self._timeout_seconds):
                answer = await self._probe
        except TimeoutError:
            return None
        finally:
            self._probe = None
        if type(answer) is not Response:
            return None
        speaks_modern = probe_verdict(answer) is ProbeVerdict.MODERN
        if not (needs_translation(answer.result) or (force and speaks_modern)):
            return None
        assert isinstance(answer.result, dict)
        self._discover = answer.result
        return answer.result

    def answer_initialize(self, initialize: Request) -> None:
        """Answer the local ``initialize`` from the discover result (``probe`` first)."""
        assert self._discover is not None
        self._local = LocalSession.of(initialize)
        requested = (initialize.params or {}).get("protocolVersion")
        self._send_local(Response(initialize.id, initialize_result_of(self._discover, requested)))

    # ------------------------------------------------------------------ from the local client

    async def handle(self, message: Message) -> None:
        """One message of the local client."""
        kind = type(message)
        if kind is Request:
            assert isinstance(message, Request)
            await self._request(message)
        elif kind is Response or kind is ErrorResponse:
            assert isinstance(message, Response | ErrorResponse)
            await self._answer(message)
        else:
            assert isinstance(message, Notification)
            await self._notification(message)

    async def _request(self, request: Request) -> None:
        if request.method == "initialize":
            self.answer_initialize(request)  # the local client starts over
            return
        if request.method in LOCAL_METHODS:
            try:
                result, subscriptions_changed = self._local.answer_locally(request)
            except ProtocolError as exc:
                self._send_local(error_response(request.id, exc))
                return
            if subscriptions_changed:
                await self._listen()
            self._send_local(Response(request.id, result))
            return
        modern = self._local.modern_request(request)
        call = _Call(modern)
        self._calls[_key(request.id)] = call
        self.idle.clear()
        if request.method == "tools/call":
            call.headers = await self._param_headers(request)
            if self._calls.get(_key(request.id)) is not call:
                return  # cancelled while the tools were listed
        await self._send(modern, call.headers)

    async def _param_headers(self, request: Request) -> dict[str, str] | None:
        """A tool call's ``Mcp-Param-*`` headers (server/tools, "x-mcp-header": a client
        "MUST" mirror the marked arguments; non-ASCII values in the base64 sentinel)."""
        params = request.params or {}
        name = params.get("name")
        if type(name) is not str:
            return None
        marks = await self._tool_marks()
        return param_headers(marks.get(name, ()), params.get("arguments")) or None

    async def _tool_marks(self) -> dict[str, tuple[HeaderParam, ...]]:
        """Each tool's marked arguments, from the server's ``tools/list`` (every page), kept
        until the server says its tools changed. If the list cannot be had, none (the call
        goes without headers, and a server that wants them says so)."""
        async with self._listing:
            if self._header_params is not None:
                return self._header_params
            changes = self._tool_list_changes
            marks = await listed_tool_marks(
                lambda params: self._own_request("tools/list", params), {}
            )
            if marks is None:
                return {}
            if changes == self._tool_list_changes:
                self._header_params = marks
            return marks

    async def _own_request(self, method: str, params: JSONObject) -> JSONObject | None:
        """A request of connect's own to the server; its result, or None (an error, no
        answer in time, or the server could not be reached: logged)."""
        request_id = f"{_TOOLS_ID_PREFIX}{next(self._own_ids)}"
        answer: asyncio.Future[Response | ErrorResponse | None]
        answer = asyncio.get_running_loop().create_future()
        self._own[request_id] = answer
        try:
            await self._session.send(
                self._local.modern_request(Request(request_id, method, params))
            )
            async with asyncio.timeout(self._timeout_seconds):
                reply = await answer
        except (ClientError, TimeoutError) as exc:
            logger.warning("no %s from the server: %s", method, str(exc) or "no answer in time")
            return None
        finally:
            self._own.pop(request_id, None)
        if type(reply) is not Response or not isinstance(reply.result, dict):
            logger.warning("no %s from the server: %r", method, reply)
            return None
        return reply.result

    async def _send(self, request: Request, headers: dict[str, str] | None = None) -> None:
        try:
            await self._session.send(request, headers)
        except ClientError as exc:
            if self._end_call(request.id) is not None:
                self._fail_local(request.id, exc)

    def _end_call(self, request_id: RequestId) -> _Call | None:
        call = self._calls.pop(_key(request_id), None)
        if call is not None:
            for question_id in call.pending.values():
                self._questions.pop(_key(question_id), None)
        if not self._calls:
            self.idle.set()
        return call

    async def _answer(self, reply: Response | ErrorResponse) -> None:
        """The local client's answer to a question of a call's round."""
        asked = self._questions.pop(_key(reply.id), None) if reply.id is not None else None
        if asked is None:
            logger.debug("an answer to no question of the server's; dropped")
            return
        request_id, question_key = asked
        call = self._calls.get(_key(request_id))
        if call is None or call.asked is None:
            return
        del call.pending[question_key]
        if type(reply) is ErrorResponse:
            # The local client could not answer: the call fails with what it said.
            self._end_call(request_id)
            self._send_local(ErrorResponse(request_id, reply.error))
            return
        assert isinstance(reply, Response)
        call.answers[question_key] = reply.result
        if not call.pending:
            await self._retry(call)

    async def _retry(self, call: _Call) -> None:
        assert call.asked is not None
        request = call.request
        call.request = Request(
            request.id, request.method, retry_params(request.params, call.asked, call.answers)
        )
        call.asked, call.answers = None, {}
        await self._send(call.request, call.headers)

    async def _notification(self, notification: Notification) -> None:
        if notification.method == "notifications/initialized":
            await self._listen()
        elif notification.method == "notifications/cancelled":
            # 2026-07-28 over HTTP cancels by closing the reply stream (basic/utilities/
            # cancellation); a call waiting on its questions has nothing open.
            request_id = (notification.params or {}).get("requestId")
            if (type(request_id) is int or type(request_id) is str) and (
                self._end_call(request_id) is not None
            ):
                await self._session.abandon(request_id)
        # Anything else (roots/list_changed) has no 2026-07-28 counterpart on HTTP.

    async def _listen(self) -> None:
        """(Re)open the ``subscriptions/listen`` stream for what the session hears unasked;
        the new one is open (its acknowledgement under way) when this returns."""
        assert self._discover is not None
        previous, self._listen_id = self._listen_id, None
        if previous is not None:
            await self._session.abandon(previous)
        params = listen_params(self._discover.get("capabilities"), self._local.subscriptions)
        if not params["notifications"]:
            return
        listen_id = f"{_LISTEN_ID_PREFIX}{next(self._listen_ids)}"
        self._listen_id = listen_id
        try:
            await self._session.send(
                self._local.modern_request(Request(listen_id, "subscriptions/listen", params))
            )
        except ClientError as exc:
            logger.warning("no stream for the server's notifications: %s", exc)
            self._listen_id = None

    # ------------------------------------------------------------------ from the remote

    def _on_message(self, message: Message) -> None:
        kind = type(message)
        if kind is Notification:
            assert isinstance(message, Notification)
            if message.method == _TOOLS_LIST_CHANGED:
                # Marked arguments may have changed: the next call lists the tools again.
                self._header_params = None
                self._tool_list_changes += 1
            if message.method in _REQUEST_NOTIFICATIONS:
                self._send_local(message)
            elif message.method != _ACKNOWLEDGED:
                self._send_local(local_notification(message))
            return
        if kind is Request:
            logger.debug("a request of the server's outside MRTR; dropped")
            return
        assert isinstance(message, Response | ErrorResponse)
        if message.id == _DISCOVER_ID:
            if self._probe is not None and not self._probe.done():
                self._probe.set_result(message)
            return
        own = self._own.get(message.id) if type(message.id) is str else None
        if own is not None:
            if not own.done():
                own.set_result(message)
            return
        if message.id is None or message.id == self._listen_id:
            if type(message) is ErrorResponse:
                logger.warning("the remote server said: %s", message.message)
            return
        call = self._calls.get(_key(message.id))
        if call is None:
            logger.debug("an answer to no request in flight: id %r", message.id)
            return
        if type(message) is ErrorResponse:
            self._end_call(message.id)
            self._send_local(message)
            return
        assert isinstance(message, Response)
        try:
            questions = input_requests_of(message.result)
        except RemoteError as exc:
            self._end_call(message.id)
            self._send_local(ErrorResponse(message.id, {"code": exc.code, "message": str(exc)}))
            return
        if questions is None:
            self._end_call(message.id)
            self._send_local(Response(message.id, local_result(message.result)))
            return
        call.rounds += 1
        if call.rounds > MAX_INPUT_ROUNDS:
            self._end_call(message.id)
            self._send_local(
                ErrorResponse(
                    message.id,
                    {"code": -32603, "message": f"more than {MAX_INPUT_ROUNDS} input rounds"},
                )
            )
            return
        assert isinstance(message.result, dict)
        call.asked = message.result
        for question in questions:
            question_id = f"{_QUESTION_ID_PREFIX}{next(self._question_ids)}"
            call.pending[question.key] = question_id
            self._questions[_key(question_id)] = (message.id, question.key)
            self._send_local(Request(question_id, question.method, question.params))
        if not questions:
            # Nothing to ask (basic/patterns/mrtr allows an empty inputRequests): retry.
            task = asyncio.get_running_loop().create_task(self._retry(call))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _on_failure(self, request_id: RequestId | None, error: ClientError) -> None:
        if request_id is None:
            return
        own = self._own.get(request_id) if type(request_id) is str else None
        if own is not None:
            if not own.done():
                own.set_exception(error)
            return
        if request_id == self._listen_id:
            logger.warning("the server's notification stream ended: %s", error)
            self._listen_id = None
            return
        if self._end_call(request_id) is not None:
            self._fail_local(request_id, error)

    # ------------------------------------------------------------------ the end

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(ClientError):
            await self._session.close()
