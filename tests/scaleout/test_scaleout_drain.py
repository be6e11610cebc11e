"""A replica stopped with SIGTERM behind nginx, as in a rolling restart: its call in flight
finishes, the requests sent meanwhile are answered by the other replicas (none gets the 503
a draining server gives), and it exits 0.

nginx keeps idle connections to each replica (``keepalive`` in nginx-replicas.conf) and never
retries a POST that got an answer; a draining replica closes those connections at once, so
nginx's next request for it meets a refused connection and goes to the next replica
(``proxy_next_upstream error``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Final

import httpx
from scaleout_harness import HOST, SERVED_BY, Cluster, Replica
from test_scaleout_faults import (
    DEADLINE_SECONDS,
    event_stream,
    open_session,
    replica_back_afterwards,
)

# Long enough to outlast the requests sent while it runs, well inside the 5 s grace.
CALL_SECONDS: Final = 3.0
REQUESTS_WHILE_DRAINING: Final = 12
# Connections nginx opens to each replica before the call.
WARM_CONNECTIONS: Final = 4
POLL_INTERVAL_SECONDS: Final = 0.02


async def refuses_connections(replica: Replica) -> None:
    """Wait until ``replica`` refuses a new connection (or resets one its closed listener had
    queued): its drain has begun."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        try:
            _, writer = await asyncio.open_connection(HOST, replica.port)
        except (ConnectionRefusedError, ConnectionResetError):
            return
        writer.close()
        await writer.wait_closed()
        assert time.monotonic() < deadline, "the replica still accepts connections"
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


async def exit_status(replica: Replica) -> int:
    assert replica.process is not None
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (status := replica.process.poll()) is None:
        assert time.monotonic() < deadline, "the replica did not exit"
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
    return status


async def test_a_draining_replica_finishes_its_call_and_loses_no_request(
    replicas: Cluster,
) -> None:
    whoami = {"name": "whoami", "arguments": {}}
    with replica_back_afterwards(replicas):
        async with httpx.AsyncClient(timeout=DEADLINE_SECONDS) as http:
            session = await open_session(http, replicas.mcp_url)
            # Calls at once, so that nginx opens several connections to every replica and
            # keeps them: one is busy with the call below, the others wait idle.
            served = set()
            for _ in range(2):
                answers = await asyncio.gather(
                    *(
                        session.call("tools/call", whoami)
                        for _ in range(WARM_CONNECTIONS * len(replicas.replicas))
                    )
                )
                assert [answer.status_code for answer in answers] == [200] * len(answers)
                served |= {answer.headers[SERVED_BY] for answer in answers}
            assert served == {replica.address for replica in replicas.replicas}

            call = session.request(
                "tools/call",
                {
                    "name": "progress_then_answer",
                    "arguments": {"seconds": CALL_SECONDS},
                    "_meta": {"progressToken": 1},
                },
            )
            async with event_stream(
                http, "POST", replicas.mcp_url, json=call, headers=session.headers
            ) as stream:
                draining = replicas.replica_at(stream.response.headers[SERVED_BY])
                await stream.read_until(1)  # its progress: the call runs
                os.kill(draining.pid, signal.SIGTERM)
                await refuses_connections(draining)
                meanwhile = [
                    await session.call("tools/call", whoami) for _ in range(REQUESTS_WHILE_DRAINING)
                ]
                messages = await stream.read_until(2)

            refused = [(r.status_code, r.text) for r in meanwhile if r.status_code != 200]
            assert refused == []
            assert all("result" in answer.json() for answer in meanwhile)
            assert draining.address not in {answer.headers[SERVED_BY] for answer in meanwhile}
            # The call in flight finished on the draining replica, within the grace.
            _, last = messages[-1]
            assert last["id"] == call["id"]
            assert last["result"]["content"] == [{"type": "text", "text": f"pid={draining.pid}"}]
            assert await exit_status(draining) == 0
