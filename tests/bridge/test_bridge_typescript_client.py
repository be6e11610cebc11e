"""The official TypeScript SDK client (pinned ``@modelcontextprotocol/sdk`` 1.32.2, in
``tests/bridge/node``) drives ``@modelcontextprotocol/server-everything`` through ``ssemcp
bridge``, over Streamable HTTP and legacy SSE: a client and a server, neither ours, with the
bridge between them.

Owns judging what ``node/bridge_client.mjs`` saw: tools, a call, progress, and a sampling round
trip. Skipped when Node or the pinned packages are missing (``./scripts/test`` installs them).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Final

import pytest
from bridge_support import TRANSPORTS, bridged

pytestmark = pytest.mark.interop

NODE: Final = shutil.which("node")
NODE_DIRECTORY: Final = Path(__file__).with_name("node")
CLIENT_SCRIPT: Final = NODE_DIRECTORY / "bridge_client.mjs"
EVERYTHING: Final = (
    NODE_DIRECTORY / "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
)
if (
    NODE is None
    or not EVERYTHING.exists()
    or not (NODE_DIRECTORY / "node_modules/@modelcontextprotocol/sdk").exists()
):
    pytest.skip(
        "node or the pinned npm packages are missing (./scripts/test installs them)",
        allow_module_level=True,
    )
SERVER_COMMAND: Final = (str(NODE), str(EVERYTHING), "stdio")
CLIENT_TIMEOUT_SECONDS: Final = 90.0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_typescript_client_through_the_bridge_to_server_everything(transport: str) -> None:
    async with bridged(SERVER_COMMAND) as running:
        url = running.url + ("/mcp" if transport == "streamable-http" else "/sse")
        assert NODE is not None
        process = await asyncio.create_subprocess_exec(
            NODE,
            str(CLIENT_SCRIPT),
            transport,
            url,
            cwd=NODE_DIRECTORY,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT_SECONDS):
                stdout, stderr = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    record = json.loads(stdout)
    assert record["ok"], (record, stderr.decode(errors="replace"))
    assert record["serverName"].startswith("mcp-servers/everything")
    assert {"echo", "get-sum", "trigger-long-running-operation"} <= set(record["tools"])
    assert record["echo"] == "Echo: hi"
    # Each report before its call's result (the SDK may drop the last from onprogress when
    # both arrive in one read: see bridge_client.mjs).
    wire = record["wire"]
    long_call = wire.index("progress 1")
    assert wire[long_call : long_call + 3] == ["progress 1", "progress 2", "progress 3"]
    assert wire[long_call + 3].startswith("result ")
    assert record["progress"] in ([1, 2], [1, 2, 3])
    assert not record["longIsError"]
    assert "from TypeScript" in record["sampled"]
    assert record["samplingPrompt"].endswith("who?")
