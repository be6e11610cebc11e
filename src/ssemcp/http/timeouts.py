"""Time bounds on reading a request: the whole body within a deadline.

Owns the body deadline, a wrapper around ASGI ``receive`` that the app puts in front of every
transport: each ``receive()`` made while the body is still arriving runs under
``asyncio.timeout_at`` of one per-request deadline, so a client that trickles its body (or
stops sending it) is cut after ``body_timeout_seconds`` in all, not per chunk. No task per
request. The header deadline is the HTTP server's (``ssemcp.http.uvicorn_protocol``): the
app is only called once the headers are complete.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from ssemcp.errors import InvalidRequest
from ssemcp.http.asgi import ASGIMessage, ASGIReceive, ASGISend, HTTPError

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
    """

    __slots__ = ("_body_complete", "_deadline", "_receive", "_send", "expired", "response_started")

    def __init__(self, receive: ASGIReceive, send: ASGISend, deadline: float) -> None:
        self._receive = receive
        self._send = send
        self._deadline = deadline
        self._body_complete = False
        self.expired = False
        self.response_started = False

    async def receive(self) -> ASGIMessage:
        if self.expired:
            return dict(_DISCONNECT)
        if self._body_complete:
            # After the body, receive() only waits for the disconnect: a long-lived stream
            # (a GET, an SSE reply) is not bounded here.
            return await self._receive()
        # One timer handle, not an asyncio.timeout context: this runs for every request, and
        # a plain call_at / cancel pair costs a fraction of the context manager.
        task = asyncio.current_task()
        assert task is not None
        timer = asyncio.get_running_loop().call_at(self._deadline, self._expire, task)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self.expired:
                raise
            task.uncancel()
            logger.info("cut a client that did not send its body in time")
            return dict(_DISCONNECT)
        finally:
            timer.cancel()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_complete = True
        return message

    def _expire(self, task: asyncio.Task[object]) -> None:
        self.expired = True
        task.cancel()

    async def send(self, message: ASGIMessage) -> None:
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)

    async def respond_if_expired(self) -> None:
        """Answer 408 and close, if the deadline passed before any response started."""
        if self.expired and not self.response_started:
            self.response_started = True
            await REQUEST_TIMEOUT.respond(self._send)
