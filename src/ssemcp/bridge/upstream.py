"""One bridged child as its client sessions see it: started when needed, restarted after a
crash or a hang, and every message routed between it and them.

Owns the routing of the bridge: a client's request goes to the child under a fresh id
(``ssemcp.bridge.ids``) and its answer comes back under the client's own; a child that exits,
or says nothing for ``child_timeout_seconds`` while a request waits, fails the waiting
requests with a JSON-RPC error and is started again on the next request, under
``ssemcp.bridge.restart``'s rule, with the client's handshake replayed (``initialize``, its
log level and subscriptions), so the session goes on. What the child sends unasked goes to
the session(s) it concerns: progress by its token, a request to the client (sampling,
elicitation, roots) and log messages on the stream of the latest request in flight, a
resource update to the sessions subscribed to it, list changes to every session. One upstream
serves one session, or all of them (``--shared``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, cast

import orjson

from ssemcp._types import JSONObject, JSONValue
from ssemcp.bridge.child import Child
from ssemcp.bridge.ids import BRIDGE_OWNER, IdMap
from ssemcp.bridge.restart import RestartPolicy, Restarts
from ssemcp.client._errors import RemoteError
from ssemcp.client._protocol import header_params_of_tool, next_cursor_of
from ssemcp.errors import InternalError, ProtocolError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    error_response,
)
from ssemcp.protocol.revisions import LATEST, Revision, revision_for
from ssemcp.protocol.sessionless import HeaderParam
from ssemcp.server.context import Send
from ssemcp.transports.stdio import DEFAULT_MAX_LINE_BYTES

__all__ = ["DEFAULT_CHILD_TIMEOUT_SECONDS", "DEFAULT_STARTUP_TIMEOUT_SECONDS", "Owner", "Upstream"]

logger = logging.getLogger(__name__)

# A request whose child says nothing at all (no reply, no progress, no log line) for this
# long fails, and the child is restarted. As long as ssemcp's own wait for a client's answer
# (Server.request_timeout_seconds); a tool that works longer should report progress.
DEFAULT_CHILD_TIMEOUT_SECONDS: Final = 60.0
# Until a child's first line, the bound on its silence: starting can take long (``npx``
# fetching a package, an interpreter importing a large server) even when serving does not.
DEFAULT_STARTUP_TIMEOUT_SECONDS: Final = 60.0
# The shortest wait of a request before the silence is measured again.
_MIN_WAIT_SECONDS: Final = 0.01
_CANCELLED: Final = "notifications/cancelled"
_PROGRESS: Final = "notifications/progress"
_TOOLS_LIST_CHANGED: Final = "notifications/tools/list_changed"
_SUBSCRIPTION_METHODS: Final = frozenset(("resources/subscribe", "resources/unsubscribe"))
Reply = Response | ErrorResponse


class _OnStart(Protocol):
    def __call__(self, child: Child) -> object: ...


class Owner(Protocol):
    """A client session of an upstream (the relay): what the child sends it arrives here."""

    async def deliver(self, message: Message, send: Send | None) -> bool:
        """Send ``message`` on ``send`` (None: the session's own channel); False: it could not
        be sent (no stream to put it on, or the session has ended)."""
        ...


@dataclass(slots=True)
class _Pending:
    """A request forwarded to the child, waiting for its answer."""

    owner: int
    method: str
    send: Send
    answer: asyncio.Future[Reply | None]
    child: Child
    # Loop time it was sent at: the child's silence counts from then at the earliest.
    sent_at: float
    progress_token: int | None = None
    # The answer's result as the child wrote it, when it came in the SDKs' layout.
    raw_result: bytes | None = None


async def _nowhere(message: Message) -> None:
    """Where the messages related to the bridge's own requests go."""


def _fits_orjson(request_id: RequestId) -> bool:
    """Whether orjson writes this id itself: it refuses integers beyond 64 bits, for which
    ``jsonrpc.dumps`` falls back to the standard library, which cannot write a Fragment."""
    return type(request_id) is str or -(2**63) <= request_id < 2**64  # type: ignore[operator]


def _rewritten_meta(params: JSONObject | None, token: int) -> JSONObject:
    assert params is not None
    meta = params["_meta"]
    assert isinstance(meta, dict)
    return {**params, "_meta": {**meta, "progressToken": token}}


class Upstream:
    """The child of one session, or of every session (``--shared``).

    Args:
        command: the command and its arguments (no shell).
        env: the child's environment (already scrubbed: ``ssemcp.bridge.child``).
        label: how the log names it: the session's short id, or ``shared``.
        child_timeout_seconds: how long a waiting request lets the child say nothing.
        startup_timeout_seconds: the same, until the child has written its first line (at
            least ``child_timeout_seconds``).
        restart_policy: how often, and how soon, a dead child is started again.
        max_line_bytes: the longest line the child may write.
        on_start: called with each child started (the bridge keeps them, to end at shutdown).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        label: str,
        child_timeout_seconds: float = DEFAULT_CHILD_TIMEOUT_SECONDS,
        startup_timeout_seconds: float = DEFAULT_STARTUP_TIMEOUT_SECONDS,
        restart_policy: RestartPolicy | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        on_start: _OnStart | None = None,
    ) -> None:
        if child_timeout_seconds <= 0 or startup_timeout_seconds <= 0:
            raise ValueError("child_timeout_seconds and startup_timeout_seconds must be positive")
        self._command = tuple(command)
        self._env = env
        self.label = label
        self._child_timeout_seconds = child_timeout_seconds
        self._startup_timeout_seconds = startup_timeout_seconds
        self._restarts = Restarts(restart_policy or RestartPolicy())
        self._max_line_bytes = max_line_bytes
        self._on_start = on_start
        self.child: Child | None = None
        self._has_started = False
        self._starting = asyncio.Lock()
        self._handshaking = asyncio.Lock()
        self._ids = IdMap()
        self._tokens = IdMap()
        self._pending: dict[int, _Pending] = {}
        self._by_token: dict[int, _Pending] = {}
        self._owners: dict[int, Owner] = {}
        self._next_owner = BRIDGE_OWNER + 1
        # The child's requests to a client not yet answered: which session was asked.
        self._asked: dict[RequestId, int] = {}
        # The handshake a restarted child gets again, as the first client made it.
        self._initialize_params: JSONObject | None = None
        self._initialize_result: JSONObject | None = None
        self._initialized_notified = False
        self._log_level: JSONValue = None
        self._subscriptions: dict[str, dict[int, None]] = {}
        self._own_requests = 0
        # Each tool's x-mcp-header arguments, from the child's tools/list (None: not asked
        # yet, or its tools changed since); how many times they changed.
        self._header_params: dict[str, tuple[HeaderParam, ...]] | None = None
        self._tool_list_changes = 0
        self._listing_tools = asyncio.Lock()
        # Sends without waiting and ends of hung children, kept alive until done (asyncio
        # holds tasks weakly); close() waits for them.
        self._background: set[asyncio.Task[object]] = set()
        # The one timer that checks the child's silence while requests wait (_watch).
        self._watchdog: asyncio.TimerHandle | None = None
        self._watchdog_due = 0.0
        # Loop time the child last got a client's answer to a question of its.
        self._answered_at = 0.0
        self.is_closed = False

    # ------------------------------------------------------------------ sessions

    @property
    def revision(self) -> Revision:
        """What the child negotiated with the first client (the latest until then)."""
        result = self._initialize_result
        version = result.get("protocolVersion") if result is not None else None
        return (revision_for(version) if type(version) is str else None) or LATEST

    @property
    def owner_count(self) -> int:
        return len(self._owners)

    def attach(self, owner: Owner) -> int:
        """Add a client session; returns the number that names it here."""
        number = self._next_owner
        self._next_owner += 1
        self._owners[number] = owner
        return number

    def detach(self, owner: int) -> None:
        """Forget a session that ended: what the child asked it is answered with an error
        (the child must not wait for ever), its ids and subscriptions are dropped."""
        self._owners.pop(owner, None)
        self._ids.drop_owner(owner)
        self._tokens.drop_owner(owner)
        for uri in list(self._subscriptions):
            if self._drop_subscriber(owner, uri):
                # Its last subscriber is gone: the child need not send its updates any more
                # (with --shared it lives on, for the other sessions).
                self._unsubscribe_child(uri)
        unanswered = [request_id for request_id, asked in self._asked.items() if asked == owner]
        for request_id in unanswered:
            del self._asked[request_id]
            self._post(error_response(request_id, InternalError("the client's session ended")))

    # ------------------------------------------------------------------ from a client

    async def call(
        self, owner: int, request: Request, send: Send, *, relay_raw: bool = False
    ) -> Reply | None:
        """Forward a client's request; its reply under the client's id (None: the client
        cancelled it, and is owed nothing). With ``relay_raw``, a result is the child's bytes
        as they came (an ``orjson.Fragment``, which every ``serialize`` writes as it is)
        where it can be: for a caller that relays the reply without looking into it."""
        try:
            method = request.method
            if method == "initialize":
                return await self._initialize(owner, request, send)
            if method in _SUBSCRIPTION_METHODS:
                uri = (request.params or {}).get("uri")
                if type(uri) is str:
                    return await self._subscription(owner, request, uri, send)
            child = self.child
            if child is None or not child.is_running:
                child = await self._ready_child()
            reply = await self._forward(child, owner, request, send, relay_raw)
        except ProtocolError as exc:
            return error_response(request.id, exc)
        if type(reply) is Response and method == "logging/setLevel":
            # What a restarted child must be told again.
            self._log_level = (request.params or {}).get("level")
        return reply

    async def _initialize(self, owner: int, request: Request, send: Send) -> Reply | None:
        async with self._handshaking:
            if self._initialize_result is not None:
                # Shared: the child was initialized by the first client; later ones get its
                # answer (a child speaks one handshake per process).
                return Response(request.id, self._initialize_result)
            child = await self._ready_child()
            reply = await self._forward(child, owner, request, send)
            if type(reply) is Response and isinstance(reply.result, dict):
                self._initialize_params = request.params
                self._initialize_result = reply.result
            return reply

    @property
    def initialize_result(self) -> JSONObject | None:
        """What the child answered the first ``initialize`` (None until it has)."""
        return self._initialize_result

    async def handshake(self, params: JSONObject) -> JSONObject:
        """The child's ``initialize`` result, the handshake made with ``params`` (and
        ``notifications/initialized`` sent) if no client has made one: the bridge's own, for
        2026-07-28 clients, which make none.

        Raises:
            InternalError: the child cannot be started, or refused the handshake.
        """
        async with self._handshaking:
            if self._initialize_result is not None:
                return self._initialize_result
            child = await self._ready_child()
            reply = await self._own_request(child, "initialize", params)
            if type(reply) is not Response or not isinstance(reply.result, dict):
                raise InternalError("the bridged server refused the bridge's initialize")
            self._initialize_params = params
            self._initialize_result = reply.result
        if not self._initialized_notified:
            self._initialized_notified = True
            await self._send_quietly(child, Notification("notifications/initialized"))
        return reply.result

    async def _subscription(
        self, owner: int, request: Request, uri: str, send: Send
    ) -> Reply | None:
        """A session's ``resources/subscribe`` or ``resources/unsubscribe`` of ``uri``. The
        upstream keeps who subscribed to what: updates go to those sessions only, a restarted
        child is subscribed again, and (``--shared``) the child is unsubscribed only when the
        last subscriber of a URI unsubscribes or leaves.

        Raises:
            InternalError: the child cannot be started, died, or hung.
        """
        subscribers = self._subscriptions.get(uri)
        if request.method == "resources/unsubscribe":
            if subscribers is not None and any(other != owner for other in subscribers):
                # Others still want this URI's updates: the child keeps the subscription.
                subscribers.pop(owner, None)
                return Response(request.id, {})
            child = await self._ready_child()
            reply = await self._forward(child, owner, request, send)
            if type(reply) is Response:
                self._drop_subscriber(owner, uri)
            return reply
        child = await self._ready_child()
        had_subscribed = subscribers is not None and owner in subscribers
        # Noted before the child answers: an update it writes right after its answer (read in
        # the same batch, routed before this task resumes) must find its subscriber.
        self._subscriptions.setdefault(uri, {})[owner] = None
        reply = None
        try:
            reply = await self._forward(child, owner, request, send)
        finally:
            if type(reply) is not Response and not had_subscribed:
                self._drop_subscriber(owner, uri)
        return reply

    def _drop_subscriber(self, owner: int, uri: str) -> bool:
        """Forget ``owner``'s subscription to ``uri``; whether it was the last one."""
        subscribers = self._subscriptions.get(uri)
        if subscribers is None or subscribers.pop(owner, False) is False:
            return False
        if subscribers:
            return False
        del self._subscriptions[uri]
        return True

    def _unsubscribe_child(self, uri: str) -> None:
        """Unsubscribe the running child from ``uri`` (in the background: a session that
        leaves does not wait for it)."""
        child = self.child
        if child is None or not child.is_running or self.is_closed:
            return  # a restarted child is subscribed to what _subscriptions holds only

        async def unsubscribe() -> None:
            try:
                await self._own_request(child, "resources/unsubscribe", {"uri": uri})
            except ProtocolError as exc:
                logger.debug("session %s: could not unsubscribe %s: %s", self.label, uri, exc)

        self._in_background(unsubscribe())

    async def tool_header_params(self) -> Mapping[str, tuple[HeaderParam, ...]]:
        """Each of the child's tools' arguments marked ``x-mcp-header`` (server/tools), by
        tool name: from its ``tools/list`` (every page), asked once and again after it says
        its tools changed (or it is restarted). A child that cannot list its tools has none.

        Raises:
            InternalError: the child cannot be started, died, or hung.
        """
        marks = self._header_params
        if marks is not None:
            return marks
        async with self._listing_tools:
            if self._header_params is not None:
                return self._header_params
            changes = self._tool_list_changes
            child = await self._ready_child()
            found: dict[str, tuple[HeaderParam, ...]] = {}
            seen: set[str] = set()
            params: JSONObject | None = None
            while True:
                reply = await self._own_request(child, "tools/list", params)
                result = reply.result if type(reply) is Response else None
                tools = result.get("tools") if isinstance(result, dict) else None
                if not isinstance(tools, list):
                    break
                for tool in tools:
                    if isinstance(tool, dict):
                        found[str(tool.get("name"))] = header_params_of_tool(tool)
                try:
                    cursor = next_cursor_of(result, seen)
                except RemoteError:
                    cursor = None
                if cursor is None:
                    break
                params = {"cursor": cursor}
            if changes == self._tool_list_changes:
                self._header_params = found
            return found

    def _tools_changed(self) -> None:
        self._header_params = None
        self._tool_list_changes += 1

    async def notify(self, owner: int, notification: Notification) -> None:
        """Forward a client's notification (a cancellation under the child's id)."""
        child = self.child
        if child is None or not child.is_running:
            return  # a restarted child hears the handshake again; nothing else is owed
        if notification.method == "notifications/initialized":
            if self._initialized_notified:
                return  # shared: the child has heard it once (a restart replays it)
            self._initialized_notified = True
        elif notification.method == _CANCELLED:
            notification = self._cancelled_by_client(owner, notification)
            if not notification.params:
                return
        await self._send_quietly(child, notification)

    def _cancelled_by_client(self, owner: int, notification: Notification) -> Notification:
        """The cancellation under the child's id; the waiting request ends now, unanswered
        (spec basic/utilities/cancellation: the receiver "SHOULD NOT send a response")."""
        params = notification.params or {}
        request_id = params.get("requestId")
        if type(request_id) is not int and type(request_id) is not str:
            return Notification(_CANCELLED)
        assert isinstance(request_id, int | str)
        child_id = self._ids.find(owner, request_id)
        pending = self._pending.get(child_id) if child_id is not None else None
        if pending is None:
            return Notification(_CANCELLED)
        if not pending.answer.done():
            pending.answer.set_result(None)
        return Notification(_CANCELLED, {**params, "requestId": child_id})

    async def answer(self, owner: int, reply: Reply) -> None:
        """Forward a client's answer to a request the child made (sampling, elicitation)."""
        asked = self._asked.get(reply.id) if reply.id is not None else None
        if asked != owner:
            logger.debug("session %s: an answer to no request of the child; dropped", self.label)
            return
        assert reply.id is not None
        del self._asked[reply.id]
        child = self.child
        if child is not None and child.is_running:
            # The child's silence while it waited on its client was not a hang: it is
            # measured again from the answer (_watch).
            self._answered_at = child.loop.time()
            await self._send_quietly(child, reply)

    # ------------------------------------------------------------------ the child

    async def _ready_child(self) -> Child:
        """The running child; started (again) if need be, with the handshake replayed.

        Raises:
            InternalError: it cannot be started, or has died too often to try now.
        """
        child = self.child
        if child is not None and child.is_running:
            return child
        async with self._starting:
            child = self.child
            if child is not None and child.is_running:
                return child
            if self.is_closed:
                raise InternalError("the session has ended")
            if self._has_started:
                loop = asyncio.get_running_loop()
                now = loop.time()
                delay = self._restarts.delay(now)
                if delay is None:
                    retry = self._restarts.retry_after(now)
                    raise InternalError(
                        "the bridged server keeps failing; not restarted for another "
                        f"{retry:.0f} s (the bridge's log says why)"
                    )
                self._restarts.record(now)
                logger.info("session %s: restarting the child in %.1f s", self.label, delay)
                await asyncio.sleep(delay)
            child = await self._start()
            if self._initialize_params is not None:
                await self._replay_handshake(child)
            return child

    async def _start(self) -> Child:
        self._has_started = True
        try:
            child = await Child.start(
                self._command,
                env=self._env,
                label=self.label,
                on_message=self._route,
                max_line_bytes=self._max_line_bytes,
                on_result=self._route_result,
            )
        except OSError as exc:
            logger.error("session %s: cannot start %s: %s", self.label, self._command[0], exc)
            raise InternalError("the bridged server could not be started") from None
        child.exited.add_done_callback(functools.partial(self._fail_waiting, child))
        self._tools_changed()  # a new process: its tools are asked anew
        if self._on_start is not None:
            self._on_start(child)
        if self.is_closed:
            # The session ended while the child started: nobody will end it but us.
            await child.terminate()
            raise InternalError("the session has ended")
        self.child = child
        return child

    async def _replay_handshake(self, child: Child) -> None:
        """Tell a restarted child what the first one was told, before any other request."""
        reply = await self._own_request(child, "initialize", self._initialize_params)
        if type(reply) is not Response:
            raise InternalError("the restarted bridged server refused initialize")
        if self._initialized_notified:
            await self._send_quietly(child, Notification("notifications/initialized"))
        if self._log_level is not None:
            await self._own_request(child, "logging/setLevel", {"level": self._log_level})
        for uri in list(self._subscriptions):
            await self._own_request(child, "resources/subscribe", {"uri": uri})

    async def _own_request(
        self, child: Child, method: str, params: JSONObject | None
    ) -> Reply | None:
        self._own_requests += 1
        request = Request(f"bridge-{self._own_requests}", method, params)
        return await self._forward(child, BRIDGE_OWNER, request, _nowhere)

    async def _forward(
        self, child: Child, owner: int, request: Request, send: Send, relay_raw: bool = False
    ) -> Reply | None:
        """Send ``request`` to ``child`` under a fresh id; its reply under the original one
        (its result as the child's bytes with ``relay_raw``, where it can be: ``call``).

        Raises:
            InternalError: the child died, or hung, before answering.
        """
        child_id = self._ids.add(owner, request.id)
        # The child's loop, not asyncio.get_running_loop(): that costs a getpid() system call
        # outside a task's fast path, per call (bench/BRIDGE.md).
        loop = child.loop
        pending = _Pending(owner, request.method, send, loop.create_future(), child, loop.time())
        params = request.params
        meta = params.get("_meta") if params is not None else None
        if isinstance(meta, dict):
            token = meta.get("progressToken")
            if type(token) is int or type(token) is str:
                assert isinstance(token, int | str)
                pending.progress_token = self._tokens.add(owner, token)
                self._by_token[pending.progress_token] = pending
                params = _rewritten_meta(params, pending.progress_token)
        self._pending[child_id] = pending
        try:
            try:
                await child.send(Request(child_id, request.method, params))
            except ConnectionError:
                # Its stdin is closed: it is exiting, which the wait below reports (or, if it
                # lingers without reading, it is hung).
                logger.debug("session %s: could not write %s", self.label, request.method)
            answer = await self._answer_of(child, pending)
        except asyncio.CancelledError:
            # The session ended, or its client left: the child may stop working on it. (The
            # wait for the answer was cancelled with the task, unless it had come.)
            unanswered = not pending.answer.done() or pending.answer.cancelled()
            if child.is_running and unanswered:
                self._post(Notification(_CANCELLED, {"requestId": child_id, "reason": "cancelled"}))
            raise
        finally:
            del self._pending[child_id]
            self._ids.pop(child_id)
            if pending.progress_token is not None:
                self._by_token.pop(pending.progress_token, None)
                self._tokens.pop(pending.progress_token)
        if answer is None:
            return None
        if type(answer) is Response:
            raw = pending.raw_result
            if relay_raw and raw is not None and _fits_orjson(request.id):
                # Only the id changes: the result is written as the child wrote it, not
                # serialized again (bench/BRIDGE.md).
                return Response(request.id, cast(JSONValue, orjson.Fragment(raw)))
            return Response(request.id, answer.result)
        assert isinstance(answer, ErrorResponse)
        return ErrorResponse(request.id, answer.error)

    def _answer_of(self, child: Child, pending: _Pending) -> asyncio.Future[Reply | None]:
        """The future of the child's answer, which fails if it exits, or hangs: says nothing
        for ``child_timeout_seconds`` (``startup_timeout_seconds`` until its first line)
        while no question of its to a client is open.

        The answer's own future is all that is awaited: the child's exit fails it
        (``_fail_waiting``) and one watchdog per upstream checks the silence (``_watch``).
        Waiting on both futures with ``asyncio.wait`` cost a tenth of the bridge's time per
        call under load, and a timer per request a little more (bench/BRIDGE.md); a
        coroutine of its own, awaited per call, a little more again.

        Raises:
            InternalError: the child has exited already.
        """
        answer = pending.answer
        if not answer.done():
            if child.exited.done():
                raise self._exited_error(child, pending)
            due = pending.sent_at + self._silence_bound(child)
            if self._watchdog is None or due < self._watchdog_due:
                # (Sooner than it looks: a child's first request has the startup bound.)
                self._arm_watchdog(child.loop, due)
        return answer

    def _exited_error(self, child: Child, pending: _Pending) -> InternalError:
        return InternalError(
            f"the bridged server exited (code {child.exited.result()}) before answering "
            f"{pending.method}; it is restarted on the next request"
        )

    def _fail_waiting(self, child: Child, exited: asyncio.Future[int]) -> None:
        """The child has exited (and what it wrote last has been routed): every request still
        waiting for it fails."""
        for pending in list(self._pending.values()):
            if pending.child is child and not pending.answer.done():
                pending.answer.set_exception(self._exited_error(child, pending))

    def _watch(self) -> None:
        """The watchdog: fail each request that has waited as long as its child may be silent
        while the child said nothing for that long (and stop that child); then look again
        when the next one could be due, as long as any waits."""
        self._watchdog = None
        loop: asyncio.AbstractEventLoop | None = None
        next_due: float | None = None
        for pending in list(self._pending.values()):
            answer = pending.answer
            if answer.done():
                continue
            child = pending.child
            loop = child.loop
            now = loop.time()
            bound = self._silence_bound(child)
            if self._asked:
                # It waits on a client's answer, which has its own timeout: not hung.
                due = now + bound
            else:
                due = max(pending.sent_at, child.last_output, self._answered_at) + bound
            if now < due:
                next_due = due if next_due is None else min(next_due, due)
                continue
            silent_seconds = now - max(child.last_output, self._answered_at)
            logger.warning(
                "session %s: the child said nothing for %.0f s while %s waited; restarting it",
                self.label,
                silent_seconds,
                pending.method,
            )
            if not child.stopping:
                self._stop_hung(child)
            answer.set_exception(
                InternalError(
                    f"the bridged server did not answer {pending.method} within {bound:g} s; "
                    "it was stopped, and is restarted on the next request"
                )
            )
        if next_due is not None and loop is not None and not self.is_closed:
            self._arm_watchdog(loop, max(next_due, loop.time() + _MIN_WAIT_SECONDS))

    def _arm_watchdog(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = loop.call_at(due, self._watch)
        self._watchdog_due = due

    def _silence_bound(self, child: Child) -> float:
        if child.has_spoken:
            return self._child_timeout_seconds
        return max(self._startup_timeout_seconds, self._child_timeout_seconds)

    def _stop_hung(self, child: Child) -> None:
        # Marked first, so the next request starts a new child at once; the old one is ended
        # (and reaped) in the background, and close() waits for that.
        child.stopping = True
        self._in_background(child.terminate())

    def _post(self, message: Message) -> None:
        """Send to the child without waiting (from code that cannot await)."""
        child = self.child
        if child is None or not child.is_running:
            return
        self._in_background(self._send_quietly(child, message))

    def _in_background(self, work: Coroutine[object, object, object]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_quietly(self, child: Child, message: Message) -> None:
        try:
            await child.send(message)
        except ConnectionError:
            logger.debug("session %s: the child is gone; dropped a message", self.label)

    async def close(self) -> None:
        """End the child (and its process group), reaped. Idempotent."""
        self.is_closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        child = self.child
        if child is not None:
            await child.terminate()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # ------------------------------------------------------------------ from the child

    def _route_result(self, child_id: int, result: JSONValue, raw: bytes) -> None:
        """The child's answer to ``child_id``, which came in the SDKs' layout (``Child``)."""
        pending = self._pending.get(child_id)
        if pending is None:
            logger.debug("session %s: an answer to no pending request; dropped", self.label)
        elif not pending.answer.done():
            pending.raw_result = raw
            pending.answer.set_result(Response(child_id, result))

    async def _route(self, message: Message) -> None:
        """Deliver one message the child wrote to the session(s) it concerns."""
        kind = type(message)
        if kind is Response or kind is ErrorResponse:
            assert isinstance(message, Response | ErrorResponse)
            pending = self._pending.get(message.id) if type(message.id) is int else None
            if pending is None:
                logger.debug("session %s: an answer to no pending request; dropped", self.label)
            elif not pending.answer.done():
                pending.answer.set_result(message)
            return
        if kind is Request:
            assert isinstance(message, Request)
            await self._route_request(message)
            return
        assert isinstance(message, Notification)
        params = message.params or {}
        if message.method == _PROGRESS:
            token = params.get("progressToken")
            pending = self._by_token.get(token) if type(token) is int else None
            original = self._tokens.get(token)
            if pending is None or original is None:
                return  # its request has ended: nobody to tell
            progress = Notification(_PROGRESS, {**params, "progressToken": original[1]})
            await self._deliver(pending.owner, progress, pending.send)
        elif message.method == _CANCELLED:
            # The child gave up a request it made to a client.
            request_id = params.get("requestId")
            asked = self._asked.pop(request_id, None) if isinstance(request_id, int | str) else None
            if asked is not None:
                await self._deliver(asked, message, None)
        elif message.method == "notifications/resources/updated":
            uri = params.get("uri")
            # Only the sessions subscribed to it (server/resources, "Subscriptions").
            subscribers = self._subscriptions.get(uri) if type(uri) is str else None
            for owner in list(subscribers or ()):
                await self._deliver(owner, message, None)
        elif message.method.endswith("/list_changed"):
            if message.method == _TOOLS_LIST_CHANGED:
                self._tools_changed()
            for owner in list(self._owners):
                await self._deliver(owner, message, None)
        else:
            latest = self._latest_pending()
            if latest is not None:
                await self._deliver(latest.owner, message, latest.send)
            else:
                for owner in list(self._owners):
                    await self._deliver(owner, message, None)

    def _latest_pending(self) -> _Pending | None:
        """The latest request of a client still waiting for its answer."""
        for pending in reversed(self._pending.values()):
            if pending.owner != BRIDGE_OWNER and not pending.answer.done():
                return pending
        return None

    async def _route_request(self, request: Request) -> None:
        """A request of the child's to a client: on the stream of the latest request in
        flight (spec 2025-11-25 basic/transports: such messages "SHOULD relate to the
        originating client request"), else on the session's channel."""
        latest = self._latest_pending()
        owner = latest.owner if latest is not None else next(reversed(self._owners), None)
        if owner is not None:
            self._asked[request.id] = owner
            if await self._deliver(owner, request, latest.send if latest is not None else None):
                return
            self._asked.pop(request.id, None)
        # Nobody can answer it: the child must hear so now rather than wait.
        self._post(error_response(request.id, InternalError("no client can answer this now")))

    async def _deliver(self, owner: int, message: Message, send: Send | None) -> bool:
        session = self._owners.get(owner)
        if session is None:
            return False
        return await session.deliver(message, send)
