"""The client's sans-I/O rules: ids and correlation, the probe verdict, 2026-07-28 ``_meta``
and headers, MRTR rounds, pagination, SSE frames as sent. No sockets."""

from __future__ import annotations

import base64

import pytest

from ssemcp.client import NegotiationError, RemoteError, SSEFrame
from ssemcp.client._protocol import (
    InputRequest,
    Pending,
    ProbeVerdict,
    Step,
    check_initialize_result,
    connection_steps,
    encode_header_value,
    header_params_of_tool,
    input_requests_of,
    log_message_of,
    modern_headers,
    modern_params,
    next_cursor_of,
    param_headers,
    probe_verdict,
    progress_of,
    result_of,
    retry_params,
    steps_down_to_legacy_sse,
)
from ssemcp.client._wire import FrameAssembler
from ssemcp.jsonrpc import ErrorResponse, Request, Response
from ssemcp.protocol.sessionless import HeaderParam
from ssemcp.sse import SSEParser


def test_pending_hands_out_increasing_ids_and_matches_by_value_and_type() -> None:
    pending: Pending[str] = Pending()
    first, second = pending.add("a"), pending.add("b")
    assert (first, second) == (1, 2)
    assert pending.pop("1") is None  # a string id is another request
    assert pending.pop(None) is None
    assert pending.pop(1) == "a"
    assert pending.pop(1) is None
    assert pending.drain() == ["b"]
    assert len(pending) == 0


def test_result_of_an_error_response_raises_remote_error_with_code_and_data() -> None:
    assert result_of(Response(1, {"x": 1})) == {"x": 1}
    with pytest.raises(RemoteError) as caught:
        result_of(ErrorResponse(1, {"code": -32602, "message": "bad", "data": {"uri": "u"}}))
    assert (caught.value.code, caught.value.message, caught.value.data) == (
        -32602,
        "bad",
        {"uri": "u"},
    )


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (Response(1, {"supportedVersions": ["2026-07-28", "2025-11-25"]}), ProbeVerdict.MODERN),
        (Response(1, {"supportedVersions": ["2025-11-25"]}), ProbeVerdict.SESSION),
        (Response(1, {"supportedVersions": "2026-07-28"}), ProbeVerdict.SESSION),
        (Response(1, ["2026-07-28"]), ProbeVerdict.SESSION),
        (ErrorResponse(1, {"code": -32601, "message": "no"}), ProbeVerdict.SESSION),
        (ErrorResponse(1, {"code": -32022, "message": "no"}), ProbeVerdict.SESSION),
        (None, ProbeVerdict.SESSION),
    ],
)
def test_probe_verdict_is_modern_only_for_a_discover_result_naming_2026(
    answer: Response | ErrorResponse | None, verdict: ProbeVerdict
) -> None:
    assert probe_verdict(answer) is verdict


def test_check_initialize_result_accepts_each_session_revision_and_refuses_others() -> None:
    for version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"):
        assert check_initialize_result({"protocolVersion": version}).version == version
    with pytest.raises(NegotiationError, match="1999-01-01"):
        check_initialize_result({"protocolVersion": "1999-01-01"})
    with pytest.raises(NegotiationError):
        check_initialize_result(["not", "an", "object"])


def test_modern_params_add_the_per_request_meta_and_keep_other_meta_keys() -> None:
    params = {"name": "add", "_meta": {"progressToken": 7}}
    built = modern_params(params, {"sampling": {}}, {"name": "c", "version": "1"}, "debug")
    assert built["_meta"] == {
        "progressToken": 7,
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"sampling": {}},
        "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1"},
        "io.modelcontextprotocol/logLevel": "debug",
    }
    assert params["_meta"] == {"progressToken": 7}  # the caller's params are not changed
    assert "io.modelcontextprotocol/logLevel" not in modern_params(None, {}, {})["_meta"]  # type: ignore[operator]


def test_modern_headers_name_the_method_and_the_tool_prompt_or_uri() -> None:
    assert modern_headers(Request(1, "tools/list", {})) == {
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/list",
    }
    assert modern_headers(Request(1, "tools/call", {"name": "add"}))["Mcp-Name"] == "add"
    assert modern_headers(Request(1, "resources/read", {"uri": "a://b"}))["Mcp-Name"] == "a://b"
    assert modern_headers(Request(1, "prompts/get", {"name": "p"}))["Mcp-Name"] == "p"


