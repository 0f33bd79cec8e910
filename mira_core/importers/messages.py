"""Plain JSONL of OpenAI-style chat `messages` (the fallback for any message-list row)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mira_core.errors import ImportRejected
from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.common import observation_status
from mira_core.records import Outcome, Record, Step, StepKind, make_record_id


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return json.dumps(content, ensure_ascii=False)


def message_steps(messages: list[Any], where: str) -> list[Step]:
    """Turn OpenAI chat messages (with optional tool_calls / tool roles) into steps."""
    steps: list[Step] = []
    call_names: dict[str, str] = {}  # tool_call id -> function name, for tool messages without a name
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise ImportRejected(where, f"messages[{i}] has no 'role'")
        role = str(m["role"])
        text = _content_text(m.get("content"))
        if role == "system":
            steps.append(Step(role=role, kind=StepKind.system, content=text))
        elif role == "user":
            steps.append(Step(role=role, kind=StepKind.user, content=text))
        elif role == "tool":
            ids = m.get("tool_call_ids") or [m.get("tool_call_id")]
            name = m.get("name") or next((call_names[c] for c in ids if isinstance(c, str) and c in call_names), None)
            code, failed = observation_status(text)
            steps.append(Step(role=role, kind=StepKind.observation, content=text, tool_name=name, exit_code=code, error=failed))
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            if text.strip():
                steps.append(Step(role=role, kind=StepKind.thought if calls else StepKind.message, content=text))
            for call in calls:
                fn = (call or {}).get("function") or {}
                call_id = (call or {}).get("id")
                if isinstance(call_id, str) and isinstance(fn.get("name"), str):
                    call_names[call_id] = fn["name"]
                args_raw = fn.get("arguments")
                try:
                    args = json.loads(args_raw) if isinstance(args_raw, str) else args_raw
                except json.JSONDecodeError:
                    args = {"_raw": args_raw}
                if not isinstance(args, dict):
                    args = {"_value": args}
                steps.append(Step(role=role, kind=StepKind.action, tool_name=fn.get("name"), tool_args=args))
        else:
            steps.append(Step(role=role, kind=StepKind.message, content=text))
    return steps


def first_user_text(steps: list[Step]) -> str:
    """The first user message: the task, which holds the issue in these layouts."""
    return next((s.content for s in steps if s.kind == StepKind.user), "")


def _sniff(obj: Any, path: Path) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("messages"), list)


def _normalize(obj: Any, ctx: ItemContext) -> Record:
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        raise ImportRejected(ctx.origin, "missing required field 'messages' (a list)")
    steps = message_steps(obj["messages"], ctx.origin)
    resolved = obj.get("resolved")
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="messages",
        instance_id=obj.get("instance_id"),
        issue=first_user_text(steps),
        steps=steps,
        patch=obj.get("patch") or "",
        outcome=Outcome.unknown if resolved is None else (Outcome.resolved if resolved else Outcome.not_resolved),
        model=obj.get("model"),
        origin=ctx.origin,
    )


LAYOUT = Layout(
    name="messages",
    framing="rows",
    sniff=_sniff,
    normalize=_normalize,
    description="JSONL rows with an OpenAI-style `messages` list",
)
