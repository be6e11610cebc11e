"""``ssemcp serve tests/observe/observe_server.py:server``: the observation tests' server,
with one handler of each kind (loaded by path, so it imports nothing of the tests)."""

from __future__ import annotations

from ssemcp import Server, ToolError


def build_server() -> Server:
    server = Server("observe-test", "1.0.0")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool()
    async def fail(reason: str) -> str:
        """Fail as a tool does."""
        raise ToolError(f"failed: {reason}")

    @server.tool()
    def login(user: str, password: str) -> str:
        """Take a secret-looking argument."""
        return f"hello {user}"

    @server.resource("notes://{topic}", mime_type="text/plain")
    def note(topic: str) -> str:
        return f"notes about {topic}"

    @server.prompt()
    def review(code: str) -> str:
        """Ask for a review."""
        return f"review {code}"

    return server


server = build_server()
