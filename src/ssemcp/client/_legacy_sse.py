"""The 2024-11-05 HTTP+SSE transport of the client: a ``GET`` stream whose first event,
``endpoint``, names where to POST; every answer comes back on that stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ssemcp.client._errors import ClientError, ClientTimeout, HTTPError, TransportClosed
from ssemcp.client._http import (
    Exchanges,
    http_client,
    read_event_stream,
    status_error,
    transport_error,
)
from ssemcp.client._transports import Sink, deliver
from ssemcp.client._wire import WireObserver
from ssemcp.jsonrpc import Message, RequestId, serialize

if TYPE_CHECKING:
    import httpx

__all__ = ["LegacySSETransport"]

logger = logging.getLogger(__name__)


class LegacySSETransport:
    """The 2024-11-05 HTTP+SSE transport: a ``GET`` stream whose first event, ``endpoint``,
    names where to POST; answers come back on the stream.

    Raises (from ``start``):
        ConnectError, AuthError, HTTPError: the stream could not be opened.
        ClientError: the stream did not name its endpoint in time, or named one on another
            origin (a token must not follow it there).
    """

    name = "sse"

    def __init__(
        self,
        url: str,
        sink: Sink,
        *,
        headers: Mapping[str, str],
        timeout_seconds: float,
        observer: WireObserver | None = None,
    ) -> None:
        self.url = url
        self.endpoint: str | None = None
        self._sink = sink
        self._headers = dict(headers)
        self._timeout_seconds = timeout_seconds
        self._http = http_client(timeout_seconds)
        self._exchanges = Exchanges(observer)
        self._reader: asyncio.Task[None] | None = None
        self._endpoint_known: asyncio.Future[str] | None = None

    async def start(self) -> None:
        headers = {**self._headers, "Accept": "text/event-stream"}
        request = self._http.build_request("GET", self.url, headers=headers)
        exchange, started = self._exchanges.request(request, b"")
        try:
            response = await self._http.send(request, stream=True)
        except Exception as exc:
            self._exchanges.ended(exchange, "", started, str(exc))
            raise transport_error(exc, self.url) from exc
        self._exchanges.response(exchange, response, started)
        content_type = response.headers.get("content-type", "").partition(";")[0].strip()
        if response.status_code != 200 or content_type != "text/event-stream":
            text = (await response.aread()).decode("utf-8", "replace")
            await response.aclose()
            self._exchanges.ended(exchange, text, started)
            if response.status_code == 200:
                raise HTTPError(200, f"GET {self.url} is not an event stream ({content_type})")
            raise status_error(response.status_code, response, text, False)
        self._endpoint_known = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(response, exchange, started))
        try:
            async with asyncio.timeout(self._timeout_seconds):
                self.endpoint = await asyncio.shield(self._endpoint_known)
        except TimeoutError:
            await self.close()
            raise ClientTimeout(f"{self.url} sent no endpoint event in time") from None

    def _on_event(self, event_type: str, data: str) -> None:
        if event_type == "endpoint":
            future = self._endpoint_known
            if future is None or future.done():
                return
            endpoint = urljoin(self.url, data.strip())
            if urlsplit(endpoint)[:2] != urlsplit(self.url)[:2]:
                future.set_exception(
                    ClientError(f"the server's endpoint {endpoint!r} is on another origin")
                )
            else:
                future.set_result(endpoint)
        elif event_type == "message" and data.strip():
            deliver(self._sink, data)

    async def _read(self, response: httpx.Response, exchange: int, started: float) -> None:
        end = await read_event_stream(response, exchange, started, self._exchanges, self._on_event)
        closed = TransportClosed(end.error or "the server closed the SSE stream")
        if self._endpoint_known is not None and not self._endpoint_known.done():
            self._endpoint_known.set_exception(closed)
        self._sink.closed(closed)

    async def send(self, message: Message, extra_headers: Mapping[str, str] | None = None) -> int:
        if self.endpoint is None:
            raise TransportClosed("the SSE transport is not started")
        body = serialize(message)
        headers = {**self._headers, "Content-Type": "application/json"}
        request = self._http.build_request("POST", self.endpoint, content=body, headers=headers)
        exchange, started = self._exchanges.request(request, body)
        try:
            response = await self._http.send(request)
        except Exception as exc:
            self._exchanges.ended(exchange, "", started, str(exc))
            raise transport_error(exc, self.endpoint) from exc
        self._exchanges.response(exchange, response, started)
        self._exchanges.ended(exchange, response.text, started)
        if response.status_code >= 400:
            # A 404 here means the stream's session is gone.
            raise status_error(response.status_code, response, response.text, True)
        return response.status_code

    async def abandon(self, request_id: RequestId) -> None:
        return None  # the answer comes on the shared stream; notifications/cancelled it is

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._http.aclose()
