"""The official TypeScript MCP SDK (pinned ``@modelcontextprotocol/sdk`` 1.32.2) drives ssemcp.

Owns the judgement of what ``node/stdio_client.mjs`` saw: that script spawns
``python -m ssemcp stdio`` through the SDK's ``StdioClientTransport``, runs one scenario (the
built-in server, or ``fixture_app.py``) and prints one JSON record; these tests assert on it.
Each scenario runs once per module. The record's shape is the script's business.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fixture_app import BLOB_BYTES, PIXEL_PNG, STATIC_TEXT

pytestmark = pytest.mark.interop

# The built-in server with the utilities only: no tool set that would reach the internet.
BUILTIN_ARGS = ("--toolsets", "utilities")

NODE_DIRECTORY = Path(__file__).with_name("node")
CLIENT_SCRIPT = NODE_DIRECTORY / "stdio_client.mjs"
FIXTURE_TARGET = f"{Path(__file__).with_name('fixture_app.py')}:server"
SCENARIO_TIMEOUT_SECONDS = 90.0

Record = dict[str, Any]


def run_scenario(scenario: str, *server_args: str) -> Record:
    """Run the Node client against ``python -m ssemcp stdio *server_args``; its record."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (NODE_DIRECTORY / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        pytest.fail(
            f"{NODE_DIRECTORY}/node_modules is missing: run ./scripts/test "
            "(it runs `npm ci` there) before the interop tests"
        )
    completed = subprocess.run(
        [
            node,
            str(CLIENT_SCRIPT),
            scenario,
            sys.executable,
            "-m",
            "ssemcp",
            "stdio",
            *(server_args or BUILTIN_ARGS),
        ],
        cwd=NODE_DIRECTORY,
        capture_output=True,
        timeout=SCENARIO_TIMEOUT_SECONDS,
        check=False,
    )
    stdout = completed.stdout.decode(errors="replace")
    stderr = completed.stderr.decode(errors="replace")
    lines = stdout.splitlines()
    assert completed.returncode == 0 and len(lines) == 1, (
        f"node exited {completed.returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    )
    record: Record = json.loads(lines[0])
    assert record["ok"] is True, record
    return record


@pytest.fixture(scope="module")
def builtin() -> Record:
    return run_scenario("builtin")


@pytest.fixture(scope="module")
def fixture() -> Record:
    return run_scenario("fixture", FIXTURE_TARGET)


def text_of(result: Record) -> str:
    [block] = result["content"]
    assert block["type"] == "text"
    return block["text"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- the built-in server


def test_builtin_handshake_negotiates_latest_revision(builtin: Record) -> None:
    assert builtin["protocolVersion"] == "2025-11-25"
    assert builtin["serverInfo"]["name"] == "ssemcp"
    assert set(builtin["serverCapabilities"]) >= {"tools", "resources", "prompts", "logging"}
    assert "calculate" in builtin["instructions"]


def test_builtin_tools_are_listed_with_schemas(builtin: Record) -> None:
    tools = {tool["name"]: tool for tool in builtin["tools"]}
    assert sorted(tools) == ["calculate", "current_time", "echo"]
    for tool in tools.values():
        assert tool["inputSchema"]["type"] == "object"
    assert tools["echo"]["inputSchema"]["required"] == ["message"]
    assert tools["current_time"]["outputSchema"]["type"] == "object"
    assert tools["calculate"]["annotations"]["readOnlyHint"] is True


def test_builtin_tool_calls_succeed(builtin: Record) -> None:
    calls = builtin["calls"]
    assert text_of(calls["echo"]) == "héllo 🌍"
    assert text_of(calls["calculate"]) == "14"
    for name in ("echo", "calculate", "timeDefault", "timeParis"):
        assert not calls[name].get("isError", False), calls[name]
    # The SDK checked structuredContent against the listed outputSchema (Ajv) already.
    assert calls["timeDefault"]["structuredContent"]["timezone"] == "UTC"
    paris = calls["timeParis"]["structuredContent"]
    assert paris["timezone"] == "Europe/Paris"
    assert abs(paris["unix_timestamp"] - time.time()) < 120
    assert json.loads(text_of(calls["timeParis"])) == paris


def test_builtin_tool_failures_are_error_results(builtin: Record) -> None:
    calls = builtin["calls"]
    assert calls["timeUnknown"]["isError"] is True
    assert "Mars/Olympus_Mons" in text_of(calls["timeUnknown"])
    assert calls["divideByZero"]["isError"] is True
    assert "1/0" in text_of(calls["divideByZero"])
    assert calls["echoMissingArgument"]["isError"] is True
    assert "message" in text_of(calls["echoMissingArgument"])


def test_builtin_greeting_template_is_read(builtin: Record) -> None:
    [template] = builtin["templates"]
    assert template["uriTemplate"] == "greeting://{name}"
    [contents] = builtin["reads"]["greeting"]["contents"]
    assert contents == {"uri": "greeting://Ada", "mimeType": "text/plain", "text": "Hello, Ada!"}


def test_builtin_protocol_errors_carry_their_codes(builtin: Record) -> None:
    errors = builtin["errors"]
    assert errors["unknownTool"]["code"] == -32602
    assert "no_such_tool" in errors["unknownTool"]["message"]
    assert errors["unknownResource"]["code"] == -32002


# ---------------------------------------------------------------------- the fixture app


def test_fixture_handshake_carries_the_user_servers_identity(fixture: Record) -> None:
    assert fixture["protocolVersion"] == "2025-11-25"
    assert fixture["serverInfo"] == {
        "name": "interop-fixture",
        "version": "1.2.3",
        "title": "Interop fixture",
    }
    assert fixture["clientErrors"] == []


def test_progress_reaches_onprogress_in_order(fixture: Record) -> None:
    expected = [{"progress": step, "total": 4, "message": f"step {step}"} for step in range(1, 5)]
    wire = fixture["wireProgress"]
    # One token throughout: the one the SDK put in the request's _meta.
    assert len({notification["progressToken"] for notification in wire}) == 1
    assert [
        {key: value for key, value in notification.items() if key != "progressToken"}
        for notification in wire
    ] == expected
    # onprogress got the same notifications in the same order (see the note in the script
    # about SDK 1.32.2 dropping progress that shares a read with the response).
    delivered = fixture["progress"]
    assert delivered
    assert delivered == expected[: len(delivered)]
    assert text_of(fixture["calls"]["longTask"]) == "finished"


def test_log_notifications_follow_the_level_the_client_set(fixture: Record) -> None:
    # long_task ran before any logging/setLevel: the server then sends every level.
    step_logs = [entry for entry in fixture["logs"] if "logger" not in entry]
    assert [entry["data"] for entry in step_logs] == [f"step {step} of 4" for step in range(1, 5)]
    fixture_logs = [entry for entry in fixture["logs"] if entry.get("logger") == "fixture"]
    assert [entry["level"] for entry in fixture_logs] == ["info", "warning", "error", "error"]
    assert fixture_logs[2]["data"] == {"detail": "an error message"}


def test_sampling_round_trip(fixture: Record) -> None:
    assert text_of(fixture["calls"]["askModel"]) == "ts-fake-model: Paris"
    [request] = fixture["samplingRequests"]
    assert request["maxTokens"] == 50
    assert request["systemPrompt"] == "Be brief."
    assert request["messages"] == [
        {"role": "user", "content": {"type": "text", "text": "Capital of France?"}}
    ]


def test_elicitation_round_trip(fixture: Record) -> None:
    assert text_of(fixture["calls"]["askUser"]) == "accepted: Grace x2"
    [request] = fixture["elicitationRequests"]
    assert request["message"] == "Who are you?"
    assert request["requestedSchema"]["required"] == ["name"]


def test_roots_round_trip(fixture: Record) -> None:
    assert fixture["rootsRequests"] == 1
    assert text_of(fixture["calls"]["clientRoots"]) == "ts-project=file:///tmp/ts-project"


def test_structured_output_matches_the_output_schemas(fixture: Record) -> None:
    calls = fixture["calls"]
    weather = {"city": "Oslo", "temperature_celsius": 21.5, "conditions": "sunny"}
    assert calls["weather"]["structuredContent"] == weather
    assert json.loads(text_of(calls["weather"])) == weather
    assert calls["statistics"]["structuredContent"] == {"count": 3, "mean": 5, "maximum": 9}
    assert calls["add"]["structuredContent"] == {"result": 42}
    schemas = {tool["name"]: tool["outputSchema"] for tool in fixture["tools"]}
    assert schemas["add"]["required"] == ["result"]
    assert schemas["picture"] is None


def test_image_embedded_resource_and_link_content(fixture: Record) -> None:
    text, image, embedded, link = fixture["calls"]["picture"]["content"]
    assert text == {"type": "text", "text": "a picture and a resource"}
    assert image["type"] == "image"
    assert image["mimeType"] == "image/png"
    assert base64.b64decode(image["data"]) == PIXEL_PNG
    assert embedded == {
        "type": "resource",
        "resource": {"uri": "fixture://static", "mimeType": "text/plain", "text": STATIC_TEXT},
    }
    assert link["type"] == "resource_link"
    assert link["uri"] == "fixture://items/7"


def test_tool_errors_are_results_naming_the_problem(fixture: Record) -> None:
    calls = fixture["calls"]
    assert calls["addMissingB"]["isError"] is True
    assert re.search(r"\bb\b", text_of(calls["addMissingB"]))
    assert calls["fail"] == {"content": [{"type": "text", "text": "kaput"}], "isError": True}
    assert text_of(calls["noisy"]) == "printed by a tool"


def test_prompts_are_listed_and_filled_in(fixture: Record) -> None:
    prompts = {prompt["name"]: prompt for prompt in fixture["prompts"]}
    assert sorted(prompts) == ["conversation", "review"]
    assert prompts["review"]["arguments"] == [
        {"name": "code", "description": "the code to review.", "required": True},
        {"name": "language", "description": "its programming language.", "required": False},
    ]
    gets = fixture["promptGets"]
    assert gets["reviewRust"]["messages"] == [
        {
            "role": "user",
            "content": {"type": "text", "text": "Please review this rust code:\nfn main() {}"},
        }
    ]
    assert gets["reviewDefault"]["messages"][0]["content"]["text"].startswith(
        "Please review this python code"
    )
    assert [message["role"] for message in gets["conversation"]["messages"]] == [
        "user",
        "assistant",
    ]


def test_resources_and_templates_are_listed_and_read(fixture: Record) -> None:
    assert sorted(resource["uri"] for resource in fixture["resources"]) == [
        "fixture://blob",
        "fixture://static",
    ]
    [template] = fixture["templates"]
    assert template["uriTemplate"] == "fixture://items/{item_id}"
    reads = fixture["reads"]
    assert reads["static"]["contents"] == [
        {"uri": "fixture://static", "mimeType": "text/plain", "text": STATIC_TEXT}
    ]
    [blob] = reads["blob"]["contents"]
    assert base64.b64decode(blob["blob"]) == BLOB_BYTES
    [item] = reads["item"]["contents"]
    assert item["mimeType"] == "application/json"
    assert json.loads(item["text"]) == {"id": 42, "name": "item 42"}


def test_fixture_protocol_errors_carry_their_codes(fixture: Record) -> None:
    errors = fixture["errors"]
    assert errors["unknownTool"]["code"] == -32602
    assert errors["promptMissingArgument"]["code"] == -32602
    assert "code" in errors["promptMissingArgument"]["message"]
    assert errors["unknownResource"]["code"] == -32002
