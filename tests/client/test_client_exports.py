"""``ssemcp.client``'s public surface is exactly its ``__all__``, and importing it (or the CLI)
loads no HTTP library until a URL is used."""

from __future__ import annotations

import subprocess
import sys

import ssemcp.client


def test_client_all_is_complete() -> None:
    public = {name for name in dir(ssemcp.client) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(ssemcp.client, name)).__name__ == "module"}
    assert set(ssemcp.client.__all__) == public - modules
    assert len(set(ssemcp.client.__all__)) == len(ssemcp.client.__all__)
    # The order is ruff's (RUF022: constants, then classes, each sorted).


def test_exported_classes_show_the_public_module() -> None:
    for name in ssemcp.client.__all__:
        value = getattr(ssemcp.client, name)
        if isinstance(value, type):
            # Client is exported from ssemcp itself too, which shows the shorter path.
            expected = "ssemcp" if name in ssemcp.__all__ else "ssemcp.client"
            assert value.__module__ == expected, name


def test_importing_the_client_and_the_cli_loads_neither_httpx_nor_rich() -> None:
    code = (
        "import sys, ssemcp.client, ssemcp.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'rich', 'uvicorn')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_the_client_stands_on_the_protocol_core_and_the_codecs_only() -> None:
    import ast
    from pathlib import Path

    package = Path(ssemcp.client.__file__).parent
    forbidden = ("ssemcp.server", "ssemcp.transports", "ssemcp.http", "ssemcp.asgi", "ssemcp.auth")
    offenders = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module
                else []
            )
            offenders.update(
                f"{path.name} imports {name}" for name in names if name.startswith(forbidden)
            )
    assert offenders == set()
