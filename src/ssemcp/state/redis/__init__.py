"""State shared by several replicas on Redis (issue #17): ``ssemcp serve --state redis://…``.

Modules, one concern each: ``connection`` (URL, prefix, pool, failures become
``StateUnavailable``), ``pubsub`` (the process's one pub/sub connection), ``bus`` (the
notification bus on pub/sub), ``events`` (a session's event log in a Redis Stream),
``sessions`` (2025 session records and each session's channel), ``liveness`` (which
replicas are alive, and the answer a reply stream gets when its replica died), ``state``
(``RedisState``, the whole). They import the ``redis`` client (``pip install ssemcp[redis]``);
this package itself does not, so naming it costs nothing until a Redis URL is used
(:func:`open_state`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssemcp.state.redis.state import RedisState

__all__ = ["open_state"]


def open_state(
    url: str,
    prefix: str,
    *,
    session_ttl_seconds: int,
    max_logged_events: int,
    max_logged_bytes: int,
) -> RedisState:
    """The shared state on the Redis at ``url`` (not yet connected: that happens at start).

    Raises:
        ValueError: the URL or prefix is malformed, or the ``redis`` package is missing.
    """
    try:
        from ssemcp.state.redis.state import RedisState
    except ImportError as exc:  # pragma: no cover - the dev install has it
        raise ValueError(
            "state on Redis needs the redis package: pip install 'ssemcp[redis]'"
        ) from exc
    return RedisState(
        url,
        prefix,
        session_ttl_seconds=session_ttl_seconds,
        max_logged_events=max_logged_events,
        max_logged_bytes=max_logged_bytes,
    )
