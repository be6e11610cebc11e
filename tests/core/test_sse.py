"""Tests of ssemcp.sse: the WHATWG event-stream encoder and incremental parser."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssemcp.errors import LocalProtocolError, StreamError
from ssemcp.sse import (
    DEFAULT_MAX_EVENT_BYTES,
    KEEPALIVE,
    Event,
    SSEParser,
    encode_comment,
    encode_event,
)

# --- helpers -------------------------------------------------------------------------------


class Parsed(NamedTuple):
    """What a parser gave for a whole stream: its events and its state after ``close()``."""

    events: list[Event]
    last_event_id: str
    retry_milliseconds: int | None


def parse(chunks: Iterable[bytes], *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> Parsed:
    """Feed ``chunks`` to a fresh parser, then close it."""
    parser = SSEParser(max_event_bytes=max_event_bytes)
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    parser.close()
    return Parsed(events, parser.last_event_id, parser.retry_milliseconds)


def splits(stream: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """Every way the h11 ``test_io.py`` helper feeds input: whole, byte by byte, in two."""
    yield "whole", [stream]
    yield "byte by byte", [stream[i : i + 1] for i in range(len(stream))]
    for cut in range(len(stream) + 1):
        yield f"split at {cut}", [stream[:cut], stream[cut:]]


def parse_every_way(stream: bytes, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> Parsed:
    """Parse ``stream`` fed every way of :func:`splits`; assert they all agree."""
    whole = parse([stream], max_event_bytes=max_event_bytes)
    for label, chunks in splits(stream):
        assert parse(chunks, max_event_bytes=max_event_bytes) == whole, label
    return whole


# --- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    stream: bytes
    events: list[Event]
    last_event_id: str = ""
    retry_milliseconds: int | None = None


CASES = [
    Case("one event", b"data: hello\n\n", [Event("hello")]),
    Case("two data lines joined with lf", b"data: a\ndata: b\n\n", [Event("a\nb")]),
    Case("default type is message", b"data: x\n\n", [Event("x", "message")]),
    Case("event names the type", b"event: add\ndata: 1\n\n", [Event("1", "add")]),
    Case("empty event name is message", b"event:\ndata: 1\n\n", [Event("1", "message")]),
    Case(
        "event type does not carry over",
        b"event: add\ndata: 1\n\ndata: 2\n\n",
        [Event("1", "add"), Event("2")],
    ),
    Case("lone lf ends lines", b"data: a\ndata: b\n\n", [Event("a\nb")]),
    Case("lone cr ends lines", b"data: a\rdata: b\r\r", [Event("a\nb")]),
    Case("crlf ends lines", b"data: a\r\ndata: b\r\n\r\n", [Event("a\nb")]),
    Case("cr then lf is one line end", b"data: a\r\n\r\ndata: b\r\n\r\n", [Event("a"), Event("b")]),
    Case("lf then cr is two line ends", b"data: a\n\rdata: b\n\n", [Event("a"), Event("b")]),
    Case("mixed line ends", b"data: a\rdata: b\r\ndata: c\n\r\n", [Event("a\nb\nc")]),
    Case("bom at stream start stripped", b"\xef\xbb\xbfdata: x\n\n", [Event("x")]),
    Case(
        "second bom not stripped",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n",
        [Event("y")],  # the first line's field is "\ufeffdata", an unknown field
    ),
    Case(
        "bom after stream start not stripped", b"data: x\n\n\xef\xbb\xbfdata: y\n\n", [Event("x")]
    ),
    Case("field without colon", b"data\n\n", [Event("")]),
    Case("field without colon appends empty line", b"data\ndata\ndata: x\n\n", [Event("\n\nx")]),
    Case("no space after colon", b"data:x\n\n", [Event("x")]),
    Case("only one leading space stripped", b"data:  x\n\n", [Event(" x")]),
    Case("trailing space kept", b"data: x \n\n", [Event("x ")]),
    Case("colon in value kept", b"data: a: b:c\n\n", [Event("a: b:c")]),
    Case("tab is not stripped", b"data:\tx\n\n", [Event("\tx")]),
    Case("unknown field ignored", b"foo: bar\ndata: x\n\n", [Event("x")]),
    Case("field names are case sensitive", b"Data: x\nDATA: y\ndata: z\n\n", [Event("z")]),
    Case("field name with space is unknown", b"data : x\ndata: y\n\n", [Event("y")]),
    Case("comment ignored", b": hello\ndata: x\n\n", [Event("x")]),
    Case("empty comment ignored", b":\ndata: x\n:\n\n", [Event("x")]),
    Case("comment alone dispatches nothing", b": ping\n\n", []),
    Case("comment with field-like text ignored", b":data: x\n\n", []),
    Case("retry sets reconnection time", b"retry: 1000\n", [], "", 1000),
    Case("retry with leading zeros", b"retry: 0010\n", [], "", 10),
    Case("retry zero", b"retry: 0\n", [], "", 0),
    Case("retry not digits ignored", b"retry: 12a\n", [], "", None),
    Case("retry keeps earlier value when bogus", b"retry: 5\nretry: 7x\n", [], "", 5),
    Case("retry empty ignored", b"retry\nretry:\n", [], "", None),
    Case("retry negative ignored", b"retry: -1\n", [], "", None),
    Case("retry with space ignored", b"retry: 1 \n", [], "", None),
    Case("retry unicode digits ignored", "retry: ١٢\n".encode(), [], "", None),
    Case("retry past 2**64 - 1 ignored", b"retry: 18446744073709551616\n", [], "", None),
    Case("retry 2**64 - 1", b"retry: 18446744073709551615\n", [], "", 2**64 - 1),
    Case("retry many digits ignored without error", b"retry: " + b"9" * 5000 + b"\n", [], "", None),
    Case("retry many leading zeros", b"retry: " + b"0" * 5000 + b"7\n", [], "", 7),
    Case("id sets last event id", b"id: 7\ndata: x\n\n", [Event("x", id="7")], "7"),
    Case(
        "last event id kept across events",
        b"id: 7\ndata: x\n\ndata: y\n\n",
        [Event("x", id="7"), Event("y", id="7")],
        "7",
    ),
    Case("id with nul ignored", b"id: 1\n\nid: a\0b\ndata: x\n\n", [Event("x", id="1")], "1"),
    Case("empty id resets", b"id: 1\ndata: x\n\nid\ndata: y\n\n", [Event("x", id="1"), Event("y")]),
    Case("empty id after colon resets", b"id: 1\n\nid:\ndata: y\n\n", [Event("y")]),
    Case("id keeps spaces after the first", b"id:  a \ndata: x\n\n", [Event("x", id=" a ")], " a "),
    Case("id only frame sets last event id", b"id: 5\n\n", [], "5"),
    Case("id without its blank line is not taken at eof", b"id: 5\n", [], ""),
    Case("last id field of an event wins", b"id: 1\nid: 2\ndata: x\n\n", [Event("x", id="2")], "2"),
    Case("priming event", b"id: 0\nretry: 500\ndata: \n\n", [Event("", id="0")], "0", 500),
    Case("empty data buffer not dispatched", b"\n\n\n", []),
    Case("event without data not dispatched", b"event: add\n\n", []),
    Case(
        "event without data resets the type",
        b"event: add\n\ndata: x\n\n",
        [Event("x")],
    ),
    Case("data with empty value dispatches", b"data:\n\n", [Event("")]),
    Case("trailing lf removed only once", b"data: x\ndata\n\n", [Event("x\n")]),
    Case("two empty data lines", b"data\ndata\n\n", [Event("\n")]),
    Case("no event at eof without blank line", b"data: x\n", []),
    Case("no event at eof without line end", b"data: x", []),
    Case("event before unfinished one kept", b"data: x\n\ndata: y\n", [Event("x")]),
    Case("empty stream", b"", []),
    Case("utf-8 decoded", "data: héllo ✓ 🎉\n\n".encode(), [Event("héllo ✓ 🎉")]),
    Case("invalid utf-8 replaced", b"data: a\xffb\n\n", [Event("a\ufffdb")]),
    Case("truncated utf-8 before line end replaced", b"data: \xe2\x82\n\n", [Event("\ufffd")]),
    Case(
        "invalid utf-8 in field name is unknown field",
        b"dat\xe1: x\ndata: y\n\n",
        [Event("y")],
    ),
    Case(
        "invalid utf-8 in id replaced",
        b"id: \xff\ndata: x\n\n",
        [Event("x", id="\ufffd")],
        "\ufffd",
    ),
    Case("nul in data kept", b"data: a\0b\n\n", [Event("a\0b")]),
    Case(
        "unicode line separators are not line ends",
        "data: a\u2028b\x85c\x0bd\x0ce\n\n".encode(),
        [Event("a\u2028b\x85c\x0bd\x0ce")],
    ),
    Case(
        "fields in any order",
        b"data: x\nid: 3\nevent: e\ndata: y\n\n",
        [Event("x\ny", "e", "3")],
        "3",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_parser_table_fed_whole_byte_by_byte_and_split_anywhere(case: Case) -> None:
    assert parse_every_way(case.stream) == Parsed(
        case.events, case.last_event_id, case.retry_milliseconds
    )


# --- parser: rules that need more than one feed --------------------------------------------


def test_parser_treats_crlf_split_across_chunks_as_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n\r") == [Event("a\nb")]
    assert parser.feed(b"\n") == []  # the LF of the CRLF that ended the event
    assert parser.feed(b"\n") == []  # a blank line with an empty data buffer


def test_parser_treats_lone_cr_as_line_end_without_waiting_for_more() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r\r") == [Event("a")]


def test_parser_keeps_pending_cr_across_empty_chunk() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"") == []
    assert parser.feed(b"\n\n") == [Event("a")]


def test_parser_joins_utf8_character_split_across_chunks() -> None:
    encoded = "data: €🎉\n\n".encode()
    parser = SSEParser()
    events = [event for byte in encoded for event in parser.feed(bytes([byte]))]
    assert events == [Event("€🎉")]


def test_parser_strips_bom_split_across_chunks() -> None:
    parser = SSEParser()
    assert parser.feed(b"\xef") == []
    assert parser.feed(b"\xbb") == []
    assert parser.feed(b"\xbfdata: x\n\n") == [Event("x")]


def test_parser_keeps_partial_bom_that_is_not_a_bom() -> None:
    parser = SSEParser()
    assert parser.feed(b"\xef\xbb") == []
    assert parser.feed(b"x: y\ndata: z\n\n") == [Event("z")]
    parser = SSEParser()
    assert parser.feed(b"\xef\xbb") == []
    assert parser.feed(b"\n\ndata: x\n\n") == [Event("x")]


def test_parser_returns_events_in_stream_order_from_one_chunk() -> None:
    parser = SSEParser()
    events = parser.feed(b"data: 1\n\nevent: e\ndata: 2\n\nid: 9\ndata: 3\n\ndata: 4")
    assert events == [Event("1"), Event("2", "e"), Event("3", id="9")]
    assert parser.feed(b"\n\n") == [Event("4", id="9")]


def test_parser_sets_retry_before_the_event_ends() -> None:
    parser = SSEParser()
    parser.feed(b"retry: 250\n")
    assert parser.retry_milliseconds == 250


def test_parser_takes_id_only_when_its_event_ends() -> None:
    parser = SSEParser()
    parser.feed(b"id: 4\n")
    assert parser.last_event_id == ""
    parser.feed(b"\n")
    assert parser.last_event_id == "4"


def test_parser_discards_unfinished_event_on_close() -> None:
    parser = SSEParser()
    assert parser.feed(b"id: 1\ndata: x\n") == []
    assert parser.close() is None
    assert parser.last_event_id == ""


def test_parser_starts_from_given_last_event_id() -> None:
    parser = SSEParser(last_event_id="41")
    assert parser.last_event_id == "41"
    assert parser.feed(b"data: x\n\nid: 42\ndata: y\n\n") == [
        Event("x", id="41"),
        Event("y", id="42"),
    ]


@pytest.mark.parametrize("last_event_id", ["a\nb", "a\rb", "a\0b"])
def test_parser_refuses_last_event_id_no_stream_could_set(last_event_id: str) -> None:
    with pytest.raises(LocalProtocolError):
        SSEParser(last_event_id=last_event_id)


def test_parser_refuses_feed_after_close() -> None:
    parser = SSEParser()
    parser.close()
    parser.close()  # closing twice is harmless
    with pytest.raises(LocalProtocolError):
        parser.feed(b"data: x\n\n")


# --- parser: the bound ---------------------------------------------------------------------

LIMIT = 32


def line_of(size: int, field: bytes = b"data: ") -> bytes:
    """A line (without line end) of exactly ``size`` bytes."""
    return field + b"x" * (size - len(field))


def test_default_max_event_bytes_is_16_mib() -> None:
    assert DEFAULT_MAX_EVENT_BYTES == 16 * 1024 * 1024
    assert SSEParser().max_event_bytes == DEFAULT_MAX_EVENT_BYTES


@pytest.mark.parametrize("max_event_bytes", [0, -1])
def test_parser_refuses_max_event_bytes_that_is_not_positive(max_event_bytes: int) -> None:
    with pytest.raises(LocalProtocolError):
        SSEParser(max_event_bytes=max_event_bytes)


def test_parser_accepts_data_line_exactly_at_the_limit() -> None:
    stream = line_of(LIMIT) + b"\n\n"
    assert parse_every_way(stream, max_event_bytes=LIMIT).events == [Event("x" * (LIMIT - 6))]


def test_parser_accepts_event_of_several_lines_exactly_at_the_limit() -> None:
    stream = line_of(LIMIT // 2) + b"\n" + line_of(LIMIT // 2) + b"\r\n\r\n"
    assert len(parse_every_way(stream, max_event_bytes=LIMIT).events) == 1


def test_parser_accepts_many_events_each_at_the_limit() -> None:
    stream = (line_of(LIMIT) + b"\n\n") * 5
    assert len(parse_every_way(stream, max_event_bytes=LIMIT).events) == 5


def test_parser_does_not_count_field_lines_that_hold_nothing() -> None:
    stream = b"".join(line_of(LIMIT, b"id: ") + b"\n" for _ in range(10)) + b"data: x\n\n"
    assert parse_every_way(stream, max_event_bytes=LIMIT).events == [
        Event("x", id="x" * (LIMIT - 4))
    ]


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(line_of(LIMIT + 1) + b"\n\n", id="over-long data line"),
        pytest.param(line_of(LIMIT + 1, b": ") + b"\n", id="over-long comment line"),
        pytest.param(line_of(LIMIT + 1, b"id: ") + b"\n", id="over-long id line"),
        pytest.param(line_of(LIMIT + 1), id="over-long unfinished line"),
        pytest.param(
            line_of(LIMIT // 2) + b"\n" + line_of(LIMIT // 2 + 1) + b"\n\n",
            id="over-long event of two lines",
        ),
        pytest.param(
            line_of(LIMIT - 4) + b"\n" + line_of(5, b"id: ") + b"\n",
            id="field line past what the event holds",
        ),
    ],
)
def test_parser_raises_stream_error_past_the_limit(stream: bytes) -> None:
    for _label, chunks in splits(stream):
        with pytest.raises(StreamError):
            parse(chunks, max_event_bytes=LIMIT)


def test_parser_raises_on_over_long_line_before_its_line_end_arrives() -> None:
    parser = SSEParser(max_event_bytes=LIMIT)
    parser.feed(line_of(LIMIT))
    with pytest.raises(StreamError):
        parser.feed(b"x")


def test_parser_refuses_feed_after_stream_error() -> None:
    parser = SSEParser(max_event_bytes=LIMIT)
    with pytest.raises(StreamError):
        parser.feed(line_of(LIMIT + 1))
    with pytest.raises(LocalProtocolError):
        parser.feed(b"\n\n")


# --- encoder -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"data": "hello"}, b"data: hello\n\n", id="data"),
        pytest.param({"data": ""}, b"data: \n\n", id="empty data"),
        pytest.param({"data": " x"}, b"data:  x\n\n", id="data with leading space"),
        pytest.param({"data": "a\nb"}, b"data: a\ndata: b\n\n", id="lf"),
        pytest.param({"data": "a\rb"}, b"data: a\ndata: b\n\n", id="cr"),
        pytest.param({"data": "a\r\nb"}, b"data: a\ndata: b\n\n", id="crlf"),
        pytest.param(
            {"data": "a\r\n\rb\n\nc\r"},
            b"data: a\ndata: \ndata: b\ndata: \ndata: c\ndata: \n\n",
            id="mixed line breaks",
        ),
        pytest.param({"data": "\n"}, b"data: \ndata: \n\n", id="lone lf"),
        pytest.param({"data": "é✓"}, "data: é✓\n\n".encode(), id="utf-8"),
        pytest.param(
            {"data": "{}", "event": "message", "id": "7", "retry": 3000},
            b"event: message\nid: 7\nretry: 3000\ndata: {}\n\n",
            id="every field in order",
        ),
        pytest.param({"data": "", "id": "0"}, b"id: 0\ndata: \n\n", id="priming event"),
        pytest.param({"id": "5"}, b"id: 5\n\n", id="id only"),
        pytest.param({"id": ""}, b"id: \n\n", id="empty id"),
        pytest.param({"retry": 0}, b"retry: 0\n\n", id="retry only"),
        pytest.param({"id": " a:b", "retry": 10}, b"id:  a:b\nretry: 10\n\n", id="id and retry"),
        pytest.param({"data": "x", "event": " e"}, b"event:  e\ndata: x\n\n", id="event space"),
    ],
)
def test_encoder_writes_exact_bytes(kwargs: dict[str, object], expected: bytes) -> None:
    assert encode_event(**kwargs) == expected  # type: ignore[arg-type]


def test_encoder_output_parses_back() -> None:
    stream = encode_event("a\r\nb", event="e", id="1", retry=9) + encode_event("", id="2")
    assert parse([stream]) == Parsed([Event("a\nb", "e", "1"), Event("", id="2")], "2", 9)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"data": "x", "event": "a\nb"}, id="event with lf"),
        pytest.param({"data": "x", "event": "a\rb"}, id="event with cr"),
        pytest.param({"data": "x", "event": ""}, id="empty event"),
        pytest.param({"event": "e"}, id="event without data"),
        pytest.param({"data": "x", "id": "a\nb"}, id="id with lf"),
        pytest.param({"data": "x", "id": "a\rb"}, id="id with cr"),
        pytest.param({"data": "x", "id": "a\r\nb"}, id="id with crlf"),
        pytest.param({"data": "x", "id": "a\0b"}, id="id with nul"),
        pytest.param({"data": "x", "retry": -1}, id="negative retry"),
        pytest.param({"data": "x", "retry": True}, id="bool retry"),
        pytest.param({"data": "x", "retry": 1.5}, id="float retry"),
        pytest.param({}, id="nothing"),
        pytest.param({"data": "\ud800"}, id="lone surrogate in data"),
        pytest.param({"data": "a\n\ud800"}, id="lone surrogate in multi-line data"),
        pytest.param({"data": "x", "id": "\udfff"}, id="lone surrogate in id"),
    ],
)
def test_encoder_refuses_what_would_not_round_trip(kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        encode_event(**kwargs)  # type: ignore[arg-type]


def test_encoder_refuses_id_with_newline() -> None:
    with pytest.raises(LocalProtocolError, match="CR or LF"):
        encode_event("x", id="1\n")


def test_encoder_allows_nul_in_event_type_and_data() -> None:
    stream = encode_event("a\0", event="b\0")
    assert parse([stream]).events == [Event("a\0", "b\0")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", b":\n\n", id="empty"),
        pytest.param("ping", b": ping\n\n", id="one line"),
        pytest.param("a\nb\r\nc\rd", b": a\n: b\n: c\n: d\n\n", id="several lines"),
        pytest.param("a\n", b": a\n:\n\n", id="trailing line break"),
    ],
)
def test_encode_comment_writes_exact_bytes(text: str, expected: bytes) -> None:
    assert encode_comment(text) == expected


def test_encode_comment_refuses_lone_surrogate() -> None:
    with pytest.raises(LocalProtocolError):
        encode_comment("\ud800")


def test_keepalive_is_a_comment_that_dispatches_nothing() -> None:
    assert encode_comment("ping") == KEEPALIVE
    parser = SSEParser()
    assert parser.feed(encode_event("1", id="1") + KEEPALIVE + encode_event("2")) == [
        Event("1", id="1"),
        Event("2", id="1"),
    ]
    assert parse([encode_comment("a\nb\rc")]).events == []


# --- properties ----------------------------------------------------------------------------


def normalise_line_breaks(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# Any text but the characters the encoder refuses; leading spaces and colons included.
event_types = st.text(min_size=1).filter(lambda text: "\r" not in text and "\n" not in text)
ids = st.text().filter(lambda text: not {"\r", "\n", "\0"} & set(text))


@dataclass(frozen=True)
class Frame:
    """One encode call of a generated stream, and what the receiver should make of it."""

    data: str | None
    event: str | None
    id: str | None
    retry: int | None
    comment: str | None

    def encode(self) -> bytes:
        if self.comment is not None:
            return encode_comment(self.comment)
        return encode_event(self.data, event=self.event, id=self.id, retry=self.retry)


frames = st.one_of(
    st.builds(
        Frame,
        data=st.text(),
        event=st.none() | event_types,
        id=st.none() | ids,
        retry=st.none() | st.integers(min_value=0, max_value=2**64 - 1),
        comment=st.none(),
    ),
    st.builds(Frame, data=st.none(), event=st.none(), id=ids, retry=st.none(), comment=st.none()),
    st.builds(
        Frame,
        data=st.none(),
        event=st.none(),
        id=st.none(),
        retry=st.integers(min_value=0, max_value=2**64 - 1),
        comment=st.none(),
    ),
    st.builds(
        Frame, data=st.none(), event=st.none(), id=st.none(), retry=st.none(), comment=st.text()
    ),
)


def expected_from(frame_list: list[Frame]) -> Parsed:
    """What a WHATWG receiver dispatches for the frames, written from the encoder's contract."""
    events = []
    last_event_id = ""
    retry_milliseconds = None
    for frame in frame_list:
        if frame.id is not None:
            last_event_id = frame.id
        if frame.retry is not None:
            retry_milliseconds = frame.retry
        if frame.data is not None:
            events.append(
                Event(normalise_line_breaks(frame.data), frame.event or "message", last_event_id)
            )
    return Parsed(events, last_event_id, retry_milliseconds)


