"""Tests of ssemcp.protocol.revisions: the revision table, negotiation and shaping."""

from __future__ import annotations

import copy
import itertools

import pytest

from ssemcp._types import JSONObject, JSONValue
from ssemcp.protocol.revisions import (
    LATEST,
    REVISIONS,
    SUPPORTED_VERSIONS,
    Revision,
    negotiate,
    revision_for,
    shape,
    shape_content,
)

V2024, V2025_03, V2025_06, V2025_11 = REVISIONS


# --- the table -----------------------------------------------------------------------------


def test_supported_versions_are_the_four_revisions_oldest_first() -> None:
    assert SUPPORTED_VERSIONS == ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
    assert [revision.version for revision in REVISIONS] == list(SUPPORTED_VERSIONS)
    assert LATEST is REVISIONS[-1]
    assert LATEST.version == "2025-11-25"


# (version, batching, elicitation, tool_annotations, audio_content, progress_message,
#  structured_content, resource_links, titles, protocol_version_header, icons, sse_priming)
FEATURES = [
    ("2024-11-05", False, False, False, False, False, False, False, False, False, False, False),
    ("2025-03-26", True, False, True, True, True, False, False, False, False, False, False),
    ("2025-06-18", False, True, True, True, True, True, True, True, True, False, False),
    ("2025-11-25", False, True, True, True, True, True, True, True, True, True, True),
]
FEATURE_NAMES = (
    "batching",
    "elicitation",
    "tool_annotations",
    "audio_content",
    "progress_message",
    "structured_content",
    "resource_links",
    "titles",
    "protocol_version_header",
    "icons",
    "sse_priming",
)


@pytest.mark.parametrize("row", FEATURES, ids=[row[0] for row in FEATURES])
def test_each_revision_has_the_features_its_changelog_lists(row: tuple[str | bool, ...]) -> None:
    version, *flags = row
    assert isinstance(version, str)
    revision = revision_for(version)
    assert revision is not None
    expected = dict(zip(FEATURE_NAMES, flags, strict=True))
    assert {name: getattr(revision, name) for name in FEATURE_NAMES} == expected


def test_later_revisions_only_add_methods() -> None:
    for older, newer in itertools.pairwise(REVISIONS):
        assert older.client_methods <= newer.client_methods, newer
        assert older.server_methods <= newer.server_methods, newer


@pytest.mark.parametrize("revision", REVISIONS, ids=repr)
def test_every_revision_has_the_lifecycle_and_utility_methods(revision: Revision) -> None:
    assert {"initialize", "ping", "tools/list", "tools/call", "logging/setLevel"} <= (
        revision.client_methods
    )
    assert {"ping", "sampling/createMessage", "roots/list"} <= revision.server_methods
    assert "initialize" not in revision.server_methods


def test_revision_repr_names_the_version() -> None:
    assert repr(V2025_06) == "Revision('2025-06-18')"


# --- negotiate -----------------------------------------------------------------------------

NEGOTIATION = [
    *[pytest.param(version, version, id=version) for version in SUPPORTED_VERSIONS],
    pytest.param("2099-01-01", "2025-11-25", id="a future version"),
    pytest.param("1.0", "2025-11-25", id="1.0"),
    pytest.param("2024-11-04", "2025-11-25", id="a day early"),
    pytest.param("2025-11-25T00:00:00Z", "2025-11-25", id="a timestamp"),
    pytest.param(" 2025-06-18", "2025-11-25", id="leading space"),
    pytest.param("", "2025-11-25", id="empty string"),
    pytest.param(None, "2025-11-25", id="null"),
    pytest.param(20250618, "2025-11-25", id="a number"),
    pytest.param(["2025-06-18"], "2025-11-25", id="a list"),
]


@pytest.mark.parametrize(("requested", "answered"), NEGOTIATION)
def test_negotiate_answers_a_supported_version_or_the_newest(
    requested: JSONValue, answered: str
) -> None:
    assert negotiate(requested).version == answered


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_negotiate_returns_the_table_constant(version: str) -> None:
    assert negotiate(version) is revision_for(version)


@pytest.mark.parametrize("version", ["2099-01-01", "", "2025-11-25 ", "latest"])
def test_revision_for_an_unknown_version_is_none(version: str) -> None:
    assert revision_for(version) is None


# --- shape ---------------------------------------------------------------------------------

TOOL: JSONObject = {
    "name": "echo",
    "title": "Echo",
    "description": "Say it back",
    "inputSchema": {"type": "object"},
    "outputSchema": {"type": "object"},
    "annotations": {"readOnlyHint": True},
    "icons": [{"src": "https://example.com/e.png"}],
}
RESOURCE: JSONObject = {
    "uri": "file:///a.txt",
    "name": "a.txt",
    "title": "A",
    "mimeType": "text/plain",
    "annotations": {"audience": ["user"]},
    "icons": [{"src": "https://example.com/a.png"}],
}
TEXT_BLOCK: JSONObject = {"type": "text", "text": "hi", "annotations": {"priority": 1}}

