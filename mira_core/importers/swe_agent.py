"""SWE-agent `.traj` files, 1.x and 0.x (FORMATS.md sections 2a and 2b).

1.x has `environment: "main"` or an instance id and tool_calls in history; 0.x has
`environment: "swe_main"` and ACI commands.

Steps come from `trajectory[]` (thought, action, full observation per step) because `history` may hold
condensed observations; tool names and parsed arguments of 1.x come from the matching `tool_calls` in
`history`. A file with only `history` (function_calling_simple.traj) is read from its chat messages.
The per-step `messages` (the whole prompt again, most of a file's bytes) are never copied.
The instance id is `environment` unless that is a generic name, else the file stem (SWE-agent names
trajectories after their instance).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mira_core.errors import ImportRejected
from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.common import (
    as_dict,
    issue_from_prompt,
    object_of,
    opt_str,
    repo_from_instance_id,
    require,
    text_of,
)
from mira_core.importers.messages import message_steps, parse_arguments
from mira_core.jsonstream import JSONArray, JSONObject, JSONValue
from mira_core.records import Record, Step, StepKind, make_record_id

AGENT = "swe-agent"
_TOP_KEYS = frozenset({"trajectory", "history", "info", "replay_config", "environment"})
_GENERIC_ENVS = frozenset({"main", "swe_main", ""})
_GITHUB = re.compile(r"github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?(?:/|$)", re.ASCII)


def _sniff(obj: JSONValue, path: Path) -> bool:
    if not isinstance(obj, dict) or not isinstance(obj.get("history"), list):
        return False
    return set(obj) <= _TOP_KEYS or path.suffix == ".traj"


def _replay_config(value: JSONValue) -> JSONObject:
    """`replay_config` is a JSON string in SWE-smith files and a dict in the demos."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    return as_dict(value)


def _model_from_run_dir(path: Path) -> str | None:
    """SWE-agent 0.x run folders are named `{model}__{data}__{config}__t-…`; the model is the first part."""
    name = path.parent.name
    return name.split("__", 1)[0] if "__t-" in name else None


def _tool_call_index(history: JSONArray) -> dict[str, tuple[str | None, JSONObject | None]]:
    """Map an assistant message's `action` string to (tool name, parsed arguments) of its first tool call."""
    index: dict[str, tuple[str | None, JSONObject | None]] = {}
    for m in history:
        if not isinstance(m, dict) or m.get("role") != "assistant" or not (tool_calls := m.get("tool_calls")):
            continue
        call = as_dict(tool_calls[0] if isinstance(tool_calls, list) else None)
        fn = as_dict(call.get("function"))
        key = text_of(m.get("action")).strip()
        if key and key not in index:
            index[key] = (opt_str(fn.get("name")), parse_arguments(fn.get("arguments")))
    return index


def _trajectory_steps(trajectory: JSONArray, history: JSONArray, where: str) -> list[Step]:
    calls = _tool_call_index(history)
    steps: list[Step] = []
    for i, entry in enumerate(trajectory):
        if not isinstance(entry, dict):
            raise ImportRejected(where, f"trajectory[{i}] is {type(entry).__name__}, not an object")
        thought = text_of(entry.get("thought"))
        action = text_of(entry.get("action")).strip()
        if thought.strip():
            steps.append(Step(role="assistant", kind=StepKind.thought, content=thought))
        name, args = calls.get(action, (None, None))
        if name is None and action:
            name, args = action.split(None, 1)[0], {"command": action}
        if action:
            steps.append(Step(role="assistant", kind=StepKind.action, tool_name=name, tool_args=args))
        observation = entry.get("observation")
        if observation is not None:
            steps.append(Step(role="tool", kind=StepKind.observation, content=text_of(observation), tool_name=name))
    return steps


def _prompt_steps(history: JSONArray) -> tuple[list[Step], str]:
    """The system prompt and the task message (first non-demo user turn) from `history`."""
    steps: list[Step] = []
    task = ""
    for m in history:
        if not isinstance(m, dict) or m.get("is_demo"):
            continue
        role = m.get("role")
        if role == "system" and not steps:
            steps.append(Step(role="system", kind=StepKind.system, content=text_of(m.get("content"))))
        elif role == "user":
            task = text_of(m.get("content"))
            steps.append(Step(role="user", kind=StepKind.user, content=task))
            break
    return steps, task


def _repo(instance_id: str | None, replay: JSONObject) -> str | None:
    found = repo_from_instance_id(instance_id)
    if found:
        return found
    for url in (as_dict(replay.get("problem_statement")).get("github_url"),
                as_dict(as_dict(replay.get("env")).get("repo")).get("github_url")):
        m = _GITHUB.search(url) if isinstance(url, str) else None
        if m:
            return f"{m[1]}/{m[2]}"
    return None


def _normalize(obj: JSONValue, ctx: ItemContext) -> Record:
    obj = object_of(obj, ctx.origin)
    history = require(obj, "history", list, ctx.origin)
    listed = obj.get("trajectory")
    trajectory = listed if isinstance(listed, list) else []
    info = as_dict(obj.get("info"))
    replay = _replay_config(obj.get("replay_config"))
    env = opt_str(obj.get("environment"))
    version = "0" if env == "swe_main" else "1"
    if trajectory:
        steps, task = _prompt_steps(history)
        steps += _trajectory_steps(trajectory, history, ctx.origin)
    else:
        live = [m for m in history if not (isinstance(m, dict) and m.get("is_demo"))]
        steps = message_steps(live, ctx.origin)
        task = next((s.content for s in steps if s.kind == StepKind.user), "")
    instance_id = env if env and env not in _GENERIC_ENVS else ctx.path.stem
    problem = as_dict(replay.get("problem_statement"))
    model_cfg = as_dict(as_dict(replay.get("agent")).get("model"))
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format=f"swe_agent_traj_{version}",
        instance_id=instance_id,
        repo=_repo(instance_id, replay),
        issue=text_of(problem.get("text")).strip() or issue_from_prompt(task),
        steps=steps,
        patch=text_of(info.get("submission")),
        agent=AGENT,
        model=opt_str(model_cfg.get("name")) or _model_from_run_dir(ctx.path),
        exit_status=opt_str(info.get("exit_status")),
        origin=ctx.origin,
    )


LAYOUT = Layout(
    name="swe_agent_traj",
    framing="whole",
    sniff=_sniff,
    normalize=_normalize,
    description="SWE-agent .traj (1.x and 0.x): trajectory, history, info, replay_config, environment",
)
