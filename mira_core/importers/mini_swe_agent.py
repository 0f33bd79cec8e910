"""mini-swe-agent trajectories (FORMATS.md 3c).

A bare JSON array of `{role, content}` messages, or the saved `{info, messages, trajectory_format:
"mini-swe-agent-1"}` object.

The action is the fenced block in an assistant message (```mswea_bash_command or ```bash); observations
are user messages `<returncode>N</returncode><output>…</output>`. The final diff is `info.submission`, or
else the `diff --git` output of the last observation (the submit command prints it).
"""

from __future__ import annotations

import re
from pathlib import Path

from mira_core.errors import ImportRejected
from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.common import as_dict, issue_from_prompt, opt_str, repo_from_instance_id, text_of
from mira_core.importers.nebius import split_command
from mira_core.jsonstream import JSONArray, JSONObject, JSONValue
from mira_core.records import Record, Step, StepKind, make_record_id

AGENT = "mini-swe-agent"
_RETURNCODE = re.compile(r"\A\s*<returncode>(-?[0-9]{1,6})</returncode>", re.ASCII)


def _steps(messages: JSONArray, where: str) -> tuple[list[Step], str, str]:
    """Steps, the task text and the diff printed by the last observation (if any)."""
    steps: list[Step] = []
    task, last_output = "", ""
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise ImportRejected(where, f"message {i} has no 'role'")
        role, text = str(m["role"]), text_of(m.get("content"))
        code = _RETURNCODE.match(text) if role == "user" else None
        if role == "system":
            steps.append(Step(role=role, kind=StepKind.system, content=text))
        elif code is not None:
            exit_code = int(code[1])
            steps.append(Step(role=role, kind=StepKind.observation, content=text, tool_name="bash",
                              exit_code=exit_code, error=exit_code != 0))
            last_output = text
        elif role == "user":
            task = task or text
            steps.append(Step(role=role, kind=StepKind.user, content=text))
        else:
            thought, command = split_command(text)
            if thought.strip():
                steps.append(Step(role=role, kind=StepKind.thought if command else StepKind.message, content=thought))
            if command and command.strip():
                steps.append(Step(role=role, kind=StepKind.action, tool_name="bash", tool_args={"command": command}))
    start = last_output.find("diff --git")
    diff = last_output[start:].split("</output>", 1)[0] if start >= 0 else ""
    return steps, task, diff


def _sniff(obj: JSONValue, path: Path) -> bool:
    """The saved object (tagged by `trajectory_format`), or the first element of a bare message array."""
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("messages"), list):
        return str(obj.get("trajectory_format", "")).startswith("mini-swe-agent")
    return "role" in obj and "content" in obj and set(obj) <= {"role", "content", "timestamp"}


def _normalize(obj: JSONValue, ctx: ItemContext) -> Record:
    info: JSONObject
    if isinstance(obj, list):
        messages, info = obj, {}
    elif isinstance(obj, dict) and isinstance(listed := obj.get("messages"), list):
        messages, info = listed, as_dict(obj.get("info"))
    else:
        raise ImportRejected(ctx.origin, "expected a list of messages or an object with 'messages'")
    steps, task, diff = _steps(messages, ctx.origin)
    instance_id = opt_str(obj.get("instance_id")) if isinstance(obj, dict) else None
    instance_id = instance_id or ctx.path.name.split(".", 1)[0]
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="mini_swe_agent",
        instance_id=instance_id,
        repo=repo_from_instance_id(instance_id),
        issue=issue_from_prompt(task),
        steps=steps,
        patch=text_of(info.get("submission")) or diff,
        agent=AGENT,
        model=opt_str(as_dict(as_dict(info.get("config")).get("model")).get("model_name")),
        exit_status=opt_str(info.get("exit_status")),
        origin=ctx.origin,
    )


LAYOUT = Layout(
    name="mini_swe_agent",
    framing="whole",
    sniff=_sniff,
    normalize=_normalize,
    description="mini-swe-agent trajectory: a bare array of {role, content} messages or {info, messages}",
)
