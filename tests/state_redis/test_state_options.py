"""``--state`` / ``create_app(state=)``: what they accept, what they refuse, and that nothing
loads the redis client unless a Redis URL is given."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from live_server import INITIALIZE, serve_subprocess
from redis_server import RedisServer

from ssemcp import Server
from ssemcp.cli import main
from ssemcp.http import create_app


def test_importing_ssemcp_and_an_app_in_memory_loads_no_redis_client() -> None:
    code = textwrap.dedent(
        """
        import sys
        import ssemcp, ssemcp.cli
        from ssemcp.http import create_app
        create_app(ssemcp.Server("s", "1"))
        print("redis" in sys.modules)
        """
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("url", "prefix", "message"),
    [
        ("http://127.0.0.1:6379", "ssemcp", "redis://"),
        ("127.0.0.1:6379", "ssemcp", "redis://"),
        ("redis://127.0.0.1:6379/0", "has space", "prefix"),
        ("redis://127.0.0.1:6379/0", "", "prefix"),
    ],
)
def test_create_app_refuses_a_malformed_url_or_prefix(url: str, prefix: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_app(Server("s", "1"), state=url, state_prefix=prefix)


def test_state_with_a_session_factory_is_refused() -> None:
    with pytest.raises(ValueError, match="session factory"):
        create_app(
            Server("s", "1"),
            state="redis://127.0.0.1:1/0",
            sessions=lambda *args, **kwargs: None,  # type: ignore[arg-type, return-value]
        )


def test_serve_refuses_a_malformed_state_url_before_starting() -> None:
    result = CliRunner().invoke(main, ["serve", "--state", "http://127.0.0.1:6379"])
    assert result.exit_code == 2
    assert "redis://" in result.output


def test_serve_state_is_http_only() -> None:
    result = CliRunner().invoke(main, ["serve", "--stdio", "--state", "redis://127.0.0.1:1/0"])
    assert result.exit_code == 2
    assert "--state" in result.output


async def test_two_serve_processes_share_sessions_through_redis(
    redis: RedisServer, prefix: str, tmp_path: Path
) -> None:
    server_file = tmp_path / "replica_server.py"
    server_file.write_text("from ssemcp import Server\nserver = Server('replica', '1')\n")
    target = f"{server_file}:server"
    arguments = ("--state", redis.url, "--state-prefix", prefix, "--state-key", "k" * 16)
    headers = {"accept": "application/json, text/event-stream"}
    async with (
        serve_subprocess(target, *arguments, log_dir=tmp_path) as first,
        serve_subprocess(target, *arguments, log_dir=tmp_path) as second,
        httpx.AsyncClient(timeout=10) as client,
    ):
        opened = await client.post(first.mcp_url, json=INITIALIZE, headers=headers)
        assert opened.status_code == 200, opened.text
        session = {"mcp-session-id": opened.headers["mcp-session-id"], **headers}
        pinged = await client.post(
            second.mcp_url, json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, headers=session
        )
        assert pinged.status_code == 200, pinged.text
        assert pinged.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
        assert (await client.delete(second.mcp_url, headers=session)).status_code == 204
        gone = await client.post(
            first.mcp_url, json={"jsonrpc": "2.0", "id": 3, "method": "ping"}, headers=session
        )
        assert gone.status_code == 404
