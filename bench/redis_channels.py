"""Redis pub/sub for replicas: one channel per session, or one channel per replica?

Run by hand: ``.venv/bin/python bench/redis_channels.py [--sessions N] [--messages M]``.
Starts its own redis-server on a free loopback port (tests/support/redis_server.py) and
measures, with the official client as ssemcp uses it, what each shape costs for what
``ssemcp.state.redis.sessions`` sends on a session's channel (a wake of a GET stream's
reader, a client's answer routed to the replica that waits):

* **per session**: a replica SUBSCRIBEs to ``s:<session>`` when it starts serving the session
  (confirmed) and UNSUBSCRIBEs when it stops; a sender PUBLISHes to the session's channel,
  with no lookup.
* **per replica**: a replica SUBSCRIBEs once to ``r:<replica>``; serving a session means
  SETting ``holder:<session>`` to its name (and DEL at the end); a sender GETs the holder,
  then PUBLISHes to that replica's channel with the session id in the message, and the
  replica dispatches it by session id.

Figures per operation, in microseconds, medians of a few rounds; the ratio column is
per-replica over per-session. Numbers measured and the choice are in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

import redis.asyncio as redis
from redis_server import redis_server


async def _drain(pubsub: redis.client.PubSub, expected: int, seen: dict[str, int]) -> None:
    while sum(seen.values()) < expected:
        message = await pubsub.get_message(timeout=1.0)
        if message is not None and message["type"] == "message":
            seen[message["channel"].decode()] = seen.get(message["channel"].decode(), 0) + 1


async def per_session(url: str, sessions: int, messages: int) -> dict[str, float]:
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    channels = [f"b:s:{index}" for index in range(sessions)]
    started = time.perf_counter()
    for channel in channels:  # confirmed one by one, as a replica adopting a session does
        await pubsub.subscribe(channel)
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is not None and message["type"] == "subscribe":
                break
    follow = (time.perf_counter() - started) / sessions
    seen: dict[str, int] = {}
    reader = asyncio.create_task(_drain(pubsub, messages, seen))
    started = time.perf_counter()
    for index in range(messages):
        await client.publish(channels[index % sessions], b"w")
    await reader
    send = (time.perf_counter() - started) / messages
    started = time.perf_counter()
    for channel in channels:
        await pubsub.unsubscribe(channel)
    unfollow = (time.perf_counter() - started) / sessions
    await pubsub.aclose()
    await client.aclose()
    return {"follow": follow, "send": send, "unfollow": unfollow}


async def per_replica(url: str, sessions: int, messages: int) -> dict[str, float]:
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe("b:r:replica-1")
    await pubsub.get_message(timeout=1.0)
    started = time.perf_counter()
    for index in range(sessions):
        await client.set(f"b:holder:{index}", "replica-1", ex=3600)
    follow = (time.perf_counter() - started) / sessions
    seen: dict[str, int] = {}
    reader = asyncio.create_task(_drain(pubsub, messages, seen))
    started = time.perf_counter()
    for index in range(messages):
        session = index % sessions
        holder = await client.get(f"b:holder:{session}")
        await client.publish(b"b:r:" + holder, f"{session}\nw".encode())
    await reader
    send = (time.perf_counter() - started) / messages
    started = time.perf_counter()
    for index in range(sessions):
        await client.delete(f"b:holder:{index}")
    unfollow = (time.perf_counter() - started) / sessions
    await pubsub.aclose()
    await client.aclose()
    return {"follow": follow, "send": send, "unfollow": unfollow}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    figures: dict[str, dict[str, list[float]]] = {"per session": {}, "per replica": {}}
    with redis_server() as server:
        for _ in range(arguments.rounds):
            for name, shape in (("per session", per_session), ("per replica", per_replica)):
                result = await shape(server.url, arguments.sessions, arguments.messages)
                for operation, seconds in result.items():
                    figures[name].setdefault(operation, []).append(seconds * 1e6)
    print(
        f"{arguments.sessions} sessions, {arguments.messages} messages, medians of "
        f"{arguments.rounds} rounds (microseconds per operation)"
    )
    print(f"{'operation':<10} {'per session':>12} {'per replica':>12} {'ratio':>7}")
    for operation in ("follow", "send", "unfollow"):
        session = statistics.median(figures["per session"][operation])
        replica = statistics.median(figures["per replica"][operation])
        print(f"{operation:<10} {session:>12.1f} {replica:>12.1f} {replica / session:>7.2f}")


if __name__ == "__main__":
    asyncio.run(main())
