"""Small corpora for page tests: a few `messages` JSONL rows through the real importer, plus records
built in code where a layout cannot express a field (exit codes, error flags, synthetic, agent)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from mira_core.ingest import import_paths
from mira_core.records import Outcome, Record, Step, StepKind, make_record_id
from mira_core.storage.engine import write_tx
from mira_core.storage.records_repo import StoredItem, insert_items


def two_file_patch(i: int) -> str:
    return (
        f"diff --git a/pkg/parser_{i}.py b/pkg/parser_{i}.py\n--- a/pkg/parser_{i}.py\n+++ b/pkg/parser_{i}.py\n"
        f"@@ -1,2 +1,2 @@\n def parse():\n-    return {i}\n+    return {i + 1}\n"
        f"diff --git a/tests/test_{i}.py b/tests/test_{i}.py\n--- /dev/null\n+++ b/tests/test_{i}.py\n"
        f"@@ -0,0 +1 @@\n+assert parse() == {i + 1}\n"
    )


def messages_row(i: int, *, issue: str | None = None, resolved: bool | None = None, n_tools: int = 1) -> str:
    msgs: list[dict] = [
        {"role": "system", "content": "You are a coder."},
        {"role": "user", "content": issue or f"Fix bug number {i} in parser"},
    ]
    for t in range(n_tools):
        msgs.append({"role": "assistant", "content": f"I will list files ({t})", "tool_calls": [
            {"id": f"c{t}", "type": "function",
             "function": {"name": "bash", "arguments": json.dumps({"command": f"ls -la dir{t}"})}}]})
        msgs.append({"role": "tool", "name": "bash", "tool_call_id": f"c{t}", "content": f"a.py\nb.py\nout {t}"})
    row = {"messages": msgs, "instance_id": f"org__repo-{i}", "patch": two_file_patch(i), "model": "gpt-x"}
    if resolved is not None:
        row["resolved"] = resolved
    return json.dumps(row)


def import_messages(engine: Engine, tmp: Path, rows: list[str], source: str = "swe_qa") -> None:
    f = tmp / f"{source}.jsonl"
    f.write_text("\n".join(rows) + "\n")
    summary = import_paths(engine, [f], source=source)
    assert not summary.rejected, summary.rejected


def long_record(n_steps: int = 120, *, synthetic: bool = True, source: str = "agent_openhands") -> Record:
    """A record with many steps, exit codes, an error and a long observation (for paging and folding)."""
    steps = [Step(role="user", kind=StepKind.user, content="Long task: make the tests pass")]
    for i in range(n_steps - 1):
        kind = (StepKind.thought, StepKind.action, StepKind.observation)[i % 3]
        if kind == StepKind.action:
            steps.append(Step(role="agent", kind=kind, tool_name="run", tool_args={"command": f"pytest -k case{i}"}))
        elif kind == StepKind.observation:
            failed = i % 9 == 2
            body = "\n".join(f"output line {j} of step {i}" for j in range(40))
            steps.append(Step(role="environment", kind=kind, tool_name="run", content=body,
                              exit_code=1 if failed else 0, error=failed))
        else:
            steps.append(Step(role="agent", kind=kind, content=f"thinking about step {i}"))
    body = {"steps": len(steps), "source": source}
    raw = json.dumps(body).encode()
    return Record(
        record_id=make_record_id(source, raw), source=source, format="openhands_output",
        instance_id="big__task-1", issue="A long task", steps=steps, patch=two_file_patch(99),
        outcome=Outcome.not_resolved, agent="openhands", model="demo-model", synthetic=synthetic,
        origin="built-in-test",
    )


def insert_records(engine: Engine, recs: list[Record]) -> None:
    with write_tx(engine) as conn:
        insert_items(conn, [StoredItem(r, r.model_dump_json().encode()) for r in recs])
