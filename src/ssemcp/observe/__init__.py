"""Operating a server: the access log and Prometheus metrics (issue #18).

Owns what an operator sees of the requests a server serves, and nothing of serving them:
``settings`` (what to observe, from ``ssemcp serve``'s flags), ``_hook`` (where
``ssemcp.server.dispatch`` finds who watches the request it dispatches), ``calls`` (the
per-method counters and latency histograms, no I/O), ``watch`` (timing a dispatched request
and recording it), ``access_log`` (the log lines, as text or JSON, and an HTTP exchange's
record), ``metrics`` (``GET /metrics`` in the Prometheus text format, read at scrape time)
and ``observer`` (one app's set of them). ``prometheus_client`` is imported only by an app
that serves metrics: ``import ssemcp``, ``Server`` and stdio never load it.
"""

from __future__ import annotations

from ssemcp.observe.settings import ObserveSettings

__all__ = ["ObserveSettings"]
