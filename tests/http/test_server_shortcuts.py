"""ssemcp.asgi.shortcuts: the transports reach a server's shortcuts only through the
table its layer fills, so that nothing but serving over uvicorn imports uvicorn."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ssemcp.asgi import ASGIMessage
from ssemcp.asgi import shortcuts as server_shortcuts


class FakeCycle:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    async def send(self, message: ASGIMessage) -> None:
        raise AssertionError("the shortcut, not the ASGI path, was expected")


def test_a_send_of_no_registered_server_takes_the_asgi_path() -> None:
    async def plain_send(message: ASGIMessage) -> None:
        pass

    assert not server_shortcuts.send_whole_response(plain_send, 200, b"", b"{}")
    assert not server_shortcuts.abort(plain_send)
    assert not server_shortcuts.on_disconnect(plain_send, lambda: None)
    assert not server_shortcuts.send_whole_response(FakeCycle().send, 200, b"", b"{}")


def test_a_registered_cycle_gets_its_own_shortcuts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_shortcuts, "_SHORTCUTS", {})  # this test's table only
    calls: list[tuple[object, ...]] = []
    server_shortcuts.register(
        FakeCycle,
        server_shortcuts.Shortcuts(
            lambda cycle, status, headers, body: (
                calls.append((cycle, status, headers, body)) is None
            ),
            lambda cycle: calls.append((cycle, "abort")),
            lambda cycle, callback: calls.append((cycle, callback)) is None,
        ),
    )
    cycle = FakeCycle()
    assert server_shortcuts.send_whole_response(cycle.send, 202, b"a: b\r\n", b"")
    assert server_shortcuts.abort(cycle.send)
    assert server_shortcuts.on_disconnect(cycle.send, print)
    assert calls == [(cycle, 202, b"a: b\r\n", b""), (cycle, "abort"), (cycle, print)]


def imported_after(code: str) -> set[str]:
    """The top-level packages of the HTTP servers (and httpx, which only the built-in tool
    sets need) loaded after running ``code`` in a fresh interpreter."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        """
        import sys
        servers = ("uvicorn", "httptools", "uvloop", "h11", "websockets", "watchfiles", "httpx")
        print(" ".join(sorted({name.split(".")[0] for name in sys.modules} & set(servers))))
        print("ssemcp.http.whole_response" in sys.modules)
        """
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split("\n")
    return set(output[0].split()) | ({"whole_response"} if output[1] == "True" else set())


def test_importing_ssemcp_its_server_stdio_and_cli_loads_no_http_server() -> None:
    assert (
        imported_after(
            """
            import ssemcp
            import ssemcp.cli
            import ssemcp.transports.stdio
            from ssemcp import Server, create_app
            create_app(Server("probe"))
            """
        )
        == set()
    )


def test_an_app_started_under_uvicorn_loads_uvicorns_shortcuts() -> None:
    loaded = imported_after(
        """
        import asyncio
        import uvicorn
        from ssemcp import Server, create_app

        class Started(Exception):
            pass

        async def receive():
            return {"type": "lifespan.startup"}

        async def send(message):
            assert message["type"] == "lifespan.startup.complete"
            raise Started

        try:
            asyncio.run(create_app(Server("probe"))({"type": "lifespan"}, receive, send))
        except Started:
            pass
        """
    )
    assert "whole_response" in loaded
