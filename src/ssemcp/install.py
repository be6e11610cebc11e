"""Adding ssemcp to an MCP client's configuration file: Claude Desktop and Cursor.

Owns where each client keeps its file on each operating system, the entry that starts
ssemcp over stdio (or names a remote server by URL, where the client's file can say so), and
merging that entry into the file without losing anything else in it; the file is replaced
whole (written beside it, then renamed), so a failure leaves the old one intact. Parsing the
command line is ``ssemcp.cli``'s.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ssemcp._types import JSONObject

__all__ = [
    "CLIENTS",
    "DEFAULT_NAME",
    "InstallError",
    "Installation",
    "config_path",
    "connect_entry",
    "merge_entry",
    "plan_installation",
    "remote_entry",
    "stdio_entry",
    "write_installation",
]

CLAUDE_DESKTOP: Final = "claude-desktop"
CURSOR: Final = "cursor"
CLIENTS: Final = (CLAUDE_DESKTOP, CURSOR)
DEFAULT_NAME: Final = "ssemcp"
# Both clients keep their servers under this key (Claude Desktop's "Connect to local MCP
# servers" guide; Cursor's "Model Context Protocol" docs).
_SERVERS_KEY: Final = "mcpServers"
_CLAUDE_FILE: Final = "claude_desktop_config.json"


class InstallError(Exception):
    """The entry cannot be written: the file is not what a client reads, or cannot be
    written; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Installation:
    """What installing would write: ``document`` (the whole file) at ``path``; ``replaced``
    says whether an entry of that name was there already."""

    path: Path
    document: JSONObject
    replaced: bool

    def text(self) -> str:
        return json.dumps(self.document, indent=2, ensure_ascii=False) + "\n"


def config_path(
    client: str,
    *,
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> Path:
    """Where ``client`` reads its MCP servers on ``platform`` (``sys.platform`` values).

    Raises:
        InstallError: an unknown client, or Windows without ``%APPDATA%``.
    """
    home = Path.home() if home is None else home
    if client == CURSOR:
        # Cursor's global file, the same on every system (a project's is .cursor/mcp.json).
        return home / ".cursor" / "mcp.json"
    if client != CLAUDE_DESKTOP:
        raise InstallError(f"unknown client {client!r}; known: {', '.join(CLIENTS)}")
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / _CLAUDE_FILE
    if platform.startswith(("win32", "cygwin")):
        appdata = environ.get("APPDATA")
        if not appdata:
            raise InstallError("APPDATA is not set: pass --config-path")
        return Path(appdata) / "Claude" / _CLAUDE_FILE
    # Linux has no official build; the community ones follow XDG, as the others do.
    config_home = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config_home) / "Claude" / _CLAUDE_FILE


def stdio_entry(arguments: Sequence[str] = (), env: Mapping[str, str] | None = None) -> JSONObject:
    """An entry that starts ``ssemcp stdio ARGUMENTS`` with this very interpreter.

    A desktop app does not start from the user's shell, so it may not find ``ssemcp`` on
    its PATH (a virtualenv's especially): the interpreter's absolute path always works.
    """
    entry: JSONObject = {
        "command": sys.executable,
        "args": ["-m", "ssemcp", "stdio", *arguments],
    }
    if env:
        entry["env"] = dict(env)
    return entry


def connect_entry(
    url: str, headers: Mapping[str, str], env: Mapping[str, str] | None = None
) -> JSONObject:
    """An entry that starts ``ssemcp connect URL --header …`` with this very interpreter: the
    remote server at ``url``, seen by the client as a local stdio one (so Claude Desktop,
    whose file holds local servers only, can use it too).

    Raises:
        InstallError: a URL that is not http(s).
    """
    if not url.startswith(("http://", "https://")):
        raise InstallError(f"--connect must be an http(s) URL, got {url!r}")
    arguments = ["-m", "ssemcp", "connect", url]
    for name, value in headers.items():
        arguments += ["--header", f"{name}: {value}"]
    entry: JSONObject = {"command": sys.executable, "args": list(arguments)}
    if env:
        entry["env"] = dict(env)
    return entry


def remote_entry(client: str, url: str, headers: Mapping[str, str]) -> JSONObject:
    """An entry naming a remote server by URL, for a client whose file can say so.

    Raises:
        InstallError: Claude Desktop (its file holds local servers only), or a URL that is
            not http(s).
    """
    if client == CLAUDE_DESKTOP:
        raise InstallError(
            "Claude Desktop's configuration file holds only local (stdio) servers: add a "
            "remote one in Claude's Settings > Connectors instead, or use --connect URL (a "
            "local `ssemcp connect` relaying to it)"
        )
    if not url.startswith(("http://", "https://")):
        raise InstallError(f"--url must be an http(s) URL, got {url!r}")
    entry: JSONObject = {"url": url}
    if headers:
        entry["headers"] = dict(headers)
    return entry


def _json_position(exc: json.JSONDecodeError) -> str:
    return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"


def merge_entry(existing: str | None, name: str, entry: JSONObject) -> tuple[JSONObject, bool]:
    """``existing`` (a file's text, None when there is none) with ``entry`` as server
    ``name``; every other key and server is kept as it was.

    Returns:
        The merged document, and whether a server of that name was replaced.

    Raises:
        InstallError: the text is not JSON, not an object, or its servers are not an object.
    """
    document: object = {}
    if existing is not None and existing.strip():
        try:
            document = json.loads(existing)
        except json.JSONDecodeError as exc:
            raise InstallError(f"it is not valid JSON ({_json_position(exc)})") from None
    if not isinstance(document, dict):
        raise InstallError("it holds JSON, but not an object")
    servers = document.setdefault(_SERVERS_KEY, {})
    if not isinstance(servers, dict):
        raise InstallError(f'its "{_SERVERS_KEY}" is not an object')
    replaced = name in servers
    servers[name] = entry
    return document, replaced


def plan_installation(path: Path, name: str, entry: JSONObject) -> Installation:
    """What installing ``entry`` as ``name`` into the file at ``path`` would write.

    Raises:
        InstallError: the file cannot be read or is not a client configuration.
    """
    try:
        existing: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise InstallError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InstallError(f"cannot read {path}: not UTF-8 text") from None
    try:
        document, replaced = merge_entry(existing, name, entry)
    except InstallError as exc:
        raise InstallError(f"{path}: {exc}; fix or move it, nothing was written") from None
    return Installation(path, document, replaced)


def write_installation(installation: Installation) -> None:
    """Replace the file with the planned document, atomically; a new file is private to
    its owner (it may hold a token), an existing one keeps its mode.

    Raises:
        InstallError: the directory or the file cannot be written.
    """
    path = installation.path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(installation.text())
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InstallError(f"cannot write {path}: {exc.strerror or exc}") from None
