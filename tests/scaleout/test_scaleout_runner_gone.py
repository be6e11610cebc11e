"""A replica killed with SIGKILL while its call runs, behind nginx round-robin: the client
resumes the call's reply stream with ``Last-Event-ID`` on another replica, gets what it had
not taken in, then (once the dead replica's liveness lapses, within about
``STREAM_LEASE_SECONDS``) a JSON-RPC error response for its request and the stream's end,
never keepalives forever (spec 2025-11-25 basic/transports: the stream "SHOULD eventually
include a JSON-RPC response"). Resumed again, it gets the same answer: it was logged."""

from __future__ import annotations

import time
from typing import Final

import httpx
from scaleout_harness import SERVED_BY, Cluster
from test_scaleout_faults import event_stream, open_session, progress_of, replica_back_afterwards

from ssemcp.state.redis.liveness import RUNNER_GONE
from ssemcp.state.shared import STREAM_LEASE_SECONDS

# The liveness lapses within the lease after the kill, the follower looks every third of
# it, and waits on the log a second at a time: reads may wait this long for the answer.
READ_DEADLINE_SECONDS: Final = 2 * STREAM_LEASE_SECONDS + 5.0


async def test_a_call_whose_replica_is_killed_gets_an_error_answer_on_another(
    replicas: Cluster,
) -> None:
    with replica_back_afterwards(replicas):
        async with httpx.AsyncClient(timeout=READ_DEADLINE_SECONDS) as http:
            session = await open_session(http, replicas.mcp_url)
            call = session.request(
                "tools/call",
                {
                    "name": "progress_then_wait",
                    "arguments": {"steps": 1},
                    "_meta": {"progressToken": 3},
                },
            )
            async with event_stream(
                http, "POST", replicas.mcp_url, json=call, headers=session.headers
            ) as stream:
                serving = replicas.replica_at(stream.response.headers[SERVED_BY])
                [(progress_id, progress)] = await stream.read_until(1)
                assert progress_of(progress) == 1
                priming_id = stream.events[0].id
                replicas.kill(serving)
            killed_at = time.monotonic()
            resumed_headers = {**session.headers, "last-event-id": priming_id}
            async with event_stream(
                http, "GET", replicas.mcp_url, headers=resumed_headers
            ) as resumed:
                assert resumed.response.headers[SERVED_BY] != serving.address
                # Read to the stream's end (the client's timeout bounds each read).
                messages = await resumed.read_until(3)
            answered_after = time.monotonic() - killed_at
            assert [event_id for event_id, _ in messages[:1]] == [progress_id]
            assert len(messages) == 2, messages
            answer_id, answer = messages[1]
            assert answer["id"] == call["id"]
            assert answer["error"] == {"code": -32603, "message": str(RUNNER_GONE)}
            assert answered_after < READ_DEADLINE_SECONDS
            # Logged like any event: resumed again (anywhere), the same answer, then the end.
            again_headers = {**session.headers, "last-event-id": progress_id}
            async with event_stream(http, "GET", replicas.mcp_url, headers=again_headers) as again:
                assert await again.read_until(2) == [(answer_id, answer)]
            # The session goes on, on the replicas still alive.
            whoami = await session.call("tools/call", {"name": "whoami", "arguments": {}})
            assert whoami.status_code == 200, whoami.text
