"""The relay of ``ssemcp connect``: a local MCP client on stdin/stdout, a remote server over
HTTP, every message passed on with its id unchanged.

Owns which remote transport a local client's session gets (its ``initialize`` first probes
``server/discover``: a server that speaks only 2026-07-28 gets the session translated, by
``connect._translate``; else the ``initialize`` opens a session on Streamable HTTP, stepping
down to the 2024-11-05 transport as ``Client`` does; a 2026-07-28 request goes as it is), the
JSON-RPC error a local request gets when the remote cannot answer it (unreachable, 401, a
status with no answer), and a new remote session when the server lost the old one (404). The
line framing is ``ssemcp.transports.stdio``'s; HTTP is ``ssemcp.client.RawSession``'s; what
the messages mean is the two peers' business.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import Coroutine
from typing import Any, BinaryIO, Final, Literal, TypeAlias

from ssemcp._types import JSONObject
from ssemcp.client._errors import (
    AuthError,
    ClientError,
    HTTPError,
    NegotiationError,
    RemoteError,
    SessionExpired,
    TransportClosed,
)
from ssemcp.client._protocol import (
    param_headers,
    steps_down_to_legacy_sse,
)
from ssemcp.client._raw import FailureHandler, MessageHandler, RawSession, RawTransportName
from ssemcp.connect._modern import listed_tool_marks, tool_marks_of
from ssemcp.connect._translate import Translator
from ssemcp.errors import InvalidRequest, ParseError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Invalid,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    error_response,
    parse,
    serialize,
)
from ssemcp.protocol.sessionless import HeaderParam, is_sessionless

# The line framing and the stdio pipes of ssemcp's own stdio server: one implementation.
from ssemcp.transports.stdio import (
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_SHUTDOWN_GRACE_SECONDS,
    LineReader,
    _BlockingWriter,
    _open_writer,
    _read_chunks,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_OK",
    "EXIT_PROTOCOL",
    "RELAY_ERROR_CODE",
    "ConnectTransport",
    "Relay",
    "run_connect",
]

logger = logging.getLogger(__name__)

ConnectTransport: TypeAlias = Literal["auto", "streamable", "sse", "2026"]

# The exit codes of the client commands (ssemcp.client.cli), for the same failures.
EXIT_OK: Final = 0
EXIT_CONNECTION: Final = 3
EXIT_AUTH: Final = 4
EXIT_PROTOCOL: Final = 5
# The code of the error a local request gets when the remote could not answer it: JSON-RPC
# 2.0 section 5.1 leaves -32000 to -32099 to the implementation ("Server error").
RELAY_ERROR_CODE: Final = -32000
# Requests connect itself sends (the initialize of a new session) carry ids of this form,
# strings no client counting in integers collides with.
_OWN_ID_PREFIX: Final = "ssemcp-connect-"
# The _meta keys of the protocol itself (2026-07-28 basic: revision, client capabilities and
# info, log level): what connect's own requests copy from the local client's.
_PROTOCOL_META: Final = "io.modelcontextprotocol/"
_TOOLS_LIST_CHANGED: Final = "notifications/tools/list_changed"


def _key(request_id: RequestId) -> tuple[type, RequestId]:
    # Ids as decoded: 7 and "7" are two requests (jsonrpc, "ids").
    return (type(request_id), request_id)


def _exit_code_of(error: ClientError) -> int:
    # As the client commands decide (ssemcp.client.cli): an HTTP status is a connection
    # failure, unless it asks for credentials.
    if isinstance(error, AuthError):
        return EXIT_AUTH
    if isinstance(error, RemoteError | NegotiationError):
        return EXIT_PROTOCOL
    return EXIT_CONNECTION


def _relay_error(request_id: RequestId | None, error: ClientError) -> ErrorResponse:
    """The JSON-RPC error that tells the local client why the remote did not answer."""
    data: JSONObject = {}
    if isinstance(error, HTTPError):
        data["httpStatus"] = error.status
    if isinstance(error, AuthError) and error.www_authenticate:
        data["wwwAuthenticate"] = error.www_authenticate
    body: JSONObject = {"code": RELAY_ERROR_CODE, "message": f"ssemcp connect: {error}"}
    if data:
        body["data"] = data
    return ErrorResponse(request_id, body)


class _Output:
    """stdout: one write per message (so that messages never interleave), drained by one
    task; a write that fails means the local client is gone."""

    def __init__(self, writer: asyncio.StreamWriter | _BlockingWriter) -> None:
        self._writer = writer
        self._written = asyncio.Event()
        self.lost = asyncio.Event()
        self._drainer = asyncio.get_running_loop().create_task(self._drain())

    def send(self, message: Message) -> None:
        if self.lost.is_set():
            return
        try:
            self._writer.write(serialize(message) + b"\n")
        except (BrokenPipeError, ConnectionResetError, ValueError):
            self.lost.set()
            return
        self._written.set()

    async def _drain(self) -> None:
        while True:
            await self._written.wait()
            self._written.clear()
            try:
                await self._writer.drain()
            except (BrokenPipeError, ConnectionResetError):
                self.lost.set()
                return

    async def close(self) -> None:
        self._drainer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._drainer
        if isinstance(self._writer, asyncio.StreamWriter):
            with contextlib.suppress(Exception):
                await self._writer.drain()
            self._writer.close()


class _InFlight:
    """The local client's requests the remote has not answered yet, each with the session
    it went on; ``empty`` is set while there are none."""

    def __init__(self) -> None:
        self._requests: dict[tuple[type, RequestId], RawSession] = {}
        self.empty = asyncio.Event()
        self.empty.set()

    def add(self, request_id: RequestId, session: RawSession) -> None:
        self._requests[_key(request_id)] = session
        self.empty.clear()

    def session_of(self, request_id: RequestId) -> RawSession | None:
        return self._requests.get(_key(request_id))

    def pop(self, request_id: RequestId) -> RawSession | None:
        session = self._requests.pop(_key(request_id), None)
        if not self._requests:
            self.empty.set()
        return session

    def pop_session(self, session: RawSession) -> list[RequestId]:
        """The ids of every request in flight on ``session``, removed."""
        ids = [key[1] for key, owner in self._requests.items() if owner is session]
        for request_id in ids:
            self.pop(request_id)
        return ids


class Relay:
    """One local client and its remote session(s).

    Args:
        url: the remote server's endpoint.
        transport: ``"auto"`` (a 2025 session on Streamable HTTP, stepping down to the
            2024-11-05 transport on a 4xx, as spec 2025-11-25 basic/transports "Backwards
            Compatibility" says; a 2026-07-28 request goes as it is), or one forced.
        headers, token, timeout_seconds: as ``RawSession`` takes them.
        output: the local client's stdout.
    """

    def __init__(
        self,
        url: str,
        *,
        transport: ConnectTransport,
        headers: dict[str, str],
        token: str | None,
        timeout_seconds: float,
        output: _Output,
    ) -> None:
        self._url = url
        self._mode = transport
        self._headers = headers
        self._token = token
        self._timeout_seconds = timeout_seconds
        self._output = output
        self._session: RawSession | None = None
        # Held while a session opens, so that what the local client sends meanwhile waits.
        self._opening = asyncio.Lock()
        # The local client's initialize, replayed when a new session replaces a lost one.
        self._initialize: Request | None = None
        self._initialize_key: tuple[type, RequestId] | None = None
        self._negotiated_version: str | None = None
        # The local client's requests the remote has not answered yet, and on which session.
        self._in_flight = _InFlight()
        # connect's own requests (a new session's initialize), by id.
        self._own: dict[tuple[type, RequestId], asyncio.Future[Response | ErrorResponse]] = {}
        self._own_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        # A local session translated for a server that speaks only 2026-07-28, once probed.
        self._translator: Translator | None = None
        # 2026-07-28 relayed as it is: each tool's x-mcp-header arguments, learnt from the
        # tools/list results the local client gets (ids in _listings) or, for a tool called
        # before any list named it, from a list of connect's own (once per such name, until
        # the server says its tools changed: _listed_for).
        self._tool_marks: dict[str, tuple[HeaderParam, ...]] = {}
        self._listings: set[tuple[type, RequestId]] = set()
        self._listed_for: set[str] = set()
        self._listing = asyncio.Lock()
        self._own_lists: set[tuple[type, RequestId]] = set()
        # Set when connect must end: the first session could not be opened.
        self.fatal = asyncio.Event()
        self.exit_code = EXIT_OK

    # ------------------------------------------------------------------ from the local client

    def handle_line(self, line: bytes | None) -> None:
        """One line from stdin (None: a line over the bound, dropped)."""
        if line is None:
            self._output.send(
                error_response(None, InvalidRequest("Invalid Request: the line is too long"))
            )
            return
        if not line.strip():
            return
        try:
            parsed = parse(line)
        except ParseError as exc:
            self._output.send(error_response(None, exc))
            return
        # JSON-RPC batches (2025-03-26 only): each message travels on its own.
        for item in parsed if isinstance(parsed, list) else [parsed]:
            if isinstance(item, Invalid):
                self._output.send(error_response(item.id, item.error))
            else:
                self._spawn(self._forward(item))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forward(self, message: Message) -> None:
        if type(message) is Request and message.method == "initialize":
            await self._open_for(message)
            return
        async with self._opening:
            translator = self._translator
            session = self._session
            if session is None and translator is None:
                session = self._open_modern_for(message)
        if translator is not None:
            await translator.handle(message)
            return
        if session is None:
            if type(message) is Request:
                self._output.send(
                    error_response(
                        message.id,
                        InvalidRequest(
                            "Invalid Request: send initialize first (or a 2026-07-28 request)"
                        ),
                    )
                )
            return
        if session.transport_name == "2026" and _cancels(message):
            # 2026-07-28 over HTTP cancels a request by closing its reply stream (as
            # Client._cancel does, basic/utilities/cancellation), not by a notification.
            assert type(message) is Notification and message.params is not None
            request_id = message.params["requestId"]
            assert type(request_id) is int or type(request_id) is str
            self._in_flight.pop(request_id)
            await session.abandon(request_id)
            return
        await self._send(session, message)
        if type(message) is Notification and message.method == "notifications/initialized":
            await self._session_opened(session)

    def _open_modern_for(self, message: Message) -> RawSession | None:
        """A 2026-07-28 session for a local client that speaks it (its requests carry their
        own ``_meta``; spec 2026-07-28 basic/versioning), or None."""
        if self._mode not in ("auto", "2026"):
            return None
        if type(message) is not Request:
            return None
        if not (is_sessionless(message) or message.method == "server/discover"):
            return None
        self._session = self._new_session("2026")
        return self._session

    async def _send(self, session: RawSession, message: Message) -> None:
        headers = None
        if type(message) is Request:
            if session.transport_name == "2026":
                if message.method == "tools/list":
                    self._listings.add(_key(message.id))
                elif message.method == "tools/call":
                    headers = await self._param_headers(session, message)
            self._in_flight.add(message.id, session)
        try:
            await session.send(message, headers)
        except SessionExpired:
            if type(message) is not Request:
                logger.warning("the remote session is gone; dropped a %s", _describe(message))
                return
            # The server never saw this request (404: no such session): it goes again, once,
            # on a new session (and is not among those in flight that the loss fails).
            self._in_flight.pop(message.id)
            logger.debug("%s met the loss of the remote session", _describe(message))
            replacement = await self._replace(session)
            if replacement is None:
                self._answer(message, TransportClosed("the remote session is gone"))
                return
            self._in_flight.add(message.id, replacement)
            try:
                await replacement.send(message)
            except ClientError as exc:
                self._answer(message, exc)
        except ClientError as exc:
            self._answer(message, exc)

    async def _param_headers(self, session: RawSession, call: Request) -> dict[str, str] | None:
        """A 2026-07-28 tool call's ``Mcp-Param-*`` headers, which a client "MUST" send for
        the arguments the tool marks ``x-mcp-header`` (server/tools; non-ASCII values in the
        base64 sentinel). Over stdio the local client has no headers to send: connect adds
        them, from what the server listed."""
        params = call.params or {}
        name = params.get("name")
        if type(name) is not str:
            return None
        if name not in self._tool_marks:
            # Not named by the last list (or none yet): listed for, once per name until the
            # server says its tools changed (a tool added since, or one that does not exist).
            # Calls at once wait for the one list.
            async with self._listing:
                if name not in self._tool_marks and name not in self._listed_for:
                    self._listed_for.add(name)
                    await self._list_tools(session, params.get("_meta"))
        return param_headers(self._tool_marks.get(name, ()), params.get("arguments")) or None

    async def _list_tools(self, session: RawSession, meta: object) -> None:
        """Learn every tool's marks from a ``tools/list`` of connect's own (every page), sent
        with the call's revision and client capabilities (its ``io.modelcontextprotocol/``
        ``_meta``). If it fails, the call goes without headers, and a server that wants them
        says so (-32020)."""
        own_meta = (
            {key: value for key, value in meta.items() if key.startswith(_PROTOCOL_META)}
            if isinstance(meta, dict)
            else {}
        )
        marks = await listed_tool_marks(
            lambda params: self._own_request(session, "tools/list", params), {"_meta": own_meta}
        )
        if marks is not None:
            self._tool_marks.update(marks)

    async def _own_request(
        self, session: RawSession, method: str, params: JSONObject
    ) -> JSONObject | None:
        """A request of connect's own on ``session`` (not a new session's initialize): its
        result, or None (logged)."""
        own_id = f"{_OWN_ID_PREFIX}{next(self._own_ids)}"
        answer: asyncio.Future[Response | ErrorResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._own[_key(own_id)] = answer
        self._own_lists.add(_key(own_id))
        try:
            await session.send(Request(own_id, method, params))
            async with asyncio.timeout(self._timeout_seconds):
                reply = await answer
        except (ClientError, TimeoutError) as exc:
            logger.warning("no %s from the server: %s", method, str(exc) or "no answer in time")
            return None
        finally:
            self._own.pop(_key(own_id), None)
            self._own_lists.discard(_key(own_id))
        if type(reply) is not Response or not isinstance(reply.result, dict):
            logger.warning("no %s from the server: %r", method, reply)
            return None
        return reply.result

    def _answer(self, message: Message, error: ClientError) -> None:
        """The remote will not answer ``message``: tell the local client (and the log)."""
        logger.warning("%s: %s", _describe(message), error)
        if type(message) is Request:
            self._in_flight.pop(message.id)
            self._output.send(_relay_error(message.id, error))

    # ------------------------------------------------------------------ sessions

    def _new_translator_session(
        self, on_message: MessageHandler, on_failure: FailureHandler
    ) -> RawSession:
        return RawSession(
            self._url,
            transport="2026",
            headers=self._headers,
            token=self._token,
            timeout_seconds=self._timeout_seconds,
            on_message=on_message,
            on_failure=on_failure,
        )

    def _fail_local(self, request_id: RequestId, error: ClientError) -> None:
        logger.warning("request %r: %s", request_id, error)
        self._output.send(_relay_error(request_id, error))

    async def _translated(self, initialize: Request) -> bool:
        """Whether the local session is translated for a server that speaks only
        2026-07-28 (``--transport 2026``: that speaks it at all), its ``initialize`` answered
        from ``server/discover``; False: open a 2025 session instead."""
        if self._translator is not None:
            self._translator.answer_initialize(initialize)
            return True
        translator = Translator(
            self._new_translator_session,
            send_local=self._output.send,
            fail_local=self._fail_local,
            timeout_seconds=self._timeout_seconds,
        )
        forced = self._mode == "2026"
        try:
            discover = await translator.probe(initialize, force=forced)
        except ClientError as exc:
            await translator.close()
            if not forced:
                return False  # the 2025 handshake meets the same, and says so as before
            self._answer(initialize, exc)
            self.exit_code = _exit_code_of(exc)
            self.fatal.set()
            return True
        if discover is None:
            await translator.close()
            return False
        logger.info("the server speaks only 2026-07-28: translating this session")
        self._translator = translator
        translator.answer_initialize(initialize)
        return True

    def _new_session(self, transport: RawTransportName) -> RawSession:
        session: RawSession

        def on_failure(request_id: RequestId | None, error: ClientError) -> None:
            self._on_failure(session, request_id, error)

        session = RawSession(
            self._url,
            transport=transport,
            headers=self._headers,
            token=self._token,
            timeout_seconds=self._timeout_seconds,
            on_message=self._on_message,
            on_failure=on_failure,
        )
        return session

    async def _open_session(
        self, initialize: Request, kinds: list[RawTransportName], *, is_local: bool
    ) -> RawSession:
        """A session opened by sending ``initialize`` (its answer comes to ``_on_message``);
        ``is_local`` says it is the local client's (an answer it waits for), not connect's.

        Raises:
            ClientError: no transport in ``kinds`` took it.
        """
        for kind in kinds:
            session = self._new_session(kind)
            if is_local:
                self._in_flight.add(initialize.id, session)
            try:
                await session.start()
                await session.send(initialize)
                return session
            except HTTPError as exc:
                await session.close()
                if (
                    kind is kinds[-1]
                    or isinstance(exc, AuthError)
                    or not steps_down_to_legacy_sse(exc.status)
                ):
                    raise
                logger.info("initialize got HTTP %d: trying the SSE transport", exc.status)
            except BaseException:
                await session.close()
                raise
        raise AssertionError("unreachable: kinds is not empty")

    def _kinds(self) -> list[RawTransportName]:
        if self._mode == "auto":
            return ["streamable", "sse"]
        if self._mode == "2026":
            return []
        return [self._mode]

    async def _open_for(self, initialize: Request) -> None:
        """The local client's ``initialize``: open a remote session with it, or translate the
        session for a server that speaks only 2026-07-28."""
        if self._mode in ("auto", "2026"):
            async with self._opening:
                if await self._translated(initialize):
                    return
        kinds = self._kinds()
        if not kinds:
            self._output.send(
                error_response(
                    initialize.id,
                    InvalidRequest(
                        "Invalid Request: connect --transport 2026 found no 2026-07-28 "
                        "server to translate this session for (its server/discover failed)"
                    ),
                )
            )
            return
        async with self._opening:
            first = self._initialize is None
            previous, self._session = self._session, None
            if previous is not None:
                self._spawn(previous.close())  # the local client starts over
            self._initialize = initialize
            self._initialize_key = _key(initialize.id)
            self._negotiated_version = None
            try:
                session = await self._open_session(initialize, kinds, is_local=True)
            except ClientError as exc:
                self._answer(initialize, exc)
                if first:
                    self.exit_code = _exit_code_of(exc)
                    self.fatal.set()
                return
            self._session = session

    async def _session_opened(self, session: RawSession) -> None:
        if self._negotiated_version is None:
            return
        try:
            await session.session_opened(self._negotiated_version)
        except ClientError as exc:
            logger.warning("no stream for the server's notifications: %s", exc)

    async def _replace(self, lost: RawSession) -> RawSession | None:
        """A new session in place of ``lost``, which the server no longer knows (spec
        2025-11-25 basic/transports: on 404 the client "MUST start a new session by sending a
        new InitializeRequest without a session ID attached"); None if it cannot be had.

        The local client's own ``initialize`` is replayed under an id of connect's; what the
        old session had set up (subscriptions, log level) is not: the server forgot it.
        """
        async with self._opening:
            if self._session is not lost:
                return self._session  # another request replaced it already
            self._session = None
            self._spawn(lost.close())
            self._fail_in_flight(lost, TransportClosed("the remote session is gone (HTTP 404)"))
            if self._initialize is None:
                return None
            logger.warning(
                "the remote session is gone (HTTP 404): opening a new one; its "
                "subscriptions and log level are not restored"
            )
            own_id = f"{_OWN_ID_PREFIX}{next(self._own_ids)}"
            answer: asyncio.Future[Response | ErrorResponse] = (
                asyncio.get_running_loop().create_future()
            )
            self._own[_key(own_id)] = answer
            replay = Request(own_id, "initialize", self._initialize.params)
            try:
                session = await self._open_session(replay, [lost.transport_name], is_local=False)
                try:
                    async with asyncio.timeout(self._timeout_seconds):
                        result = await answer
                except TimeoutError:
                    await session.close()
                    logger.warning("the new session's initialize got no answer in time")
                    return None
            except ClientError as exc:
                logger.warning("cannot open a new remote session: %s", exc)
                return None
            finally:
                self._own.pop(_key(own_id), None)
            if type(result) is not Response:
                await session.close()
                logger.warning("the server refused the new session's initialize")
                return None
            await session.send(Notification("notifications/initialized"))
            await self._session_opened(session)
            self._session = session
            return session

    def _fail_in_flight(self, session: RawSession, error: ClientError) -> None:
        for request_id in self._in_flight.pop_session(session):
            self._output.send(_relay_error(request_id, error))

    # ------------------------------------------------------------------ from the remote

    def _on_message(self, message: Message) -> None:
        if type(message) is ErrorResponse and message.id is None:
            # An error about no request (a body beside an HTTP error status): the local client
            # could not tie it to anything; what it says goes to the log.
            logger.warning("the remote server said: %s (code %d)", message.message, message.code)
            return
        if (type(message) is Response or type(message) is ErrorResponse) and (
            message.id is not None
        ):
            key = _key(message.id)
            own = self._own.get(key)
            if own is not None:
                if key not in self._own_lists:
                    self._note_version(message)  # a new session's initialize
                if not own.done():
                    own.set_result(message)
                return
            if key in self._listings:
                self._listings.discard(key)
                if type(message) is Response:
                    self._tool_marks.update(tool_marks_of(message.result))
            if self._in_flight.pop(message.id) is None and logger.isEnabledFor(logging.DEBUG):
                logger.debug("an answer to no request in flight: id %r", message.id)
            if key == self._initialize_key:
                self._note_version(message)
        elif type(message) is Notification and message.method == _TOOLS_LIST_CHANGED:
            # What was learnt of the tools' x-mcp-header arguments may be stale now.
            self._tool_marks.clear()
            self._listed_for.clear()
        self._output.send(message)

    def _note_version(self, answer: Response | ErrorResponse) -> None:
        if type(answer) is ErrorResponse:
            # A server that speaks only 2026-07-28 may refuse the handshake: connect does not
            # translate a 2025 client's session into 2026-07-28 requests.
            logger.warning(
                "the remote server refused initialize: %s (code %d)", answer.message, answer.code
            )
            return
        result = answer.result  # type: ignore[union-attr]
        version = result.get("protocolVersion") if isinstance(result, dict) else None
        self._negotiated_version = version if isinstance(version, str) else None

    def _on_failure(
        self, session: RawSession, request_id: RequestId | None, error: ClientError
    ) -> None:
        if request_id is None:
            # The connection ended (the 2024-11-05 stream closed): nothing in flight on it
            # will be answered; the next request finds the session gone (404) and replaces it.
            logger.warning("the remote connection ended: %s", error)
            self._fail_in_flight(session, error)
            return
        key = _key(request_id)
        own = self._own.get(key)
        if own is not None:
            if not own.done():
                own.set_exception(error)
            return
        if self._in_flight.session_of(request_id) is session:
            self._in_flight.pop(request_id)
            logger.warning("request %r: %s", request_id, error)
            self._output.send(_relay_error(request_id, error))

    # ------------------------------------------------------------------ the end

    async def finish(self, grace_seconds: float) -> None:
        """The local client is done: let answers in flight arrive (for a while), then close
        the remote session (DELETE on Streamable HTTP)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await self._in_flight.empty.wait()
                if self._translator is not None:
                    await self._translator.idle.wait()
        await self.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        translator, self._translator = self._translator, None
        if translator is not None:
            await translator.close()


def _cancels(message: Message) -> bool:
    """Whether ``message`` is a ``notifications/cancelled`` naming a request id."""
    if type(message) is not Notification or message.method != "notifications/cancelled":
        return False
    request_id = (message.params or {}).get("requestId")
    return type(request_id) is int or type(request_id) is str


def _describe(message: Message) -> str:
    if type(message) is Request or type(message) is Notification:
        return message.method
    return "response"


async def run_connect(
    url: str,
    *,
    transport: ConnectTransport = "auto",
    headers: dict[str, str] | None = None,
    token: str | None = None,
    timeout_seconds: float = 60.0,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    shutdown_grace_seconds: float = DEFAULT_SHUTDOWN_GRACE_SECONDS,
) -> int:
    """Relay stdin/stdout to the MCP server at ``url`` until stdin ends, stdout closes, or
    the first session cannot be opened; returns the exit code (``EXIT_*``).

    While relaying, ``sys.stdout`` points at stderr, so that nothing but JSON-RPC reaches the
    local client.
    """
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    output = _Output(await _open_writer(stdout))
    relay = Relay(
        url,
        transport=transport,
        headers=dict(headers or {}),
        token=token,
        timeout_seconds=timeout_seconds,
        output=output,
    )
    saved_stdout = sys.stdout
    sys.stdout = sys.stderr

    async def read_input() -> None:
        lines = LineReader(max_line_bytes)
        async for chunk in _read_chunks(stdin):
            for line in lines.feed(chunk):
                relay.handle_line(line)
        last = lines.close()
        if last is None or last.strip():
            relay.handle_line(last)

    reading = asyncio.get_running_loop().create_task(read_input())
    stopping = [
        reading,
        asyncio.ensure_future(output.lost.wait()),
        asyncio.ensure_future(relay.fatal.wait()),
    ]
    try:
        await asyncio.wait(stopping, return_when=asyncio.FIRST_COMPLETED)
        if reading.done() and not relay.fatal.is_set():
            await relay.finish(shutdown_grace_seconds)
        else:
            if output.lost.is_set():
                logger.info("stdout closed: the local client is gone")
            await relay.close()
    finally:
        for task in stopping:
            task.cancel()
        for task in stopping:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        sys.stdout = saved_stdout
        await output.close()
    return relay.exit_code
