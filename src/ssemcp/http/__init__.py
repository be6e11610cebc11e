"""The HTTP face of ssemcp: an ASGI app serving a :class:`~ssemcp.Server` over Streamable HTTP.

Owns nothing itself: :func:`create_app` and its defaults live in ``ssemcp.http.app``; the
transport it routes to lives in ``ssemcp.transports.streamable``.
"""

from ssemcp.http.app import DEFAULT_ALLOWED_HOSTS, DEFAULT_ALLOWED_ORIGINS, MCPApp, create_app

__all__ = ["DEFAULT_ALLOWED_HOSTS", "DEFAULT_ALLOWED_ORIGINS", "MCPApp", "create_app"]
