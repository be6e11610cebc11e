"""``Client``: one connection to an MCP server, over any transport and revision ssemcp speaks.

Owns connecting (the revision fallback of ``transport="auto"``), waiting for answers with a
timeout, cancelling, paging lists, answering the server's questions through the caller's
callbacks (as requests in a 2025 session, as multi round-trip rounds on 2026-07-28), and
routing progress and log notifications. The rules it applies are ``_protocol``'s; the bytes are
the transports'.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Final, Literal, TypeAlias
from urllib.parse import urlsplit

from ssemcp._types import JSONObject, JSONValue
from ssemcp.client._errors import (
    AuthError,
    ClientError,
    ClientTimeout,
    HTTPError,
    NegotiationError,
    RemoteError,
    TransportClosed,
)
from ssemcp.client._http import HTTPTransport
from ssemcp.client._legacy_sse import LegacySSETransport
from ssemcp.client._protocol import (
    DEFAULT_CLIENT_INFO,
    MAX_INPUT_ROUNDS,
    LogMessage,
    Pending,
    ProbeVerdict,
    Progress,
    Step,
    capabilities_for,
    check_initialize_result,
    connection_steps,
    header_params_of_tool,
    initialize_params,
    input_requests_of,
    log_message_of,
    modern_params,
    next_cursor_of,
    param_headers,
    probe_verdict,
    progress_of,
    result_of,
    retry_params,
    steps_down_to_legacy_sse,
)
from ssemcp.client._stdio import StdioTransport
from ssemcp.client._transports import Transport
from ssemcp.client._wire import MessageEvent, WireObserver
from ssemcp.errors import MethodNotFound, ProtocolError
from ssemcp.jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    error_response,
    to_object,
)
from ssemcp.protocol.revisions import LATEST, MODERN, SUPPORTED_VERSIONS, revision_for
from ssemcp.protocol.sessionless import HeaderParam

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "Client",
    "ElicitationHandler",
    "LogHandler",
    "ProgressHandler",
    "RootsHandler",
    "SamplingHandler",
    "TransportName",
]

logger = logging.getLogger(__name__)

TransportName: TypeAlias = Literal["auto", "streamable", "sse", "2026"]
SamplingHandler: TypeAlias = Callable[[JSONObject], Awaitable[JSONObject]]
"""Answers ``sampling/createMessage``: its params in, a ``CreateMessageResult`` out."""
ElicitationHandler: TypeAlias = Callable[[JSONObject], Awaitable[JSONObject]]
"""Answers ``elicitation/create``: its params in, an ``ElicitResult`` out."""
RootsHandler: TypeAlias = Callable[[], Awaitable[list[JSONObject]]]
"""Answers ``roots/list`` with the client's roots (``{"uri": ..., "name": ...}``)."""
ProgressHandler: TypeAlias = Callable[[Progress], None]
LogHandler: TypeAlias = Callable[[LogMessage], None]

# What one request waits for its answer by default; a tool may take long, a hung server
# must not hold a script forever.
DEFAULT_TIMEOUT_SECONDS: Final = 60.0
# The server/discover probe of "auto" waits at most this long: an old stdio server may
# ignore a method it does not know rather than answer it.
PROBE_TIMEOUT_SECONDS: Final = 10.0


def _check_url(url: str) -> None:
    """Refuse what is no http(s) URL before any I/O (httpx would raise its own error)."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (it raises for a port that is no number)
    except ValueError:
        raise ValueError(f"not a valid URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a target is an http(s) URL or a command, not {url!r}")


class _ClientSink:
    """What a transport hands its messages and failures to: the client's private methods."""

    __slots__ = ("closed", "fail", "receive")

    def __init__(self, client: Client) -> None:
        self.receive = client._receive
        self.fail = client._fail
        self.closed = client._closed


class ClientState(enum.Enum):
    NEW = "new"  # not connected yet
    OPEN = "open"  # connected: requests may go
    CLOSED = "closed"  # closed: cannot be reopened


