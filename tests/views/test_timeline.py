"""Folding keeps every character; paging and filters pick the right steps with their true positions."""

from hypothesis import given
from hypothesis import strategies as st

from mira_core.records import Step, StepKind
from mira_core.views.timeline import args_preview, fold_text, shape_timeline, split_args, step_view


def test_fold_by_lines():
    text = "".join(f"line {i}\n" for i in range(30))
    f = fold_text(text, max_lines=12)
    assert f.head.count("\n") == 12
    assert f.head + f.rest == text
    assert f.hidden_lines == 18


def test_short_text_not_folded_and_long_line_folded_by_chars():
    assert fold_text("a\nb\n", max_lines=2) == ("a\nb\n", "", 0)
    f = fold_text("x" * 5000, max_chars=100)
    assert len(f.head) == 100 and len(f.rest) == 4900 and f.hidden_lines == 1


@given(st.text(), st.integers(1, 20), st.integers(1, 200))
def test_fold_never_loses_text(text, lines, chars):
    f = fold_text(text, max_lines=lines, max_chars=chars)
    assert f.head + f.rest == text
    assert (f.rest == "") == (f.hidden_lines == 0)


def _steps(n: int) -> list[Step]:
    out = []
    for i in range(n):
        kind = [StepKind.thought, StepKind.action, StepKind.observation][i % 3]
        out.append(Step(role="assistant", kind=kind, content=f"s{i}", error=(i % 7 == 0), exit_code=1 if i % 7 == 0 else None))
    return out


def test_paging_clamps_and_keeps_global_index():
    steps = _steps(120)
    p = shape_timeline(steps, page=3, per_page=50)
    assert (p.page, p.n_pages, p.total, p.first) == (3, 3, 120, 101)
    assert [v.index for v in p.items] == list(range(101, 121))
    assert shape_timeline(steps, page=99, per_page=50).page == 3
    assert shape_timeline(steps, page=0, per_page=50).items[0].index == 1


def test_filters_by_kind_and_errors():
    steps = _steps(30)
    obs = shape_timeline(steps, kinds=[StepKind.observation])
    assert all(v.kind == StepKind.observation for v in obs.items) and obs.total == 10
    errs = shape_timeline(steps, errors_only=True)
    assert [v.index for v in errs.items] == [1, 8, 15, 22, 29]
    assert shape_timeline([], page=1).items == [] and shape_timeline([]).first == 0


def test_step_view_makes_controls_visible_and_extracts_command():
    s = Step(role="assistant", kind=StepKind.action, tool_name="bash\u001b[0m", tool_args={"command": "ls\u001b[31m -la", "n": 2})
    v = step_view(4, s)
    assert v.tool_name == "bash␛[0m"
    assert v.command == "ls␛[31m -la"
    assert v.args_preview == "ls␛[31m -la"
    assert args_preview({"path": "a.py", "view_range": [1, 5]}) == '{"path": "a.py", "view_range": [1, 5]}'
    assert args_preview({"command": "x" * 200}, limit=10) == "x" * 9 + "…"


def test_editor_calls_preview_command_and_path_and_split_long_text():
    args = {"command": "str_replace", "path": "/repo/a.py", "old_str": "x = 1\ny = 2", "new_str": "x = 2", "n": 3}
    assert args_preview(args) == "str_replace /repo/a.py"
    short, long = split_args(args)
    assert short == {"command": "str_replace", "path": "/repo/a.py", "new_str": "x = 2", "n": 3}
    assert long == {"old_str": "x = 1\ny = 2"}
    assert split_args({"file_text": "a" * 101})[1] == {"file_text": "a" * 101}
    assert split_args(None) == ({}, {})
