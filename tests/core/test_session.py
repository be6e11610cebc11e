"""Tests of ssemcp.protocol.session: the server session state machine, without I/O."""

from __future__ import annotations

import itertools

import pytest

from ssemcp._types import JSONObject, JSONValue
from ssemcp.errors import (
    CapabilityNotSupported,
    InvalidParams,
    InvalidRequest,
    ParseError,
    SessionClosed,
)
from ssemcp.jsonrpc import (
    ErrorResponse,
    Invalid,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
)
from ssemcp.protocol.revisions import LATEST, SUPPORTED_VERSIONS
from ssemcp.protocol.session import (
    LOG_LEVELS,
    Cancel,
    ClientNotification,
    Reply,
    Resolve,
    ServerSession,
    SessionState,
)

# --- helpers -------------------------------------------------------------------------------

SERVER_INFO: JSONObject = {"name": "ssemcp-test", "version": "1.2.3"}
CAPABILITIES: JSONObject = {
    "tools": {"listChanged": True},
    "resources": {"subscribe": True},
    "prompts": {},
    "logging": {},
    "completions": {},
}
ALL_CLIENT_CAPABILITIES: JSONObject = {
    "sampling": {},
    "elicitation": {},
    "roots": {"listChanged": True},
}
NEWEST = "2025-11-25"


def new_session(
    *, server_info: JSONObject | None = None, instructions: str | None = None
) -> ServerSession:
    return ServerSession(
        server_info=SERVER_INFO if server_info is None else server_info,
        capabilities=CAPABILITIES,
        instructions=instructions,
    )


def initialize(
    version: JSONValue = NEWEST,
    *,
    capabilities: JSONValue = None,
    request_id: RequestId = 0,
) -> Request:
    params: JSONObject = {
        "protocolVersion": version,
        "capabilities": {} if capabilities is None else capabilities,
        "clientInfo": {"name": "test-client", "version": "0.1"},
    }
    return Request(request_id, "initialize", params)


def result_of(action: object) -> JSONValue:
    """The result of a ``Reply`` that must be a success."""
    assert isinstance(action, Reply), action
    assert isinstance(action.message, Response), action.message
    return action.message.result


def error_of(action: object, request_id: RequestId | None) -> int:
    """The code of a ``Reply`` that must be an error answering ``request_id``."""
    assert isinstance(action, Reply), action
    assert isinstance(action.message, ErrorResponse), action.message
    assert action.message.id == request_id
    assert type(action.message.id) is type(request_id)
    return action.message.code


def initialized_session(
    version: str = NEWEST, *, client_capabilities: JSONObject | None = None
) -> ServerSession:
    """A session through ``initialize`` and ``notifications/initialized``."""
    session = new_session()
    result = result_of(session.receive(initialize(version, capabilities=client_capabilities)))
    assert isinstance(result, dict)
    assert result["protocolVersion"] == version
    assert session.receive(Notification("notifications/initialized")) is None
    assert session.state is SessionState.READY
    return session


def cancelled(request_id: JSONValue, reason: JSONValue = None) -> Notification:
    params: JSONObject = {"requestId": request_id}
    if reason is not None:
        params["reason"] = reason
    return Notification("notifications/cancelled", params)


# Every method a client may call, less the two allowed before initialize.
GATED_METHODS = sorted(LATEST.client_methods - {"initialize", "ping"})
# Of those, the ones a handler answers (the session answers logging/setLevel itself).
DISPATCHED_METHODS = sorted(set(GATED_METHODS) - {"logging/setLevel"})

# Names no revision defines for a client to call: server-side methods, notifications,
# wrong case, empty.
UNKNOWN_METHODS = [
    "foo/bar",
    "",
    "Initialize",
    "PING",
    "tools/List",
    "sampling/createMessage",
    "elicitation/create",
    "roots/list",
    "notifications/initialized",
    "tools/list ",
]


# --- before initialize ---------------------------------------------------------------------


