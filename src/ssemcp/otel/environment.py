"""The tracer provider of ``ssemcp serve --otel``, set up from the standard ``OTEL_*`` variables.

Owns choosing the provider: the process's own when one is already set (a program run under
``opentelemetry-instrument``), else an SDK provider with a batch processor per exporter that
``OTEL_TRACES_EXPORTER`` names (``otlp`` by default, over the protocol
``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`` names, ``http/protobuf`` by default). The exporters
read their own variables (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``..._HEADERS``, ...); the SDK reads
the sampler's and the resource's. What a span holds is ``ssemcp.otel.spans``'s.
"""

from __future__ import annotations

import asyncio
import os
import sys
from importlib.metadata import entry_points
from typing import Final

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "TracingSetupError",
    "flush_spans",
    "tracer_provider_from_environment",
]

# service.name when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES gives one (the SDK
# would say "unknown_service").
DEFAULT_SERVICE_NAME: Final = "ssemcp"

# The entry-point group in which OpenTelemetry exporter packages register their span exporters
# (the names OTEL_TRACES_EXPORTER takes).
_EXPORTER_GROUP: Final = "opentelemetry_traces_exporter"
# OTLP over each protocol of OTEL_EXPORTER_OTLP_PROTOCOL: its entry point and its package.
_OTLP: Final = {
    "http/protobuf": ("otlp_proto_http", "opentelemetry-exporter-otlp-proto-http"),
    "grpc": ("otlp_proto_grpc", "opentelemetry-exporter-otlp-proto-grpc"),
}


class TracingSetupError(Exception):
    """The ``OTEL_*`` variables name an exporter or protocol that is not installed or known."""


def tracer_provider_from_environment() -> trace.TracerProvider:
    """The process's tracer provider when it has one; else a new SDK provider, made global
    (so that spans the tools start join the request's), exporting as ``OTEL_*`` says.

    Raises:
        TracingSetupError: an exporter it names cannot be made; the message says why.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    # The SDK reads OTEL_TRACES_SAMPLER, OTEL_SDK_DISABLED and the span limits itself.
    provider = TracerProvider(resource=resource)
    names = os.environ.get("OTEL_TRACES_EXPORTER", "otlp")
    for name in (part.strip().lower() for part in names.split(",")):
        if name and name != "none":
            provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    return provider


async def flush_spans(provider: trace.TracerProvider) -> None:
    """Export the spans a batch processor still holds (an SDK provider; others have none).

    The SDK flushes at interpreter exit, but ``ssemcp serve`` ends a SIGTERM by raising it
    again once uvicorn has shut down (uvicorn ``capture_signals``), which skips exit hooks:
    the server's cleanup, at the lifespan's shutdown, is the last sure moment.
    """
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        await asyncio.to_thread(force_flush)


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        # Never stdout: under --stdio it carries the protocol.
        return ConsoleSpanExporter(out=sys.stderr)
    package = f"the package that registers {name!r}"
    if name == "otlp":
        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ).strip()
        if protocol not in _OTLP:
            raise TracingSetupError(
                f"OTLP protocol {protocol!r} is not supported; use one of {', '.join(_OTLP)}"
            )
        name, package = _OTLP[protocol]
    found = entry_points(group=_EXPORTER_GROUP, name=name)
    if not found:
        raise TracingSetupError(
            f"OTEL_TRACES_EXPORTER: no span exporter {name!r} is installed (pip install {package})"
        )
    exporter_class = next(iter(found)).load()
    exporter: SpanExporter = exporter_class()
    return exporter
