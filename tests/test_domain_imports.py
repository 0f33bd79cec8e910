"""Import rules the records refactor established: importers never reach storage, and ingest and the demo
name database handles through `mira_core.storage`'s re-exported types instead of importing SQLAlchemy."""

import ast
from pathlib import Path

import sqlalchemy

import mira_core.storage

CORE = Path(__file__).resolve().parents[1] / "mira_core"


def _modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_storage_re_exports_the_handle_types():
    assert {"Connection", "Engine"} <= set(mira_core.storage.__all__)
    assert mira_core.storage.Engine is sqlalchemy.Engine and mira_core.storage.Connection is sqlalchemy.Connection


def test_importers_do_not_import_storage():
    offenders = [f"{p.name}: {m}" for p in (CORE / "importers").glob("*.py")
                 for m in _modules(p) if m.startswith("mira_core.storage")]
    assert offenders == []


def test_ingest_and_demo_do_not_import_sqlalchemy():
    files = [CORE / "ingest.py", *(CORE / "demo").glob("*.py")]
    offenders = [f"{p.name}: {m}" for p in files for m in _modules(p) if m.split(".")[0] == "sqlalchemy"]
    assert offenders == []