@pytest.mark.parametrize("method", GATED_METHODS)
@pytest.mark.parametrize("request_id", [1, "1"])
def test_known_method_before_initialize_is_invalid_request(
    method: str, request_id: RequestId
) -> None:
    session = new_session()
    assert error_of(session.receive(Request(request_id, method, {})), request_id) == -32600
    assert session.state is SessionState.NEW
    assert not session.is_in_flight(request_id)


@pytest.mark.parametrize("method", UNKNOWN_METHODS)
def test_unknown_method_before_initialize_is_method_not_found(method: str) -> None:
    session = new_session()
    assert error_of(session.receive(Request(4, method)), 4) == -32601
    assert session.state is SessionState.NEW


@pytest.mark.parametrize("request_id", [0, "ping-1"])
def test_ping_before_initialize_answers_an_empty_result(request_id: RequestId) -> None:
    session = new_session()
    action = session.receive(Request(request_id, "ping"))
    assert action == Reply(Response(request_id, {}))
    assert isinstance(action, Reply)
    assert type(action.message.id) is type(request_id)
    assert session.state is SessionState.NEW


def test_initialized_notification_before_initialize_changes_nothing() -> None:
    session = new_session()
    assert session.receive(Notification("notifications/initialized")) is None
    assert session.state is SessionState.NEW


# --- initialize ----------------------------------------------------------------------------

NEGOTIATION = [
    *[pytest.param(version, version, id=version) for version in SUPPORTED_VERSIONS],
    pytest.param("2099-01-01", NEWEST, id="a future version"),
    pytest.param("1.0", NEWEST, id="1.0"),
    pytest.param("2024-10-07", NEWEST, id="an older draft"),
    pytest.param("2025-11-25 ", NEWEST, id="supported plus a space"),
    pytest.param("", NEWEST, id="empty string"),
    pytest.param("DRAFT-2026-v1", NEWEST, id="a draft name"),
]


@pytest.mark.parametrize(("requested", "answered"), NEGOTIATION)
def test_initialize_answers_the_clients_version_if_supported_else_the_newest(
    requested: str, answered: str
) -> None:
    session = new_session()
    result = result_of(session.receive(initialize(requested, request_id="init")))
    assert isinstance(result, dict)
    assert result["protocolVersion"] == answered
    assert session.revision.version == answered
    assert session.state is SessionState.INITIALIZING


def test_initialize_result_has_exactly_the_lifecycle_members() -> None:
    session = new_session()
    result = result_of(session.receive(initialize()))
    assert result == {
        "protocolVersion": NEWEST,
        "capabilities": CAPABILITIES,
        "serverInfo": SERVER_INFO,
    }


@pytest.mark.parametrize(
    ("instructions", "included"),
    [("Call echo first.", True), (None, False), ("", False)],
)
def test_initialize_result_carries_instructions_only_when_there_are_some(
    instructions: str | None, included: bool
) -> None:
    result = result_of(new_session(instructions=instructions).receive(initialize()))
    assert isinstance(result, dict)
    assert ("instructions" in result) is included
    if included:
        assert result["instructions"] == instructions


def test_initialize_records_client_info_and_capabilities() -> None:
    session = new_session()
    session.receive(initialize(capabilities={"sampling": {}}))
    assert session.client_info == {"name": "test-client", "version": "0.1"}
    assert session.client_capabilities == {"sampling": {}}


BAD_INITIALIZE_PARAMS = [
    pytest.param(None, id="no params"),
    pytest.param({}, id="empty params"),
    pytest.param({"capabilities": {}, "clientInfo": {}}, id="protocolVersion missing"),
    pytest.param({"protocolVersion": None}, id="protocolVersion null"),
    pytest.param({"protocolVersion": 20241105}, id="protocolVersion a number"),
    pytest.param({"protocolVersion": ["2025-11-25"]}, id="protocolVersion a list"),
    pytest.param({"protocolVersion": True}, id="protocolVersion true"),
    pytest.param({"protocolVersion": NEWEST, "capabilities": "all"}, id="capabilities a string"),
    pytest.param({"protocolVersion": NEWEST, "capabilities": []}, id="capabilities a list"),
    pytest.param({"protocolVersion": NEWEST, "clientInfo": "x"}, id="clientInfo a string"),
    pytest.param({"protocolVersion": NEWEST, "clientInfo": None}, id="clientInfo null"),
]


