"""Design boundaries: the core never imports streamlit; pages never render record text as HTML."""

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
