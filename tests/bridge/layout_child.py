"""A stdio MCP server that writes the answer lines a test tells it to, for the bridge's raw
relay tests (``test_bridge_raw_relay.py``): standard library only.

``initialize`` is answered in the SDKs' layout. A ``tools/call`` (any tool) is answered with
the line its arguments spell: ``{"jsonrpc":"2.0","id":ID,`` then ``body`` (``{id}`` in it
becomes the request's id), written as it is; ``before`` (if given) is written first, as its
own line, ``{id}`` filled in the same way. Notifications are not answered.

Run as ``python tests/bridge/layout_child.py``.
"""

import json
import sys

for line in sys.stdin:
    message = json.loads(line)
    request_id = message.get("id")
    if request_id is None or "method" not in message:
        continue
    if message["method"] == "initialize":
        result = {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "layout", "version": "1"},
        }
        compact = json.dumps(result, separators=(",", ":"))
        sys.stdout.write(f'{{"jsonrpc":"2.0","id":{request_id},"result":{compact}}}\n')
    else:
        arguments = message["params"]["arguments"]
        before = arguments.get("before")
        if before is not None:
            sys.stdout.write(before.replace("{id}", str(request_id)) + "\n")
        body = arguments["body"].replace("{id}", str(request_id))
        sys.stdout.write(f'{{"jsonrpc":"2.0","id":{request_id},{body}\n')
    sys.stdout.flush()