SHAPES = [
    # A tool sheds each member before the revision that brought it.
    pytest.param(TOOL, V2024, {"name", "description", "inputSchema"}, id="tool 2024-11-05"),
    pytest.param(
        TOOL, V2025_03, {"name", "description", "inputSchema", "annotations"}, id="tool 2025-03-26"
    ),
    pytest.param(
        TOOL,
        V2025_06,
        {"name", "title", "description", "inputSchema", "outputSchema", "annotations"},
        id="tool 2025-06-18",
    ),
    pytest.param(TOOL, V2025_11, set(TOOL), id="tool 2025-11-25"),
    # Resource and content annotations are as old as 2024-11-05: only tool annotations go.
    pytest.param(
        RESOURCE, V2024, {"uri", "name", "mimeType", "annotations"}, id="resource 2024-11-05"
    ),
    pytest.param(
        RESOURCE,
        V2025_06,
        {"uri", "name", "title", "mimeType", "annotations"},
        id="resource 2025-06-18",
    ),
    pytest.param(RESOURCE, V2025_11, set(RESOURCE), id="resource 2025-11-25"),
    pytest.param(TEXT_BLOCK, V2024, set(TEXT_BLOCK), id="text block keeps annotations"),
]


@pytest.mark.parametrize(("obj", "revision", "members"), SHAPES)
def test_shape_keeps_only_the_members_the_revision_defines(
    obj: JSONObject, revision: Revision, members: set[str]
) -> None:
    before = copy.deepcopy(obj)
    shaped = shape(obj, revision)
    assert shaped == {key: obj[key] for key in members}
    assert list(shaped) == [key for key in obj if key in members]  # order kept
    assert obj == before  # the input is never mutated


NOTHING_TO_DROP = [
    pytest.param({"name": "echo", "inputSchema": {"type": "object"}}, V2024, id="plain tool"),
    pytest.param(TOOL, V2025_11, id="full tool in the newest revision"),
    pytest.param(TEXT_BLOCK, V2024, id="annotated text block"),
    pytest.param({}, V2024, id="empty object"),
    pytest.param({"name": "x", "title": "X"}, V2025_06, id="title in 2025-06-18"),
]


@pytest.mark.parametrize(("obj", "revision"), NOTHING_TO_DROP)
def test_shape_returns_the_same_object_when_nothing_needs_dropping(
    obj: JSONObject, revision: Revision
) -> None:
    assert shape(obj, revision) is obj


# --- shape_content -------------------------------------------------------------------------

RESOURCE_LINK: JSONObject = {
    "type": "resource_link",
    "uri": "file:///report.pdf",
    "name": "report",
    "title": "Quarterly report",
    "icons": [{"src": "https://example.com/r.png"}],
}
AUDIO: JSONObject = {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"}


@pytest.mark.parametrize("revision", [V2024, V2025_03], ids=repr)
def test_resource_link_becomes_text_before_2025_06_18(revision: Revision) -> None:
    block = shape_content(RESOURCE_LINK, revision)
    assert set(block) == {"type", "text"}
    assert block["type"] == "text"
    assert "report" in block["text"]  # type: ignore[operator]
    assert "file:///report.pdf" in block["text"]  # type: ignore[operator]


def test_resource_link_without_a_name_becomes_text_naming_its_uri() -> None:
    block = shape_content({"type": "resource_link", "uri": "file:///x"}, V2024)
    assert block["type"] == "text"
    assert "file:///x" in block["text"]  # type: ignore[operator]


def test_audio_becomes_text_in_2024_11_05() -> None:
    block = shape_content(AUDIO, V2024)
    assert set(block) == {"type", "text"}
    assert block["type"] == "text"
    assert "audio/wav" in block["text"]  # type: ignore[operator]
    assert "UklGRg==" not in block["text"]  # type: ignore[operator]


KEPT_CONTENT = [
    pytest.param(AUDIO, V2025_03, AUDIO, id="audio from 2025-03-26"),
    pytest.param(AUDIO, V2025_11, AUDIO, id="audio in 2025-11-25"),
    pytest.param(
        RESOURCE_LINK,
        V2025_06,
        {key: value for key, value in RESOURCE_LINK.items() if key != "icons"},
        id="resource link in 2025-06-18 sheds icons",
    ),
    pytest.param(RESOURCE_LINK, V2025_11, RESOURCE_LINK, id="resource link in 2025-11-25"),
    pytest.param(TEXT_BLOCK, V2024, TEXT_BLOCK, id="text in 2024-11-05"),
    pytest.param(
        {"type": "image", "data": "AA==", "mimeType": "image/png"},
        V2024,
        {"type": "image", "data": "AA==", "mimeType": "image/png"},
        id="image in 2024-11-05",
    ),
]


@pytest.mark.parametrize(("block", "revision", "expected"), KEPT_CONTENT)
def test_content_the_revision_has_is_kept_and_shaped(
    block: JSONObject, revision: Revision, expected: JSONObject
) -> None:
    assert shape_content(block, revision) == expected
