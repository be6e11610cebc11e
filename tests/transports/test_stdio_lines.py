"""The stdio line reader: any split gives the same lines, and the bound holds."""

from __future__ import annotations

import pytest

from ssemcp.transports.stdio import LineReader

STREAM = b'{"a":1}\n{"b":2}\r\n\n{"c":3}\n'
LINES = [b'{"a":1}', b'{"b":2}', b"", b'{"c":3}']


def feed_in_chunks(reader: LineReader, data: bytes, size: int) -> list[bytes | None]:
    lines: list[bytes | None] = []
    for start in range(0, len(data), size):
        lines.extend(reader.feed(data[start : start + size]))
    return lines


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(STREAM)])
def test_lines_are_the_same_for_every_chunk_size(size: int) -> None:
    reader = LineReader()
    assert feed_in_chunks(reader, STREAM, size) == LINES
    assert reader.close() == b""


def test_last_line_without_newline_is_given_at_close() -> None:
    reader = LineReader()
    assert reader.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert reader.close() == b'{"b"'


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_overlong_line_is_reported_once_and_reading_goes_on(size: int) -> None:
    reader = LineReader(max_line_bytes=10)
    data = b"x" * 25 + b"\n" + b"ok\n" + b"y" * 10 + b"\n"
    assert feed_in_chunks(reader, data, size) == [None, b"ok", b"y" * 10]


def test_line_exactly_at_the_bound_is_accepted() -> None:
    reader = LineReader(max_line_bytes=4)
    assert reader.feed(b"abcd\nabcde\n") == [b"abcd", None]


def test_overlong_unterminated_line_at_close_is_reported() -> None:
    reader = LineReader(max_line_bytes=4)
    assert reader.feed(b"abc") == []
    reader.feed(b"de")
    assert reader.close() is None or reader.close() == b""


def test_memory_stays_bounded_while_discarding() -> None:
    reader = LineReader(max_line_bytes=100)
    reported = []
    for _ in range(1000):
        reported.extend(reader.feed(b"z" * 1000))
        assert len(reader._buffer) <= 1100
    assert reported == [None]
    assert reader.feed(b"\nfine\n") == [b"fine"]
