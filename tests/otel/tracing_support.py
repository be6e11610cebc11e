"""What the tracing tests share: an SDK tracer provider whose spans land in an in-memory
exporter (never the process's global provider, so tests cannot leak spans into each other),
the test server, the trace ids the tests send, and reading a span's parent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ssemcp import Context, Server, ToolError

# W3C Trace Context, section 3.2 examples: a caller's trace and span.
TRACE_ID: Final = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID: Final = "00f067aa0ba902b7"
TRACEPARENT: Final = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
# Another caller's, to tell _meta's parent from the header's.
META_TRACE_ID: Final = "0af7651916cd43dd8448eb211c80319c"
META_SPAN_ID: Final = "b7ad6b7169203331"
META_TRACEPARENT: Final = f"00-{META_TRACE_ID}-{META_SPAN_ID}-01"
MALFORMED_TRACEPARENTS: Final = (
    "not-a-traceparent",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # an all-zero trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # an all-zero span id
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  # upper case
    "",
)


@dataclass
class Tracing:
    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def only_span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [span.name for span in spans]
        return spans[0]


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Tracing(provider, exporter)
    provider.shutdown()


def build_server(tracing: Tracing | None) -> Server:
    server = Server(
        "otel-test", "1.0.0", tracer_provider=None if tracing is None else tracing.provider
    )

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def refuse() -> str:
        """Fail as a tool fails: an isError result."""
        raise ToolError("refused")

    if tracing is not None:
        tracer = tracing.provider.get_tracer("tool")

        @server.tool()
        async def chatty_work(ctx: Context) -> str:
            """Log (so the reply is an SSE stream), and trace work of its own."""
            await ctx.info("working")
            with tracer.start_as_current_span("async work"):
                return "done"

        @server.tool()
        def blocking_work() -> str:
            """A sync tool (run on a worker thread) that traces work of its own."""
            with tracer.start_as_current_span("sync work"):
                return "done"

    @server.resource("notes://{topic}", mime_type="text/plain")
    def note(topic: str) -> str:
        return f"Notes about {topic}"

    @server.resource("broken://always", mime_type="text/plain")
    def broken() -> str:
        raise RuntimeError("the disk is on fire")

    @server.prompt()
    def review(code: str) -> str:
        """Ask for a code review."""
        return f"Please review:\n{code}"

    return server


def span_id_hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.span_id:016x}"


def trace_id_hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def parent_ids(span: ReadableSpan) -> tuple[str, str] | None:
    """The (trace id, span id) of the span's parent; None for a root."""
    if span.parent is None:
        return None
    return f"{span.parent.trace_id:032x}", f"{span.parent.span_id:016x}"