@pytest.mark.parametrize("params", BAD_INITIALIZE_PARAMS)
def test_initialize_with_bad_params_is_invalid_params_and_leaves_session_new(
    params: JSONObject | None,
) -> None:
    session = new_session()
    assert error_of(session.receive(Request(1, "initialize", params)), 1) == -32602
    assert session.state is SessionState.NEW
    assert session.client_capabilities == {}
    # The client may try again.
    assert result_of(session.receive(initialize("2025-03-26", request_id=2)))
    assert session.revision.version == "2025-03-26"


@pytest.mark.parametrize("confirmed", [False, True], ids=["initializing", "ready"])
def test_second_initialize_is_invalid_request_and_keeps_the_first_negotiation(
    confirmed: bool,
) -> None:
    session = new_session()
    session.receive(initialize("2024-11-05", capabilities={"roots": {}}))
    if confirmed:
        session.receive(Notification("notifications/initialized"))
    state = session.state
    action = session.receive(initialize(NEWEST, capabilities={"sampling": {}}, request_id=9))
    assert error_of(action, 9) == -32600
    assert session.revision.version == "2024-11-05"
    assert session.client_capabilities == {"roots": {}}
    assert session.state is state


def test_initialized_notification_moves_initializing_to_ready_once() -> None:
    session = new_session()
    states = [session.state]
    session.receive(initialize())
    states.append(session.state)
    assert session.receive(Notification("notifications/initialized")) is None
    states.append(session.state)
    assert session.receive(Notification("notifications/initialized")) is None
    states.append(session.state)
    assert states == [
        SessionState.NEW,
        SessionState.INITIALIZING,
        SessionState.READY,
        SessionState.READY,
    ]


def test_requests_are_served_between_initialize_and_initialized() -> None:
    session = new_session()
    session.receive(initialize())
    request = Request(1, "tools/list")
    assert session.receive(request) is request
    assert session.state is SessionState.INITIALIZING


CAPABILITIES_BY_VERSION = [
    pytest.param(
        "2024-11-05",
        {key: value for key, value in CAPABILITIES.items() if key != "completions"},
        id="2024-11-05 lacks completions",
    ),
    pytest.param("2025-03-26", CAPABILITIES, id="2025-03-26"),
    pytest.param("2025-06-18", CAPABILITIES, id="2025-06-18"),
    pytest.param("2025-11-25", CAPABILITIES, id="2025-11-25"),
]


@pytest.mark.parametrize(("version", "expected"), CAPABILITIES_BY_VERSION)
def test_capabilities_are_announced_as_the_revision_defines_them(
    version: str, expected: JSONObject
) -> None:
    result = result_of(new_session().receive(initialize(version)))
    assert isinstance(result, dict)
    assert result["capabilities"] == expected


FULL_SERVER_INFO: JSONObject = {
    "name": "ssemcp-test",
    "title": "ssemcp test server",
    "version": "1.2.3",
    "icons": [{"src": "https://example.com/icon.png", "mimeType": "image/png"}],
}
SERVER_INFO_BY_VERSION = [
    pytest.param("2024-11-05", {"name", "version"}, id="2024-11-05 no title, no icons"),
    pytest.param("2025-03-26", {"name", "version"}, id="2025-03-26 no title, no icons"),
    pytest.param("2025-06-18", {"name", "title", "version"}, id="2025-06-18 title, no icons"),
    pytest.param("2025-11-25", {"name", "title", "version", "icons"}, id="2025-11-25 both"),
]