@pytest.mark.parametrize("value", ["héllo", " padded ", "line\nbreak", "=?base64?x?=", ""])
def test_header_values_that_would_not_survive_travel_base64_encoded(value: str) -> None:
    encoded = encode_header_value(value)
    assert encoded.startswith("=?base64?") and encoded.endswith("?=")
    assert base64.b64decode(encoded[len("=?base64?") : -2]).decode() == value


def test_plain_header_values_travel_as_is() -> None:
    assert encode_header_value("get_weather") == "get_weather"
    assert encode_header_value("file:///a b.txt") == "file:///a b.txt"


def test_input_requests_of_reads_each_question_and_ignores_complete_results() -> None:
    result = {
        "resultType": "input_required",
        "inputRequests": {
            "user_name": {"method": "elicitation/create", "params": {"message": "Name?"}},
            "roots": {"method": "roots/list"},
        },
        "requestState": "s1",
    }
    assert input_requests_of(result) == [
        InputRequest("user_name", "elicitation/create", {"message": "Name?"}),
        InputRequest("roots", "roots/list", {}),
    ]
    assert input_requests_of({"resultType": "complete", "content": []}) is None
    assert input_requests_of({"content": []}) is None


@pytest.mark.parametrize(
    "requests", [["a"], {"k": "not an object"}, {"k": {"params": {}}}, {"k": {"method": 3}}]
)
def test_malformed_input_required_result_is_a_remote_error(requests: object) -> None:
    with pytest.raises(RemoteError):
        input_requests_of({"resultType": "input_required", "inputRequests": requests})  # type: ignore[dict-item]


def test_retry_params_echo_the_state_exactly_and_drop_a_stale_one() -> None:
    original = {"name": "greet", "arguments": {}}
    first = retry_params(original, {"requestState": "s1"}, {"k": {"action": "accept"}})
    assert first == {
        "name": "greet",
        "arguments": {},
        "inputResponses": {"k": {"action": "accept"}},
        "requestState": "s1",
    }
    # basic/patterns/mrtr: no requestState in the result, none in the retry.
    second = retry_params(first, {}, {"j": {"roots": []}})
    assert "requestState" not in second
    assert second["inputResponses"] == {"j": {"roots": []}}
    assert "inputResponses" not in original


def test_progress_and_log_notifications_are_read_and_malformed_ones_ignored() -> None:
    token, update = progress_of({"progressToken": 3, "progress": 1, "total": 4, "message": "m"})  # type: ignore[misc]
    assert token == 3
    assert (update.progress, update.total, update.message) == (1.0, 4.0, "m")
    assert progress_of({"progressToken": 3, "progress": "x"}) is None
    assert progress_of({"progressToken": 3, "progress": True}) is None
    assert progress_of(None) is None
    message = log_message_of({"level": "info", "data": {"a": 1}, "logger": "db"})
    assert message is not None and (message.level, message.data, message.logger) == (
        "info",
        {"a": 1},
        "db",
    )
    assert log_message_of({"data": 1}) is None


def test_next_cursor_ends_at_the_last_page_and_refuses_a_repeated_cursor() -> None:
    seen: set[str] = set()
    assert next_cursor_of({"tools": [], "nextCursor": "c1"}, seen) == "c1"
    assert next_cursor_of({"tools": []}, seen) is None
    with pytest.raises(RemoteError, match="does not end"):
        next_cursor_of({"nextCursor": "c1"}, seen)


STREAM = (
    b": hello\n"
    b"retry: 1500\n\n"
    b"event: endpoint\ndata: /messages/?session_id=1\n\n"
    b'id: 7\ndata: {"a":\n'
    b"data: 1}\nx-extra: y\n\n"
    b":ping\n\n"
)
FRAMES = [
    SSEFrame(1, None, None, "1500", None, ("hello",)),
    SSEFrame(1, "endpoint", None, None, "/messages/?session_id=1", ()),
    SSEFrame(1, None, "7", None, '{"a":\n1}', (), (("x-extra", "y"),)),
    SSEFrame(1, None, None, None, None, ("ping",)),
]


