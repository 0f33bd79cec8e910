"""Design boundaries: the core never imports streamlit; pages never render record text as HTML; storage
imports no domain package (docs/ARCHITECTURE.md)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "mira_core").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []


def test_pages_use_no_html_rendering():
    bad = ("unsafe_allow_html=True", "st.html(", "components.v1", "components.html")
    offenders = [f"{p.relative_to(ROOT)}: {b}" for p in (ROOT / "app").rglob("*.py")
                 for b in bad if b in p.read_text(encoding="utf-8")]
    assert offenders == []


DOMAIN_PACKAGES = frozenset({"scoring", "reliability", "selection", "importers", "views", "ingest", "demo", "cli",
                             "bench"})


def _absolute_imports(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in `path` names, relative ones resolved against its package.

    `from mira_core import reliability` yields both `mira_core` and `mira_core.reliability`, so importing a
    package by name counts like importing it by path.
    """
    package = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def _is_domain(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "mira_core" and len(parts) > 1 and parts[1] in DOMAIN_PACKAGES


def test_storage_imports_no_domain_package():
    """Storage sits below every workflow: it returns plain rows and never builds a domain object."""
    offenders = sorted(
        f"{p.relative_to(ROOT)}: {name}"
        for p in (ROOT / "mira_core" / "storage").rglob("*.py")
        for name in _absolute_imports(p)
        if _is_domain(name)
    )
    assert offenders == []