@pytest.mark.parametrize(("version", "members"), SERVER_INFO_BY_VERSION)
def test_server_info_is_shaped_for_the_negotiated_revision(version: str, members: set[str]) -> None:
    result = result_of(new_session(server_info=FULL_SERVER_INFO).receive(initialize(version)))
    assert isinstance(result, dict)
    assert result["serverInfo"] == {key: FULL_SERVER_INFO[key] for key in members}
    assert "icons" in FULL_SERVER_INFO  # shaping did not mutate the configured object


# --- requests after initialize -------------------------------------------------------------


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@pytest.mark.parametrize("method", DISPATCHED_METHODS)
def test_known_method_after_initialize_is_dispatched(method: str, version: str) -> None:
    session = initialized_session(version)
    request = Request(3, method, {})
    assert session.receive(request) is request
    assert session.is_in_flight(3)


@pytest.mark.parametrize("method", UNKNOWN_METHODS)
def test_unknown_method_after_initialize_is_method_not_found(method: str) -> None:
    session = initialized_session()
    assert error_of(session.receive(Request("m", method)), "m") == -32601
    assert not session.is_in_flight("m")


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_ping_answers_exactly_an_empty_object(version: str) -> None:
    session = initialized_session(version)
    action = session.receive(Request(11, "ping"))
    assert action == Reply(Response(11, {}))
    assert result_of(action) == {}


def test_invalid_message_is_answered_with_its_error_echoing_its_id() -> None:
    session = initialized_session()
    action = session.receive(Invalid("x", InvalidRequest("bad")))
    assert action == Reply(ErrorResponse("x", {"code": -32600, "message": "bad"}))
    action = session.receive(Invalid(None, ParseError("Parse error")))
    assert action == Reply(ErrorResponse(None, {"code": -32700, "message": "Parse error"}))


def test_invalid_message_before_initialize_is_answered_too() -> None:
    action = new_session().receive(Invalid(1, InvalidRequest("bad")))
    assert error_of(action, 1) == -32600


# --- in-flight requests and cancellation ---------------------------------------------------


@pytest.mark.parametrize("request_id", [5, "5"])
def test_duplicate_in_flight_id_is_invalid_request(request_id: RequestId) -> None:
    session = initialized_session()
    first = Request(request_id, "tools/list")
    assert session.receive(first) is first
    assert error_of(session.receive(Request(request_id, "prompts/list")), request_id) == -32600
    assert session.is_in_flight(request_id)
    assert session.finish(request_id) is True


def test_same_digits_with_another_type_is_not_a_duplicate() -> None:
    session = initialized_session()
    as_int = Request(5, "tools/list")
    as_str = Request("5", "tools/list")
    assert session.receive(as_int) is as_int
    assert session.receive(as_str) is as_str
    assert session.finish(5) is True
    assert session.is_in_flight("5")
    assert session.finish("5") is True


def test_finished_id_may_be_dispatched_again() -> None:
    session = initialized_session()
    request = Request(1, "tools/list")
    session.receive(request)
    assert session.finish(1) is True
    assert not session.is_in_flight(1)
    assert session.receive(request) is request


def test_finish_of_an_id_never_dispatched_says_do_not_send() -> None:
    assert initialized_session().finish(42) is False


def test_cancelled_request_gets_no_response() -> None:
    session = initialized_session()
    session.receive(Request(7, "tools/call", {"name": "slow"}))
    action = session.receive(cancelled(7, "user pressed stop"))
    assert action == Cancel(7, "user pressed stop")
    assert session.is_in_flight(7)  # the handler still has to stop and call finish
    assert session.finish(7) is False
    assert not session.is_in_flight(7)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [(None, None), ("timeout", "timeout"), (3, None), ({"text": "x"}, None)],
    ids=["no reason", "string reason", "number reason", "object reason"],
)
def test_cancel_carries_the_reason_only_when_it_is_a_string(
    reason: JSONValue, expected: str | None
) -> None:
    session = initialized_session()
    session.receive(Request("r", "tools/call"))
    assert session.receive(cancelled("r", reason)) == Cancel("r", expected)


