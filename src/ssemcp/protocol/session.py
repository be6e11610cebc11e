"""The server side of one MCP session, as a state machine with no I/O.

Owns the lifecycle (spec basic/lifecycle), version negotiation, which methods are allowed in
which state and revision, the :class:`~ssemcp.protocol.request_context.RequestContext` its
requests are served under (revision, client, log level, principal), resource subscriptions,
which inbound requests are in flight (and whether they were cancelled), and the ids of the
requests we send to the client.

It takes parsed JSON-RPC messages in and hands back *actions* (answer this, run that handler,
resolve this waiter, cancel that request); running handlers, waiting and writing bytes belong to
the caller. Like h11's ``_state.py``, every transition is in this file: the table
``_ALLOWED_IN_STATE`` says what each state accepts.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Final, TypeAlias

from ssemcp._types import JSONObject
from ssemcp.errors import (
    InvalidParams,
    InvalidRequest,
    LocalProtocolError,
    MethodNotFound,
    ProtocolError,
    SessionClosed,
)
from ssemcp.jsonrpc import (
    ErrorResponse,
    Invalid,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    error_response,
)
from ssemcp.protocol.request_context import LOG_LEVELS, Principal, RequestContext
from ssemcp.protocol.revisions import LATEST, Revision, negotiate, shape

__all__ = [
    "LOG_LEVELS",
    "Cancel",
    "ClientNotification",
    "Reply",
    "Resolve",
    "ServerSession",
    "SessionState",
]


class SessionState(enum.Enum):
    """Where a session is in its lifecycle."""

    #: Nothing negotiated yet: only ``initialize`` and ``ping`` are accepted.
    NEW = "new"
    #: ``initialize`` answered; ``notifications/initialized`` not yet received. Requests are
    #: served already: clients that pipeline them right after ``initialize`` are common.
    INITIALIZING = "initializing"
    #: The client confirmed with ``notifications/initialized``.
    READY = "ready"
    #: Ended (transport closed, DELETE, idle reaped); nothing is accepted any more.
    CLOSED = "closed"

    # Members are singletons, so identity hashing is exact; Enum's own __hash__ is Python
    # code (hash of the name), paid on every lookup in _ALLOWED_IN_STATE.
    __hash__ = object.__hash__


# spec basic/lifecycle: before initialization "the client SHOULD NOT send requests other than
# pings"; we refuse the rest so a confused client learns at once.
_ALLOWED_IN_STATE: Final[dict[SessionState, frozenset[str] | None]] = {
    SessionState.NEW: frozenset({"initialize", "ping"}),
    SessionState.INITIALIZING: None,  # None: whatever the negotiated revision defines
    SessionState.READY: None,
    SessionState.CLOSED: frozenset(),
}

_NOTHING: Final[frozenset[str]] = frozenset()
_NO_SUBSCRIPTIONS: Final[frozenset[str]] = _NOTHING
# Methods answered by the session itself rather than dispatched to a handler.
_ANSWERED_HERE: Final = frozenset({"initialize", "ping", "logging/setLevel"})


@functools.cache
def _dispatchable_in(revision: Revision) -> frozenset[str]:
    """What an initialized session of ``revision`` dispatches to handlers (one set per
    revision, shared by its sessions)."""
    return revision.client_methods - _ANSWERED_HERE


# Actions are slotted, not frozen, for the reason the message classes are (ssemcp.jsonrpc):
# one is built per message received. Treat them as immutable.
@dataclass(slots=True)
class Reply:
    """Send ``message`` as the answer; no handler is involved."""

    message: Response | ErrorResponse


@dataclass(slots=True)
class Resolve:
    """``message`` answers the request we sent with id ``request_id``."""

    request_id: RequestId
    message: Response | ErrorResponse


@dataclass(slots=True)
class Cancel:
    """The client cancelled request ``request_id``: stop its handler, send no response."""

    request_id: RequestId
    reason: str | None


@dataclass(slots=True)
class ClientNotification:
    """A notification for the application (``notifications/roots/list_changed``, progress)."""

    notification: Notification


# A Request as the action means: run the handler of its method, then call
# ServerSession.finish. It is the commonest action, and needs no wrapper to say so.
Action: TypeAlias = "Reply | Request | Resolve | Cancel | ClientNotification | None"


class ServerSession:
    """One client's session as seen by the server.

    Args:
        server_info: the ``serverInfo`` object (name, version, optional title, icons ...).
        capabilities: the server capabilities to announce, as of the newest revision; older
            revisions get them with unknown members removed.
        instructions: optional usage hints for the client's model.
        principal: who opened the session (``ssemcp.http.auth``), for its requests' context.
        first_request_id: the id of the first request we send the client. Replicas serving
            one session (``ssemcp.state.redis``) each start far apart, so their ids never meet.
    """

    def __init__(
        self,
        *,
        server_info: JSONObject,
        capabilities: JSONObject,
        instructions: str | None = None,
        principal: Principal | None = None,
        first_request_id: int = 1,
    ) -> None:
        self._server_info = server_info
        self._capabilities = capabilities
        self._instructions = instructions
        self.state = SessionState.NEW
        # What every request of the session is served under; replaced (never changed) by
        # initialize and logging/setLevel, so a handler's view stays as it began.
        self.context = RequestContext(principal=principal)
        # Made by the first subscription: an empty set takes 216 bytes, and most sessions
        # never subscribe.
        self._subscriptions: set[str] | None = None
        # Inbound requests being handled; the value says whether the client cancelled it.
        self._in_flight: dict[RequestId, bool] = {}
        # Ids of requests we sent and still await. Ours are ints; a response whose id is the
        # string "1" does not answer our request 1.
        # A dict used as a set (an empty set takes 216 bytes, an empty dict 64).
        self._outbound: dict[int, None] = {}
        self._next_outbound_id = first_request_id
        # The methods a request may name to be dispatched at once, with no other check than
        # its id: what the state and revision allow, less those answered here. Recomputed on
        # every change of state (see _dispatchable_in).
        self._dispatchable: frozenset[str] = _NOTHING

    def rebind(self, principal: Principal | None) -> None:
        """Serve the next requests under ``principal``: the same subject as the session's
        (the transport checked), with a fresh credential whose scopes may differ, so that a
        client that stepped its scopes up (or down) need not open a new session."""
        if principal is not self.context.principal:
            self.context = dataclasses.replace(self.context, principal=principal)

    @property
    def revision(self) -> Revision:
        """The negotiated revision (the latest until ``initialize``)."""
        return self.context.revision

    @property
    def client_info(self) -> JSONObject:
        return self.context.client_info

    @property
    def client_capabilities(self) -> JSONObject:
        return self.context.client_capabilities

    @property
    def log_level(self) -> str | None:
        """The level ``logging/setLevel`` set; None until then (every message goes out)."""
        return self.context.log_level

    @property
    def subscriptions(self) -> AbstractSet[str]:
        """The resource URIs this session is subscribed to."""
        return _NO_SUBSCRIPTIONS if self._subscriptions is None else self._subscriptions

    def subscribe(self, uri: str) -> bool:
        """Add ``uri``; whether it is new."""
        if self._subscriptions is None:
            self._subscriptions = set()
        elif uri in self._subscriptions:
            return False
        self._subscriptions.add(uri)
        return True

    def unsubscribe(self, uri: str) -> bool:
        """Remove ``uri``; whether it was there."""
        if self._subscriptions is None or uri not in self._subscriptions:
            return False
        self._subscriptions.discard(uri)
        return True

    def drop_subscriptions(self) -> AbstractSet[str]:
        """Remove every subscription; return what there was."""
        subscriptions = self.subscriptions
        self._subscriptions = None
        return subscriptions

    # ------------------------------------------------------------------ inbound

    def receive(self, message: Message | Invalid) -> Action:
        """Take one message from the client and say what to do about it."""
        if type(message) is Request:
            if message.method in self._dispatchable and message.id not in self._in_flight:
                # The common case, decided by one set lookup; everything else, every error
                # included, is decided by _receive_request.
                self._in_flight[message.id] = False
                return message
            return self._receive_request(message)
        if isinstance(message, Notification):
            return self._receive_notification(message)
        if isinstance(message, Response | ErrorResponse):
            request_id = message.id
            if type(request_id) is int and request_id in self._outbound:
                del self._outbound[request_id]
                return Resolve(request_id, message)
            return None  # late (we gave up waiting), or never ours: nothing to answer
        assert type(message) is Invalid
        return Reply(error_response(message.id, message.error))

    def check_batch(self, items: Sequence[Message | Invalid]) -> None:
        """Refuse a JSON-RPC batch unless the negotiated revision has batches.

        Raises:
            InvalidRequest: batches are not part of this revision, or the batch holds an
                ``initialize`` (spec 2025-03-26 basic/lifecycle: "The initialization request
                MUST NOT be part of a JSON-RPC batch").
        """
        if self.state is SessionState.NEW or not self.revision.batching:
            raise InvalidRequest(
                f"Invalid Request: JSON-RPC batches are not supported in {self.revision.version}"
            )
        for item in items:
            if type(item) is Request and item.method == "initialize":
                raise InvalidRequest("Invalid Request: initialize must not be part of a batch")

    def _receive_request(self, request: Request) -> Action:
        try:
            allowed = _ALLOWED_IN_STATE[self.state]
            method = request.method
            if allowed is not None and method not in allowed:
                if self.state is SessionState.CLOSED:
                    raise InvalidRequest("Invalid Request: the session has ended")
                if method in LATEST.client_methods:
                    raise InvalidRequest(
                        f"Invalid Request: {method} before initialize; send initialize first"
                    )
                raise MethodNotFound(f"Method not found: {method}")
            if method == "initialize":
                return Reply(Response(request.id, self._initialize(request.params)))
            if method not in self.revision.client_methods:
                raise MethodNotFound(f"Method not found: {method}")
            # spec basic: the request ID "MUST NOT have been previously used by the requestor
            # within the same session"; one still in flight would get two answers.
            if request.id in self._in_flight:
                raise InvalidRequest(f"Invalid Request: id {request.id!r} is already in flight")
            if method == "ping":
                return Reply(Response(request.id, {}))
            if method == "logging/setLevel":
                return Reply(Response(request.id, self._set_level(request.params)))
        except ProtocolError as exc:
            return Reply(error_response(request.id, exc))
        self._in_flight[request.id] = False
        return request

    def finish(self, request_id: RequestId) -> bool:
        """Mark a dispatched request done. Returns whether its response may be sent.

        spec basic/utilities/cancellation: a receiver of a cancellation "SHOULD NOT send a
        response for the cancelled request", so a cancelled request's answer is dropped.
        """
        cancelled = self._in_flight.pop(request_id, True)
        return not cancelled

    def is_in_flight(self, request_id: RequestId) -> bool:
        return request_id in self._in_flight

    def _initialize(self, params: JSONObject | None) -> JSONObject:
        if self.state is not SessionState.NEW:
            raise InvalidRequest("Invalid Request: the session is already initialized")
        params = params or {}
        requested = params.get("protocolVersion")
        if type(requested) is not str:
            raise InvalidParams('Invalid params: "protocolVersion" must be a string')
        capabilities = params.get("capabilities", {})
        if type(capabilities) is not dict:
            raise InvalidParams('Invalid params: "capabilities" must be an object')
        client_info = params.get("clientInfo", {})
        if type(client_info) is not dict:
            raise InvalidParams('Invalid params: "clientInfo" must be an object')
        revision = negotiate(requested)
        self.context = dataclasses.replace(
            self.context,
            revision=revision,
            client_capabilities=capabilities,
            client_info=client_info,
        )
        self.state = SessionState.INITIALIZING
        self._dispatchable = _dispatchable_in(revision)
        result: JSONObject = {
            "protocolVersion": revision.version,
            "capabilities": self._capabilities_for(revision),
            "serverInfo": shape(self._server_info, revision),
        }
        if self._instructions:
            result["instructions"] = self._instructions
        return result

    def assume_initialized(self, revision: Revision) -> None:
        """Skip the handshake: serve requests of ``revision`` from now on (stateless HTTP).

        A stateless transport gives each request a fresh session and never sees the
        ``initialize`` that negotiated it (spec 2025-11-25 basic/transports: sessions are
        optional). No client capabilities are known, so requests to the client (sampling,
        elicitation, roots) raise :class:`CapabilityNotSupported` instead of waiting for an
        answer that could never be routed back.

        Raises:
            LocalProtocolError: the session has already left ``NEW``.
        """
        if self.state is not SessionState.NEW:
            raise LocalProtocolError("assume_initialized() on a session that is not new")
        self.context = dataclasses.replace(self.context, revision=revision)
        self.state = SessionState.READY
        self._dispatchable = _dispatchable_in(revision)

    def _capabilities_for(self, revision: Revision) -> JSONObject:
        if revision.tool_annotations:  # i.e. 2025-03-26 or later: `completions` exists
            return self._capabilities
        return {key: value for key, value in self._capabilities.items() if key != "completions"}

    def _set_level(self, params: JSONObject | None) -> JSONObject:
        level = (params or {}).get("level")
        if not RequestContext.is_log_level(level):
            raise InvalidParams(f'Invalid params: "level" must be one of {", ".join(LOG_LEVELS)}')
        assert isinstance(level, str)
        self.context = dataclasses.replace(self.context, log_level=level)
        return {}

    def _receive_notification(self, notification: Notification) -> Action:
        method = notification.method
        if method == "notifications/initialized":
            if self.state is SessionState.INITIALIZING:
                self.state = SessionState.READY
            return None
        if method == "notifications/cancelled":
            request_id = (notification.params or {}).get("requestId")
            if type(request_id) not in (int, str) or request_id not in self._in_flight:
                # Unknown or finished: spec says to ignore it (the race is expected).
                return None
            assert isinstance(request_id, int | str)
            self._in_flight[request_id] = True
            reason = (notification.params or {}).get("reason")
            return Cancel(request_id, reason if type(reason) is str else None)
        if self.state is SessionState.CLOSED:
            return None
        return ClientNotification(notification)

    # ------------------------------------------------------------------ outbound

    def start_request(self, method: str, params: JSONObject | None = None) -> Request:
        """A request to send to the client; its answer comes back as a :class:`Resolve`.

        Raises:
            SessionClosed: the session has ended.
            CapabilityNotSupported: the client did not declare what the method needs, or
                the negotiated revision lacks the method.
        """
        if self.state is SessionState.CLOSED:
            raise SessionClosed("the session has ended")
        self.context.check_client_request(method)
        request_id = self._next_outbound_id
        self._next_outbound_id += 1
        self._outbound[request_id] = None
        return Request(request_id, method, params)

    def forget_request(self, request_id: int) -> None:
        """Stop waiting for the answer to one of our requests (it timed out, was never sent,
        or its asker was cancelled); a late answer is then dropped. Idempotent."""
        self._outbound.pop(request_id, None)

    @property
    def unanswered_request_ids(self) -> frozenset[int]:
        """The ids of our requests whose answers are still awaited."""
        return frozenset(self._outbound)

    def close(self) -> None:
        """End the session: nothing is accepted after this."""
        self.state = SessionState.CLOSED
        self._dispatchable = _NOTHING
        self._outbound.clear()
        for request_id in self._in_flight:
            self._in_flight[request_id] = True
