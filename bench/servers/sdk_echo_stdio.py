"""The official MCP Python SDK's echo server (``bench/servers/sdk_echo.py``) over stdio.

The same ``MCPServer`` with the same ``echo`` tool, run by the SDK's own ``run("stdio")``:
the stdio server ``bench/bridge.py`` drives directly and through the gateways.

Run: ``python bench/servers/sdk_echo_stdio.py`` (speaks MCP on stdin/stdout).
"""

from __future__ import annotations

from sdk_echo import build  # this file's directory is on sys.path when run as a script

if __name__ == "__main__":
    build().run("stdio")
