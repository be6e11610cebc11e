"""What the bus on Redis costs Redis: one publish, and one session's share of a fan-out.

Run by hand: ``.venv/bin/python bench/redis_bus.py [--publishes N] [--sessions M]``. Starts its
own redis-server on a free loopback port (tests/support/redis_server.py) and reads Redis's own
accounting (``INFO commandstats``: microseconds per call, which other processes on the machine
change far less than wall time):

* **publish**: ``RedisBus.publish`` of one ``resources/updated``, flushed each time (the
  usual case: one change, one fan-out). Before issue #17's replay, a PUBLISH; now one script
  that appends to the bus log and publishes.
* **log once**: the script each replica runs per session it serves for a bus message
  (``RedisSessions.post_to_stream``), on sessions whose GET stream was opened.

Compare two trees by running it once with each on ``PYTHONPATH`` (``git archive <commit> src
| tar -x -C /tmp/base``), alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

import redis.asyncio as redis_client
from redis_server import redis_server

from ssemcp.jsonrpc import Notification, serialize
from ssemcp.state.redis.state import RedisState

TOPIC = "resource:file:///watched.txt"
NOTIFICATION = Notification("notifications/resources/updated", {"uri": "file:///watched.txt"})


def per_call(stats: dict[str, Any]) -> str:
    names = ("publish", "evalsha", "xadd", "hget", "hset", "expire")
    found = [(name, stats[f"cmdstat_{name}"]) for name in names if f"cmdstat_{name}" in stats]
    return ", ".join(
        f"{name} {entry['usec_per_call']:.2f} us x{entry['calls']}" for name, entry in found
    )


async def measure(url: str, publishes: int, sessions: int) -> None:
    state = RedisState(url, "bench")
    await state.start()
    admin = redis_client.Redis.from_url(url)
    try:
        for _ in range(100):  # warm: scripts loaded, connections open
            state.bus.publish(TOPIC, NOTIFICATION)
            await state.bus.flush()
        await admin.config_resetstat()
        started = time.process_time()
        for _ in range(publishes):
            state.bus.publish(TOPIC, NOTIFICATION)
            await state.bus.flush()
        client_us = (time.process_time() - started) / publishes * 1e6
        print(f"publish: {per_call(await admin.info('commandstats'))}; client {client_us:.0f} us")

        shared = state.sessions
        for index in range(sessions):
            await shared.event_log(f"s{index}").append(0, b"")  # an opened GET stream
        data = serialize(NOTIFICATION)
        await admin.config_resetstat()
        for message in range(3):
            state.bus.delivering = f"1765000000000-{message}".encode()
            for index in range(sessions):
                shared.post_to_stream(f"s{index}", data)
            state.bus.delivering = None
            await shared.flush()
        print(f"log once: {per_call(await admin.info('commandstats'))}")
    finally:
        await admin.aclose()
        await state.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--publishes", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=2000)
    arguments = parser.parse_args()
    with redis_server() as server:
        asyncio.run(measure(server.url, arguments.publishes, arguments.sessions))


if __name__ == "__main__":
    main()
