"""Nebius SWE-agent-trajectories rows (FORMATS.md 2d): role/text turns with SWE-agent 0.x ACI commands.

An `ai` turn is reasoning followed by one fenced command; the `user` turns after the task are the
environment's observations. `target` is the resolved flag; a run suffix `_N` on the instance id becomes
the run id.
"""

from __future__ import annotations

import re
from pathlib import Path

from mira_core.errors import ImportRejected
from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.common import (
    issue_from_prompt,
    object_of,
    opt_str,
    outcome_of,
    repo_from_instance_id,
    require,
    split_run_suffix,
    text_of,
)
from mira_core.jsonstream import JSONArray, JSONValue
from mira_core.records import Record, Step, StepKind, make_record_id

AGENT = "swe-agent"
# A fenced block on its own lines; SWE-agent 0.x runs the last one in a turn.
_FENCE = re.compile(r"^```[^\n`]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def split_command(text: str) -> tuple[str, str | None]:
    """(reasoning, command) of an SWE-agent 0.x turn: the command is the last fenced block, if any."""
    matches = list(_FENCE.finditer(text))
    if not matches:
        return text, None
    last = matches[-1]
    return text[: last.start()].rstrip(), last.group(1).strip("\n")


def command_steps(text: str, role: str) -> tuple[list[Step], str | None]:
    """Thought and action steps of one assistant turn with a fenced command; returns the tool name too."""
    thought, command = split_command(text)
    steps: list[Step] = []
    if thought.strip():
        kind = StepKind.thought if command is not None else StepKind.message
        steps.append(Step(role=role, kind=kind, content=thought))
    if command is None or not command.strip():
        return steps, None
    tool = command.split(None, 1)[0]
    steps.append(Step(role=role, kind=StepKind.action, tool_name=tool, tool_args={"command": command}))
    return steps, tool


def _turn_steps(turns: JSONArray, where: str) -> tuple[list[Step], str]:
    steps: list[Step] = []
    task = ""
    tool: str | None = None
    for i, t in enumerate(turns):
        if not isinstance(t, dict) or "role" not in t:
            raise ImportRejected(where, f"trajectory[{i}] has no 'role'")
        role = str(t["role"])
        text = text_of(t.get("text"))
        if role == "system":
            steps.append(Step(role=role, kind=StepKind.system, content=text or text_of(t.get("system_prompt"))))
        elif role == "user" and not task:
            task = text
            steps.append(Step(role=role, kind=StepKind.user, content=text))
        elif role == "user":
            steps.append(Step(role=role, kind=StepKind.observation, content=text, tool_name=tool))
        else:
            turn, tool = command_steps(text, role)
            steps.extend(turn)
    return steps, task


def _sniff(obj: JSONValue, path: Path) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("trajectory"), list)
        and ("target" in obj or "generated_patch" in obj)
    )


def _normalize(obj: JSONValue, ctx: ItemContext) -> Record:
    obj = object_of(obj, ctx.origin)
    turns = require(obj, "trajectory", list, ctx.origin)
    steps, task = _turn_steps(turns, ctx.origin)
    full_id = opt_str(obj.get("instance_id"))
    instance_id, run = split_run_suffix(full_id) if full_id else (None, None)
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="nebius_swe_agent",
        instance_id=instance_id,
        run_id=run,
        repo=repo_from_instance_id(instance_id),
        issue=issue_from_prompt(task),
        steps=steps,
        patch=text_of(obj.get("generated_patch")),
        outcome=outcome_of(obj.get("target")),
        agent=AGENT,
        model=opt_str(obj.get("model_name")),
        exit_status=opt_str(obj.get("exit_status")),
        origin=ctx.origin,
    )


LAYOUT = Layout(
    name="nebius_swe_agent",
    framing="rows",
    sniff=_sniff,
    normalize=_normalize,
    description="Nebius SWE-agent-trajectories rows: instance_id, model_name, target, trajectory[role/text]",
)