CANCEL_MISMATCHES = [
    pytest.param(7, "7", id="str 7 does not cancel int 7"),
    pytest.param("7", 7, id="int 7 does not cancel str 7"),
    pytest.param(1, True, id="true does not cancel 1"),
    pytest.param(1, 1.0, id="1.0 does not cancel 1"),
    pytest.param(1, None, id="null cancels nothing"),
    pytest.param(1, [1], id="a list cancels nothing"),
    pytest.param(1, 2, id="another id"),
]


@pytest.mark.parametrize(("in_flight", "request_id"), CANCEL_MISMATCHES)
def test_cancellation_must_match_the_id_value_and_type(
    in_flight: RequestId, request_id: JSONValue
) -> None:
    session = initialized_session()
    session.receive(Request(in_flight, "tools/call"))
    assert session.receive(cancelled(request_id)) is None
    assert session.finish(in_flight) is True


@pytest.mark.parametrize(
    "params",
    [None, {}, {"reason": "x"}],
    ids=["no params", "empty params", "reason only"],
)
def test_cancellation_without_a_request_id_is_ignored(params: JSONObject | None) -> None:
    session = initialized_session()
    session.receive(Request(1, "tools/call"))
    assert session.receive(Notification("notifications/cancelled", params)) is None
    assert session.finish(1) is True


def test_cancellation_of_an_unknown_or_finished_request_is_ignored() -> None:
    session = initialized_session()
    assert session.receive(cancelled(99)) is None
    session.receive(Request(1, "tools/list"))
    assert session.finish(1) is True
    # The race the spec expects: the response crossed the cancellation on the wire.
    assert session.receive(cancelled(1)) is None
    # And the id, once reused, is not born cancelled.
    session.receive(Request(1, "tools/list"))
    assert session.finish(1) is True


@pytest.mark.parametrize(
    "method",
    ["notifications/roots/list_changed", "notifications/progress", "notifications/custom"],
)
def test_other_notifications_go_to_the_application(method: str) -> None:
    notification = Notification(method, {"x": 1})
    assert initialized_session().receive(notification) == ClientNotification(notification)


# --- logging -------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LOG_LEVELS)
def test_set_level_answers_exactly_an_empty_object(level: str) -> None:
    session = initialized_session()
    action = session.receive(Request(2, "logging/setLevel", {"level": level}))
    assert action == Reply(Response(2, {}))
    assert session.log_level == level
    assert not session.is_in_flight(2)


BAD_LEVELS = [
    pytest.param({"level": "DEBUG"}, id="upper case"),
    pytest.param({"level": "verbose"}, id="unknown name"),
    pytest.param({"level": "warn"}, id="abbreviation"),
    pytest.param({"level": ""}, id="empty"),
    pytest.param({"level": 3}, id="a number"),
    pytest.param({"level": None}, id="null"),
    pytest.param({"level": ["info"]}, id="a list"),
    pytest.param({}, id="missing"),
    pytest.param(None, id="no params"),
]


@pytest.mark.parametrize("params", BAD_LEVELS)
def test_set_level_with_a_bad_level_is_invalid_params_and_keeps_the_old_level(
    params: JSONObject | None,
) -> None:
    session = initialized_session()
    session.receive(Request(1, "logging/setLevel", {"level": "error"}))
    assert error_of(session.receive(Request(2, "logging/setLevel", params)), 2) == -32602
    assert session.log_level == "error"


def test_set_level_before_initialize_is_invalid_request() -> None:
    session = new_session()
    action = session.receive(Request(1, "logging/setLevel", {"level": "debug"}))
    assert error_of(action, 1) == -32600
    assert session.log_level is None


@pytest.mark.parametrize("level", LOG_LEVELS)
def test_every_level_goes_out_when_no_level_was_set(level: str) -> None:
    session = initialized_session()
    assert session.context.log_message(level, "hello") == Notification(
        "notifications/message", {"level": level, "data": "hello"}
    )


LEVEL_PAIRS = [
    pytest.param(threshold, level, id=f"set {threshold}, send {level}")
    for threshold, level in itertools.product(LOG_LEVELS, LOG_LEVELS)
]