class Client:
    """An MCP client connected to one server. Use it as an async context manager.

    Args:
        target: a URL (``http://…``/``https://…``) or a command to run as a stdio server
            (a sequence of program and arguments).
        transport: for a URL, ``"auto"`` (2026-07-28 ``server/discover`` first, then the
            2025 ``initialize`` handshake on Streamable HTTP, then the 2024-11-05 ``GET``
            stream: spec 2025-11-25 basic/transports, "Backwards Compatibility"),
            ``"streamable"`` (a 2025 session only), ``"sse"`` (2024-11-05 only) or ``"2026"``
            (2026-07-28 only). For a command, ``"auto"`` or ``"2026"``.
        headers: extra HTTP headers for every request.
        token: a bearer token (``Authorization: Bearer …``).
        timeout_seconds: how long a request waits for its answer (and connecting, for HTTP).
        client_info: the ``Implementation`` the client names itself with.
        on_sampling, on_elicitation, on_roots: answer the server's questions; each one given
            declares its capability.
        on_log: receives the server's log messages; ``log_level`` sets the least severe
            level asked for (default ``"info"`` when ``on_log`` is given).
        observer: receives every wire event (``ssemcp.client.WireObserver``).
        stderr: a command's stderr: ``"inherit"`` (ours) or ``"log"`` (this logger).
        env: extra environment variables for a command.
        protocol_version: the 2025 session revision to offer in ``initialize`` (default the
            newest); giving one skips the 2026-07-28 probe.

    Attributes (once connected):
        protocol_version: the revision spoken (``"2026-07-28"``, or the session's).
        is_modern: whether it is 2026-07-28 (each request stands alone).
        transport_name: ``"stdio"``, ``"streamable"`` or ``"sse"``.
        server_info, server_capabilities, instructions: what the server said of itself.
        timeout_seconds: the default wait for an answer.
    """

    def __init__(
        self,
        target: str | Sequence[str],
        *,
        transport: TransportName = "auto",
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        client_info: JSONObject | None = None,
        on_sampling: SamplingHandler | None = None,
        on_elicitation: ElicitationHandler | None = None,
        on_roots: RootsHandler | None = None,
        on_log: LogHandler | None = None,
        log_level: str | None = None,
        observer: WireObserver | None = None,
        stderr: Literal["inherit", "log"] = "inherit",
        env: Mapping[str, str] | None = None,
        protocol_version: str | None = None,
    ) -> None:
        if protocol_version is not None and revision_for(protocol_version) is None:
            raise ValueError(
                f"protocol_version must be one of {', '.join(SUPPORTED_VERSIONS)}; "
                'for 2026-07-28 use transport="2026"'
            )
        self._offered_version = protocol_version or LATEST.version
        self._offered_version_default = protocol_version is None
        if isinstance(target, str):
            _check_url(target)
            self._url: str | None = target
            self._command: list[str] = []
        else:
            self._url = None
            self._command = list(target)
            if not self._command:
                raise ValueError("a command target needs a program")
            connection_steps(transport, is_url=False)  # ValueError for "sse", "streamable"
        self._mode: TransportName = transport
        self._headers = dict(headers or {})
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.timeout_seconds = timeout_seconds
        self._client_info = client_info or DEFAULT_CLIENT_INFO
        self._on_sampling = on_sampling
        self._on_elicitation = on_elicitation
        self._on_roots = on_roots
        self._on_log = on_log
        self._log_level = log_level or ("info" if on_log is not None else None)
        self._observer = observer
        self._stderr = stderr
        self._env = env
        self._capabilities = capabilities_for(
            sampling=on_sampling is not None,
            elicitation=on_elicitation is not None,
            roots=on_roots is not None,
        )
        self._state = ClientState.NEW
        self._sink = _ClientSink(self)
        self._transport: Transport | None = None
        self._pending: Pending[asyncio.Future[Response | ErrorResponse]] = Pending()
        self._progress: dict[tuple[type, RequestId], ProgressHandler] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed_error: ClientError | None = None
        self.is_modern = False
        self.protocol_version: str | None = None
        self.server_info: JSONObject = {}
        self.server_capabilities: JSONObject = {}
        self.instructions: str | None = None
        # Each tool's x-mcp-header arguments (2026-07-28 HTTP), from the last tools/list.
        self._header_params: dict[str, tuple[HeaderParam, ...]] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def transport_name(self) -> str:
        """``"stdio"``, ``"streamable"`` or ``"sse"`` once connected."""
        return "" if self._transport is None else self._transport.name

    async def connect(self) -> None:
        """Connect and agree on a revision.

        Raises:
            ConnectError, AuthError, HTTPError, ClientTimeout, NegotiationError, RemoteError.
            RuntimeError: the client was connected before.
        """
        if self._state is not ClientState.NEW:
            raise RuntimeError("a Client connects once; make a new one")
        self._state = ClientState.OPEN
        try:
            if self._url is None:
                await self._connect_stdio()
            else:
                await self._connect_http(self._url)
        except BaseException:
            await self.close()
            raise

    async def _connect_stdio(self) -> None:
        steps = connection_steps(self._mode, is_url=False, probe=self._offered_version_default)
        transport = StdioTransport(
            self._command, self._sink, stderr=self._stderr, env=self._env, observer=self._observer
        )
        self._transport = transport
        await transport.start()
        for step in steps:
            if step is Step.DISCOVER:
                if await self._probe() is ProbeVerdict.MODERN:
                    return
            else:
                await self._initialize()
                return
        raise NegotiationError("the server does not speak 2026-07-28")

    async def _connect_http(self, url: str) -> None:
        steps = connection_steps(self._mode, is_url=True, probe=self._offered_version_default)
        transport = HTTPTransport(
            url,
            self._sink,
            headers=self._headers,
            timeout_seconds=self.timeout_seconds,
            observer=self._observer,
        )
        for step in steps:
            if step is Step.DISCOVER:
                self._transport = transport
                transport.modern = True
                if await self._probe() is ProbeVerdict.MODERN:
                    return
                transport.modern = False
            elif step is Step.INITIALIZE:
                self._transport = transport
                try:
                    await self._initialize()
                    return
                except HTTPError as exc:
                    if (
                        step is steps[-1]
                        or isinstance(exc, AuthError)
                        or not steps_down_to_legacy_sse(exc.status)
                    ):
                        raise
                    logger.info("initialize got HTTP %d: trying the SSE transport", exc.status)
            else:
                await transport.close()
                await self._connect_legacy_sse(url)
                return
        raise NegotiationError("the server does not speak 2026-07-28")

    async def _connect_legacy_sse(self, url: str) -> None:
        transport = LegacySSETransport(
            url,
            self._sink,
            headers=self._headers,
            timeout_seconds=self.timeout_seconds,
            observer=self._observer,
        )
        self._transport = transport
        await transport.start()
        await self._initialize()

    async def _probe(self) -> ProbeVerdict:
        """Send ``server/discover``; adopt 2026-07-28 if the server speaks it."""
        self.is_modern = True
        answer: Response | ErrorResponse | None
        try:
            answer = await self._exchange(
                "server/discover", None, min(self.timeout_seconds, PROBE_TIMEOUT_SECONDS)
            )
        except AuthError:
            raise
        except (HTTPError, ClientTimeout) as exc:
            logger.debug("server/discover probe: %s", exc)
            answer = None
        verdict = probe_verdict(answer)
        if verdict is ProbeVerdict.MODERN:
            assert isinstance(answer, Response) and isinstance(answer.result, dict)
            self._adopt_modern(answer.result)
        else:
            self.is_modern = False
        return verdict

    def _adopt_modern(self, result: JSONObject) -> None:
        self.protocol_version = MODERN.version
        capabilities = result.get("capabilities")
        self.server_capabilities = capabilities if isinstance(capabilities, dict) else {}
        instructions = result.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) else None
        meta = result.get("_meta")
        info = meta.get("io.modelcontextprotocol/serverInfo") if isinstance(meta, dict) else None
        self.server_info = info if isinstance(info, dict) else {}

    async def _initialize(self) -> None:
        """The 2025 handshake (basic/lifecycle): ``initialize``, then ``initialized``."""
        self.is_modern = False
        result = result_of(
            await self._exchange(
                "initialize",
                initialize_params(self._capabilities, self._client_info, self._offered_version),
                self.timeout_seconds,
            )
        )
        revision = check_initialize_result(result)
        assert isinstance(result, dict)
        self.protocol_version = revision.version
        capabilities = result.get("capabilities")
        self.server_capabilities = capabilities if isinstance(capabilities, dict) else {}
        info = result.get("serverInfo")
        self.server_info = info if isinstance(info, dict) else {}
        instructions = result.get("instructions")
        self.instructions = instructions if isinstance(instructions, str) else None
        if isinstance(self._transport, HTTPTransport) and revision.protocol_version_header:
            # basic/transports: from 2025-06-18 the client "MUST include" the header.
            self._transport.protocol_version = revision.version
        await self._notify("notifications/initialized", None)
        if isinstance(self._transport, HTTPTransport):
            await self._transport.open_get_stream()
        if self._log_level is not None and "logging" in self.server_capabilities:
            await self.request("logging/setLevel", {"level": self._log_level})

    async def close(self) -> None:
        """Close the connection (a 2025 session is deleted, a child process stopped).
        Requests still waiting fail with ``TransportClosed``. Idempotent."""
        if self._state is ClientState.CLOSED:
            return
        self._state = ClientState.CLOSED
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()
        self._closed(TransportClosed("the client is closed"))

    # ------------------------------------------------------------------ what transports call

    def _receive(self, message: Message) -> None:
        """A message from the server."""
        if self._observer is not None:
            self._observer.on_wire(MessageEvent("received", to_object(message)))
        if isinstance(message, Response | ErrorResponse):
            waiter = self._pending.pop(message.id)
            if waiter is None:
                logger.debug("an answer to no request we wait on: id %r", message.id)
            elif not waiter.done():
                waiter.set_result(message)
        elif isinstance(message, Request):
            self._spawn(self._answer_server_request(message))
        else:
            self._on_notification(message)

    def _fail(self, request_id: RequestId, error: ClientError) -> None:
        waiter = self._pending.pop(request_id)
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _closed(self, error: ClientError) -> None:
        self._closed_error = error
        for waiter in self._pending.drain():
            if not waiter.done():
                waiter.set_exception(error)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_notification(self, notification: Notification) -> None:
        if notification.method == "notifications/progress":
            found = progress_of(notification.params)
            if found is not None:
                token, update = found
                handler = (
                    self._progress.get((type(token), token))
                    if isinstance(token, int | str)
                    else None
                )
                if handler is not None:
                    handler(update)
        elif notification.method == "notifications/message":
            message = log_message_of(notification.params)
            if message is not None and self._on_log is not None:
                self._on_log(message)
        else:
            logger.debug("notification %s from the server", notification.method)

    async def _answer_server_request(self, request: Request) -> None:
        """Answer a request of a 2025 session's server (sampling, elicitation, roots, ping)."""
        try:
            if request.method == "ping":
                reply: Response | ErrorResponse = Response(request.id, {})
            else:
                reply = Response(request.id, await self._answer(request.method, request.params))
        except ProtocolError as exc:
            reply = error_response(request.id, exc)
        except Exception:
            logger.exception("answering the server's %s failed", request.method)
            reply = ErrorResponse(request.id, {"code": -32603, "message": "Internal error"})
        with contextlib.suppress(ClientError):
            await self._send(reply)

    async def _answer(self, method: str, params: JSONObject | None) -> JSONObject:
        """The client's answer to a server's question, from the callbacks.

        Raises:
            MethodNotFound: no callback for it (the capability was not declared).
        """
        params = params or {}
        if method == "elicitation/create" and self._on_elicitation is not None:
            return await self._on_elicitation(params)
        if method == "sampling/createMessage" and self._on_sampling is not None:
            return await self._on_sampling(params)
        if method == "roots/list" and self._on_roots is not None:
            return {"roots": list(await self._on_roots())}
        raise MethodNotFound(f"Method not found: {method}")

    # ------------------------------------------------------------------ sending

    async def _send(
        self, message: Message, extra_headers: Mapping[str, str] | None = None
    ) -> int | None:
        if self._transport is None:
            raise self._closed_error or TransportClosed("the client is not connected")
        if self._observer is not None:
            self._observer.on_wire(MessageEvent("sent", to_object(message)))
        return await self._transport.send(message, extra_headers)

    async def _notify(self, method: str, params: JSONObject | None) -> None:
        await self._send(Notification(method, params))

    async def _exchange(
        self,
        method: str,
        params: JSONObject | None,
        timeout_seconds: float,
        on_progress: ProgressHandler | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Response | ErrorResponse:
        """Send one request and wait for its answer, cancelling it if we stop waiting."""
        if self._closed_error is not None:
            raise self._closed_error
        waiter: asyncio.Future[Response | ErrorResponse] = (
            asyncio.get_running_loop().create_future()
        )
        request_id = self._pending.add(waiter)
        if self.is_modern:
            params = modern_params(params, self._capabilities, self._client_info, self._log_level)
        if on_progress is not None:
            params = dict(params or {})
            meta = params.get("_meta")
            params["_meta"] = {
                **(meta if isinstance(meta, dict) else {}),
                "progressToken": request_id,
            }
            self._progress[(int, request_id)] = on_progress
        try:
            async with asyncio.timeout(timeout_seconds):
                await self._send(Request(request_id, method, params), extra_headers)
                return await waiter
        except TimeoutError:
            self._cancel(request_id, method, "timed out")
            raise ClientTimeout(f"{method}: no answer in {timeout_seconds:g} s") from None
        except asyncio.CancelledError:
            self._cancel(request_id, method, "cancelled by the client")
            raise
        finally:
            self._pending.pop(request_id)
            self._progress.pop((int, request_id), None)

    def _cancel(self, request_id: RequestId, method: str, reason: str) -> None:
        """Tell the server we no longer wait (basic/utilities/cancellation): on 2026-07-28
        HTTP by closing the reply's stream, elsewhere with ``notifications/cancelled``."""
        transport = self._transport
        if transport is None or method == "initialize":  # "MUST NOT" be cancelled
            return

        async def cancel() -> None:
            await transport.abandon(request_id)
            if self.is_modern and isinstance(transport, HTTPTransport):
                return
            with contextlib.suppress(ClientError):
                await self._notify(
                    "notifications/cancelled", {"requestId": request_id, "reason": reason}
                )

        self._spawn(cancel())

    async def request(
        self,
        method: str,
        params: JSONObject | None = None,
        *,
        timeout_seconds: float | None = None,
        on_progress: ProgressHandler | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> JSONValue:
        """Send any request and return its result (the building block of the methods below).

        Args:
            extra_headers: HTTP headers for this request only.

        Raises:
            RemoteError: the server answered with a JSON-RPC error.
            ClientTimeout, TransportClosed, HTTPError (AuthError, SessionExpired),
            ConnectError.
        """
        if self._state is not ClientState.OPEN:
            raise RuntimeError("the client is not connected (use `async with Client(...)`)")
        timeout = self.timeout_seconds if timeout_seconds is None else timeout_seconds
        return result_of(await self._exchange(method, params, timeout, on_progress, extra_headers))

    async def _request_object(
        self,
        method: str,
        params: JSONObject | None,
        *,
        timeout_seconds: float | None = None,
        on_progress: ProgressHandler | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> JSONObject:
        """A request that may ask the client questions (2026-07-28: MRTR rounds)."""
        for _ in range(MAX_INPUT_ROUNDS):
            result = await self.request(
                method,
                params,
                timeout_seconds=timeout_seconds,
                on_progress=on_progress,
                extra_headers=extra_headers,
            )
            if not isinstance(result, dict):
                raise RemoteError(-32603, f"the result of {method} is not an object")
            questions = input_requests_of(result)
            if questions is None:
                return result
            answers: JSONObject = {}
            for question in questions:
                try:
                    answers[question.key] = await self._answer(question.method, question.params)
                except MethodNotFound:
                    raise ClientError(
                        f"the server asked {question.method}, which this client cannot answer"
                    ) from None
            params = retry_params(params, result, answers)
        raise RemoteError(-32603, f"{method}: more than {MAX_INPUT_ROUNDS} rounds of questions")

    # ------------------------------------------------------------------ MCP methods

    async def _list(self, method: str, key: str) -> list[JSONObject]:
        items: list[JSONObject] = []
        seen: set[str] = set()
        params: JSONObject | None = None
        while True:
            result = await self.request(method, params)
            page = result.get(key) if isinstance(result, dict) else None
            if not isinstance(page, list):
                raise RemoteError(-32603, f'the result of {method} has no "{key}" list')
            items.extend(item for item in page if isinstance(item, dict))
            cursor = next_cursor_of(result, seen)
            if cursor is None:
                return items
            params = {"cursor": cursor}

    async def list_tools(self) -> list[JSONObject]:
        """Every tool, all pages."""
        tools = await self._list("tools/list", "tools")
        self._header_params = {str(tool.get("name")): header_params_of_tool(tool) for tool in tools}
        return tools

    async def list_resources(self) -> list[JSONObject]:
        """Every resource, all pages."""
        return await self._list("resources/list", "resources")

    async def list_resource_templates(self) -> list[JSONObject]:
        """Every resource template, all pages."""
        return await self._list("resources/templates/list", "resourceTemplates")

    async def list_prompts(self) -> list[JSONObject]:
        """Every prompt, all pages."""
        return await self._list("prompts/list", "prompts")

    async def call_tool(
        self,
        name: str,
        arguments: JSONObject | None = None,
        *,
        on_progress: ProgressHandler | None = None,
        timeout_seconds: float | None = None,
    ) -> JSONObject:
        """Call a tool; returns its ``CallToolResult`` (check ``isError``).

        Args:
            on_progress: receives the tool's progress (a ``progressToken`` is sent).
        """
        params: JSONObject = {"name": name, "arguments": arguments or {}}
        headers: dict[str, str] | None = None
        if self.is_modern and isinstance(self._transport, HTTPTransport):
            # server/tools, "x-mcp-header": the client mirrors the marked arguments in
            # Mcp-Param-* headers, which the server checks; the tool's schema says which.
            if self._header_params is None:
                await self.list_tools()
            assert self._header_params is not None
            headers = param_headers(self._header_params.get(name, ()), params["arguments"])
        return await self._request_object(
            "tools/call",
            params,
            timeout_seconds=timeout_seconds,
            on_progress=on_progress,
            extra_headers=headers,
        )

    async def read_resource(self, uri: str, *, timeout_seconds: float | None = None) -> JSONObject:
        """Read a resource; returns its ``ReadResourceResult`` (``contents``)."""
        return await self._request_object(
            "resources/read", {"uri": uri}, timeout_seconds=timeout_seconds
        )

    async def get_prompt(
        self,
        name: str,
        arguments: Mapping[str, str] | None = None,
        *,
        timeout_seconds: float | None = None,
    ) -> JSONObject:
        """Get a prompt; returns its ``GetPromptResult`` (``messages``)."""
        params: JSONObject = {"name": name}
        if arguments:
            params["arguments"] = dict(arguments)
        return await self._request_object("prompts/get", params, timeout_seconds=timeout_seconds)

    async def complete(
        self,
        ref: JSONObject,
        argument_name: str,
        value: str,
        *,
        context_arguments: Mapping[str, str] | None = None,
    ) -> JSONObject:
        """``completion/complete``: suggestions for one argument of a prompt or template.

        Args:
            ref: ``{"type": "ref/prompt", "name": …}`` or ``{"type": "ref/resource", "uri": …}``.
        """
        params: JSONObject = {"ref": ref, "argument": {"name": argument_name, "value": value}}
        if context_arguments:
            params["context"] = {"arguments": dict(context_arguments)}
        result = await self.request("completion/complete", params)
        if not isinstance(result, dict):
            raise RemoteError(-32603, "the result of completion/complete is not an object")
        return result
