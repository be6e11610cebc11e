"""The packages import downward only (docs/architecture.md): the ASGI vocabulary sits below
both the transports and the app, so ``ssemcp.transports`` never imports ``ssemcp.http``, and
of ``ssemcp.http`` only the app (which routes to the transports) imports ``ssemcp.transports``.
The protocol core imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ssemcp"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def modules_of(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "forbidden", "allowed_files"),
    [
        ("transports", "ssemcp.http", set()),
        ("http", "ssemcp.transports", {"app.py"}),
        ("asgi", "ssemcp.http", set()),
        ("asgi", "ssemcp.transports", set()),
        ("protocol", "ssemcp.http", set()),
        ("protocol", "ssemcp.transports", set()),
        ("protocol", "ssemcp.server", set()),
        ("server", "ssemcp.http", set()),
        ("server", "ssemcp.transports", set()),
    ],
)
def test_a_layer_does_not_import_the_one_above_or_beside_it(
    package: str, forbidden: str, allowed_files: set[str]
) -> None:
    offenders = {
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in modules_of(package)
        if path.name not in allowed_files
        for module in imported_modules(path)
        if module == forbidden or module.startswith(forbidden + ".")
    }
    assert offenders == set()
