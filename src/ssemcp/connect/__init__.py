"""``ssemcp connect``: a remote MCP server used as a local one.

A desktop client (Claude Desktop, Cursor, Cherry Studio) starts ``ssemcp connect URL`` as a
stdio server; connect relays every JSON-RPC message between that client and the server at
``URL`` over HTTP, ids unchanged, in both directions (requests, answers, notifications, and
the server's own requests: sampling, elicitation, roots, ping); to a server that speaks only
2026-07-28 the session is translated into its requests. The relay is ``_relay``'s, the
translation ``_translate``'s (its rules ``_modern``'s), the command ``cli``'s; the HTTP side
is ``ssemcp.client.RawSession``. Nothing here imports an
HTTP library until a session opens.
"""

from ssemcp.connect._relay import (
    EXIT_AUTH,
    EXIT_CONNECTION,
    EXIT_OK,
    EXIT_PROTOCOL,
    RELAY_ERROR_CODE,
    ConnectTransport,
    run_connect,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_OK",
    "EXIT_PROTOCOL",
    "RELAY_ERROR_CODE",
    "ConnectTransport",
    "run_connect",
]
