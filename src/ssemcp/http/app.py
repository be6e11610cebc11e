"""The ASGI app: security checks, routing, health and lifespan around the MCP endpoint.

Owns what every request passes before any transport sees it, in this order: the trusted-proxy
rewrite (``ssemcp.http.proxy``), the Host allowlist (421; a health check is exempt), the Origin
allowlist (403), CORS (``ssemcp.http.cors``), authorization (401/403, ``ssemcp.auth``, whose
RFC 9728 metadata is served to anyone), the ``Content-Length`` bound (413) and the body deadline
(408, ``ssemcp.http.timeouts``); then the routes (the MCP endpoint, ``GET /healthz``, a page at
``/`` naming them, 404 for the rest) and the ASGI lifespan. What happens at the MCP endpoint
is the Streamable HTTP transport's (``ssemcp.transports.streamable``); at ``/sse`` and
``/messages/``, the legacy HTTP+SSE transport's (``ssemcp.transports.legacy_sse``).

Why Host and Origin: a page on ``evil.example`` can rebind its name to 127.0.0.1 and drive a
local server from the victim's browser (DNS rebinding). The browser still sends
``Host: evil.example`` and ``Origin: http://evil.example``, so refusing both unless they name
this server stops it (Starlette's ``TrustedHostMiddleware`` is the model for the Host check).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Awaitable, Iterable, Mapping
from types import MappingProxyType
from typing import Final

from ssemcp.asgi import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    FORWARDED_PREFIX_KEY,
    PAYLOAD_TOO_LARGE,
    PRINCIPAL_KEY,
    ASGIReceive,
    ASGISend,
    Headers,
    HTTPError,
    Scope,
    client_path_prefix,
    shortcuts,
)
from ssemcp.asgi.deadlines import Deadlines, deadlines_in_running_loop
from ssemcp.auth.settings import AuthSettings
from ssemcp.errors import InvalidRequest
from ssemcp.http.cors import CORSPolicy
from ssemcp.http.proxy import TrustedProxies
from ssemcp.http.timeouts import DEFAULT_BODY_TIMEOUT_SECONDS, BodyDeadline
from ssemcp.observe.observer import Observer
from ssemcp.observe.settings import METRICS_PATH, ObserveSettings
from ssemcp.server.hosted import SessionFactory
from ssemcp.server.registry import Server
from ssemcp.server.sessionless import OpenListen, ServeSessionless
from ssemcp.state.events import DEFAULT_MAX_LOGGED_BYTES, DEFAULT_MAX_LOGGED_EVENTS, EventLogFactory
from ssemcp.state.shared import SharedState
from ssemcp.transports.drain import Drain
from ssemcp.transports.legacy_sse import MESSAGES_PATH, SSE_PATH, LegacySSETransport
from ssemcp.transports.streamable import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS,
    StreamableHTTPTransport,
)

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_ALLOWED_ORIGINS",
    "HEALTH_PATH",
    "MCPApp",
    "create_app",
]

logger = logging.getLogger(__name__)

# Loopback only, any port: a server bound to 127.0.0.1 is reachable by these names and no
# other, so anything else in Host is a rebinding attack or a misconfiguration.
DEFAULT_ALLOWED_HOSTS: Final = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_ALLOWED_ORIGINS: Final = (
    "http://localhost",
    "https://localhost",
    "http://127.0.0.1",
    "https://127.0.0.1",
    "http://[::1]",
    "https://[::1]",
)
# Host and Origin values whose allowlist decision is remembered; a server is reached by a
# handful of names, and the bound keeps a client that cycles values from growing the table.
_MAX_REMEMBERED_DECISIONS: Final = 256
# Before every key and channel of the shared state (ssemcp.state.redis.connection's default).
DEFAULT_STATE_PREFIX: Final = "ssemcp"
# A peer's header value shown in a log line is cut to this many characters.
_MAX_LOGGED_HEADER: Final = 64

# RFC 9110 section 15.5.20: 421 "the request was directed at a server that is unable or
# unwilling to produce an authoritative response for the target URI".
MISDIRECTED_REQUEST: Final = HTTPError(
    421, InvalidRequest("Misdirected Request: the Host header names no allowed host")
)
# spec 2025-11-25 basic/transports, "Security Warning": servers "MUST validate the Origin
# header on all incoming connections to prevent DNS rebinding attacks"; "If the Origin header
# is present and invalid, servers MUST respond with HTTP 403 Forbidden".
FORBIDDEN_ORIGIN: Final = HTTPError(403, InvalidRequest("Forbidden: the Origin is not allowed"))
BAD_CONTENT_LENGTH: Final = HTTPError(400, InvalidRequest("Bad Request: invalid Content-Length"))
NOT_FOUND: Final = HTTPError(404, InvalidRequest("Not Found"))
HEALTH_METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed"), ((b"allow", b"GET"),)
)
# RFC 9110 section 15.5.6: a 405 "MUST generate an Allow header field".
INDEX_METHOD_NOT_ALLOWED: Final = HTTPError(
    405, InvalidRequest("Method Not Allowed"), ((b"allow", b"GET, HEAD"),)
)
# RFC 9110 section 15.6.4: 503, "the server is currently unable to handle the request due to
# ... scheduled maintenance"; "Connection: close" (RFC 9112 section 9.6) so that a client or
# load balancer takes its next request to another connection, and so another replica.
SHUTTING_DOWN: Final = HTTPError(
    503,
    InvalidRequest("Service Unavailable: the server is shutting down"),
    ((b"retry-after", b"1"), (b"connection", b"close")),
)
HEALTH_PATH: Final = "/healthz"
_HEALTH_BODY: Final = b'{"status":"ok"}'
# How long cut calls and open streams get to write their last event at shutdown.
_CUT_WRITE_SECONDS: Final = 1.0
# The legacy POST path with and without its trailing slash: clients that hard-code it differ.
_MESSAGES_PATHS: Final = frozenset({MESSAGES_PATH, MESSAGES_PATH.rstrip("/")})
_HEALTH_HEADERS: Final = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_HEALTH_BODY)).encode()),
    (b"cache-control", b"no-store"),
]


def _split_port(authority: str) -> tuple[str, str | None]:
    """``host[:port]`` into host and port; an IPv6 literal keeps its brackets."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return authority, None
        rest = authority[end + 1 :]
        return authority[: end + 1], rest[1:] if rest.startswith(":") else None
    host, colon, port = authority.rpartition(":")
    if not colon:
        return authority, None
    return host, port