@pytest.mark.parametrize("chunk_size", [1, 3, len(STREAM)])
def test_frames_as_sent_come_whole_from_the_parsers_lines_whatever_the_split(
    chunk_size: int,
) -> None:
    assembler = FrameAssembler(1)
    frames: list[SSEFrame] = []

    def on_line(line: bytes) -> None:
        frame = assembler.line(line)
        if frame is not None:
            frames.append(frame)

    parser = SSEParser(on_line=on_line)
    events = []
    for start in range(0, len(STREAM), chunk_size):
        events.extend(parser.feed(STREAM[start : start + chunk_size]))
    assert frames == FRAMES
    # The hook changes nothing of what the parser dispatches.
    assert [(event.event, event.data, event.id) for event in events] == [
        ("endpoint", "/messages/?session_id=1", ""),
        ("message", '{"a":\n1}', "7"),
    ]


def test_parser_reports_lines_only_within_its_bound() -> None:
    lines: list[bytes] = []
    parser = SSEParser(max_event_bytes=10, on_line=lines.append)
    parser.feed(b"data: 1234\n")
    assert lines == [b"data: 1234"]
    with pytest.raises(Exception, match="longer than"):
        parser.feed(b"data: 12345678901\n")
    assert lines == [b"data: 1234"]  # the line past the bound is refused, not reported


@pytest.mark.parametrize(
    ("transport", "is_url", "probe", "steps"),
    [
        ("auto", True, True, (Step.DISCOVER, Step.INITIALIZE, Step.LEGACY_SSE)),
        ("auto", True, False, (Step.INITIALIZE, Step.LEGACY_SSE)),
        ("auto", False, True, (Step.DISCOVER, Step.INITIALIZE)),
        ("auto", False, False, (Step.INITIALIZE,)),
        ("2026", True, True, (Step.DISCOVER,)),
        ("2026", False, False, (Step.DISCOVER,)),
        ("streamable", True, True, (Step.INITIALIZE,)),
        ("sse", True, True, (Step.LEGACY_SSE,)),
    ],
)
def test_connection_steps_follow_the_spec_order(
    transport: str, is_url: bool, probe: bool, steps: tuple[Step, ...]
) -> None:
    assert connection_steps(transport, is_url=is_url, probe=probe) == steps


@pytest.mark.parametrize("transport", ["sse", "streamable", "carrier-pigeon"])
def test_connection_steps_refuse_a_choice_that_does_not_fit_a_command(transport: str) -> None:
    with pytest.raises(ValueError, match="does not apply"):
        connection_steps(transport, is_url=False)


@pytest.mark.parametrize(
    ("status", "steps_down"),
    [
        (400, True),
        (404, True),
        (405, True),
        (401, False),
        (403, False),
        (406, False),
        (500, False),
        (200, False),
    ],
)
def test_only_400_404_and_405_step_down_to_the_legacy_transport(
    status: int, steps_down: bool
) -> None:
    assert steps_down_to_legacy_sse(status) is steps_down


def test_param_headers_mirror_the_marked_arguments_and_skip_null_ones() -> None:
    params = (
        HeaderParam("region", "Region", "string"),
        HeaderParam("count", "Count", "integer"),
        HeaderParam("dry_run", "Dry-Run", "boolean"),
        HeaderParam("note", "Note", "string"),
    )
    arguments = {"region": "eu-west", "count": 7, "dry_run": False, "note": None}
    assert param_headers(params, arguments) == {
        "Mcp-Param-Region": "eu-west",
        "Mcp-Param-Count": "7",
        "Mcp-Param-Dry-Run": "false",
    }
    encoded = param_headers(params[:1], {"region": "Zürich"})["Mcp-Param-Region"]
    assert encoded == "=?base64?" + base64.b64encode("Zürich".encode()).decode() + "?="
    assert param_headers(params, None) == {}


def test_a_tool_whose_schema_breaks_the_header_rules_gets_no_headers() -> None:
    bad = {
        "name": "t",
        "inputSchema": {"properties": {"x": {"type": "number", "x-mcp-header": "X"}}},
    }
    assert header_params_of_tool(bad) == ()
    assert header_params_of_tool({"name": "t"}) == ()


def test_frame_assembler_hands_back_the_lines_a_stream_ended_with() -> None:
    assembler = FrameAssembler(3)
    assert assembler.end() is None
    assert assembler.line(b"event: x") is None
    assert assembler.line(b": note") is None
    assert assembler.end() == SSEFrame(3, "x", None, None, None, ("note",), (), terminated=False)
    assert assembler.end() is None
