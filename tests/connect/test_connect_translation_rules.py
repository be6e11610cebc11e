"""``ssemcp.connect._modern``: the rules of translating a 2025 session for a server that
speaks only 2026-07-28, without I/O."""

from __future__ import annotations

import json

import pytest

from ssemcp.connect._modern import (
    LocalSession,
    initialize_result_of,
    listen_params,
    local_notification,
    local_result,
    needs_translation,
)
from ssemcp.errors import InvalidParams
from ssemcp.jsonrpc import Notification, Request


def test_only_a_server_without_session_revisions_needs_translation() -> None:
    assert needs_translation({"supportedVersions": ["2026-07-28"]})
    assert not needs_translation({"supportedVersions": ["2026-07-28", "2025-11-25"]})
    assert not needs_translation({"supportedVersions": ["2025-11-25"]})
    assert not needs_translation({"capabilities": {}})
    assert not needs_translation(None)


def test_initialize_result_negotiates_with_the_local_client() -> None:
    discover = {
        "supportedVersions": ["2026-07-28"],
        "capabilities": {"tools": {}},
        "instructions": "hi",
        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "r", "version": "1"}},
    }
    assert initialize_result_of(discover, "2025-06-18") == {
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "r", "version": "1"},
        "instructions": "hi",
    }
    assert initialize_result_of(discover, "1999-01-01")["protocolVersion"] == "2025-11-25"


def test_results_and_notifications_lose_what_2026_07_28_added() -> None:
    result = {
        "content": [],
        "resultType": "complete",
        "ttlMs": 0,
        "cacheScope": "private",
        "_meta": {"io.modelcontextprotocol/serverInfo": {}, "mine": 1},
    }
    assert local_result(result) == {"content": [], "_meta": {"mine": 1}}
    tagged = Notification(
        "notifications/resources/updated",
        {"uri": "a://b", "_meta": {"io.modelcontextprotocol/subscriptionId": 3}},
    )
    assert local_notification(tagged).params == {"uri": "a://b"}


def test_listen_asks_for_what_a_session_hears_unasked() -> None:
    capabilities = {"tools": {"listChanged": True}, "resources": {"subscribe": True}}
    assert listen_params(capabilities, ["a://b"]) == {
        "notifications": {"toolsListChanged": True, "resourceSubscriptions": ["a://b"]}
    }
    assert listen_params({}, []) == {"notifications": {}}


def test_the_local_session_answers_the_methods_2026_07_28_removed() -> None:
    local = LocalSession.of(
        Request(
            1,
            "initialize",
            {"capabilities": {"roots": {}}, "clientInfo": {"name": "desk"}},
        )
    )
    assert local.answer_locally(Request(2, "ping")) == ({}, False)
    assert local.answer_locally(Request(3, "logging/setLevel", {"level": "info"})) == ({}, False)
    assert local.answer_locally(Request(4, "resources/subscribe", {"uri": "a://b"})) == ({}, True)
    assert local.answer_locally(Request(5, "resources/subscribe", {"uri": "a://b"})) == ({}, False)
    with pytest.raises(InvalidParams):
        local.answer_locally(Request(6, "logging/setLevel", {"level": "loud"}))
    modern = local.modern_request(Request(7, "tools/list"))
    meta = json.loads(json.dumps(modern.params))["_meta"]
    assert meta["io.modelcontextprotocol/logLevel"] == "info"
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {"roots": {}}
    assert meta["io.modelcontextprotocol/clientInfo"] == {"name": "desk"}
    assert local.answer_locally(Request(8, "resources/unsubscribe", {"uri": "a://b"})) == (
        {},
        True,
    )
    assert local.subscriptions == []