@pytest.mark.parametrize(("threshold", "level"), LEVEL_PAIRS)
def test_log_message_goes_out_only_at_or_above_the_set_level(threshold: str, level: str) -> None:
    session = initialized_session()
    session.receive(Request(1, "logging/setLevel", {"level": threshold}))
    should_send = LOG_LEVELS.index(level) >= LOG_LEVELS.index(threshold)
    message = session.context.log_message(level, {"k": 1}, logger="db")
    assert session.context.log_enabled(level) is should_send
    if should_send:
        assert message == Notification(
            "notifications/message", {"level": level, "data": {"k": 1}, "logger": "db"}
        )
    else:
        assert message is None


def test_levels_are_in_rfc_5424_order() -> None:
    assert LOG_LEVELS == (
        "debug",
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
    )


@pytest.mark.parametrize("threshold", [None, "debug"], ids=["no level set", "debug set"])
@pytest.mark.parametrize("level", ["verbose", "DEBUG", "", "warn"])
def test_log_message_at_an_unknown_level_never_goes_out(threshold: str | None, level: str) -> None:
    session = initialized_session()
    if threshold is not None:
        session.receive(Request(1, "logging/setLevel", {"level": threshold}))
    assert session.context.log_enabled(level) is False
    assert session.context.log_message(level, "x") is None


# --- outbound requests ---------------------------------------------------------------------


def test_start_request_allocates_increasing_int_ids() -> None:
    session = initialized_session(client_capabilities=ALL_CLIENT_CAPABILITIES)
    requests = [
        session.start_request("ping"),
        session.start_request("sampling/createMessage", {"messages": [], "maxTokens": 1}),
        session.start_request("roots/list"),
        session.start_request("elicitation/create", {"message": "?", "requestedSchema": {}}),
    ]
    assert [request.id for request in requests] == [1, 2, 3, 4]
    assert all(type(request.id) is int for request in requests)
    assert requests[1] == Request(2, "sampling/createMessage", {"messages": [], "maxTokens": 1})


OUTBOUND_RULES = [
    # (revision, client capabilities, method, allowed)
    ("2025-11-25", {}, "ping", True),
    ("2024-11-05", {}, "ping", True),
    ("2025-11-25", {"sampling": {}}, "sampling/createMessage", True),
    ("2024-11-05", {"sampling": {}}, "sampling/createMessage", True),
    ("2025-11-25", {}, "sampling/createMessage", False),
    ("2025-11-25", {"roots": {}, "elicitation": {}}, "sampling/createMessage", False),
    ("2025-11-25", {"roots": {}}, "roots/list", True),
    ("2024-11-05", {"roots": {}}, "roots/list", True),
    ("2025-11-25", {"sampling": {}}, "roots/list", False),
    ("2025-06-18", {"elicitation": {}}, "elicitation/create", True),
    ("2025-11-25", {"elicitation": {}}, "elicitation/create", True),
    ("2025-06-18", {"sampling": {}}, "elicitation/create", False),
    ("2025-03-26", {"elicitation": {}}, "elicitation/create", False),
    ("2024-11-05", {"elicitation": {}}, "elicitation/create", False),
    ("2025-11-25", ALL_CLIENT_CAPABILITIES, "tools/list", False),
    ("2025-11-25", ALL_CLIENT_CAPABILITIES, "no/such/method", False),
]


@pytest.mark.parametrize(("version", "client_capabilities", "method", "allowed"), OUTBOUND_RULES)
def test_start_request_needs_the_revision_and_the_client_capability(
    version: str, client_capabilities: JSONObject, method: str, allowed: bool
) -> None:
    session = initialized_session(version, client_capabilities=client_capabilities)
    if allowed:
        assert session.start_request(method).method == method
    else:
        with pytest.raises(CapabilityNotSupported):
            session.start_request(method)
        # A refused request uses up no id.
        assert session.start_request("ping").id == 1


