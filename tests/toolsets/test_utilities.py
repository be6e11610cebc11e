"""The utilities tool set as a client sees it: names, schemas, results and errors."""

from __future__ import annotations

from typing import Any

import pytest
from harness import FakeClient

from ssemcp.toolsets import build_server


@pytest.fixture
async def client() -> FakeClient:
    client = FakeClient(build_server(["utilities"]))
    await client.initialize()
    return client


async def test_tools_are_listed_with_titles_bounds_and_annotations(client: FakeClient) -> None:
    tools: Any = {t["name"]: t for t in (await client.result("tools/list"))["tools"]}
    assert set(tools) == {"echo", "current_time", "calculate"}
    assert tools["calculate"]["title"] == "Calculator"
    assert tools["calculate"]["inputSchema"]["properties"]["expression"]["maxLength"] == 1000
    assert tools["echo"]["annotations"] == {
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert tools["current_time"]["inputSchema"]["properties"]["timezone"]["default"] == "UTC"
    assert set(tools["current_time"]["outputSchema"]["properties"]) == {
        "timezone",
        "datetime",
        "date",
        "time",
        "weekday",
        "utc_offset",
        "is_dst",
        "unix_timestamp",
    }


async def test_echo_returns_the_message(client: FakeClient) -> None:
    result = await client.call("echo", {"message": "héllo\nworld"})
    assert result == {"content": [{"type": "text", "text": "héllo\nworld"}]}


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        ("2 * (3 + 4) ** 2", "98"),
        ("sqrt(16) / 2", "2.0"),
        ("10 // 3", "3"),
        ("2**100", str(2**100)),
    ],
)
async def test_calculate_answers_exactly(client: FakeClient, expression: str, text: str) -> None:
    assert (await client.call("calculate", {"expression": expression}))["content"] == [
        {"type": "text", "text": text}
    ]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("1/0", "division by zero"),
        ("2 +", "syntax error"),
        ("__import__('os')", "__import__"),
        ("9**9**9", "too large"),
    ],
)
async def test_calculate_errors_are_error_results(
    client: FakeClient, expression: str, fragment: str
) -> None:
    result: Any = await client.call("calculate", {"expression": expression})
    assert result["isError"] is True
    assert fragment in result["content"][0]["text"]


async def test_current_time_is_structured(client: FakeClient) -> None:
    result: Any = await client.call("current_time", {"timezone": "Asia/Kolkata"})
    assert result["structuredContent"]["utc_offset"] == "+05:30"
    assert result["structuredContent"]["timezone"] == "Asia/Kolkata"


async def test_unknown_timezone_suggests_close_matches(client: FakeClient) -> None:
    result: Any = await client.call("current_time", {"timezone": "Europe/Pari"})
    assert result["isError"] is True
    assert "Europe/Paris" in result["content"][0]["text"]


async def test_greeting_template_reads_and_refuses_separators(client: FakeClient) -> None:
    templates: Any = (await client.result("resources/templates/list"))["resourceTemplates"]
    assert [t["uriTemplate"] for t in templates] == ["greeting://{name}"]
    read: Any = await client.result("resources/read", {"uri": "greeting://Ada%20Lovelace"})
    assert read["contents"] == [
        {
            "uri": "greeting://Ada%20Lovelace",
            "mimeType": "text/plain",
            "text": "Hello, Ada Lovelace!",
        }
    ]
    error = await client.error("resources/read", {"uri": "greeting://a%2Fb"})
    assert error["code"] == -32002


def test_unknown_toolset_is_refused() -> None:
    from ssemcp.errors import LocalProtocolError

    with pytest.raises(LocalProtocolError, match="unknown toolset"):
        build_server(["utilities", "nope"])
