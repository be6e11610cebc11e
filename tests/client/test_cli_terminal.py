"""The client commands on a terminal (a pseudo-terminal): the user is asked when the server
elicits, tool text is rendered as Markdown, and progress shows without breaking the result."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
from fixture_server import build_server
from live_server import LiveServer, live_server

# Escape sequences (colours, cursor moves) stripped before reading the screen as text.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
DEADLINE_SECONDS = 30.0


class Terminal:
    """``python -m ssemcp ARGS`` on a pseudo-terminal: stdin, stdout and stderr all on it."""

    def __init__(self, *arguments: str) -> None:
        self.controller, child = pty.openpty()
        environment = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"}
        environment.pop("NO_COLOR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ssemcp", *arguments],
            stdin=child,
            stdout=child,
            stderr=child,
            env=environment,
            close_fds=True,
        )
        os.close(child)
        self.screen = ""

    def _read_some(self) -> bool:
        try:
            data = os.read(self.controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.screen += ANSI.sub("", data.decode("utf-8", "replace"))
        return True

    async def expect(self, text: str) -> None:
        """Read until ``text`` is on the screen (a deadline, never a fixed sleep)."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while text not in self.screen:
            assert time.monotonic() < deadline, f"{text!r} never came; screen:\n{self.screen}"
            if not await asyncio.to_thread(self._read_some):
                assert text in self.screen, f"{text!r} never came; screen:\n{self.screen}"

    def type(self, keys: str) -> None:
        os.write(self.controller, keys.encode())

    async def finish(self) -> int:
        while await asyncio.to_thread(self._read_some):
            pass
        code = await asyncio.to_thread(self.process.wait, DEADLINE_SECONDS)
        os.close(self.controller)
        return code


@pytest.fixture
async def live() -> AsyncIterator[LiveServer]:
    async with live_server(build_server()) as running:
        yield running


async def test_elicitation_asks_the_user_on_a_terminal(live: LiveServer) -> None:
    terminal = Terminal("call", live.mcp_url, "greet")
    await terminal.expect("The server asks: Your name?")
    await terminal.expect("Answer it?")
    terminal.type("y\n")
    await terminal.expect("name")
    terminal.type("Ada\n")
    assert await terminal.finish() == 0
    assert "hello Ada" in terminal.screen


async def test_declining_on_a_terminal_tells_the_server(live: LiveServer) -> None:
    terminal = Terminal("call", live.mcp_url, "greet", "--transport", "streamable")
    await terminal.expect("Answer it?")
    terminal.type("n\n")
    assert await terminal.finish() == 0
    assert "no name (decline)" in terminal.screen


async def test_tool_text_is_rendered_as_markdown_on_a_terminal(live: LiveServer) -> None:
    terminal = Terminal("call", live.mcp_url, "echo", "text=# Title\n\nsome **bold** text")
    assert await terminal.finish() == 0
    assert "Title" in terminal.screen
    assert "some bold text" in terminal.screen  # the asterisks became formatting
    assert "# Title" not in terminal.screen


async def test_progress_on_a_terminal_leaves_the_result_readable(live: LiveServer) -> None:
    terminal = Terminal("call", live.mcp_url, "steps", "count=3")
    assert await terminal.finish() == 0
    assert "3 steps" in terminal.screen