@pytest.mark.parametrize(
    "answer",
    [Response(1, {"roots": []}), ErrorResponse(1, {"code": -1, "message": "no"})],
    ids=["result", "error"],
)
def test_answer_to_our_request_resolves_it_once(answer: Response | ErrorResponse) -> None:
    session = initialized_session(client_capabilities={"roots": {}})
    request = session.start_request("roots/list")
    assert session.receive(answer) == Resolve(request.id, answer)
    assert session.receive(answer) is None  # a second answer resolves nothing


def test_string_id_answer_does_not_resolve_our_int_request() -> None:
    session = initialized_session()
    request = session.start_request("ping")
    assert request.id == 1
    assert session.receive(Response("1", {})) is None
    assert session.receive(ErrorResponse("1", {"code": 1, "message": "m"})) is None
    # Still waiting: the answer with the right type resolves it.
    assert session.receive(Response(1, {})) == Resolve(1, Response(1, {}))


ORPHAN_ANSWERS = [
    pytest.param(Response(99, {}), id="result for an id we never used"),
    pytest.param(Response("x", {}), id="result with a str id"),
    pytest.param(ErrorResponse(99, {"code": 1, "message": "m"}), id="error for an unknown id"),
    pytest.param(ErrorResponse(None, {"code": -32700, "message": "m"}), id="error with id null"),
]


@pytest.mark.parametrize("answer", ORPHAN_ANSWERS)
def test_answer_to_no_request_of_ours_is_dropped(answer: Message) -> None:
    session = initialized_session()
    session.start_request("ping")
    assert session.receive(answer) is None
    assert session.receive(Response(1, {})) == Resolve(1, Response(1, {}))


def test_answer_after_forget_request_is_dropped() -> None:
    session = initialized_session()
    request = session.start_request("ping")
    session.forget_request(request.id)  # type: ignore[arg-type]
    assert session.receive(Response(request.id, {})) is None


# --- progress ------------------------------------------------------------------------------

PROGRESS_MESSAGE_BY_VERSION = [
    pytest.param("2024-11-05", False, id="2024-11-05 has no message"),
    pytest.param("2025-03-26", True, id="2025-03-26 has message"),
    pytest.param("2025-06-18", True, id="2025-06-18 has message"),
    pytest.param("2025-11-25", True, id="2025-11-25 has message"),
]


@pytest.mark.parametrize(("version", "has_message"), PROGRESS_MESSAGE_BY_VERSION)
def test_progress_includes_message_only_from_2025_03_26(version: str, has_message: bool) -> None:
    session = initialized_session(version)
    notification = session.context.progress("token", 2, total=10, message="copying")
    expected: JSONObject = {"progressToken": "token", "progress": 2, "total": 10}
    if has_message:
        expected["message"] = "copying"
    assert notification == Notification("notifications/progress", expected)


@pytest.mark.parametrize("token", [7, "7"])
def test_progress_omits_what_was_not_given_and_keeps_the_token_type(token: str | int) -> None:
    notification = initialized_session().context.progress(token, 0.5)
    assert notification == Notification(
        "notifications/progress", {"progressToken": token, "progress": 0.5}
    )
    assert type(notification.params["progressToken"]) is type(token)  # type: ignore[index]


def test_progress_keeps_a_zero_total() -> None:
    notification = initialized_session().context.progress("t", 0, total=0)
    assert notification.params == {"progressToken": "t", "progress": 0, "total": 0}


# --- batches -------------------------------------------------------------------------------

BATCH: list[Message | Invalid] = [
    Request(1, "tools/list"),
    Notification("notifications/initialized"),
]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_batches_are_accepted_only_in_2025_03_26(version: str) -> None:
    session = initialized_session(version)
    if version == "2025-03-26":
        session.check_batch(BATCH)
    else:
        with pytest.raises(InvalidRequest) as info:
            session.check_batch(BATCH)
        assert info.value.code == -32600


def test_batch_before_initialize_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        new_session().check_batch(BATCH)


