"""A stdio MCP server in a few lines of the standard library, for the bridge's load tests: it
starts in milliseconds (no imports beyond ``json`` and ``sys``), so tests can run dozens of
them. It answers ``initialize``, ``ping``, ``tools/list`` and an ``echo`` tool; nothing else.

Run as ``python tests/bridge/tiny_server.py``.
"""

import json
import sys

TOOL = {
    "name": "echo",
    "description": "Echo the text",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
}


def answer(request: dict) -> dict:  # type: ignore[type-arg]
    method = request.get("method")
    if method == "initialize":
        return {
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "tiny", "version": "1"},
        }
    if method == "tools/list":
        return {"tools": [TOOL]}
    if method == "tools/call":
        text = request["params"]["arguments"]["text"]
        return {"content": [{"type": "text", "text": text}]}
    return {}


for line in sys.stdin:
    message = json.loads(line)
    if "id" in message and "method" in message:
        reply = {"jsonrpc": "2.0", "id": message["id"], "result": answer(message)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
