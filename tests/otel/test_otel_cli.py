"""``--otel`` end to end: real ``ssemcp stdio`` and ``ssemcp serve`` processes export their
spans with the OTLP/HTTP exporter to a collector on 127.0.0.1 (a small HTTP server here that
decodes what it receives with the OTLP protobuf types), configured by ``OTEL_*`` variables
only; the console exporter keeps stdout to the protocol; a variable naming an exporter that
is not installed is a clear usage error; ``otel`` is a configuration-file key."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from click.testing import CliRunner
from live_server import HOST, serve_subprocess, wait_until
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from tracing_support import (
    META_SPAN_ID,
    META_TRACE_ID,
    META_TRACEPARENT,
    PARENT_SPAN_ID,
    TRACE_ID,
    TRACEPARENT,
)

from ssemcp.cli import main

TARGET: Final = f"{Path(__file__).parent / 'otel_server.py'}:server"
MODERN: Final = "2026-07-28"
META: Final = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
}
READ_TIMEOUT_SECONDS: Final = 20.0


class Collector:
    """What the OTLP/HTTP collector received: each span with its resource's attributes."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Span]] = []
        self.lock = threading.Lock()

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            for resource_spans in request.resource_spans:
                resource = attributes_of(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend((resource, span) for span in scope_spans.spans)


def attributes_of(key_values: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for key_value in key_values:
        value = key_value.value
        attributes[key_value.key] = getattr(value, value.WhichOneof("value"))
    return attributes


@contextmanager
def collector() -> Iterator[tuple[str, Collector]]:
    """An OTLP/HTTP collector on a free 127.0.0.1 port: its endpoint, and what it got."""
    received = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if self.path == "/v1/traces":
                received.receive(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def otlp_environment(endpoint: str) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }


async def run_stdio(
    messages: list[dict[str, Any]], environment: dict[str, str]
) -> tuple[int, list[Any], bytes]:
    """``ssemcp stdio TARGET --otel``: its exit code, the lines of its stdout, its stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ssemcp",
        "stdio",
        TARGET,
        "--otel",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **environment},
    )
    try:
        stdin = b"".join(json.dumps(message).encode() + b"\n" for message in messages)
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), READ_TIMEOUT_SECONDS)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    lines = [json.loads(line) for line in stdout.splitlines()]
    return process.returncode, lines, stderr


def echo_call(request_id: int, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi"}, "_meta": {**META, **(meta or {})}},
    }


async def test_stdio_with_otel_exports_the_span_over_otlp_http() -> None:
    with collector() as (endpoint, received):
        code, replies, stderr = await run_stdio(
            [echo_call(1, {"traceparent": META_TRACEPARENT})], otlp_environment(endpoint)
        )
        assert code == 0, stderr
        assert replies[0]["result"]["content"] == [{"type": "text", "text": "hi"}]
        await wait_until(lambda: bool(received.spans), message="no span reached the collector")
    [(resource, span)] = received.spans
    assert resource["service.name"] == "ssemcp"
    assert span.name == "tools/call echo"
    assert span.kind == Span.SPAN_KIND_SERVER
    assert span.trace_id.hex() == META_TRACE_ID
    assert span.parent_span_id.hex() == META_SPAN_ID
    attributes = attributes_of(span.attributes)
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.tool.name"] == "echo"
    assert attributes["network.transport"] == "pipe"


async def test_serve_with_otel_exports_spans_joined_to_the_traceparent_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with collector() as (endpoint, received):
        for name, value in otlp_environment(endpoint).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-mcp")
        async with (
            serve_subprocess(TARGET, "--otel", log_dir=tmp_path) as running,
            httpx.AsyncClient(base_url=running.url, timeout=READ_TIMEOUT_SECONDS) as client,
        ):
            response = await client.post(
                "/mcp",
                json=echo_call(1),
                headers={
                    "accept": "application/json, text/event-stream",
                    "mcp-protocol-version": MODERN,
                    "mcp-method": "tools/call",
                    "mcp-name": "echo",
                    "traceparent": TRACEPARENT,
                },
            )
            assert response.json()["result"]["content"] == [{"type": "text", "text": "hi"}]
        # Spans are batched: the server sends them at the latest as it shuts down (SIGTERM,
        # which skips the SDK's exit hook: the server's cleanup flushes them).
        await wait_until(lambda: bool(received.spans), message="no span reached the collector")
    [(resource, span)] = received.spans
    assert resource["service.name"] == "billing-mcp"  # OTEL_SERVICE_NAME wins
    assert span.name == "tools/call echo"
    assert span.trace_id.hex() == TRACE_ID
    assert span.parent_span_id.hex() == PARENT_SPAN_ID
    attributes = attributes_of(span.attributes)
    assert attributes["network.transport"] == "tcp"
    assert attributes["client.address"] == HOST


async def test_the_console_exporter_writes_to_stderr_never_to_the_protocols_stdout() -> None:
    code, replies, stderr = await run_stdio([echo_call(1)], {"OTEL_TRACES_EXPORTER": "console"})
    assert code == 0, stderr
    assert [reply["id"] for reply in replies] == [1]  # every stdout line is JSON-RPC
    assert b'"tools/call echo"' in stderr


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "no span exporter 'zipkin' is installed"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "pip install opentelemetry-exporter-otlp-proto-grpc",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
            "OTLP protocol 'http/json' is not supported",
        ),
    ],
)
async def test_an_exporter_that_cannot_be_made_is_a_usage_error(
    environment: dict[str, str], message: str
) -> None:
    code, replies, stderr = await run_stdio([echo_call(1)], environment)
    assert code == 2
    assert replies == []
    assert message in stderr.decode()
    assert b"Traceback" not in stderr


def test_otel_is_a_configuration_file_key(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("otel = true\n")
    bad = tmp_path / "bad.toml"
    bad.write_text('otel = "yes"\n')
    runner = CliRunner()
    assert runner.invoke(main, ["config", "check", str(good)]).exit_code == 0
    refused = runner.invoke(main, ["config", "check", str(bad)])
    assert refused.exit_code == 1
    assert "otel" in refused.output
