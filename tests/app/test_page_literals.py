"""Pages never hold a bare string statement below their docstring: Streamlit's magic would draw it.

Only the scripts Streamlit runs (the entrypoint and `screens/`) are transformed; `ui/` modules are imported.
"""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.mark.parametrize("path", [APP / "main.py", *sorted((APP / "screens").glob("*.py"))], ids=lambda p: str(p.relative_to(APP)))
def test_no_module_level_string_below_the_docstring(path):
    body = ast.parse(path.read_text(encoding="utf-8")).body
    floating = [node.lineno for node in body[1:]
                if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)]
    assert floating == [], f"{path.name}: a string literal on its own line at {floating} is written on the page"
