"""``AccessLogHandler``, the handler ``ssemcp``'s commands install: an access line written
without a ``LogRecord`` reads exactly as the handler's formatter writes the record (text and
JSON, the time aside), and whatever a user attaches to the loggers (a handler, a filter,
propagation to the root, a record factory, another formatter) gets its lines through
``logging`` as before."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest

from ssemcp.observe import access_log
from ssemcp.observe.access_log import ACCESS_LOGGER, AccessLine, AccessLogHandler

FIELDS: Final[dict[str, object]] = {
    "kind": "http",
    "peer": "127.0.0.1",
    "method": "POST",
    "path": "/mcp",
    "status": 200,
    "bytes": 101,
    "duration_ms": 0.612,
    "session": None,
    "principal": "alice smith",
    "rpc": "tools/call",
    "tool": 'say "hi"',
    "id": 7,
    "outcome": "ok",
}
_TEXT_TIME: Final = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


class Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def installed() -> Iterator[Callable[[str], tuple[AccessLogHandler, io.StringIO]]]:
    """Install an AccessLogHandler on ``ssemcp`` as the commands do; restore after."""
    package = logging.getLogger("ssemcp")
    access = logging.getLogger(ACCESS_LOGGER)
    saved = (package.handlers[:], package.level, package.propagate, access.level)

    def install(log_format: str) -> tuple[AccessLogHandler, io.StringIO]:
        stream = io.StringIO()
        handler = AccessLogHandler(stream, log_format)
        package.handlers[:] = [handler]
        package.setLevel(logging.INFO)
        package.propagate = False
        access.setLevel(logging.NOTSET)
        return handler, stream

    yield install
    package.handlers[:], level, package.propagate, access_level = saved
    package.setLevel(level)
    access.setLevel(access_level)


def _as_formatted(handler: AccessLogHandler) -> str:
    """What the handler's formatter makes of the same line's record."""
    return handler.format(access_log._record(dict(FIELDS)))


def test_a_text_line_reads_as_the_formatter_writes_it(installed: Any) -> None:
    handler, stream = installed("text")
    assert access_log._sole_handler() is handler
    access_log._emit(dict(FIELDS))
    written = stream.getvalue()
    assert written.endswith("\n") and written.count("\n") == 1
    assert _TEXT_TIME.match(written)
    expected = _as_formatted(handler)
    assert written[24:-1] == expected[24:]  # after "YYYY-MM-DD HH:MM:SS,mmm "
    assert written[24:-1] == f"INFO ssemcp.access: {AccessLine(dict(FIELDS))}"


def test_a_json_line_reads_as_the_formatter_writes_it(installed: Any) -> None:
    handler, stream = installed("json")
    access_log._emit(dict(FIELDS))
    written = json.loads(stream.getvalue())
    expected = json.loads(_as_formatted(handler))
    assert list(written) == list(expected)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", written.pop("time"))
    expected.pop("time")
    assert written == expected


def _user_handler_on_access(seen: Seen) -> None:
    logging.getLogger(ACCESS_LOGGER).addHandler(seen)


def _keeping(seen: Seen) -> Callable[[logging.LogRecord], bool]:
    def keep(record: logging.LogRecord) -> bool:
        seen.records.append(record)
        return True

    return keep


def _user_filter_on_access(seen: Seen) -> None:
    logging.getLogger(ACCESS_LOGGER).addFilter(_keeping(seen))


def _user_filter_on_the_handler(seen: Seen) -> None:
    logging.getLogger("ssemcp").handlers[0].addFilter(_keeping(seen))


def _propagated_to_root(seen: Seen) -> None:
    logging.getLogger("ssemcp").propagate = True
    logging.getLogger().addHandler(seen)


def _another_formatter(seen: Seen) -> None:
    package_handler = logging.getLogger("ssemcp").handlers[0]

    class Recording(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            seen.records.append(record)
            return super().format(record)

    package_handler.setFormatter(Recording("%(message)s"))


def _record_factory(seen: Seen) -> None:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = logging.LogRecord(*args, **kwargs)
        seen.records.append(record)
        return record

    logging.setLogRecordFactory(factory)


@pytest.mark.parametrize(
    "configure",
    [
        _user_handler_on_access,
        _user_filter_on_access,
        _user_filter_on_the_handler,
        _propagated_to_root,
        _another_formatter,
        _record_factory,
    ],
)
def test_what_a_user_configures_still_sees_each_line(
    installed: Any, configure: Callable[[Seen], None]
) -> None:
    _handler, stream = installed("text")
    seen = Seen()
    try:
        configure(seen)
        assert access_log._sole_handler() is None
        access_log._emit(dict(FIELDS))
    finally:
        logging.setLogRecordFactory(logging.LogRecord)
        logging.getLogger(ACCESS_LOGGER).removeHandler(seen)
        logging.getLogger(ACCESS_LOGGER).filters.clear()
        logging.getLogger().removeHandler(seen)
    [record] = seen.records
    assert record.name == ACCESS_LOGGER and record.levelno == logging.INFO
    assert record.getMessage() == str(AccessLine(dict(FIELDS)))
    assert stream.getvalue() != ""  # the package's handler wrote it too


def test_a_level_above_info_writes_nothing(installed: Any) -> None:
    _handler, stream = installed("text")
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.WARNING)
    access_log._emit(dict(FIELDS))
    assert stream.getvalue() == ""


def test_a_failing_stream_is_reported_as_logging_reports_it(
    installed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, _stream = installed("text")
    failures: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", failures.append)

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    handler.setStream(Broken())
    access_log._emit(dict(FIELDS))
    [record] = failures
    assert record.getMessage() == str(AccessLine(dict(FIELDS)))