def chunked(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cut % (len(stream) + 1) for cut in cuts), len(stream)]
    return [stream[start:end] for start, end in itertools.pairwise(bounds)]


@settings(deadline=None)
@given(frame_list=st.lists(frames, max_size=8), cuts=st.lists(st.integers(min_value=0)))
def test_parse_of_encode_gives_the_events_back_for_any_split(
    frame_list: list[Frame], cuts: list[int]
) -> None:
    stream = b"".join(frame.encode() for frame in frame_list)
    for chunks in ([stream], chunked(stream, cuts)):
        assert parse(chunks) == expected_from(frame_list)


# A naive reference written straight from the standard's prose: decode the whole stream,
# strip one BOM, split into lines, and walk them. The parser must agree with it on any input.
def reference_parse(stream: bytes) -> Parsed:
    text = stream.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)[:-1]  # the text after the last line end never ends
    events = []
    data_buffer = event_type_buffer = last_event_id_buffer = last_event_id = ""
    retry_milliseconds = None
    for line in lines:
        if line == "":
            last_event_id = last_event_id_buffer
            if data_buffer == "":
                event_type_buffer = ""
                continue
            data = data_buffer.removesuffix("\n")
            events.append(Event(data, event_type_buffer or "message", last_event_id))
            data_buffer = event_type_buffer = ""
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event_type_buffer = value
        elif field == "data":
            data_buffer += value + "\n"
        elif field == "id" and "\0" not in value:
            last_event_id_buffer = value
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            number = int(value.lstrip("0") or "0") if len(value.lstrip("0")) <= 20 else 2**64
            if number < 2**64:
                retry_milliseconds = number
    return Parsed(events, last_event_id, retry_milliseconds)


stream_pieces = st.sampled_from(
    [
        b"data",
        b"event",
        b"id",
        b"retry",
        b"x",
        b"1",
        b":",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"\0",
        b"\xef\xbb\xbf",
        b"\xe2\x82",
        b"\xac",
        b"\xff",
    ]
)


@settings(deadline=None)
@given(pieces=st.lists(stream_pieces), cuts=st.lists(st.integers(min_value=0)))
def test_parser_agrees_with_reference_on_any_stream_and_split(
    pieces: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(pieces)
    expected = reference_parse(stream)
    for chunks in ([stream], chunked(stream, cuts)):
        assert parse(chunks) == expected


@settings(deadline=None)
@given(stream=st.binary(), cuts=st.lists(st.integers(min_value=0)))
def test_parser_agrees_with_reference_on_arbitrary_bytes(stream: bytes, cuts: list[int]) -> None:
    expected = reference_parse(stream)
    assert parse(chunked(stream, cuts)) == expected
