"""Tests of ssemcp.protocol.pagination: opaque cursors and the pages they walk."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable

import pytest

from ssemcp.errors import InvalidParams
from ssemcp.protocol.pagination import DEFAULT_PAGE_SIZE, decode_cursor, encode_cursor, paginate

# --- helpers -------------------------------------------------------------------------------

TOOLS = "tools/list"


def forge(raw: bytes) -> str:
    """A cursor in our encoding around ``raw``: what a client that reverse-engineered it sends."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def walk(items: list[int], page_size: int) -> list[list[int]]:
    """Every page of ``items``, following next cursors from the first page to the last."""
    pages: list[list[int]] = []
    cursor: str | None = None
    while True:
        page, cursor = paginate(TOOLS, items, cursor, page_size)
        pages.append(list(page))
        if cursor is None:
            return pages
        assert len(pages) <= len(items) + 1, "pagination does not terminate"


def assert_invalid_cursor(list_name: str, items: list[int], cursor: object) -> None:
    with pytest.raises(InvalidParams) as info:
        paginate(list_name, items, cursor, 3)
    assert info.value.code == -32602


# --- walking pages -------------------------------------------------------------------------

WALKS = [
    # (items, page size, page lengths)
    pytest.param(0, 3, [0], id="empty list is one empty page"),
    pytest.param(1, 3, [1], id="fewer than a page"),
    pytest.param(2, 3, [2], id="one short of a page"),
    pytest.param(3, 3, [3], id="exactly one page"),
    pytest.param(4, 3, [3, 1], id="one more than a page"),
    pytest.param(6, 3, [3, 3], id="exactly two pages"),
    pytest.param(7, 3, [3, 3, 1], id="two pages and one"),
    pytest.param(5, 1, [1, 1, 1, 1, 1], id="page size one"),
    pytest.param(DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE, [DEFAULT_PAGE_SIZE], id="default, full"),
    pytest.param(
        DEFAULT_PAGE_SIZE + 1, DEFAULT_PAGE_SIZE, [DEFAULT_PAGE_SIZE, 1], id="default, one more"
    ),
]


@pytest.mark.parametrize(("count", "page_size", "lengths"), WALKS)
def test_following_cursors_yields_every_item_once_in_order(
    count: int, page_size: int, lengths: list[int]
) -> None:
    items = list(range(count))
    pages = walk(items, page_size)
    assert [len(page) for page in pages] == lengths
    assert [item for page in pages for item in page] == items
    assert len(pages) == max(1, math.ceil(count / page_size))


def test_default_page_size_is_used_when_none_is_given() -> None:
    items = list(range(DEFAULT_PAGE_SIZE + 1))
    page, cursor = paginate(TOOLS, items, None)
    assert list(page) == items[:DEFAULT_PAGE_SIZE]
    assert cursor is not None
    page, cursor = paginate(TOOLS, items, cursor)
    assert list(page) == [DEFAULT_PAGE_SIZE]
    assert cursor is None


def test_last_page_has_no_next_cursor() -> None:
    _, cursor = paginate(TOOLS, [1, 2, 3], None, 3)
    assert cursor is None


@pytest.mark.parametrize("offset", [0, 1, 99, 10**12])
def test_cursor_round_trips_its_offset(offset: int) -> None:
    assert decode_cursor(TOOLS, encode_cursor(TOOLS, offset)) == offset


@pytest.mark.parametrize("list_name", ["tools/list", "resources/templates/list", "a:b"])
def test_cursor_is_an_opaque_url_safe_token(list_name: str) -> None:
    cursor = encode_cursor(list_name, 100)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert list_name not in cursor
    assert decode_cursor(list_name, cursor) == 100


def test_cursor_pointing_at_the_start_of_an_empty_list_is_accepted() -> None:
    empty: list[int] = []
    page, cursor = paginate(TOOLS, empty, encode_cursor(TOOLS, 0), 3)
    assert list(page) == []
    assert cursor is None


# --- cursors refused -----------------------------------------------------------------------

CROSS_LIST = [
    pytest.param("tools/list", "prompts/list", id="tools cursor to prompts"),
    pytest.param("prompts/list", "tools/list", id="prompts cursor to tools"),
    pytest.param("resources/list", "resources/templates/list", id="resources to templates"),
    pytest.param("resources/templates/list", "resources/list", id="templates to resources"),
    pytest.param("tools", "tools/list", id="a prefix of the name"),
    pytest.param("tools/list/x", "tools/list", id="an extension of the name"),
    pytest.param("Tools/list", "tools/list", id="another case"),
]


