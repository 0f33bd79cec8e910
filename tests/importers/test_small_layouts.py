"""Layouts with no file in the real folder (mini-swe-agent) and the `--format` override."""

from __future__ import annotations

import json

from mira_core.ingest import import_paths
from mira_core.query import RecordFilter
from mira_core.records import StepKind
from mira_core.storage import records_repo
from mira_core.storage.engine import read_conn

MINI = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "<pr_description>\nDivision by zero in calc\n</pr_description>\nFix it."},
    {"role": "assistant", "content": "THOUGHT: look first.\n\n```mswea_bash_command\nls -la\n```"},
    {"role": "user", "content": "<returncode>0</returncode>\n<output>\ncalc.py\n</output>"},
    {"role": "assistant", "content": "THOUGHT: run it.\n\n```bash\npython calc.py\n```"},
    {"role": "user", "content": "<returncode>1</returncode>\n<output>\nZeroDivisionError\n</output>"},
    {"role": "assistant", "content": "Submit.\n\n```mswea_bash_command\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff\n```"},
    {"role": "user", "content": "<returncode>0</returncode>\n<output>\nCOMPLETE\ndiff --git a/calc.py b/calc.py\n+x\n</output>"},
]


def _only_record(engine):
    with read_conn(engine) as conn:
        (row,) = list(records_repo.iter_record_metadata(conn, RecordFilter()))
        return records_repo.get_record(conn, row["record_id"])


def test_mini_swe_agent_bare_message_array(engine, tmp_path):
    f = tmp_path / "github_issue.traj.json"
    f.write_text(json.dumps(MINI, indent=1))
    summary = import_paths(engine, [f], source="swe_qa")
    assert summary.rejected == [] and summary.layouts == {"mini_swe_agent": 1}
    rec = _only_record(engine)
    assert (rec.instance_id, rec.agent, rec.issue) == ("github_issue", "mini-swe-agent", "Division by zero in calc")
    acts = [s.tool_args["command"] for s in rec.steps if s.kind == StepKind.action]
    assert acts == ["ls -la", "python calc.py", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff"]
    obs = [(s.exit_code, s.error) for s in rec.steps if s.kind == StepKind.observation]
    assert obs == [(0, False), (1, True), (0, False)]
    assert rec.patch == "diff --git a/calc.py b/calc.py\n+x\n"


def test_mini_swe_agent_saved_object(engine, tmp_path):
    f = tmp_path / "o__r-3.traj.json"
    info = {"exit_status": "Submitted", "submission": "diff --git a/a b/a\n", "config": {"model": {"model_name": "m-1"}}}
    f.write_text(json.dumps({"info": info, "messages": MINI[:4], "trajectory_format": "mini-swe-agent-1"}))
    import_paths(engine, [f], source="swe_qa")
    rec = _only_record(engine)
    assert (rec.instance_id, rec.repo, rec.model, rec.exit_status) == ("o__r-3", "o/r", "m-1", "Submitted")
    assert rec.patch == "diff --git a/a b/a\n"


def test_format_override_and_unknown_format(engine, tmp_path):
    f = tmp_path / "rows.jsonl"
    row = {"instance_id": "o__r-1", "run_id": "gpt-4o_maxiter_30", "resolved": True,
           "messages": [{"role": "user", "content": "hi"}]}
    f.write_text(json.dumps(row) + "\n")
    assert import_paths(engine, [f], source="swe_qa", fmt="messages").layouts == {"messages": 1}
    assert _only_record(engine).format == "messages"
    bad = import_paths(engine, [f], source="swe_qa", fmt="nope")
    assert [r.where for r in bad.rejected] == [str(f)]
    assert "unknown format 'nope'; known formats:" in bad.rejected[0].reason
