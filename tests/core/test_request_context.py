"""RequestContext: what a request is served under, and how a session builds and replaces it.
No sockets."""

from __future__ import annotations

import pytest

from ssemcp._types import JSONObject
from ssemcp.errors import CapabilityNotSupported
from ssemcp.jsonrpc import Notification, Request
from ssemcp.protocol.request_context import RequestContext
from ssemcp.protocol.revisions import LATEST, V2025_03_26, revision_for
from ssemcp.protocol.session import ServerSession


def session(principal: str | None = None) -> ServerSession:
    return ServerSession(
        server_info={"name": "t", "version": "1"}, capabilities={}, principal=principal
    )


def initialize(session: ServerSession, version: str, capabilities: JSONObject) -> None:
    session.receive(
        Request(
            0,
            "initialize",
            {
                "protocolVersion": version,
                "capabilities": capabilities,
                "clientInfo": {"name": "c", "version": "9"},
            },
        )
    )


def test_a_session_builds_its_context_at_initialize_with_its_principal() -> None:
    served = session(principal="token:abc")
    initialize(served, "2025-06-18", {"sampling": {}})
    context = served.context
    assert context.revision.version == "2025-06-18"
    assert context.client_capabilities == {"sampling": {}}
    assert context.client_info == {"name": "c", "version": "9"}
    assert context.principal == "token:abc"
    assert context.log_level is None


def test_set_level_replaces_the_context_so_a_request_under_way_keeps_its_own() -> None:
    served = session()
    initialize(served, "2025-11-25", {})
    before = served.context
    served.receive(Request(1, "logging/setLevel", {"level": "error"}))
    assert served.context.log_level == "error"
    assert before.log_level is None  # what a handler already holds does not change
    assert served.context.revision is before.revision


def test_progress_carries_its_message_only_where_the_revision_has_one() -> None:
    with_message = RequestContext(V2025_03_26).progress("t", 1, 2, "half")
    without = RequestContext(revision_for("2024-11-05") or LATEST).progress("t", 1, 2, "half")
    assert with_message == Notification(
        "notifications/progress",
        {"progressToken": "t", "progress": 1, "total": 2, "message": "half"},
    )
    assert without == Notification(
        "notifications/progress", {"progressToken": "t", "progress": 1, "total": 2}
    )


@pytest.mark.parametrize(
    ("version", "capabilities", "method", "refusal"),
    [
        ("2025-11-25", {}, "sampling/createMessage", "does not support sampling"),
        ("2025-11-25", {"sampling": {}}, "elicitation/create", "does not support elicitation"),
        ("2024-11-05", {"elicitation": {}}, "elicitation/create", "not part of protocol"),
        ("2025-11-25", {}, "roots/list", "does not support roots"),
    ],
)
def test_a_request_to_the_client_needs_its_revision_and_capability(
    version: str, capabilities: JSONObject, method: str, refusal: str
) -> None:
    context = RequestContext(revision_for(version) or LATEST, client_capabilities=capabilities)
    with pytest.raises(CapabilityNotSupported, match=refusal):
        context.check_client_request(method)


def test_ping_needs_no_capability() -> None:
    RequestContext().check_client_request("ping")
