"""``ssemcp install claude-desktop|cursor``: where each client's file is, the entry written,
merging with what the file holds, and refusing to touch a file it cannot understand.

Every test writes to a temporary ``--config-path``; one runs the written stdio entry as the
client would, and checks it answers an MCP ``initialize``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ssemcp.cli import main
from ssemcp.install import InstallError, config_path

HOME = Path("/home/ada")
OTHER_SERVERS = {"mcpServers": {"other": {"command": "other-server", "args": ["--x"]}}}


def install(*args: str) -> Result:
    return CliRunner().invoke(main, ["install", *args], catch_exceptions=False)


def read(path: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize(
    ("client", "platform", "environ", "expected"),
    [
        (
            "claude-desktop",
            "darwin",
            {},
            HOME / "Library/Application Support/Claude/claude_desktop_config.json",
        ),
        (
            "claude-desktop",
            "win32",
            {"APPDATA": "C:/Users/ada/AppData/Roaming"},
            Path("C:/Users/ada/AppData/Roaming/Claude/claude_desktop_config.json"),
        ),
        ("claude-desktop", "linux", {}, HOME / ".config/Claude/claude_desktop_config.json"),
        (
            "claude-desktop",
            "linux",
            {"XDG_CONFIG_HOME": "/xdg"},
            Path("/xdg/Claude/claude_desktop_config.json"),
        ),
        ("cursor", "darwin", {}, HOME / ".cursor/mcp.json"),
        ("cursor", "win32", {"APPDATA": "C:/x"}, HOME / ".cursor/mcp.json"),
        ("cursor", "linux", {}, HOME / ".cursor/mcp.json"),
    ],
)
def test_each_client_file_is_where_that_client_reads_it(
    client: str, platform: str, environ: dict[str, str], expected: Path
) -> None:
    assert config_path(client, platform=platform, environ=environ, home=HOME) == expected


def test_windows_without_appdata_asks_for_a_path() -> None:
    with pytest.raises(InstallError, match="APPDATA is not set: pass --config-path"):
        config_path("claude-desktop", platform="win32", environ={}, home=HOME)


def test_dry_run_prints_the_file_and_its_path_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "claude" / "claude_desktop_config.json"
    result = install("claude-desktop", "--config-path", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    first, _, rest = result.output.partition("\n")
    assert first == f"# would write {path}"
    assert json.loads(rest) == {
        "mcpServers": {"ssemcp": {"command": sys.executable, "args": ["-m", "ssemcp", "stdio"]}}
    }
    assert not path.exists()
    assert not path.parent.exists()


def test_install_creates_a_private_file_whose_entry_starts_a_working_server(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new" / "mcp.json"
    result = install("cursor", "--config-path", str(path), "--", "--toolsets", "utilities")
    assert result.exit_code == 0, result.output
    assert result.output == f"added server 'ssemcp' in {path}; restart cursor to load it\n"
    assert path.stat().st_mode & 0o777 == 0o600
    entry = read(path)["mcpServers"]["ssemcp"]  # type: ignore[index]
    assert entry["args"][-2:] == ["--toolsets", "utilities"]
    # Start it as the client would, and speak MCP to it.
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "install-test", "version": "1"},
        },
    }
    completed = subprocess.run(
        [entry["command"], *entry["args"]],
        input=json.dumps(initialize) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout.splitlines()[0])
    assert answer["id"] == 1
    assert answer["result"]["serverInfo"]["name"] == "ssemcp"


def test_install_keeps_every_other_server_and_key(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps({**OTHER_SERVERS, "globalShortcut": "Ctrl+Space"}), encoding="utf-8")
    path.chmod(0o640)
    result = install("claude-desktop", "--config-path", str(path), "--name", "hn")
    assert result.exit_code == 0, result.output
    document = read(path)
    assert document["globalShortcut"] == "Ctrl+Space"
    servers = document["mcpServers"]
    assert isinstance(servers, dict)
    assert servers["other"] == OTHER_SERVERS["mcpServers"]["other"]
    assert servers["hn"]["args"] == ["-m", "ssemcp", "stdio"]
    assert path.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode


def test_installing_again_replaces_the_entry_of_that_name(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    assert install("cursor", "--config-path", str(path)).exit_code == 0
    result = install("cursor", "--config-path", str(path), "--env", "GITHUB_TOKEN=ghp_x")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("replaced server 'ssemcp'")
    servers = read(path)["mcpServers"]
    assert servers == {  # one entry, the new one
        "ssemcp": {
            "command": sys.executable,
            "args": ["-m", "ssemcp", "stdio"],
            "env": {"GITHUB_TOKEN": "ghp_x"},
        }
    }


def test_cursor_gets_a_remote_server_with_its_headers(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    result = install(
        "cursor",
        "--config-path",
        str(path),
        "--url",
        "https://mcp.example.com/tools/mcp",
        "--header",
        "Authorization: Bearer secret-token",
    )
    assert result.exit_code == 0, result.output
    assert read(path)["mcpServers"] == {
        "ssemcp": {
            "url": "https://mcp.example.com/tools/mcp",
            "headers": {"Authorization": "Bearer secret-token"},
        }
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"mcpServers": {', "it is not valid JSON (line 1, column 17"),
        ("{'single': 'quotes'}", "it is not valid JSON (line 1, column 2"),
        ("[1, 2]", "it holds JSON, but not an object"),
        ('{"mcpServers": []}', 'its "mcpServers" is not an object'),
    ],
)
def test_a_file_it_cannot_understand_is_left_untouched(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(text, encoding="utf-8")
    result = install("cursor", "--config-path", str(path))
    assert result.exit_code == 1
    assert f"Error: {path}: {expected}" in result.output
    assert "nothing was written" in result.output
    assert path.read_text(encoding="utf-8") == text
    assert sorted(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_an_empty_file_is_taken_as_no_servers_yet(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text("\n", encoding="utf-8")
    assert install("cursor", "--config-path", str(path)).exit_code == 0
    assert list(read(path)["mcpServers"]) == ["ssemcp"]  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["claude-desktop", "--url", "https://h/mcp"], "holds only local (stdio) servers"),
        (["cursor", "--url", "ftp://h/mcp"], "--url must be an http(s) URL"),
        (["cursor", "--header", "Authorization: Bearer x"], "--header is for a remote server"),
        (["cursor", "--url", "https://h/mcp", "--env", "A=1"], "are for a local server"),
        (["cursor", "--url", "https://h/mcp", "--", "--toolsets", "x"], "are for a local"),
        (["cursor", "--url", "https://h/mcp", "--header", "no-colon"], "NAME:VALUE"),
        (["cursor", "--env", "=value"], "--env takes NAME=VALUE"),
        (["vscode"], "'vscode' is not one of 'claude-desktop', 'cursor'"),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_written(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    path = tmp_path / "mcp.json"
    result = CliRunner().invoke(main, ["install", *args, "--config-path", str(path)])
    assert result.exit_code in (1, 2)
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not path.exists()


def test_a_path_through_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    result = install("cursor", "--config-path", str(blocker / "mcp.json"))
    assert result.exit_code == 1
    assert result.output == f"Error: cannot read {blocker / 'mcp.json'}: Not a directory\n"


def test_a_file_that_is_not_utf8_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    result = install("cursor", "--config-path", str(path))
    assert result.exit_code == 1
    assert "not UTF-8 text" in result.output
    assert path.read_bytes() == b'{"name": "caf\xe9"}'


def test_a_directory_as_the_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["install", "cursor", "--config-path", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a directory" in result.output
