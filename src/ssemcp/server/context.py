"""``Context``: what a handler may do while it runs, besides returning.

Owns the handler-facing API for one request: log to the client, report progress, and ask the
client (sampling, elicitation, roots; ``client_results`` reads the answers). Every message it
sends rides on the request's own stream (the ``send`` the transport gave for this request), so
a Streamable HTTP reply carries it on the POST's SSE response, as the spec asks of messages
"related to" a request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final, Literal

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import CapabilityNotSupported
from ssemcp.jsonrpc import Message, Request
from ssemcp.server.client_results import ElicitResult, SamplingResult

if TYPE_CHECKING:
    from ssemcp.protocol.request_context import Principal, RequestContext
    from ssemcp.server.dispatch import SessionChannel

__all__ = ["Context", "InputRequired", "LogLevel", "Send"]

Send = Callable[[Message], Awaitable[None]]
LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


class InputRequired(Exception):
    """A handler asked the client a question that this round of a request that stands alone
    cannot answer (``ssemcp.server.mrtr``): the round ends here. Not for handlers to catch."""


# A sampling request needs some bound; the spec requires maxTokens, so we pick one when the
# handler does not.
DEFAULT_SAMPLING_MAX_TOKENS: Final = 1000


class Context:
    """Handed to a handler that declares a parameter annotated ``Context``.

    Only async handlers may take one: its methods are coroutines.
    """

    __slots__ = ("_channel", "_context", "_request", "_send")

    def __init__(
        self,
        request: Request,
        context: RequestContext,
        send: Send,
        channel: SessionChannel | None = None,
    ) -> None:
        self._request = request
        self._context = context
        self._send = send
        self._channel = channel

    @property
    def request_id(self) -> int | str:
        return self._request.id

    @property
    def meta(self) -> JSONObject:
        """The request's ``_meta`` (empty if it had none)."""
        meta = (self._request.params or {}).get("_meta")
        return meta if isinstance(meta, dict) else {}

    @property
    def traceparent(self) -> str | None:
        """The W3C Trace Context ``traceparent`` the client put in the request's ``_meta``
        (a reserved key since 2026-07-28, basic/index), to continue its trace; None if none."""
        value = self.meta.get("traceparent")
        return value if type(value) is str else None

    @property
    def progress_token(self) -> str | int | None:
        token = self.meta.get("progressToken")
        return token if type(token) in (str, int) else None  # type: ignore[return-value]

    @property
    def protocol_version(self) -> str:
        return self._context.revision.version

    @property
    def client_info(self) -> JSONObject:
        return self._context.client_info

    @property
    def client_capabilities(self) -> JSONObject:
        return self._context.client_capabilities

    @property
    def principal(self) -> Principal | None:
        """Who sent the request: subject, issuer, client id, scopes and claims, as the HTTP
        layer's verifier found them (``ssemcp.auth``); None without authentication."""
        return self._context.principal

    # ------------------------------------------------------------------ logging

    async def log(self, level: LogLevel, data: JSONValue, *, logger: str | None = None) -> None:
        """Send a ``notifications/message`` if the client's level lets it through."""
        notification = self._context.log_message(level, data, logger)
        if notification is not None:
            await self._send(notification)

    async def debug(self, data: JSONValue, *, logger: str | None = None) -> None:
        await self.log("debug", data, logger=logger)

    async def info(self, data: JSONValue, *, logger: str | None = None) -> None:
        await self.log("info", data, logger=logger)

    async def warning(self, data: JSONValue, *, logger: str | None = None) -> None:
        await self.log("warning", data, logger=logger)

    async def error(self, data: JSONValue, *, logger: str | None = None) -> None:
        await self.log("error", data, logger=logger)

    # ------------------------------------------------------------------ progress

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Send ``notifications/progress`` for this request; a no-op when the client asked
        for none (no ``progressToken``). ``progress`` should increase with every call."""
        token = self.progress_token
        if token is None:
            return
        await self._send(self._context.progress(token, progress, total, message))

    # ------------------------------------------------------------------ asking the client

    async def send_request(
        self,
        method: str,
        params: JSONObject | None = None,
        *,
        timeout_seconds: float | None = None,
        key: str | None = None,
    ) -> JSONValue:
        """Ask the client and await its answer: in a session, a request on this request's
        stream; on a 2026-07-28 request, a question of a multi round-trip request
        (``ssemcp.server.mrtr``: the handler runs again when the answer comes), named ``key``.

        Raises:
            CapabilityNotSupported, RequestTimeout, PeerError, SessionClosed
        """
        if self._channel is None:
            raise CapabilityNotSupported(f"{method} needs a session to reach the client")
        return await self._channel.send_request(
            method, params, send=self._send, timeout_seconds=timeout_seconds, key=key
        )

    async def sample(
        self,
        messages: str | Sequence[JSONObject],
        *,
        max_tokens: int = DEFAULT_SAMPLING_MAX_TOKENS,
        system_prompt: str | None = None,
        temperature: float | None = None,
        stop_sequences: Sequence[str] | None = None,
        model_preferences: JSONObject | None = None,
        include_context: Literal["none", "thisServer", "allServers"] | None = None,
        metadata: JSONObject | None = None,
        timeout_seconds: float | None = None,
        key: str | None = None,
    ) -> SamplingResult:
        """Ask the client's model for a completion (``sampling/createMessage``).

        Args:
            messages: a user prompt, or ``SamplingMessage`` objects.

        Returns:
            The client's answer: ``.text`` (its text), ``.content`` (its blocks), ``.model``,
            ``.stop_reason``, ``.role``.

        Raises:
            CapabilityNotSupported, RequestTimeout, PeerError, SessionClosed; RequestError
            for an answer that is not a ``CreateMessageResult``.
        """
        if isinstance(messages, str):
            wire_messages: list[JSONValue] = [
                {"role": "user", "content": {"type": "text", "text": messages}}
            ]
        else:
            wire_messages = list(messages)
        params: JSONObject = {"messages": wire_messages, "maxTokens": max_tokens}
        optional: dict[str, JSONValue] = {
            "systemPrompt": system_prompt,
            "temperature": temperature,
            "stopSequences": list(stop_sequences) if stop_sequences is not None else None,
            "modelPreferences": model_preferences,
            "includeContext": include_context,
            "metadata": metadata,
        }
        params.update({key: value for key, value in optional.items() if value is not None})
        result = await self.send_request(
            "sampling/createMessage", params, timeout_seconds=timeout_seconds, key=key
        )
        return SamplingResult.from_json(result)

    async def elicit(
        self,
        message: str,
        requested_schema: JSONObject,
        *,
        timeout_seconds: float | None = None,
        key: str | None = None,
    ) -> ElicitResult:
        """Ask the user for structured input (``elicitation/create``, 2025-06-18 and later).

        Returns:
            The client's answer: ``.action`` (``"accept"``, ``"decline"`` or ``"cancel"``)
            and, when accepted, ``.content``, the values by property name.

        Raises:
            CapabilityNotSupported, RequestTimeout, PeerError, SessionClosed; RequestError
            for an answer that is not an ``ElicitResult``.
        """
        result = await self.send_request(
            "elicitation/create",
            {"message": message, "requestedSchema": requested_schema},
            timeout_seconds=timeout_seconds,
            key=key,
        )
        return ElicitResult.from_json(result)

    async def list_roots(
        self, *, timeout_seconds: float | None = None, key: str | None = None
    ) -> list[JSONObject]:
        """The client's roots (``roots/list``)."""
        result = await self.send_request(
            "roots/list", None, timeout_seconds=timeout_seconds, key=key
        )
        roots = result.get("roots") if isinstance(result, dict) else None
        return [root for root in roots if isinstance(root, dict)] if isinstance(roots, list) else []