@pytest.mark.parametrize(("issued_for", "handed_to"), CROSS_LIST)
def test_cursor_for_one_list_is_refused_by_another(issued_for: str, handed_to: str) -> None:
    items = list(range(10))
    _, cursor = paginate(issued_for, items, None, 3)
    assert cursor is not None
    assert_invalid_cursor(handed_to, items, cursor)
    # ...while the list it came from still takes it.
    assert list(paginate(issued_for, items, cursor, 3)[0]) == [3, 4, 5]


GARBAGE = [
    pytest.param("", id="empty string"),
    pytest.param("!!!!", id="no base64 at all"),
    pytest.param("not a cursor", id="words"),
    pytest.param("tools/list:3", id="the plain text a cursor encodes"),
    pytest.param("A", id="one base64 character"),
    pytest.param("\u00e9" + encode_cursor(TOOLS, 3), id="non-ascii character"),
    pytest.param(encode_cursor(TOOLS, 3).upper(), id="case changed"),
    pytest.param(encode_cursor(TOOLS, 3)[:-1], id="truncated"),
    pytest.param(encode_cursor(TOOLS, 3) + "A", id="one character too many"),
    pytest.param(forge(b"tools/list"), id="no offset member"),
    pytest.param(forge(b"tools/list:"), id="empty offset"),
    pytest.param(forge(b":3"), id="empty list name"),
    pytest.param(forge(b"3"), id="offset only"),
    pytest.param(forge(b"tools/list:abc"), id="offset not a number"),
    pytest.param(forge(b"tools/list:-1"), id="negative offset"),
    pytest.param(forge(b"tools/list:+3"), id="offset with a plus sign"),
    pytest.param(forge(b"tools/list: 3"), id="offset with a space"),
    pytest.param(forge(b"tools/list:3.0"), id="offset a float"),
    pytest.param(forge(b"tools/list:1e1"), id="offset in exponent form"),
    pytest.param(forge(b"tools/list:0x3"), id="offset in hex"),
    pytest.param(forge("tools/list:\u00b3".encode()), id="superscript digit"),
    pytest.param(forge("tools/list:\u0663".encode()), id="arabic-indic digit"),
    pytest.param(forge(b"\xff\xfe\x00"), id="not text"),
    pytest.param(forge(b"tools/list:" + b"0" * 85 + b"1"), id="overlong by content"),
    pytest.param("A" * 10_000, id="ten thousand characters"),
]


@pytest.mark.parametrize("cursor", GARBAGE)
def test_cursor_we_did_not_issue_is_invalid_params(cursor: str) -> None:
    assert_invalid_cursor(TOOLS, list(range(10)), cursor)


NOT_STRINGS = [
    pytest.param(3, id="int"),
    pytest.param(0, id="zero"),
    pytest.param(3.0, id="float"),
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param([encode_cursor(TOOLS, 3)], id="list holding a cursor"),
    pytest.param({"offset": 3}, id="object"),
    pytest.param(encode_cursor(TOOLS, 3).encode(), id="bytes"),
]


@pytest.mark.parametrize("cursor", NOT_STRINGS)
def test_cursor_that_is_not_a_string_is_invalid_params(cursor: object) -> None:
    assert_invalid_cursor(TOOLS, list(range(10)), cursor)


PAST_THE_END = [
    # (list length, offset)
    pytest.param(10, 10, id="at the end"),
    pytest.param(10, 11, id="one past the end"),
    pytest.param(10, 10**30, id="far past the end"),
    pytest.param(0, 1, id="past the end of an empty list"),
]


@pytest.mark.parametrize(("count", "offset"), PAST_THE_END)
def test_cursor_past_the_end_is_invalid_params(count: int, offset: int) -> None:
    assert_invalid_cursor(TOOLS, list(range(count)), encode_cursor(TOOLS, offset))


def test_cursor_is_refused_once_the_list_shrank_under_it() -> None:
    _, cursor = paginate(TOOLS, list(range(6)), None, 3)
    assert_invalid_cursor(TOOLS, list(range(3)), cursor)


JUNK_AROUND_A_CURSOR = [
    pytest.param("{0}!".format, id="trailing punctuation"),
    pytest.param(lambda cursor: cursor[:3] + "!" + cursor[3:], id="punctuation inside"),
    pytest.param(" {0}".format, id="leading space"),
    pytest.param("{0}\n".format, id="trailing newline"),
    pytest.param("{0}=".format, id="extra padding"),
]


@pytest.mark.parametrize("mangle", JUNK_AROUND_A_CURSOR)
def test_cursor_with_characters_we_never_emit_is_invalid_params(
    mangle: Callable[[str], str],
) -> None:
    cursor = mangle(encode_cursor(TOOLS, 3))
    assert_invalid_cursor(TOOLS, list(range(10)), cursor)
