"""Opaque cursors for the paginated list methods. No I/O.

spec 2025-11-25 server/utilities/pagination: "The cursor is an opaque string token"; clients
"MUST treat cursors as opaque tokens"; an invalid cursor "SHOULD" get -32602.

A cursor encodes the offset of the next page and the name of the list it belongs to, so a
cursor from ``tools/list`` handed to ``prompts/list`` is refused rather than silently applied.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Final, TypeVar

from ssemcp.errors import InvalidParams

__all__ = ["DEFAULT_PAGE_SIZE", "decode_cursor", "encode_cursor", "paginate"]

T = TypeVar("T")

# Large enough that the built-in server answers every list in one page, small enough that a
# registry of thousands of generated tools does not produce a multi-megabyte reply.
DEFAULT_PAGE_SIZE: Final = 100
_MAX_CURSOR_LENGTH: Final = 128


def encode_cursor(list_name: str, offset: int) -> str:
    """The cursor for the page of ``list_name`` that starts at ``offset``."""
    raw = f"{list_name}:{offset}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(list_name: str, cursor: object) -> int:
    """The offset a cursor for ``list_name`` points at.

    Raises:
        InvalidParams: the cursor is not one we issued for this list.
    """
    if type(cursor) is not str or not cursor or len(cursor) > _MAX_CURSOR_LENGTH:
        raise InvalidParams("Invalid cursor")
    try:
        raw = base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidParams("Invalid cursor") from None
    name, _, offset_text = raw.rpartition(":")
    if name != list_name or not offset_text.isdigit() or not offset_text.isascii():
        raise InvalidParams("Invalid cursor")
    offset = int(offset_text)
    # Only the exact string we issued is ours: no padding, no leading zeros, no junk.
    if encode_cursor(list_name, offset) != cursor:
        raise InvalidParams("Invalid cursor")
    return offset


def paginate(
    list_name: str, items: Sequence[T], cursor: object, page_size: int = DEFAULT_PAGE_SIZE
) -> tuple[Sequence[T], str | None]:
    """One page of ``items`` and the cursor of the next page (None on the last page).

    Raises:
        InvalidParams: the cursor is invalid, or points past the end of the list.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    offset = 0 if cursor is None else decode_cursor(list_name, cursor)
    if offset > len(items) or (offset == len(items) and offset != 0):
        # The list shrank under the client, or the cursor was forged.
        raise InvalidParams("Invalid cursor: past the end of the list")
    end = offset + page_size
    next_cursor = encode_cursor(list_name, end) if end < len(items) else None
    return items[offset:end], next_cursor
