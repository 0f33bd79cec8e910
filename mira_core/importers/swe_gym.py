"""SWE-Gym OpenHands-Sampled-Trajectories rows (FORMATS.md 3a).

OpenAI chat messages with `tool_calls` and `tool` roles, plus `run_id`, `resolved` and
`test_result{git_patch, report}`.

These runs were sampled with OpenHands' CodeActAgent (execute_bash / str_replace_editor / finish tools).
The model is the `run_id` prefix before `_maxiter`; a `_N` suffix on the instance id marks the sample.
"""

from __future__ import annotations

from pathlib import Path

from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.common import (
    as_dict,
    issue_from_prompt,
    object_of,
    opt_str,
    outcome_of,
    repo_from_instance_id,
    require,
    split_run_suffix,
    text_of,
)
from mira_core.importers.messages import first_user_text, message_steps
from mira_core.jsonstream import JSONValue
from mira_core.records import Record, make_record_id

AGENT = "CodeActAgent"
_FAILURE_FLAGS = ("empty_generation", "failed_apply_patch", "error_eval", "test_timeout")


def _sniff(obj: JSONValue, path: Path) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("messages"), list) and ("run_id" in obj or "test_result" in obj)


def _normalize(obj: JSONValue, ctx: ItemContext) -> Record:
    obj = object_of(obj, ctx.origin)
    messages = require(obj, "messages", list, ctx.origin)
    steps = message_steps(messages, ctx.origin)
    test_result = as_dict(obj.get("test_result"))
    report = as_dict(test_result.get("report"))
    resolved = obj.get("resolved") if isinstance(obj.get("resolved"), bool) else report.get("resolved")
    full_id = opt_str(obj.get("instance_id"))
    instance_id, sample = split_run_suffix(full_id) if full_id else (None, None)
    run_id = opt_str(obj.get("run_id"))
    if sample is not None:
        run_id = f"{run_id or 'run'}#{sample}"
    model = run_id.split("_maxiter", 1)[0] if run_id and "_maxiter" in run_id else None
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="swe_gym_messages",
        instance_id=instance_id,
        run_id=run_id,
        repo=repo_from_instance_id(instance_id),
        issue=issue_from_prompt(first_user_text(steps)),
        steps=steps,
        patch=text_of(test_result.get("git_patch")),
        outcome=outcome_of(resolved),
        agent=AGENT,
        model=model,
        exit_status=next((flag for flag in _FAILURE_FLAGS if report.get(flag) is True), None),
        origin=ctx.origin,
    )


LAYOUT = Layout(
    name="swe_gym_messages",
    framing="rows",
    sniff=_sniff,
    normalize=_normalize,
    description="SWE-Gym rows: OpenAI messages with tool_calls/tool roles, run_id, resolved, test_result",
)
