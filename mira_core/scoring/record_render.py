"""A record as the prompt shows it: the cuttable parts (issue, steps, patch) and the template's `record` variable.

Rendered in code, not in the template, because the shortening rule (`budget`) works on these parts; nothing
is paraphrased: each step is `[step N] <kind> (<role>) · tool: … · exit_code: … · error`, its tool arguments
as `key: value` (multi-line values on their own lines), then its content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from mira_core.records import Record, Step, StepKind
from mira_core.scoring.budget import RecordText, StepText


def _arg_lines(args: Mapping[str, object]) -> list[str]:
    out = []
    for key, value in args.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        out.append(f"  {key}:\n{text}" if "\n" in text else f"  {key}: {text}")
    return out


def _step_text(number: int, step: Step) -> StepText:
    bits = [f"[step {number}] {step.kind.value} ({step.role})"]
    if step.tool_name:
        bits.append(f"tool: {step.tool_name}")
    if step.exit_code is not None:
        bits.append(f"exit_code: {step.exit_code}")
    if step.error:
        bits.append("error")
    head = "\n".join([" · ".join(bits), *(_arg_lines(step.tool_args) if step.tool_args else [])])
    return StepText(head=head, body=step.content, is_observation=step.kind == StepKind.observation)


def record_text(record: Record) -> RecordText:
    """The cuttable parts of a record: issue, steps, patch (rendered, nothing dropped)."""
    steps = tuple(_step_text(i, s) for i, s in enumerate(record.steps, start=1))
    return RecordText(issue=record.issue, steps=steps, patch=record.patch)


def _tests(record: Record) -> str:
    rep = record.report
    if rep is None:
        return ""
    counts = {k: v for k, v in rep.model_dump(exclude={"report_file"}).items() if v is not None}
    return ", ".join(f"{k}={v}" for k, v in counts.items())


def record_variables(record: Record, rt: RecordText) -> dict[str, object]:
    """The template's `record` variable for (possibly shortened) parts `rt`; absent texts are ""."""
    steps = []
    for i, step in enumerate(rt.steps):
        if i in rt.gaps:
            steps.append(rt.gaps[i])
        steps.append(f"{step.head}\n{step.body}" if step.body else step.head)
    return {"source": record.source, "repo": record.repo or "", "instance_id": record.instance_id or "",
            "n_steps": len(record.steps), "issue": rt.issue, "trajectory": "\n".join(steps), "patch": rt.patch,
            "outcome": record.outcome.value, "exit_status": record.exit_status or "", "tests": _tests(record)}
