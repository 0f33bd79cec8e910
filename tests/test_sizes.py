"""Small pieces: no function in mira_core or app over 50 lines, no module over 400 (STYLE.md, issue 9)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 50
MAX_MODULE_LINES = 400


def _sources() -> list[Path]:
    return sorted(p for part in ("mira_core", "app") for p in (ROOT / part).rglob("*.py"))


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`file:line name (n lines)` for each function or method longer than `limit` lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and (node.end_lineno or node.lineno) - node.lineno + 1 > limit]


def test_no_function_is_over_50_lines():
    assert [f for p in _sources() for f in long_functions(p)] == []


def test_no_module_is_over_400_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in _sources()}
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_the_length_check_counts_what_it_should(tmp_path, monkeypatch):
    monkeypatch.setattr("tests.test_sizes.ROOT", tmp_path)
    src = tmp_path / "m.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(50))
    src.write_text(f"def short():\n    return 1\n\n\nasync def long():\n{body}\n", encoding="utf-8")
    assert long_functions(src) == ["m.py:5 long (51 lines)"]
