"""Trusted reverse proxies: when, and how far, to believe ``X-Forwarded-*``.

Owns rewriting a request's scope from ``X-Forwarded-For``, ``-Proto``, ``-Host`` and
``-Prefix`` when, and only when, the immediate peer (``scope["client"]``) is a configured
proxy. From any other peer these headers are ignored entirely: anyone can send them, so
believing them would let a client pick its own address, scheme and Host. What the app checks
(Host, Origin, auth) it checks afterwards, on the rewritten scope.

uvicorn has its own ``ProxyHeadersMiddleware``, on by default, trusting
``FORWARDED_ALLOW_IPS`` (default ``127.0.0.1``); run this app with ``proxy_headers=False`` so
that this module is the only one that decides (``ssemcp serve`` does).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable
from typing import Final

from ssemcp.asgi import FORWARDED_PREFIX_KEY, Scope

__all__ = ["TrustedProxies"]

logger = logging.getLogger(__name__)

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 9110 section 7.2 / RFC 3986 section 3.2: Host is uri-host [ ":" port ]; a reg-name is
# unreserved / pct-encoded / sub-delims, an IP-literal is bracketed. We accept the usual subset
# (letters, digits, "-", ".", "_", "~", "%", and an IPv6 literal) and nothing that could split
# a header or a URL.
_FORWARDED_HOST: Final = re.compile(r"(?:[A-Za-z0-9\-._~%]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# A path prefix such as ``/api/mcp``: segments of URL-safe characters. It must not start with
# ``//`` (a scheme-relative URL would send clients to another host).
_FORWARDED_PREFIX: Final = re.compile(r"(?:/[A-Za-z0-9\-._~%!$&'()*+,;=:@]+)+/?")
# A forwarded header value longer than this is not something a proxy wrote.
_MAX_FORWARDED_VALUE: Final = 1024


def _parse_address(value: str) -> _IPAddress | None:
    """An IP from an X-Forwarded-For element: bare, ``v4:port`` or ``[v6]:port``."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _last_element(value: bytes) -> str:
    # Proxies append to a list; the right-most element is the one our proxy wrote.
    return value.decode("latin-1").rpartition(",")[2].strip()


class TrustedProxies:
    """The proxies whose ``X-Forwarded-*`` headers are believed.

    Args:
        proxies: IP addresses or CIDR networks (``10.0.0.0/8``, ``::1``).

    Raises:
        ValueError: an entry is neither an address nor a network.
    """

    __slots__ = ("_networks",)

    def __init__(self, proxies: Iterable[str]) -> None:
        networks: list[_IPNetwork] = []
        for proxy in proxies:
            try:
                networks.append(ipaddress.ip_network(proxy.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"a trusted proxy is an IP address or a CIDR network, got {proxy!r}"
                ) from None
        self._networks = tuple(networks)

    def __repr__(self) -> str:
        return f"TrustedProxies({[str(network) for network in self._networks]!r})"

    def trusts(self, address: _IPAddress | None) -> bool:
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._networks)

    def apply(self, scope: Scope) -> None:
        """Rewrite ``scope`` from the forwarded headers if its peer is a trusted proxy.

        Always sets ``scope["ssemcp.forwarded_prefix"]`` (``""`` unless a trusted proxy
        forwarded a valid prefix). From a trusted peer, sets ``scope["client"]`` to the
        right-most X-Forwarded-For hop that is not a trusted proxy, ``scope["scheme"]`` from
        X-Forwarded-Proto, and replaces the ``host`` header with X-Forwarded-Host, so that
        the Host check sees the name the client used. Malformed values are ignored.
        """
        scope[FORWARDED_PREFIX_KEY] = ""
        client = scope.get("client")
        if client is None or not self.trusts(_parse_address(client[0])):
            return
        forwarded_for: list[bytes] = []
        forwarded_proto = forwarded_host = forwarded_prefix = None
        for name, value in scope["headers"]:
            if not name.startswith(b"x-forwarded-") or len(value) > _MAX_FORWARDED_VALUE:
                continue
            if name == b"x-forwarded-for":
                forwarded_for.append(value)
            elif name == b"x-forwarded-proto":
                forwarded_proto = value
            elif name == b"x-forwarded-host":
                forwarded_host = value
            elif name == b"x-forwarded-prefix":
                forwarded_prefix = value

        if forwarded_for:
            # RFC 9110 section 5.3: repeated field lines combine, in order, into one list.
            hops = b",".join(forwarded_for).decode("latin-1").split(",")
            chosen: _IPAddress | None = None
            for hop in reversed(hops):
                address = _parse_address(hop)
                if address is None:
                    break  # garbage: nothing left of it can be believed
                chosen = address
                if not self.trusts(address):
                    break
            if chosen is not None:
                scope["client"] = (str(chosen), 0)
        if forwarded_proto is not None:
            scheme = _last_element(forwarded_proto).lower()
            if scheme in ("http", "https"):
                scope["scheme"] = scheme
        if forwarded_host is not None:
            host = _last_element(forwarded_host)
            if _FORWARDED_HOST.fullmatch(host):
                encoded = host.encode("latin-1")
                scope["headers"] = [
                    *((name, value) for name, value in scope["headers"] if name != b"host"),
                    (b"host", encoded),
                ]
        if forwarded_prefix is not None:
            prefix = _last_element(forwarded_prefix)
            if _FORWARDED_PREFIX.fullmatch(prefix):
                scope[FORWARDED_PREFIX_KEY] = prefix.rstrip("/")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "forwarded by %s: client %r, scheme %r, prefix %r",
                client[0],
                scope["client"][0],
                scope["scheme"],
                scope[FORWARDED_PREFIX_KEY],
            )