class _Allowlist(dict[bytes, bool]):
    """Names that match with any port (``localhost``) or exactly (``localhost:8000``).

    ``*`` allows everything. Comparison ignores case (RFC 9110: hosts and schemes are
    case-insensitive).

    Indexed by a raw header value, it answers whether the value is allowed and remembers the
    answer: every request asks, a server is reached by a handful of names, and a remembered
    answer is one dict lookup with no Python call. Bounded, so a client cycling values cannot
    grow it.
    """

    __slots__ = ("_allow_all", "_any_port", "_exact")

    def __init__(self, entries: Iterable[str]) -> None:
        super().__init__()
        any_port: set[str] = set()
        exact: set[str] = set()
        self._allow_all = False
        for entry in entries:
            entry = entry.strip().lower().rstrip("/")
            if entry == "*":
                self._allow_all = True
                continue
            _host, port = _split_port(entry.rpartition("://")[2])
            (any_port if port is None else exact).add(entry)
        self._any_port = frozenset(any_port)
        self._exact = frozenset(exact)

    @property
    def all(self) -> bool:
        """Whether ``*`` allows every value."""
        return self._allow_all

    def __missing__(self, raw: bytes) -> bool:
        decision = self.allows(raw.decode("latin-1"))
        if len(self) < _MAX_REMEMBERED_DECISIONS:
            self[raw] = decision
        return decision

    def allows(self, value: str) -> bool:
        if self._allow_all:
            return True
        value = value.lower()
        if value in self._exact or value in self._any_port:
            return True
        prefix, separator, authority = value.rpartition("://")
        host, port = _split_port(authority)
        if port is None or not port.isdigit():
            return False
        return prefix + separator + host in self._any_port


def _index_page(prefix: str, endpoints: Mapping[str, str]) -> bytes:
    """What ``GET /`` answers: what this server is and where a client connects, as text.

    A person who opens the server's address in a browser (or a client given the address
    without ``/mcp``) learns where to go, instead of a bare 404. Paths only: no software name
    or version, as for the Server header.
    """
    width = max(len(prefix + path) for path in endpoints)
    lines = [
        "This is a Model Context Protocol (MCP) server. Connect an MCP client to:",
        "",
        *(f"  {(prefix + path).ljust(width)}  {name}" for path, name in endpoints.items()),
    ]
    return ("\n".join(lines) + "\n").encode()


