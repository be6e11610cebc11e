"""State shared by several replicas of one server: what a transport asks of it.

Owns the seam between the session transports and a store that several replicas share
(``ssemcp.state.redis``): :class:`SessionRecord`, what a 2025 Streamable HTTP session is
beyond one process (revision, client, principal, log level, subscriptions);
:class:`SharedSessions`, where records live and how replicas tell each other about a session
(its GET stream has more to read, its record changed, it ended, the client answered), which
replica holds its GET stream, and what that stream's log gets once however many replicas
hear it;
:class:`SessionSignals`, what a transport hears; :class:`LegacyStreams`, a 2024-11-05
stream's POSTs taken by other replicas; and :class:`StateUnavailable`, the error of
a store that cannot be reached (503). With none of it (the default) a transport keeps its
sessions in a process dict, as one replica needs. Nothing here does I/O.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ssemcp._types import JSONObject
from ssemcp.errors import ProtocolError
from ssemcp.jsonrpc import Message, RequestId
from ssemcp.protocol.request_context import Principal
from ssemcp.state.bus import NotificationBus
from ssemcp.state.events import EventLog, LoggedEvent

__all__ = [
    "RETRY_AFTER_SECONDS",
    "STREAM_LEASE_SECONDS",
    "ForwardedBody",
    "LegacyStreams",
    "SessionRecord",
    "SessionSignals",
    "SharedSessions",
    "SharedState",
    "StateUnavailable",
    "random_id_base",
]

# What a 503 for an unreachable store asks the client to wait: a restarted Redis answers
# within seconds, and a client retrying sooner only adds load.
RETRY_AFTER_SECONDS: Final = 2
# How long a replica's hold on a GET stream outlives its last renewal (renewed every third of
# it while the stream lives): a replica killed with a stream open lets go this late. A replica
# is held alive as long past its last renewal (the same renewal), so a reply stream it ran is
# answered for it at most about this late after it was killed.
STREAM_LEASE_SECONDS: Final = 9
# Where a replica's copy of a session starts its request and stream ids: far apart per copy
# (2**16 ids each), and below 2**53, which JavaScript clients read exactly.
_ID_BASE_BITS: Final = 36
_IDS_PER_COPY_BITS: Final = 16


def random_id_base() -> int:
    """The first request and stream id of a replica's copy of a session: two copies of one
    session never issue the same id."""
    return (secrets.randbits(_ID_BASE_BITS) << _IDS_PER_COPY_BITS) | 1


class StateUnavailable(ProtocolError):
    """The shared store (Redis) cannot be reached; the request may succeed if retried."""

    code = -32000  # JSON-RPC 2.0 section 5.1: "Reserved for implementation-defined server-errors"
    http_status = 503


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What every replica needs to serve a request of a session it did not open."""

    version: str
    client_capabilities: JSONObject
    client_info: JSONObject
    # The principal the session is bound to, as Principal compares it (subject and issuer).
    subject: str | None
    issuer: str | None
    log_level: str | None
    subscriptions: tuple[str, ...]

    def is_bound_to(self, principal: Principal | None) -> bool:
        """Whether ``principal`` may use the session (as the transport's own check)."""
        if principal is None:
            return self.subject is None
        return principal.subject == self.subject and principal.issuer == self.issuer

    def encode(self) -> bytes:
        return json.dumps(
            {
                "v": self.version,
                "caps": self.client_capabilities,
                "info": self.client_info,
                "sub": self.subject,
                "iss": self.issuer,
                "log": self.log_level,
                "res": list(self.subscriptions),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, data: bytes) -> SessionRecord | None:
        """The record in ``data``, or None when it is not one of ours (treated as absent)."""
        try:
            fields = json.loads(data)
            record = cls(
                fields["v"],
                fields["caps"],
                fields["info"],
                fields["sub"],
                fields["iss"],
                fields["log"],
                tuple(fields["res"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if type(record.version) is not str or type(record.client_capabilities) is not dict:
            return None
        return record


class SessionSignals(Protocol):
    """What a transport hears about a session this replica follows (:meth:`SharedSessions.
    follow`), from whichever replica it happened on."""

    def woken(self, session_id: str) -> None:
        """The session's GET stream has new events in its log."""
        ...

    def changed(self, session_id: str) -> None:
        """The session's record changed (log level, subscriptions)."""
        ...

    def ended(self, session_id: str) -> None:
        """The session was deleted."""
        ...

    def stream_taken(self, session_id: str) -> None:
        """Another replica opened the session's GET stream: the one here, if any, ends
        (spec basic/transports: each message goes on one stream only)."""
        ...

    def client_message(self, session_id: str, message: Message) -> None:
        """The client's answer to a request of ours, or its cancellation of one of its
        requests, arrived on another replica."""
        ...


class SharedSessions(Protocol):
    """Session records shared by replicas, and the messages replicas send about them.

    Every operation that waits may raise :class:`StateUnavailable`.
    """

    # How long a hold on a GET stream lasts unless renewed (:meth:`claim_stream`).
    stream_lease_seconds: int

    def listen(self, signals: SessionSignals) -> None:
        """Tell ``signals`` what happens to the sessions this replica follows."""
        ...

    def event_log(self, session_id: str) -> EventLog:
        """The session's event log, shared by every replica."""
        ...

    async def create(self, session_id: str, record: SessionRecord) -> None: ...

    async def load(self, session_id: str) -> SessionRecord | None:
        """The record (its time to live renewed), or None: never made, deleted or expired."""
        ...

    async def touch(self, session_ids: list[str]) -> None:
        """Renew the time to live of sessions in use here (a GET stream open, no requests)."""
        ...

    async def save(self, session_id: str, record: SessionRecord) -> None:
        """Replace the record; the replicas following the session hear ``changed``."""
        ...

    async def delete(self, session_id: str) -> None:
        """Remove the record and the log; the replicas following it hear ``ended``."""
        ...

    async def follow(self, session_id: str) -> None:
        """Hear of the session from now on (returns once that holds)."""
        ...

    def unfollow(self, session_id: str) -> None:
        """Stop hearing of it (without waiting)."""
        ...

    def post_to_stream(self, session_id: str, data: bytes) -> None:
        """Log ``data`` (a message) for the session's GET stream without waiting, once
        however many replicas post it (each hears the bus); the holder of the stream,
        wherever it is, hears ``woken``. Before a GET stream of the session was ever opened,
        the first few are held for it instead (:meth:`log_held`), as in one process."""
        ...

    async def log_held(self, session_id: str) -> None:
        """The session's GET stream opened (its marker logged): what :meth:`post_to_stream`
        held for it before any was opened goes to its log now, and its holder is woken."""
        ...

    def stream_finished(self, session_id: str, stream_id: int) -> None:
        """A POST's reply stream ended here, its last event logged (without waiting)."""
        ...

    async def is_stream_finished(self, session_id: str, stream_id: int) -> bool:
        """Whether :meth:`stream_finished` was said of it (on any replica)."""
        ...

    async def open_reply_stream(
        self,
        session_id: str,
        stream_id: int,
        request_ids: Sequence[RequestId],
        *,
        primed: bool,
    ) -> LoggedEvent | None:
        """A POST's reply stream starts here, answering ``request_ids``: record that this
        replica runs it (and is alive), and with ``primed`` log its priming event (empty
        data) in the same step and return it."""
        ...

    async def end_if_runner_gone(self, session_id: str, stream_id: int) -> bool:
        """If the replica running a reply stream (:meth:`open_reply_stream`) is no longer
        alive and the stream is unfinished: log an error response for each request of it
        left unanswered, and mark it finished, once across replicas. True when done now."""
        ...

    async def wait_for_events(
        self, session_id: str, after: int, timeout_seconds: float
    ) -> int | None:
        """Until the session's log holds events after sequence ``after`` (on any stream):
        the newest one's sequence; or None once about ``timeout_seconds`` pass."""
        ...

    async def wake(self, session_id: str) -> None:
        """Tell the replicas following the session that its GET stream has new events."""
        ...

    async def claim_stream(self, session_id: str, *, take_over: bool) -> bool:
        """Hold the session's GET stream here. False when another replica holds it and
        ``take_over`` is not set (a plain GET: 409); else the other replicas following the
        session hear ``stream_taken``, and the hold lapses unless renewed."""
        ...

    async def renew_streams(self, session_ids: list[str]) -> None:
        """Keep holding these sessions' GET streams (those still held here), and say that
        this replica is alive (called every third of :attr:`stream_lease_seconds`)."""
        ...

    async def release_stream(self, session_id: str) -> None:
        """The GET stream here ended: let another replica open one (if still held here)."""
        ...

    async def route(self, session_id: str, message: Message) -> None:
        """Hand a client's message to the replicas following the session."""
        ...


# Called on the replica holding a legacy stream with the body of a POST another replica took.
ForwardedBody = Callable[[str, bytes], None]


class LegacyStreams(Protocol):
    """2024-11-05 HTTP+SSE across replicas: the replica holding a session's ``GET /sse``
    receives the ``POST /messages/`` bodies that other replicas take for it.

    Every operation that waits may raise :class:`StateUnavailable`.
    """

    async def open(
        self, session_id: str, principal: Principal | None, deliver: ForwardedBody
    ) -> None:
        """This replica holds the session's stream: record it (bound to ``principal``) and
        hand ``deliver`` what other replicas forward, from when this returns."""
        ...

    def close(self, session_id: str) -> None:
        """The stream ended: forget the record (without waiting)."""
        ...

    async def forward(self, session_id: str, principal: Principal | None, body: bytes) -> bool:
        """Hand ``body`` to the replica holding the session's stream. False: no such session
        (never opened, ended, its replica gone, or bound to another principal)."""
        ...


class SharedState(Protocol):
    """Everything several replicas share: the bus, the sessions, and its own lifetime."""

    @property
    def bus(self) -> NotificationBus: ...

    @property
    def sessions(self) -> SharedSessions: ...

    @property
    def event_logs(self) -> Callable[[str], EventLog]: ...

    @property
    def legacy_streams(self) -> LegacyStreams: ...

    async def start(self) -> None:
        """Begin listening (in the serving loop); idempotent. Works with the store down."""
        ...

    async def aclose(self) -> None:
        """Stop listening and close connections; idempotent."""
        ...
