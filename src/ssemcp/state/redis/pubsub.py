"""The one pub/sub connection of a process: channels subscribed to, and delivery from them.

Owns a single Redis ``PubSub`` connection per process (``SUBSCRIBE`` ties up a connection, so
one is shared by the bus and every session channel), the task that reads it and hands each
message to the handler of its channel, waiting for a subscription to be confirmed (so that a
message published afterwards is known to arrive), and surviving Redis going away: the reader
backs off, reconnects, and the client re-subscribes every channel on the new connection
(``PubSub.on_connect``), then says so (``on_resubscribed``) to whoever must make up for what
was published meanwhile. What a message means is the handler's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from ssemcp.state.redis.connection import RedisConnection
from ssemcp.state.shared import StateUnavailable

__all__ = ["ChannelHandler", "Subscriptions"]

logger = logging.getLogger(__name__)

ChannelHandler = Callable[[str, bytes], None]
# After a failure the reader waits this long before reconnecting, doubling up to the bound:
# a restarting Redis is back within seconds, and a tight loop would only log.
_FIRST_BACKOFF_SECONDS: Final = 0.05
_MAX_BACKOFF_SECONDS: Final = 1.0
# How long a subscription waits for its confirmation before the caller hears StateUnavailable.
_CONFIRM_TIMEOUT_SECONDS: Final = 2.0


class Subscriptions:
    """Channels this process listens on, each with its handler.

    Args:
        connection: the Redis to listen on.
    """

    def __init__(self, connection: RedisConnection) -> None:
        self._connection = connection
        self._pubsub: PubSub = connection.client.pubsub()
        self._handlers: dict[str, ChannelHandler] = {}
        # Subscriptions sent and not yet confirmed, by channel.
        self._confirming: dict[str, list[asyncio.Future[None]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._is_closed = False
        # Only the reader connects (and reconnects): two tasks connecting one connection at
        # once would each open a socket, and one would leak. Others send a command on the
        # connection only while it is up, and never retry (the client's retry reconnects).
        self._connected = asyncio.Event()
        self._resubscribed: list[Callable[[], None]] = []

    @property
    def channel_count(self) -> int:
        return len(self._handlers)

    def on_resubscribed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` each time the channels are subscribed again on a new connection
        (after Redis went away), before any message of the new connection is delivered:
        what was published meanwhile reached no handler here."""
        self._resubscribed.append(callback)

    def _reconnected(self, connection: object) -> None:
        # Called by the client after PubSub.on_connect has subscribed every channel again
        # (registered after it), before anything of the new connection is read.
        for callback in self._resubscribed:
            try:
                callback()
            except Exception:
                logger.exception("a handler of a Redis reconnection failed")

    def start(self) -> None:
        if self._reader is None and not self._is_closed:
            self._reader = asyncio.get_running_loop().create_task(self._read_forever())

    async def subscribe(self, channel: str, handler: ChannelHandler) -> None:
        """Deliver what ``channel`` carries to ``handler``, from when this returns.

        Raises:
            StateUnavailable: Redis did not confirm the subscription (it is down). The
                handler stays: the reader subscribes it again when Redis returns.
        """
        self.start()
        first = channel not in self._handlers
        self._handlers[channel] = handler
        if not first:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirming.setdefault(channel, []).append(waiter)
        try:
            async with asyncio.timeout(_CONFIRM_TIMEOUT_SECONDS):
                await self._connected.wait()
                # Recorded first: a reconnect from here on subscribes it too.
                self._pubsub.channels[channel.encode()] = None
                await self._send("SUBSCRIBE", channel)
                await waiter
        except (RedisError, OSError, TimeoutError) as exc:
            self._connection.failed(exc)
            raise StateUnavailable("Service Unavailable: the shared state is unreachable") from exc
        finally:
            waiters = self._confirming.get(channel)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._confirming[channel]

    async def _send(self, *command: str) -> None:
        connection = self._pubsub.connection
        if connection is None or not connection.is_connected:
            raise ConnectionError("the pub/sub connection is down")
        await connection.send_command(*command, check_health=False)

    def unsubscribe(self, channel: str) -> None:
        """Stop delivering ``channel`` (the UNSUBSCRIBE goes out without waiting)."""
        if self._handlers.pop(channel, None) is None or self._is_closed:
            return
        self._pubsub.channels.pop(channel.encode(), None)
        self.spawn(self._unsubscribe(channel))

    def spawn(self, work: Coroutine[object, object, None]) -> None:
        """Run ``work`` (a Redis call nobody waits for) in a task held until it ends; its
        failure is logged once per outage by the connection."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("a Redis call nobody waited for failed: %r", task.exception())

    async def _unsubscribe(self, channel: str) -> None:
        if channel in self._handlers:
            return  # subscribed again meanwhile
        with contextlib.suppress(RedisError, OSError):
            # Down: nothing to do, the reconnect subscribes only the channels recorded.
            await self._send("UNSUBSCRIBE", channel)

    async def _read_forever(self) -> None:
        backoff = _FIRST_BACKOFF_SECONDS
        while not self._is_closed:
            try:
                connection = self._pubsub.connection
                if connection is None or not connection.is_connected:
                    self._connected.clear()
                    # Connects, and PubSub.on_connect subscribes every channel recorded.
                    await self._pubsub.connect()  # type: ignore[no-untyped-call]
                    # And whatever on_connect did not cover (the first connection, a handler
                    # whose subscription timed out): subscribing twice is harmless.
                    if self._handlers:
                        for channel in self._handlers:
                            self._pubsub.channels[channel.encode()] = None
                        await self._send("SUBSCRIBE", *self._handlers)
                    # Every later connection of it (here, or the client's own retry within
                    # a read) is told to whoever must make up for the time it was down.
                    if self._pubsub.connection is not None:
                        self._pubsub.connection.register_connect_callback(self._reconnected)
                    self._connected.set()
                    if not self._connection.is_healthy:
                        self._connection.is_healthy = True
                        logger.warning(
                            "Redis is reachable again; %d channel(s) resubscribed",
                            len(self._handlers),
                        )
                message = await self._pubsub.get_message(timeout=1.0)
                backoff = _FIRST_BACKOFF_SECONDS
                if message is not None:
                    self._deliver(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._connected.clear()
                self._connection.failed(exc)
                connection = self._pubsub.connection
                if connection is not None:
                    with contextlib.suppress(RedisError, OSError):
                        await connection.disconnect()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)

    def _deliver(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        raw_channel = message.get("channel")
        channel = raw_channel.decode() if isinstance(raw_channel, bytes) else str(raw_channel)
        if kind == "message":
            handler = self._handlers.get(channel)
            if handler is not None:
                try:
                    handler(channel, message["data"])
                except Exception:
                    logger.exception("the handler of a Redis channel failed")
        elif kind == "subscribe":
            for waiter in self._confirming.pop(channel, ()):
                if not waiter.done():
                    waiter.set_result(None)

    async def aclose(self) -> None:
        self._is_closed = True
        # Every task that may hold a connection ends before the pool closes: one left
        # connecting would open a socket nobody closes.
        tasks = [*self._tasks, *([self._reader] if self._reader is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._reader = None
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()
