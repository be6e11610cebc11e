"""What an app observes: the access log and metrics switches, as ``ssemcp serve`` sets them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["METRICS_PATH", "ObserveSettings"]

# Where Prometheus scrapes by default (its ``metrics_path`` default).
METRICS_PATH: Final = "/metrics"


@dataclass(frozen=True, slots=True)
class ObserveSettings:
    """What :func:`ssemcp.http.create_app` observes (``observe=``); all off by default there,
    on under ``ssemcp serve`` (``--no-access-log``, ``--no-metrics`` turn them off).

    Attributes:
        access_log: one line per HTTP exchange and per MCP request on the ``ssemcp.access``
            logger (INFO), with what ``ssemcp.observe.access_log`` lists; never a token.
        log_arguments: add a request's tool or prompt arguments to its line. Off by default:
            arguments may hold what a user would not want in a log.
        metrics: serve ``GET /metrics`` (Prometheus text format), behind the same
            authorization as the MCP endpoint.
        metrics_public: serve it to anyone who passes the Host check, without a token.
    """

    access_log: bool = True
    log_arguments: bool = False
    metrics: bool = True
    metrics_public: bool = False

    @property
    def is_off(self) -> bool:
        return not self.access_log and not self.metrics
