"""The server the subprocess tests run (``ssemcp stdio``/``serve`` TARGET): a tool to call,
and one that tells which OpenTelemetry modules the process has loaded."""

from __future__ import annotations

import json
import sys

from ssemcp import Server

server = Server("otel-subprocess-test", "1.0.0")


@server.tool()
async def echo(text: str) -> str:
    """Return the text."""
    return text


@server.tool()
async def loaded_opentelemetry() -> str:
    """The opentelemetry modules this process has imported, as a JSON list."""
    return json.dumps(sorted(name for name in sys.modules if name.split(".")[0] == "opentelemetry"))
