"""Plain JSONL of OpenAI-style chat `messages` (the fallback for any message-list row)."""

from __future__ import annotations

import json
from pathlib import Path

from mira_core.errors import ImportRejected
from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.common import (
    as_dict,
    issue_from_prompt,
    observation_status,
    opt_str,
    outcome_of,
    repo_from_instance_id,
    text_of,
)
from mira_core.jsonstream import JSONArray, JSONObject, JSONValue
from mira_core.records import Record, Step, StepKind, make_record_id

_DECODE = json.JSONDecoder().decode


def parse_arguments(raw: JSONValue) -> JSONObject:
    """Tool-call arguments: a JSON-object string (or an object); anything else is kept under `_raw`/`_value`."""
    if isinstance(raw, str):
        try:
            raw = _DECODE(raw)
        except ValueError:
            return {"_raw": raw}
    return raw if isinstance(raw, dict) else {"_value": raw}


def message_steps(messages: JSONArray, where: str) -> list[Step]:
    """Turn OpenAI chat messages (with optional tool_calls / tool roles) into steps."""
    steps: list[Step] = []
    call_names: dict[str, str] = {}  # tool_call id -> function name, for tool messages without a name
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise ImportRejected(where, f"messages[{i}] has no 'role'")
        role = str(m["role"])
        text = text_of(m.get("content"))
        if role == "system":
            steps.append(Step(role=role, kind=StepKind.system, content=text))
        elif role == "user":
            steps.append(Step(role=role, kind=StepKind.user, content=text))
        elif role == "tool":
            listed = m.get("tool_call_ids")
            ids = listed if isinstance(listed, list) else [m.get("tool_call_id")]
            name = opt_str(m.get("name")) or next((call_names[c] for c in ids if isinstance(c, str) and c in call_names), None)
            code, failed = observation_status(text)
            steps.append(Step(role=role, kind=StepKind.observation, content=text, tool_name=name, exit_code=code, error=failed))
        elif role == "assistant":
            tool_calls = m.get("tool_calls")
            calls = tool_calls if isinstance(tool_calls, list) else []
            if text.strip():
                steps.append(Step(role=role, kind=StepKind.thought if calls else StepKind.message, content=text))
            for call in calls:
                call = as_dict(call)
                fn = as_dict(call.get("function"))
                name = opt_str(fn.get("name"))
                call_id = call.get("id")
                if isinstance(call_id, str) and name:
                    call_names[call_id] = name
                steps.append(Step(role=role, kind=StepKind.action, tool_name=name, tool_args=parse_arguments(fn.get("arguments"))))
        else:
            steps.append(Step(role=role, kind=StepKind.message, content=text))
    return steps


def first_user_text(steps: list[Step]) -> str:
    """The first user message: the task, which holds the issue in these layouts."""
    return next((s.content for s in steps if s.kind == StepKind.user), "")


def _sniff(obj: JSONValue, path: Path) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("messages"), list)


def _normalize(obj: JSONValue, ctx: ItemContext) -> Record:
    if not isinstance(obj, dict) or not isinstance(messages := obj.get("messages"), list):
        raise ImportRejected(ctx.origin, "missing required field 'messages' (a list)")
    steps = message_steps(messages, ctx.origin)
    instance_id = opt_str(obj.get("instance_id"))
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="messages",
        instance_id=instance_id,
        run_id=opt_str(obj.get("run_id") or obj.get("traj_id")),
        repo=opt_str(obj.get("repo")) or repo_from_instance_id(instance_id),
        issue=issue_from_prompt(first_user_text(steps)),
        steps=steps,
        patch=text_of(obj.get("patch") or obj.get("git_patch")),
        outcome=outcome_of(obj.get("resolved")),
        agent=opt_str(obj.get("agent")),
        model=opt_str(obj.get("model") or obj.get("model_name")),
        origin=ctx.origin,
    )


LAYOUT = Layout(
    name="messages",
    framing="rows",
    sniff=_sniff,
    normalize=_normalize,
    description="JSONL rows with an OpenAI-style `messages` list",
)