async def _respond_text(send: ASGISend, body: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        # A browser must show it as text, never guess HTML from it.
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _healthy(send: ASGISend) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": _HEALTH_HEADERS})
    await send({"type": "http.response.body", "body": _HEALTH_BODY})


def _is_health_check(scope: Scope, path: str) -> bool:
    """A GET or HEAD of the health path, which answers only that the server is up."""
    return path == HEALTH_PATH and scope["method"] in ("GET", "HEAD")


def _route_path(path: str, root_path: str) -> str:
    """The path below the app's mount point.

    ASGI "HTTP Connection Scope": ``path`` includes ``root_path`` (uvicorn ``--root-path``
    prepends it), so routes match on what follows it.
    """
    if path.startswith(root_path + "/"):
        return path[len(root_path) :]
    return path


class MCPApp:
    """The ASGI app that :func:`create_app` builds; see there."""

    def __init__(
        self,
        server: Server,
        *,
        allowed_hosts: Iterable[str] | None = None,
        allowed_origins: Iterable[str] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        path: str = "/mcp",
        tokens: Iterable[str] | None = None,
        cors_origins: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
        body_timeout_seconds: float | None = DEFAULT_BODY_TIMEOUT_SECONDS,
        legacy_sse: bool = True,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
        stateless: bool = False,
        json_response: bool = False,
        session_idle_timeout_seconds: float | None = DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS,
        auth: AuthSettings | None = None,
        event_logs: EventLogFactory | None = None,
        sessions: SessionFactory | None = None,
        sessionless: bool | ServeSessionless = True,
        listen: OpenListen | None = None,
        observe: ObserveSettings | None = None,
        state: str | SharedState | None = None,
        state_prefix: str = DEFAULT_STATE_PREFIX,
    ) -> None:
        if sessions is not None and stateless:
            raise ValueError("stateless mode makes no sessions: it cannot take a session factory")
        # The calls in flight on both transports, drained at shutdown (``drain``).
        self._drain = Drain()
        self.state = _shared_state(state, state_prefix, session_idle_timeout_seconds)
        if self.state is not None:
            if sessions is not None:
                raise ValueError("state shared by replicas serves a Server: no session factory")
            # Every change published on one replica reaches the sessions of all of them.
            server.bus = self.state.bus
        self.transport = StreamableHTTPTransport(
            server,
            max_body_bytes=max_body_bytes,
            max_sessions=max_sessions,
            keepalive_seconds=keepalive_seconds,
            stateless=stateless,
            json_response=json_response,
            session_idle_timeout_seconds=session_idle_timeout_seconds,
            event_logs=event_logs,
            sessions=sessions,
            sessionless=sessionless,
            drain=self._drain,
            listen=listen,
            shared=None if self.state is None else self.state.sessions,
        )
        # The 2024-11-05 HTTP+SSE transport: its sessions count apart from the ones above.
        self.legacy_sse = (
            LegacySSETransport(
                server,
                max_body_bytes=max_body_bytes,
                max_sessions=max_sessions,
                keepalive_seconds=keepalive_seconds,
                sessions=sessions,
                drain=self._drain,
                shared=None if self.state is None else self.state.legacy_streams,
            )
            if legacy_sse
            else None
        )
        self._allowed_hosts = _Allowlist(
            DEFAULT_ALLOWED_HOSTS if allowed_hosts is None else allowed_hosts
        )
        # Security layers, built once (None: off). See ssemcp.http.auth, .cors and .proxy.
        # ssemcp.auth: static tokens, API keys, JWT and introspection, RFC 9728 metadata.
        auth = auth or AuthSettings()
        if tokens:
            auth = dataclasses.replace(auth, tokens=(*auth.tokens, *tokens))
        self._auth = auth.authenticator(server, path, {path, *_MESSAGES_PATHS}, max_body_bytes)
        cors_origins = tuple(cors_origins)
        self._cors = CORSPolicy(cors_origins) if cors_origins else None
        trusted_proxies = tuple(trusted_proxies)
        self._proxies = TrustedProxies(trusted_proxies) if trusted_proxies else None
        if body_timeout_seconds is not None and body_timeout_seconds <= 0:
            raise ValueError("body_timeout_seconds must be positive (or None for no bound)")
        self._body_timeout_seconds = body_timeout_seconds
        # Built on the first request, in the loop that serves it.
        self._body_deadlines: Deadlines | None = None
        # A CORS origin must also pass the Origin check, or its requests would get 403.
        self._allowed_origins = _Allowlist(
            [
                *(DEFAULT_ALLOWED_ORIGINS if allowed_origins is None else allowed_origins),
                *(self._cors.origins if self._cors is not None else ()),
            ]
        )
        if self._auth is not None and self._auth.audience_from_host and self._allowed_hosts.all:
            # RFC 8707: a token names the one resource it is for. Were the resource read from
            # any Host, a token meant for another server would pass by naming that server.
            raise ValueError(
                "with OAuth tokens and every Host allowed, the audience must be configured "
                "(auth.audience, --auth-audience): else a token for another server would pass"
            )
        self._server = server
        self._max_body_bytes = max_body_bytes
        self._path = path
        endpoints = {path: "Streamable HTTP"}
        if self.legacy_sse is not None:
            endpoints[SSE_PATH] = "HTTP+SSE (2024-11-05)"
        endpoints[HEALTH_PATH] = "health"
        # ssemcp.observe: the access log and GET /metrics (None: neither).
        self.observer: Observer | None = Observer.build(observe, server, self)
        self._metrics = self.observer.metrics if self.observer is not None else None
        self._metrics_public = observe is not None and observe.metrics_public
        if self._metrics is not None:
            endpoints[METRICS_PATH] = "metrics (Prometheus)"
        # What this app serves, by path below its mount point: what a client connects to
        # (not the legacy POST path, which the /sse stream names to its client).
        self.endpoints: Mapping[str, str] = MappingProxyType(endpoints)
        self._index_body = _index_page("", endpoints)

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        scope_type = scope["type"]
        if scope_type == "http":
            # ssemcp.observe: the exchange's access-log record and its requests' watcher.
            observed = None
            if self.observer is not None:
                observed = self.observer.begin(scope, send)
                if observed is not None:
                    send = observed.send
            try:
                if self._drain.is_draining and not self._admits_while_draining(scope):
                    await SHUTTING_DOWN.respond(send)
                    return
                if self._body_timeout_seconds is None:
                    await self._http(scope, receive, send)
                    return
                # One deadline for the whole body, watched while a receive() waits: no task,
                # no timer of its own.
                deadlines = self._body_deadlines = deadlines_in_running_loop(
                    self._body_deadlines, self._body_timeout_seconds
                )
                deadline = BodyDeadline(
                    receive, send, deadlines.loop.time() + self._body_timeout_seconds, deadlines
                )
                await self._http(scope, deadline.receive, deadline.send)
                if deadline.expired:
                    await deadline.respond_if_expired()
            finally:
                if observed is not None:
                    observed.end()
        elif scope_type == "lifespan":
            await self._lifespan(receive, send)
        else:
            # A websocket: we speak none. Closing before accepting answers 403.
            await send({"type": "websocket.close", "code": 1008})

    def _http(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> Awaitable[None]:
        """The checks every request passes, then its route: the awaitable that answers it.

        A plain function, not a coroutine: every request passes here, and handing back the
        route's own coroutine (or an error response's) saves a frame on each one.
        """
        # First, and only from a trusted proxy: X-Forwarded-* into client, scheme and Host,
        # so that every check below sees the client's values.
        if self._proxies is not None:
            self._proxies.apply(scope)
        else:
            scope[FORWARDED_PREFIX_KEY] = ""
        # ASGI gives header names lowercased; a repeated header keeps its last value, and every
        # check below reads this same dict, so no check can see a different value.
        headers: dict[bytes, bytes] = dict(scope["headers"])
        path: str = scope["path"]
        if scope.get("root_path"):
            path = _route_path(path, scope["root_path"])
        host = headers.get(b"host")
        # A health check is exempt: load balancers probe by IP (Host: 10.0.0.5:8000), and its
        # answer, {"status":"ok"}, tells a rebinding page nothing worth the Host check.
        if (host is None or not self._allowed_hosts[host]) and not _is_health_check(scope, path):
            if logger.isEnabledFor(logging.INFO):
                logger.info("refused Host %r", (host or b"")[:_MAX_LOGGED_HEADER])
            return MISDIRECTED_REQUEST.respond(send)
        origin = headers.get(b"origin")
        if origin is not None and not self._allowed_origins[origin]:
            if logger.isEnabledFor(logging.INFO):
                logger.info("refused Origin %r", origin[:_MAX_LOGGED_HEADER])
            return FORBIDDEN_ORIGIN.respond(send)
        if self._cors is not None:
            # A preflight carries no credentials (Fetch standard), so it is answered before
            # the token check; every other response to a CORS origin gets its headers.
            if self._cors.is_preflight(scope, headers):
                return self._cors.preflight(headers, send)
            send = self._cors.wrap_send(headers, send)
        scope[PRINCIPAL_KEY] = None
        if self._metrics_public and path == METRICS_PATH and self._metrics is not None:
            return self._metrics.respond(scope, send)  # --metrics-public: no token asked
        if self._auth is not None and not _is_health_check(scope, path):
            # RFC 9728 section 3: the metadata is how a client learns to get a token, so it
            # is served to anyone.
            if self._auth.resource.is_metadata_path(scope, path):
                if scope["method"] in ("GET", "HEAD"):
                    return self._auth.resource.respond(scope, headers, send)
                return INDEX_METHOD_NOT_ALLOWED.respond(send)
            return self._authenticated(scope, receive, send, headers, path)
        return self._route(scope, receive, send, headers, path)

    async def _authenticated(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers, path: str
    ) -> None:
        assert self._auth is not None
        admitted = await self._auth.admit(scope, receive, send, headers, path)
        if admitted is not None:
            await self._route(scope, admitted, send, headers, path)

    def _route(
        self, scope: Scope, receive: ASGIReceive, send: ASGISend, headers: Headers, path: str
    ) -> Awaitable[None]:
        content_length = headers.get(b"content-length")
        if content_length is not None:
            if not content_length.isdigit():
                return BAD_CONTENT_LENGTH.respond(send)
            if int(content_length) > self._max_body_bytes:
                return PAYLOAD_TOO_LARGE.respond(send)
        if path == self._path:
            if self._server.tracing is not None:  # OpenTelemetry: the caller's trace context
                return self._server.tracing.within_http_request(
                    scope, headers, self.transport.handle(scope, receive, send, headers)
                )
            return self.transport.handle(scope, receive, send, headers)
        if path == SSE_PATH and self.legacy_sse is not None:
            return self.legacy_sse.handle_stream(scope, receive, send)
        if path in _MESSAGES_PATHS and self.legacy_sse is not None:
            if self._server.tracing is not None:  # OpenTelemetry: the caller's trace context
                return self._server.tracing.within_http_request(
                    scope, headers, self.legacy_sse.handle_message(scope, receive, send, headers)
                )
            return self.legacy_sse.handle_message(scope, receive, send, headers)
        if path == METRICS_PATH and self._metrics is not None:
            return self._metrics.respond(scope, send)  # authenticated, as /mcp is
        if path == HEALTH_PATH:
            if scope["method"] in ("GET", "HEAD"):
                return _healthy(send)
            return HEALTH_METHOD_NOT_ALLOWED.respond(send)
        if path == "/":
            if scope["method"] in ("GET", "HEAD"):
                prefix = client_path_prefix(scope)
                body = _index_page(prefix, self.endpoints) if prefix else self._index_body
                return _respond_text(send, body)
            return INDEX_METHOD_NOT_ALLOWED.respond(send)
        return NOT_FOUND.respond(send)

    def _admits_while_draining(self, scope: Scope) -> bool:
        """Whether a request may still pass while the server drains: what a call in flight
        may need (a POST answering its sampling or elicitation, a cancellation, a GET
        resuming its reply stream) and a DELETE. A POST carrying a new request is refused
        by its transport, which reads the body to answer it by id."""
        method = scope["method"]
        path: str = scope["path"]
        if scope.get("root_path"):
            path = _route_path(path, scope["root_path"])
        if method == "POST":
            return path == self._path or (path in _MESSAGES_PATHS and self.legacy_sse is not None)
        if path != self._path:
            return False
        return method == "DELETE" or (
            method == "GET" and any(name == b"last-event-id" for name, _ in scope["headers"])
        )

    @property
    def is_replicated(self) -> bool:
        """Whether this app is one of several replicas sharing their state (``state``): any
        of them can take what this one refuses, a client's answer to a call in flight too."""
        return self.state is not None

    def begin_drain(self, grace_seconds: float) -> None:
        """Stop starting calls: from now on a new request gets 503 and ``Connection: close``
        (a load balancer's health check too). Idempotent; the server calls it as it stops
        accepting connections, then awaits :meth:`drain`."""
        if not self._drain.is_draining:
            self._drain.grace_seconds = grace_seconds
        self._drain.begin()

    def hurry_drain(self) -> None:
        """Stop waiting for the calls in flight (a second signal): they are cut at once."""
        self._drain.hurry()

    async def drain(self, grace_seconds: float) -> None:
        """Drain at shutdown: refuse new requests, let the calls in flight finish for up to
        ``grace_seconds``, cut what is left (each client gets a JSON-RPC error), then end the
        streams (a listen stream with its final result, a GET stream with a ``retry`` hint)
        and every session. Logs how many calls finished and how many were cut.
        """
        drain = self._drain
        self.begin_drain(grace_seconds)
        if not await drain.wait_for_grace() and drain.cut():
            # The cut calls write their errors (on a legacy stream, too) before streams end.
            await drain.wait(_CUT_WRITE_SECONDS)
        streams = self.transport.end_streams()
        if self.legacy_sse is not None:
            streams += await self.legacy_sse.end_streams(_CUT_WRITE_SECONDS)
        self.close_sessions()
        logger.info("%s; %d stream(s) ended", drain.summary(), streams)

    def close_sessions(self) -> None:
        """End every session of both transports: their streams finish, their running
        handlers are cancelled. Idempotent; called when the server begins to shut down."""
        self.transport.close()
        if self.legacy_sse is not None:
            self.legacy_sse.close()

    async def _lifespan(self, receive: ASGIReceive, send: ASGISend) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                shortcuts.load_for_loaded_servers()
                if self.state is not None:
                    await self.state.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close_sessions()
                if self._body_deadlines is not None:
                    self._body_deadlines.close()
                await self._server.aclose()
                if self.state is not None:
                    await self.state.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    server: Server,
    *,
    allowed_hosts: Iterable[str] | None = None,
    allowed_origins: Iterable[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
    path: str = "/mcp",
    tokens: Iterable[str] | None = None,
    cors_origins: Iterable[str] = (),
    trusted_proxies: Iterable[str] = (),
    body_timeout_seconds: float | None = DEFAULT_BODY_TIMEOUT_SECONDS,
    legacy_sse: bool = True,
    keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
    stateless: bool = False,
    json_response: bool = False,
    session_idle_timeout_seconds: float | None = DEFAULT_SESSION_IDLE_TIMEOUT_SECONDS,
    auth: AuthSettings | None = None,
    event_logs: EventLogFactory | None = None,
    sessions: SessionFactory | None = None,
    sessionless: bool | ServeSessionless = True,
    listen: OpenListen | None = None,
    observe: ObserveSettings | None = None,
    state: str | SharedState | None = None,
    state_prefix: str = DEFAULT_STATE_PREFIX,
) -> MCPApp:
    """Build the ASGI app that serves ``server`` over Streamable HTTP at ``path``.

    Args:
        server: the registry to serve; each session gets its own connection to it.
        allowed_hosts: values the ``Host`` header may take (default: 127.0.0.1, localhost and
            [::1]). ``name`` matches any port, ``name:port`` only that one, ``*`` anything.
        allowed_origins: values an ``Origin`` header may take (default: http and https on
            the same three loopback names), matched the same way. Requests without
            ``Origin`` (non-browser clients) pass.
        max_body_bytes: the largest request body; larger gets 413.
        max_sessions: live sessions at most; past it, ``initialize`` gets 503.
        path: the MCP endpoint.
        tokens: bearer tokens; when given, every request but ``GET /healthz`` needs
            ``Authorization: Bearer <one of them>`` (else 401), and its scope gets
            ``ssemcp.principal``, a :class:`~ssemcp.protocol.request_context.Principal`
            whose subject is a stable non-secret name of the token (None when off).
        cors_origins: browser origins (``scheme://host[:port]``) to answer CORS for; they
            pass the Origin check too. No ``*``. See ``ssemcp.http.cors``.
        trusted_proxies: IPs or CIDR networks whose ``X-Forwarded-For``, ``-Proto``,
            ``-Host`` and ``-Prefix`` are believed; from other peers they are ignored. Run
            uvicorn with ``proxy_headers=False``. See ``ssemcp.http.proxy``.
        body_timeout_seconds: time to receive a whole request body; past it, 408 and the
            connection closes. None: no bound. (The header bound is the HTTP server's:
            ``ssemcp.http.uvicorn_protocol``.)
        legacy_sse: also serve the 2024-11-05 HTTP+SSE transport (``GET /sse``,
            ``POST /messages/``), with its own ``max_sessions`` streams at most.
        keepalive_seconds: how often an idle SSE stream gets a comment.
        stateless: Streamable HTTP without sessions: each POST stands alone, GET and DELETE
            get 405, and requests to the client (sampling, elicitation) cannot be answered.
        json_response: every POST is answered with one JSON body; what a handler emits
            meanwhile goes to the session's GET stream, if open.
        session_idle_timeout_seconds: close a Streamable HTTP session after this long with
            nothing in flight and no GET stream open (None: never).
        auth: the rest of authorization (token files, API-key header, OAuth issuers,
            introspection, required scopes); with any of it, ``/.well-known/
            oauth-protected-resource`` (and its ``path``-suffixed form) serve RFC 9728
            metadata and every 401 names it. See ``ssemcp.auth``.
        event_logs: makes a Streamable HTTP session's event log (what its streams sent, for
            ``Last-Event-ID``), given the session id; in memory unless given. See
            ``ssemcp.state.events``.
        sessions: makes what serves each session of both transports, instead of a
            ``ServerConnection`` on ``server`` (``ssemcp.bridge`` relays to a child process);
            ``server`` then keeps its cleanups, run at shutdown. Not with ``stateless``.
        sessionless: serve 2026-07-28 requests that stand alone; False answers them with
            -32022 naming the session revisions, so that clients fall back to ``initialize``;
            a callable serves them instead of ``server`` (``Bridge.serve_sessionless``).
        listen: opens their ``subscriptions/listen`` instead of ``server``
            (``Bridge.open_listen``).
        observe: the access log and ``GET /metrics`` (``ssemcp.observe``); None: neither.
        state: where state lives that several replicas behind one endpoint share:
            ``redis://HOST:PORT/DB`` (needs ``ssemcp[redis]``), or a ``SharedState``; None
            (the default): this process. With it, ``server``'s bus is replaced by the shared
            one, any replica serves any request of a 2025 session (records and event logs
            in Redis), and a request that needs Redis while it is down gets 503. Replicas
            must share ``server.request_state_keys`` (``--state-key``) for 2026-07-28
            multi round-trip requests. See ``ssemcp.state.redis``.
        state_prefix: put before every key and channel of ``state``, so several servers can
            share one Redis.

    Returns:
        An ASGI 3 app; run it with any ASGI server (``uvicorn.run(app)``).
    """
    return MCPApp(
        server,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        max_body_bytes=max_body_bytes,
        max_sessions=max_sessions,
        path=path,
        tokens=tokens,
        cors_origins=cors_origins,
        trusted_proxies=trusted_proxies,
        body_timeout_seconds=body_timeout_seconds,
        legacy_sse=legacy_sse,
        keepalive_seconds=keepalive_seconds,
        stateless=stateless,
        json_response=json_response,
        session_idle_timeout_seconds=session_idle_timeout_seconds,
        auth=auth,
        event_logs=event_logs,
        sessions=sessions,
        sessionless=sessionless,
        listen=listen,
        observe=observe,
        state=state,
        state_prefix=state_prefix,
    )


def _shared_state(
    state: str | SharedState | None, prefix: str, session_idle_timeout_seconds: float | None
) -> SharedState | None:
    """``state`` as create_app takes it: a Redis URL is opened here (importing the client
    only now), with session records that outlive the idle timeout."""
    if state is None or not isinstance(state, str):
        return state
    # Imported here: `import ssemcp` and an app without Redis never load the redis client.
    from ssemcp.state.redis import open_state
    from ssemcp.state.redis.state import DEFAULT_SESSION_TTL_SECONDS

    ttl = (
        DEFAULT_SESSION_TTL_SECONDS
        if session_idle_timeout_seconds is None
        else max(1, math.ceil(session_idle_timeout_seconds))
    )
    return open_state(
        state,
        prefix,
        session_ttl_seconds=ttl,
        max_logged_events=DEFAULT_MAX_LOGGED_EVENTS,
        max_logged_bytes=DEFAULT_MAX_LOGGED_BYTES,
    )
