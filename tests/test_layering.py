"""Imports point down only: graphql_schema -> app -> vendors (see ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# Which top-level packages each package may not import, and the one sanctioned exception.
FORBIDDEN = {
    "vendors": {"app", "graphql_schema"},
    "app": {"graphql_schema"},
}
EXCEPTIONS = {ROOT / "app" / "server.py"}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if path not in EXCEPTIONS
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import app.db\nfrom graphql_schema.schema import x\nfrom . import y\n")
    assert _imported_packages(sample) == {"app", "graphql_schema"}
