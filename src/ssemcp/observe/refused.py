"""Requests answered before any handler saw them, observed as answered ones are.

A request can be refused before :func:`ssemcp.server.dispatch.dispatch` reaches a handler:
input that is no JSON-RPC request (-32700, -32600), a 2026-07-28 request whose ``_meta`` is
wrong (-32602), whose headers disagree with its body (-32020), whose version is not served
(-32022), or whose method the revision lacks (-32601). The transports that answer them call
:func:`refused`, or :func:`answered_with_error` where the error reply may also come from a
handler, so that each gets its access line, its count and its span with its code; a
session's connection calls it for what reaches a session that is no message (a batch's
item, a line on stdio). Nothing here runs unless something observes: one context-variable
read, and the server's tracing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssemcp.jsonrpc import ErrorResponse, Request
from ssemcp.observe._hook import WATCHER
from ssemcp.protocol.request_context import Principal, RequestContext
from ssemcp.protocol.revisions import LATEST, Revision

if TYPE_CHECKING:
    from ssemcp.server.registry import Server

__all__ = ["answered_with_error", "refused"]


def refused(
    server: Server | None,
    request: Request | None,
    code: int,
    message: str,
    principal: Principal | None = None,
    revision: Revision = LATEST,
) -> None:
    """Observe ``request`` (None: input that was no request) refused with error ``code``.

    Args:
        server: the registry it was sent to (its tracing); None where the refusal is made
            without one (a body that does not parse: it gets no span, having no method).
        request: the request refused.
        code, message: the JSON-RPC error it was answered with.
        principal: who sent it.
        revision: the revision it was read as.
    """
    watcher = WATCHER.get()
    tracing = server.tracing if server is not None else None
    if watcher is None and tracing is None:
        return
    context = RequestContext(revision=revision, principal=principal)
    if watcher is not None:
        watcher.refused(server, request, context, code)
    if tracing is not None and request is not None:
        tracing.answered(request, context, code, message)


def answered_with_error(
    server: Server, request: Request, reply: ErrorResponse, principal: Principal | None
) -> None:
    """``request`` (2026-07-28) was answered with ``reply``: observe it as refused unless a
    handler served it (then dispatch's watcher and span have recorded it).

    Call it in the step in which the request's serving ended: a handler that ends marks its
    request (``last_served``) in that same step, so no other request can have ended since.
    """
    watcher = WATCHER.get()
    tracing = server.tracing
    if watcher is None and tracing is None:
        return
    if (watcher is not None and watcher.last_served is request) or (
        tracing is not None and tracing.last_served is request
    ):
        return
    refused(server, request, reply.code, reply.message, principal)