@pytest.mark.parametrize("position", [0, 1, 2])
def test_batch_holding_initialize_is_refused(position: int) -> None:
    session = initialized_session("2025-03-26")
    items: list[Message | Invalid] = [Request(1, "ping"), Request(2, "tools/list")]
    items.insert(position, initialize("2025-03-26", request_id=3))
    with pytest.raises(InvalidRequest):
        session.check_batch(items)


def test_batch_of_answers_and_invalid_items_passes_the_check_in_2025_03_26() -> None:
    session = initialized_session("2025-03-26")
    session.check_batch(
        [
            Response(1, {}),
            ErrorResponse(2, {"code": 1, "message": "m"}),
            Invalid(None, InvalidRequest("bad")),
            Notification("notifications/initialized"),
        ]
    )


# --- close ---------------------------------------------------------------------------------


def test_start_request_after_close_raises_session_closed() -> None:
    session = initialized_session(client_capabilities=ALL_CLIENT_CAPABILITIES)
    session.close()
    assert session.state is SessionState.CLOSED
    for method in ("ping", "sampling/createMessage", "roots/list", "elicitation/create"):
        with pytest.raises(SessionClosed):
            session.start_request(method)


@pytest.mark.parametrize("method", ["tools/list", "ping", "initialize", "logging/setLevel", "x/y"])
def test_request_after_close_is_invalid_request(method: str) -> None:
    session = initialized_session()
    session.close()
    params: JSONObject = {"protocolVersion": NEWEST, "level": "debug"}
    assert error_of(session.receive(Request(8, method, params)), 8) == -32600
    assert not session.is_in_flight(8)


def test_request_to_a_session_closed_before_initialize_is_invalid_request() -> None:
    session = new_session()
    session.close()
    assert error_of(session.receive(initialize()), 0) == -32600
    assert session.state is SessionState.CLOSED


def test_close_cancels_requests_in_flight_and_forgets_our_requests() -> None:
    session = initialized_session()
    session.receive(Request(1, "tools/call"))
    ours = session.start_request("ping")
    session.close()
    assert session.finish(1) is False
    assert session.receive(Response(ours.id, {})) is None


def test_notifications_after_close_are_dropped() -> None:
    session = initialized_session()
    session.receive(Request(1, "tools/call"))
    session.close()
    assert session.receive(Notification("notifications/roots/list_changed")) is None
    assert session.receive(Notification("notifications/initialized")) is None
    assert session.state is SessionState.CLOSED


# --- errors are typed ----------------------------------------------------------------------


def test_refusals_use_the_error_hierarchy() -> None:
    # check_batch raises the ProtocolError the transport turns into a reply.
    with pytest.raises(InvalidRequest):
        initialized_session().check_batch(BATCH)
    # A bad initialize is InvalidParams, carried in a Reply rather than raised.
    session = new_session()
    action = session.receive(Request(1, "initialize", {"protocolVersion": 1}))
    assert error_of(action, 1) == InvalidParams.code


@pytest.mark.parametrize(
    ("method", "params"), [("ping", None), ("logging/setLevel", {"level": "info"})]
)
def test_answered_inline_methods_also_refuse_an_id_in_flight(
    method: str, params: dict[str, str] | None
) -> None:
    session = ServerSession(server_info={"name": "s", "version": "1"}, capabilities={})
    session.receive(Request(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}}))
    request = Request(7, "tools/list")
    assert session.receive(request) is request
    action = session.receive(Request(7, method, params))
    assert isinstance(action, Reply)
    assert isinstance(action.message, ErrorResponse)
    assert action.message.code == -32600


def test_subscriptions_are_added_once_removed_once_and_dropped_together() -> None:
    session = initialized_session()
    assert session.subscriptions == set()
    assert not session.unsubscribe("res://a")
    assert session.subscribe("res://a")
    assert not session.subscribe("res://a")
    assert session.subscribe("res://b")
    assert session.subscriptions == {"res://a", "res://b"}
    assert session.unsubscribe("res://a")
    assert not session.unsubscribe("res://a")
    assert session.drop_subscriptions() == {"res://b"}
    assert session.subscriptions == set()
