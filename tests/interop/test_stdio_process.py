"""``python -m ssemcp stdio`` as a process, driven byte by byte with no SDK in between.

Owns what only a raw peer can check: each malformed line gets exactly one JSON-RPC error and
the process keeps serving; stdout carries nothing but JSON-RPC lines, even when a tool prints;
requests before ``initialize`` are refused; ids keep their type; a cancelled request is never
answered; closing stdin ends the process cleanly. What a well-behaved SDK sees is tested in
``test_python_sdk_stdio.py`` and ``test_typescript_sdk_stdio.py``.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.interop

# The built-in server with the utilities only: no tool set that would reach the internet.
BUILTIN_ARGS = ("--toolsets", "utilities")

FIXTURE_TARGET = f"{Path(__file__).with_name('fixture_app.py')}:server"
# ssemcp.transports.stdio.DEFAULT_MAX_LINE_BYTES, restated: the bound is part of the contract.
MAX_LINE_BYTES = 4 * 1024 * 1024
READ_DEADLINE_SECONDS = 15.0
EXIT_DEADLINE_SECONDS = 5.0

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601

INITIALIZE_PARAMS = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "raw-stdio-test", "version": "0"},
}

Message = dict[str, Any]


class StdioServer:
    """One server process; its stdout is read on a thread into a queue of lines.

    Every line read is checked to be one JSON-RPC 2.0 object: stdout carries nothing else.
    """

    def __init__(self, server_args: tuple[str, ...], stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        self._stderr = stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ssemcp", "stdio", *(server_args or BUILTIN_ARGS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        # Messages read while looking for a particular response.
        self.notifications: list[Message] = []

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    # ------------------------------------------------------------------ writing

    def send_line(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data + b"\n")
        self.process.stdin.flush()

    def send(self, message: Message | list[Message]) -> None:
        self.send_line(json.dumps(message).encode())

    def close_stdin(self) -> None:
        assert self.process.stdin is not None
        with suppress(BrokenPipeError):
            self.process.stdin.close()

    # ------------------------------------------------------------------ reading

    def next_json(self, timeout_seconds: float = READ_DEADLINE_SECONDS) -> Any:
        """The next line of stdout, parsed: a line that is not JSON fails the test here."""
        try:
            line = self._lines.get(timeout=timeout_seconds)
        except queue.Empty:
            raise AssertionError(f"no line on stdout within {timeout_seconds}s") from None
        if line is None:
            raise AssertionError(f"stdout closed; stderr:\n{self.stderr_text()}")
        assert line.endswith(b"\n"), line[:200]
        return json.loads(line)

    def next_message(self, timeout_seconds: float = READ_DEADLINE_SECONDS) -> Message:
        """The next line of stdout, which must be one JSON-RPC object."""
        message = self.next_json(timeout_seconds)
        assert isinstance(message, dict), message
        assert message.get("jsonrpc") == "2.0", message
        return message

    def response_to(self, request_id: int | str) -> Message:
        """Read until the response whose id equals ``request_id`` in value and type."""
        deadline = time.monotonic() + READ_DEADLINE_SECONDS
        while True:
            message = self.next_message(max(0.0, deadline - time.monotonic()))
            if "method" not in message and same_id(message.get("id"), request_id):
                return message
            self.notifications.append(message)

    def request(self, request_id: int | str, method: str, params: Message | None = None) -> Message:
        message: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.response_to(request_id)

    def initialize(self, capabilities: Message | None = None) -> Message:
        params = dict(INITIALIZE_PARAMS, capabilities=capabilities or {})
        response = self.request("init", "initialize", params)
        assert "result" in response, response
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response["result"]  # type: ignore[no-any-return]

    def responses(self, count: int) -> list[Message]:
        """The next ``count`` responses, in arrival order; notifications are set aside."""
        found: list[Message] = []
        deadline = time.monotonic() + READ_DEADLINE_SECONDS
        while len(found) < count:
            message = self.next_message(max(0.0, deadline - time.monotonic()))
            if "method" in message:
                self.notifications.append(message)
            else:
                found.append(message)
        return found

    def read_to_eof(self) -> list[Message]:
        """Every message until stdout closes (call after closing stdin)."""
        messages: list[Message] = []
        deadline = time.monotonic() + READ_DEADLINE_SECONDS
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("stdout did not close in time") from None
            if line is None:
                return messages
            message = json.loads(line)
            assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", line[:200]
            messages.append(message)

    def wait_for_exit(self) -> int:
        return self.process.wait(timeout=EXIT_DEADLINE_SECONDS)

    def stderr_text(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    # ------------------------------------------------------------------ teardown

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=EXIT_DEADLINE_SECONDS)
        self._reader.join(timeout=EXIT_DEADLINE_SECONDS)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with suppress(BrokenPipeError):
                    stream.close()
        self._stderr.close()


def same_id(received: object, expected: int | str) -> bool:
    """JSON-RPC id equality that keeps 7 and "7" apart (and True away from 1)."""
    return type(received) is type(expected) and received == expected


@contextmanager
def serve(tmp_path: Path, *server_args: str) -> Iterator[StdioServer]:
    server = StdioServer(server_args, tmp_path / "stderr.log")
    try:
        yield server
    finally:
        server.kill()


def assert_error(message: Message, code: int, request_id: int | str | None = None) -> None:
    assert "result" not in message, message
    assert message["error"]["code"] == code, message
    assert isinstance(message["error"]["message"], str)
    assert message["error"]["message"]
    if request_id is None:
        assert message["id"] is None, message
    else:
        assert same_id(message["id"], request_id), message


def assert_still_serving(server: StdioServer, request_id: int = 1000) -> None:
    """The very next line answers a ping: the bad line got one error, not two."""
    server.send({"jsonrpc": "2.0", "id": request_id, "method": "ping"})
    reply = server.next_message()
    assert same_id(reply.get("id"), request_id), reply
    assert reply["result"] == {}


# ---------------------------------------------------------------------- malformed lines

_DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
_OVERLONG = (
    b'{"jsonrpc":"2.0","id":5,"method":"ping","params":{"_meta":{"pad":"'
    + b"x" * (5 * 1024 * 1024)
    + b'"}}}'
)

MALFORMED_LINES = [
    pytest.param(b"this is not json", PARSE_ERROR, None, id="not-json"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":', PARSE_ERROR, None, id="truncated-json"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\xff\xfe"}}',
        PARSE_ERROR,
        None,
        id="invalid-utf8",
    ),
    pytest.param(_DEEP_ARRAY, PARSE_ERROR, None, id="nested-100000-deep"),
    pytest.param(b"[]", INVALID_REQUEST, None, id="empty-array"),
    pytest.param(b"{}", INVALID_REQUEST, None, id="empty-object"),
    pytest.param(b"42", INVALID_REQUEST, None, id="bare-number"),
    pytest.param(b'{"jsonrpc":"1.0"}', INVALID_REQUEST, None, id="jsonrpc-1.0"),
    pytest.param(
        b'{"jsonrpc":"1.0","id":3,"method":"ping"}', INVALID_REQUEST, 3, id="jsonrpc-1.0-with-id"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":null,"method":"ping"}', INVALID_REQUEST, None, id="id-null"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":true,"method":"ping"}', INVALID_REQUEST, None, id="id-true"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', INVALID_REQUEST, None, id="id-float"
    ),
    pytest.param(
        b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', INVALID_REQUEST, None, id="id-object"
    ),
    pytest.param(b'{"jsonrpc":"2.0","id":4,"method":5}', INVALID_REQUEST, 4, id="method-number"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":6,"method":"ping","params":[1]}',
        INVALID_REQUEST,
        6,
        id="params-array",
    ),
    pytest.param(_OVERLONG, INVALID_REQUEST, None, id="line-over-4MiB"),
]


@pytest.mark.parametrize(("line", "code", "request_id"), MALFORMED_LINES)
def test_malformed_line_gets_exactly_one_error_and_the_process_keeps_serving(
    tmp_path: Path, line: bytes, code: int, request_id: int | None
) -> None:
    with serve(tmp_path) as server:
        server.initialize()
        server.send_line(line)
        assert_error(server.next_message(), code, request_id)
        assert_still_serving(server)
        tools = server.request(1001, "tools/list")
        assert [tool["name"] for tool in tools["result"]["tools"]]
        assert server.process.poll() is None
        assert server.notifications == []


def test_line_just_under_the_bound_is_served(tmp_path: Path) -> None:
    envelope = b'{"jsonrpc":"2.0","id":5,"method":"ping","params":{"_meta":{"pad":"%s"}}}'
    padding = MAX_LINE_BYTES - len(envelope % b"")
    line = envelope % (b"x" * padding)
    assert len(line) == MAX_LINE_BYTES
    with serve(tmp_path) as server:
        server.initialize()
        server.send_line(line)
        assert server.next_message() == {"jsonrpc": "2.0", "id": 5, "result": {}}
        # One byte more is refused.
        server.send_line(envelope % (b"x" * (padding + 1)))
        assert_error(server.next_message(), INVALID_REQUEST)
        assert_still_serving(server)


def test_malformed_lines_before_initialize_do_not_break_the_handshake(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        server.send_line(b"garbage")
        assert_error(server.next_message(), PARSE_ERROR)
        server.send_line(b"[]")
        assert_error(server.next_message(), INVALID_REQUEST)
        assert server.initialize()["serverInfo"]["name"] == "ssemcp"


def test_blank_lines_and_crlf_are_tolerated(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        server.initialize()
        server.send_line(b"")
        server.send_line(b"   ")
        server.send_line(b'{"jsonrpc":"2.0","id":8,"method":"ping"}\r')
        # The blank lines got no answer: the next line is the ping's.
        assert server.next_message() == {"jsonrpc": "2.0", "id": 8, "result": {}}


def test_stray_response_from_the_client_is_ignored(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        server.initialize()
        server.send({"jsonrpc": "2.0", "id": 99, "result": {}})
        server.send({"jsonrpc": "2.0", "id": 98, "error": {"code": -1, "message": "no"}})
        assert_still_serving(server)


# ---------------------------------------------------------------------- lifecycle


def test_requests_before_initialize_are_refused_except_ping(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        assert server.request(1, "ping")["result"] == {}
        refused = server.request(2, "tools/list")
        assert_error(refused, INVALID_REQUEST, 2)
        assert "initialize" in refused["error"]["message"]
        assert_error(server.request(3, "tools/call", {"name": "echo"}), INVALID_REQUEST, 3)
        assert_error(server.request(4, "no/such/method"), METHOD_NOT_FOUND, 4)
        # A notification before initialize gets no answer at all.
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert_still_serving(server)

        result = server.initialize()
        assert result["protocolVersion"] == "2025-11-25"
        assert server.request(5, "tools/list")["result"]["tools"]
        assert_error(server.request(6, "initialize", INITIALIZE_PARAMS), INVALID_REQUEST, 6)


def test_unknown_protocol_version_is_answered_with_the_latest(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        params = dict(INITIALIZE_PARAMS, protocolVersion="1999-01-01")
        result = server.request(1, "initialize", params)["result"]
        assert result["protocolVersion"] == "2025-11-25"


def test_older_protocol_version_is_kept(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        params = dict(INITIALIZE_PARAMS, protocolVersion="2024-11-05")
        result = server.request(1, "initialize", params)["result"]
        assert result["protocolVersion"] == "2024-11-05"
        assert "title" not in result["serverInfo"]


def test_closing_stdin_ends_the_process_with_status_zero(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        server.initialize()
        assert_still_serving(server)
        server.close_stdin()
        assert server.read_to_eof() == []
        assert server.wait_for_exit() == 0


def test_closing_stdin_right_away_ends_the_process_with_status_zero(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        server.close_stdin()
        assert server.read_to_eof() == []
        assert server.wait_for_exit() == 0


def test_request_in_flight_when_stdin_closes_is_still_answered(tmp_path: Path) -> None:
    with serve(tmp_path, FIXTURE_TARGET) as server:
        server.initialize()
        call = {"name": "slow", "arguments": {"seconds": 0.3}}
        server.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call})
        server.close_stdin()
        messages = server.read_to_eof()
        assert server.wait_for_exit() == 0
    [response] = [message for message in messages if "method" not in message]
    assert same_id(response["id"], 1)
    assert response["result"]["content"] == [{"type": "text", "text": "slept 0.3"}]


# ---------------------------------------------------------------------- ids and concurrency


def test_ids_7_and_string_7_in_flight_together_are_answered_separately(tmp_path: Path) -> None:
    with serve(tmp_path, FIXTURE_TARGET) as server:
        server.initialize()
        for request_id, seconds in [(7, 0.5), ("7", 0.05)]:
            call = {"name": "slow", "arguments": {"seconds": seconds}}
            server.send(
                {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": call}
            )
        # The same id again while the first is in flight is refused, with that id.
        duplicate = {"name": "sync_echo", "arguments": {"message": "duplicate"}}
        server.send({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": duplicate})
        responses = server.responses(3)
    by_id = {(type(message["id"]).__name__, message["id"]): message for message in responses}
    assert len(by_id) == 2, responses
    assert by_id[("str", "7")]["result"]["content"][0]["text"] == "slept 0.05"
    assert by_id[("int", 7)]["result"]["content"][0]["text"] == "slept 0.5"
    errors = [message for message in responses if "error" in message]
    assert len(errors) == 1
    assert_error(errors[0], INVALID_REQUEST, 7)


def test_cancelled_request_is_never_answered_and_the_process_keeps_serving(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, FIXTURE_TARGET) as server:
        server.initialize()
        # Long enough that its answer would surely come before stdin's close is drained,
        # were the cancellation ignored; short enough to keep the test quick either way.
        call = {"name": "slow", "arguments": {"seconds": 1.5}}
        server.send({"jsonrpc": "2.0", "id": 42, "method": "tools/call", "params": call})
        started = server.next_message()
        assert started["method"] == "notifications/message"
        assert started["params"]["data"] == "slow started"

        server.send(
            {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": 42, "reason": "the user changed their mind"},
            }
        )
        # A cancellation of an unknown id is ignored too.
        server.send(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4242}}
        )
        assert_still_serving(server, 43)
        echoed = server.request(
            44, "tools/call", {"name": "sync_echo", "arguments": {"message": "after"}}
        )
        assert echoed["result"]["content"] == [{"type": "text", "text": "after"}]

        server.close_stdin()
        rest = server.read_to_eof()
        assert server.wait_for_exit() == 0
    everything = server.notifications + rest
    assert not [message for message in everything if message.get("id") == 42], everything


def test_cancellation_naming_string_42_leaves_integer_42_running(tmp_path: Path) -> None:
    with serve(tmp_path, FIXTURE_TARGET) as server:
        server.initialize()
        call = {"name": "slow", "arguments": {"seconds": 0.2}}
        server.send({"jsonrpc": "2.0", "id": 42, "method": "tools/call", "params": call})
        assert server.next_message()["method"] == "notifications/message"
        server.send(
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "42"}}
        )
        response = server.response_to(42)
    assert response["result"]["content"] == [{"type": "text", "text": "slept 0.2"}]


def test_batch_is_refused_in_2025_11_25(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        server.initialize()
        server.send_line(b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]')
        refused = server.next_message()
        assert_error(refused, INVALID_REQUEST)
        assert "batch" in refused["error"]["message"]
        assert_still_serving(server)


def test_batch_is_served_in_2025_03_26(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        params = dict(INITIALIZE_PARAMS, protocolVersion="2025-03-26")
        assert server.request(0, "initialize", params)["result"]["protocolVersion"] == "2025-03-26"
        batch = [
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            {"jsonrpc": "2.0", "id": "two", "method": "no/such/method"},
        ]
        server.send(batch)
        replies = server.next_json()
        # A batch of notifications only is answered with nothing at all.
        server.send([{"jsonrpc": "2.0", "method": "notifications/initialized"}])
        assert_still_serving(server)
    assert isinstance(replies, list)
    by_id = {reply["id"]: reply for reply in replies}
    assert by_id[1]["result"] == {}
    assert_error(by_id["two"], METHOD_NOT_FOUND, "two")
    assert len(replies) == 2


# ---------------------------------------------------------------------- stdout hygiene


def test_printing_tools_never_write_to_the_protocol_stream(tmp_path: Path) -> None:
    with serve(tmp_path, FIXTURE_TARGET) as server:
        server.initialize()
        for request_id, name in [(1, "noisy"), (2, "sync_echo")]:
            params = {"name": name, "arguments": {"message": f"hello from {name}"}}
            response = server.request(request_id, "tools/call", params)
            assert response["result"]["content"] == [{"type": "text", "text": f"hello from {name}"}]
        server.close_stdin()
        # read_to_eof parses every remaining line: a printed line would fail here.
        assert server.read_to_eof() == []
        assert server.wait_for_exit() == 0
        stderr = server.stderr_text()
    assert server.notifications == []
    assert "hello from noisy" in stderr
    assert "hello from sync_echo" in stderr


def test_tool_needing_an_undeclared_capability_fails_as_a_tool_error(tmp_path: Path) -> None:
    with serve(tmp_path, FIXTURE_TARGET) as server:
        server.initialize(capabilities={})
        for request_id, name in [(1, "ask_model"), (2, "ask_user"), (3, "client_roots")]:
            arguments = {"prompt": "hi"} if name == "ask_model" else {}
            response = server.request(
                request_id, "tools/call", {"name": name, "arguments": arguments}
            )
            assert response["result"]["isError"] is True, response
            assert "does not support" in response["result"]["content"][0]["text"]


def test_server_to_client_request_is_answered_over_the_same_stdio(tmp_path: Path) -> None:
    with serve(tmp_path, FIXTURE_TARGET) as server:
        server.initialize(capabilities={"sampling": {}})
        call = {"name": "ask_model", "arguments": {"prompt": "2+2?"}}
        server.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call})
        request = server.next_message()
        assert request["method"] == "sampling/createMessage"
        assert request["params"]["maxTokens"] == 50
        # Our answer uses the server's id exactly, which is an integer.
        assert type(request["id"]) is int
        result = {
            "role": "assistant",
            "content": {"type": "text", "text": "4"},
            "model": "raw-model",
        }
        # A response with the id as a string does not answer the request with the integer id.
        server.send({"jsonrpc": "2.0", "id": str(request["id"]), "result": result})
        server.send({"jsonrpc": "2.0", "id": request["id"], "result": result})
        response = server.response_to(1)
    assert response["result"]["content"] == [{"type": "text", "text": "raw-model: 4"}]
