"""The tracing tests' fixture (``tracing_support.tracing``)."""

from __future__ import annotations

from tracing_support import tracing

__all__ = ["tracing"]
