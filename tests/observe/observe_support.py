"""What the observation tests share: a server with one of each kind of handler, an MCP client
over httpx for a live server, the access log's records as they are written, and parsers for
the text and JSON forms of a line."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from typing import Any, Final

import httpx
from observe_server import build_server

from ssemcp.observe.access_log import ACCESS_LOGGER, JSONFormatter

__all__ = ["build_server"]  # (re-exported for the tests)

TOKEN: Final = "tok-3f9a1c27e5b84d6aa0c1-secret"
SECRET_ARGUMENT: Final = "hunter2-do-not-log"
SESSION_REVISION: Final = "2025-11-25"
MODERN: Final = "2026-07-28"
ACCEPT: Final = "application/json, text/event-stream"
_FIELD: Final = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse_text(line: str) -> dict[str, Any]:
    """A text line's ``key=value`` fields (quoted values decoded, numbers as numbers)."""
    fields: dict[str, Any] = {}
    for key, raw in _FIELD.findall(line):
        value: Any = raw
        if raw.startswith('"'):
            value = json.loads(raw)
        elif re.fullmatch(r"-?\d+", raw):
            value = int(raw)
        elif re.fullmatch(r"-?\d+\.\d+", raw):
            value = float(raw)
        elif raw == "-":
            value = None
        fields[key] = value
    return fields


class AccessRecords(logging.Handler):
    """The ``ssemcp.access`` records written while it is installed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._json = JSONFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        return [record.getMessage() for record in self.records]

    def lines(self) -> list[dict[str, Any]]:
        """Each line's fields, from its text form."""
        return [parse_text(text) for text in self.texts()]

    def jsons(self) -> list[dict[str, Any]]:
        """Each line as ``--log-format json`` writes it, parsed."""
        return [json.loads(self._json.format(record)) for record in self.records]

    def of(self, **wanted: Any) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines()
            if all(line.get(key) == value for key, value in wanted.items())
        ]


@contextlib.contextmanager
def access_records(level: int = logging.INFO) -> Iterator[AccessRecords]:
    """Capture the access log (its level set to ``level`` meanwhile)."""
    access_logger = logging.getLogger(ACCESS_LOGGER)
    saved_level = access_logger.level
    handler = AccessRecords()
    access_logger.addHandler(handler)
    access_logger.setLevel(level)
    try:
        yield handler
    finally:
        access_logger.removeHandler(handler)
        access_logger.setLevel(saved_level)


class MCPClient:
    """Just enough of an MCP client over a live server's httpx client."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.session_id: str | None = None
        self._next_id = 0

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"accept": ACCEPT, **extra}
        if self.session_id is not None:
            headers["mcp-session-id"] = self.session_id
        return headers

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def initialize(self, version: str = SESSION_REVISION) -> str:
        response = await self.http.post(
            "/mcp",
            json={
                "jsonrpc": "2.0",
                "id": self.next_id(),
                "method": "initialize",
                "params": {
                    "protocolVersion": version,
                    "capabilities": {},
                    "clientInfo": {"name": "observe-test", "version": "1"},
                },
            },
            headers=self.headers(),
        )
        assert response.status_code == 200, response.text
        self.session_id = response.headers["mcp-session-id"]
        initialized = await self.http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers=self.headers(),
        )
        assert initialized.status_code == 202
        return self.session_id

    async def request(self, method: str, **params: Any) -> httpx.Response:
        return await self.http.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": self.next_id(), "method": method, "params": params},
            headers=self.headers(),
        )

    async def call(self, tool: str, **arguments: Any) -> httpx.Response:
        return await self.request("tools/call", name=tool, arguments=arguments)


def modern_call(tool: str, request_id: int = 1, **arguments: Any) -> tuple[Any, dict[str, str]]:
    """A 2026-07-28 tools/call (no session) and its routing headers."""
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {
            "name": tool,
            "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {
        "accept": ACCEPT,
        "mcp-protocol-version": MODERN,
        "mcp-method": "tools/call",
        "mcp-name": tool,
    }
    return body, headers
