"""Time bounds on reading a request: the whole body within a deadline, with no timer each.

Owns the body deadline, a wrapper around ASGI ``receive`` that the app puts in front of every
transport: a ``receive()`` made while the body is still arriving counts against one
per-request deadline, so a client that trickles its body (or stops sending it) is cut after
``body_timeout_seconds`` in all, not per chunk. The header deadline is the HTTP server's
(``ssemcp.http.uvicorn_protocol``): the app is only called once the headers are complete.

Both are checked by one periodic timer each (``ssemcp.asgi.deadlines``), not a timer per
request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Final

from ssemcp.asgi import ASGIMessage, ASGIReceive, ASGISend, HTTPError, shortcuts
from ssemcp.asgi.deadlines import Deadlines
from ssemcp.errors import InvalidRequest

__all__ = [
    "DEFAULT_BODY_TIMEOUT_SECONDS",
    "DEFAULT_HEADER_TIMEOUT_SECONDS",
    "REQUEST_TIMEOUT",
    "BodyDeadline",
]

logger = logging.getLogger(__name__)

# Our bodies are at most 4 MiB (DEFAULT_MAX_BODY_BYTES): 30 s allows ~140 KB/s, slower than any
# real client, and bounds how long a trickling client holds a request slot. Apache's
# mod_reqtimeout reads bodies at "body=20,MinRate=500"; nginx's client_body_timeout is 60 s
# between reads. We bound the whole body instead, which a trickle cannot stretch.
DEFAULT_BODY_TIMEOUT_SECONDS: Final = 30.0
# Request line and headers fit in one packet for every MCP client; nginx's
# client_header_timeout defaults to 60 s, Apache's mod_reqtimeout to "header=20-40", and
# h11-based servers have none. 10 s is ample for a slow link and short for a Slowloris.
DEFAULT_HEADER_TIMEOUT_SECONDS: Final = 10.0

# RFC 9110 section 15.5.9: 408 "indicates that the server did not receive a complete request
# message within the time that it was prepared to wait"; the server "SHOULD send the close
# connection option", and so we do (uvicorn closes the connection after this response).
REQUEST_TIMEOUT: Final = HTTPError(
    408, InvalidRequest("Request Timeout"), ((b"connection", b"close"),)
)
_DISCONNECT: Final = {"type": "http.disconnect"}


class BodyDeadline:
    """``receive`` and ``send`` of one request, with a deadline on the body.

    When the deadline passes, ``receive`` answers ``http.disconnect`` from then on, which every
    transport already handles by giving up on the request; the app then calls
    :meth:`respond_if_expired` to send 408 (if nothing was sent yet) and close.

    Args:
        receive: the server's ``receive``.
        send: the server's ``send``.
        deadline: the loop time (``loop.time()``) by which the body must be complete.
        deadlines: where the deadline is watched while a ``receive()`` waits; the running
            loop's (:func:`deadlines_in_running_loop`).
    """

    __slots__ = (
        "_body_complete",
        "_deadline",
        "_deadlines",
        "_receive",
        "_send",
        "_task",
        "expired",
        "response_started",
    )

    def __init__(
        self, receive: ASGIReceive, send: ASGISend, deadline: float, deadlines: Deadlines
    ) -> None:
        self._receive = receive
        self._send = send
        self._deadline = deadline
        self._deadlines = deadlines
        self._body_complete = False
        self._task: asyncio.Task[object] | None = None
        self.expired = False
        self.response_started = False

    def receive(self) -> Awaitable[ASGIMessage]:
        # Plain functions returning the awaitable: no coroutine frame of our own on the path
        # every request takes.
        if self._body_complete and not self.expired:
            # After the body, receive() only waits for the disconnect: a long-lived stream
            # (a GET, an SSE reply) is not bounded here.
            return self._receive()
        return self._receive_body()

    async def _receive_body(self) -> ASGIMessage:
        if self.expired:
            return dict(_DISCONNECT)
        # The table's loop is the running one (deadlines_in_running_loop): naming it spares
        # current_task() a get_running_loop(), a getpid() system call on CPython 3.11.
        task = self._task = asyncio.current_task(self._deadlines.loop)
        assert task is not None
        self._deadlines.set(self, self._deadline, self._expire)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self.expired:
                raise
            task.uncancel()
            logger.info("cut a client that did not send its body in time")
            return dict(_DISCONNECT)
        finally:
            self._deadlines.discard(self)
            self._task = None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_complete = True
        return message

    def _expire(self) -> None:
        # Only while a receive() waits: set() and discard() bracket the await.
        self.expired = True
        if self._task is not None:
            self._task.cancel()

    @property
    def wrapped_send(self) -> ASGISend:
        """The server's ``send`` (``ssemcp.asgi.shortcuts.on_disconnect`` looks through)."""
        return self._send

    def send(self, message: ASGIMessage) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            self.response_started = True
        return self._send(message)

    async def respond_if_expired(self) -> None:
        """Answer 408 and close, if the deadline passed before any response started."""
        if self.expired and not self.response_started:
            self.response_started = True
            await REQUEST_TIMEOUT.respond(self._send)


def _response_started(deadline: BodyDeadline, status: int, headers: bytes, body: bytes) -> None:
    deadline.response_started = True


# A library user's app (create_app's default body deadline) keeps the server's shortcuts: the
# deadline only needs to know that a response started.
shortcuts.register_wrapper(BodyDeadline, _response_started)
