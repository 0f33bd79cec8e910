"""Design boundaries, checked by scanning the source tree (docs/ARCHITECTURE.md draws the picture).

Every rule is a function of an import's target, so a new file is covered the moment it exists: no list of
today's files is kept here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "mira_core"
GROUND = {"errors", "settings", "dimensions", "records", "query", "text_rules", "jsonstream", "timeutil",
          "jsonl_config", "identity"}
DOMAIN = {"scoring", "reliability", "selection", "importers", "ingest", "ingest_worker", "input_files", "demo",
          "team"}
ABOVE_DOMAIN = {"views", "cli", "bench"}
APP_FACES = {"mira_core", "mira_core.errors", "mira_core.settings", "mira_core.dimensions", "mira_core.records",
             "mira_core.query", "mira_core.storage", "mira_core.identity"}
"""Modules `app/` may import besides `mira_core.views.*` and the domain packages' own `__init__`."""


def _module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in a file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            for alias in node.names:
                # `from mira_core.storage import tables` imports a module: report the submodule
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if sub in _MODULES else base


_MODULES = {_module_of(p) for p in CORE.rglob("*.py")}


def _top(module: str) -> str:
    """The first part after `mira_core.` (the package or ground-floor module), or ''."""
    parts = module.split(".")
    return parts[1] if parts[0] == "mira_core" and len(parts) > 1 else ""


def violations(files: list[Path], rule) -> list[str]:  # type: ignore[no-untyped-def]
    """`file:line imports X` for each import the rule refuses (the rule returns a reason or None)."""
    out = []
    for path in files:
        for line, target in sorted(set(imports_of(path))):
            reason = rule(_module_of(path), target)
            if reason:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {target} ({reason})")
    return out


def storage_rule(_src: str, target: str) -> str | None:
    """Storage imports only the ground floor (and itself, and third-party packages)."""
    top = _top(target)
    if top and top != "storage" and top not in GROUND:
        return "storage imports only the ground floor"
    return None


def ground_rule(_src: str, target: str) -> str | None:
    """The ground floor imports nothing of mira_core but other ground-floor modules."""
    top = _top(target)
    if top and top not in GROUND:
        return "ground-floor modules import only each other"
    return None


def domain_rule(src: str, target: str) -> str | None:
    """Domain packages: no SQLAlchemy, no storage internals, nothing from the floors above them."""
    top = _top(target)
    if target.split(".")[0] == "sqlalchemy":
        return "only storage speaks SQLAlchemy (use mira_core.storage's Engine/Connection)"
    if target.startswith(("mira_core.storage.tables", "mira_core.storage.rows", "mira_core.storage.engine",
                          "mira_core.storage.migrate")):
        return "domain code reaches the database through repositories and mira_core.storage's face"
    if top in ABOVE_DOMAIN:
        return f"{top} sits above the domain packages"
    return None


def views_rule(_src: str, target: str) -> str | None:
    """Views load and shape data; they never reach past repositories or up to the edges."""
    reason = domain_rule(_src, target)
    if reason and "sits above" in reason and _top(target) == "views":
        return None
    return reason


def app_rule(_src: str, target: str) -> str | None:
    """Pages use mira_core's public faces only."""
    if target.split(".")[0] == "sqlalchemy":
        return "pages never speak SQLAlchemy"
    if not target.startswith("mira_core"):
        return None
    if target in APP_FACES or target.startswith("mira_core.views"):
        return None
    if _top(target) in DOMAIN and target.count(".") == 1:
        return None  # a domain package's own __init__
    if target.startswith("mira_core.storage.") and target.count(".") == 2 and not target.endswith(
            ("tables", "rows", "engine", "migrate")):
        return "pages load data through mira_core.views, not repositories"
    return "pages import mira_core's public faces (views, errors, settings, dimensions, records, query)"


def _files(*parts: str) -> list[Path]:
    return sorted(p for part in parts for p in (ROOT / part).rglob("*.py"))


def _ground_files() -> list[Path]:
    return [CORE / f"{name}.py" for name in sorted(GROUND) if (CORE / f"{name}.py").is_file()]


def _domain_files() -> list[Path]:
    out = []
    for name in sorted(DOMAIN):
        path = CORE / name
        out += sorted(path.rglob("*.py")) if path.is_dir() else [p for p in [CORE / f"{name}.py"] if p.is_file()]
    return out


CASES = {
    "storage imports only the ground floor": (lambda: _files("mira_core/storage"), storage_rule),
    "the ground floor imports only itself": (_ground_files, ground_rule),
    "domain packages stay below views and above storage's internals": (_domain_files, domain_rule),
    "views reach the database through repositories": (lambda: _files("mira_core/views"), views_rule),
    "pages use public faces only": (lambda: _files("app"), app_rule),
}


@pytest.mark.parametrize("case", list(CASES))
def test_arrows_point_one_way(case):
    files, rule = CASES[case]
    assert violations(files(), rule) == []


@pytest.mark.parametrize(("case", "source", "target"), [
    ("storage imports only the ground floor", "mira_core.storage.x_repo", "mira_core.reliability.masks"),
    ("storage imports only the ground floor", "mira_core.storage.x_repo", "mira_core.selection"),
    ("the ground floor imports only itself", "mira_core.records", "mira_core.storage.tables"),
    ("domain packages stay below views and above storage's internals", "mira_core.scoring.jobs", "sqlalchemy"),
    ("domain packages stay below views and above storage's internals", "mira_core.selection.x",
     "mira_core.storage.tables"),
    ("domain packages stay below views and above storage's internals", "mira_core.reliability.x", "mira_core.views"),
    ("pages use public faces only", "app.screens.browse", "mira_core.storage.records_repo"),
    ("pages use public faces only", "app.screens.browse", "mira_core.storage.tables"),
    ("pages use public faces only", "app.screens.browse", "sqlalchemy.exc"),
    ("pages use public faces only", "app.screens.browse", "mira_core.reliability.masks"),
])
def test_each_rule_refuses_a_forbidden_import(case, source, target):
    """The rules are not vacuous: each refuses an import that broke the direction on an earlier main."""
    assert CASES[case][1](source, target)


def test_a_forbidden_import_in_a_new_file_is_found(monkeypatch):
    """The scan reads whatever files exist: a new storage module importing a domain package fails it."""
    fake = ROOT / "mira_core" / "storage" / "_boundary_probe.py"
    monkeypatch.setattr(Path, "rglob", lambda self, pattern: iter([fake]))
    monkeypatch.setattr(Path, "read_text", lambda self, encoding="utf-8": "from ..reliability import masks\n")
    found = violations(_files("mira_core/storage"), storage_rule)
    assert found == ["mira_core/storage/_boundary_probe.py:1 imports mira_core.reliability.masks "
                     "(storage imports only the ground floor)"]


def test_core_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in CORE.rglob("*.py")
                 if any(t.split(".")[0] == "streamlit" for _, t in imports_of(p))]
    assert offenders == []


def test_pages_use_no_html_rendering():
    bad = ("unsafe_allow_html=True", "st.html(", "components.v1", "components.html")
    offenders = [f"{p.relative_to(ROOT)}: {b}" for p in (ROOT / "app").rglob("*.py")
                 for b in bad if b in p.read_text(encoding="utf-8")]
    assert offenders == []
