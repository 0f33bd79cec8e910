"""SWE-smith XML-in-content message rows (FORMATS.md 3b).

Tool calls written as `<function=name><parameter=k>v</parameter></function>` in assistant text, observations
as user messages starting with `OBSERVATION:`.

Parameter values lose exactly one leading and one trailing newline: the XML layout puts them on their own
lines, and the same runs' `.traj` tool_calls show the values without them. A value that is a list of
integers (`view_range`) becomes that list, as in the JSON tool calls.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeAlias

from mira_core.errors import ImportRejected
from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.common import (
    issue_from_prompt,
    object_of,
    observation_status,
    opt_str,
    outcome_of,
    repo_from_instance_id,
    require,
    text_of,
)
from mira_core.jsonstream import JSONArray, JSONValue
from mira_core.records import Record, Step, StepKind, make_record_id

AGENT = "swe-agent"
_FUNCTION = re.compile(r"<function=([^>\s]+)>(.*?)(?:</function>|\Z)", re.DOTALL)
_PARAMETER = re.compile(r"<parameter=([^>\s]+)>(.*?)</parameter>", re.DOTALL)
_SNIFF_MESSAGES = 8


# A parameter's text, or the list of integers it spells (`view_range`).
ParamValue: TypeAlias = str | list[int]
_INT_LIST = re.compile(r"\[\s*-?\d+(?:\s*,\s*-?\d+)*\s*\]", re.ASCII)


def _param_value(value: str) -> ParamValue:
    if value.startswith("\n"):
        value = value[1:]
    if value.endswith("\n"):
        value = value[:-1]
    if _INT_LIST.fullmatch(value):  # `view_range`: the schema types it as an integer array
        return [int(v) for v in value.strip("[] ").split(",")]
    return value


def parse_function_calls(text: str) -> tuple[str, list[tuple[str, dict[str, ParamValue]]]]:
    """(reasoning before the first call, [(function name, {parameter: value})]) of one assistant message."""
    calls = [(m[1], {k: _param_value(v) for k, v in _PARAMETER.findall(m[2])}) for m in _FUNCTION.finditer(text)]
    start = text.find("<function=")
    return (text if start < 0 else text[:start]).rstrip(), calls


def xml_message_steps(messages: JSONArray, where: str) -> list[Step]:
    """Steps of a SWE-smith XML conversation."""
    steps: list[Step] = []
    tool: str | None = None
    seen_task = False
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise ImportRejected(where, f"messages[{i}] has no 'role'")
        role, text = str(m["role"]), text_of(m.get("content"))
        if role == "system":
            steps.append(Step(role=role, kind=StepKind.system, content=text))
        elif role == "user" and seen_task and text.startswith("OBSERVATION:"):
            code, failed = observation_status(text)
            steps.append(Step(role=role, kind=StepKind.observation, content=text, tool_name=tool, exit_code=code, error=failed))
        elif role == "user":
            seen_task = True
            steps.append(Step(role=role, kind=StepKind.user, content=text))
        else:
            thought, calls = parse_function_calls(text)
            if thought.strip():
                steps.append(Step(role=role, kind=StepKind.thought if calls else StepKind.message, content=thought))
            for name, args in calls:
                tool = name
                steps.append(Step(role=role, kind=StepKind.action, tool_name=name, tool_args=args))
    return steps


def _sniff(obj: JSONValue, path: Path) -> bool:
    if not isinstance(obj, dict) or not isinstance(messages := obj.get("messages"), list):
        return False
    for m in messages[:_SNIFF_MESSAGES]:
        if isinstance(m, dict) and m.get("tool_calls"):
            return False
        text = m.get("content") if isinstance(m, dict) else None
        if isinstance(text, str) and ("<function=" in text or "---- BEGIN FUNCTION #" in text):
            return True
    return False


def _normalize(obj: JSONValue, ctx: ItemContext) -> Record:
    obj = object_of(obj, ctx.origin)
    messages = require(obj, "messages", list, ctx.origin)
    steps = xml_message_steps(messages, ctx.origin)
    instance_id = opt_str(obj.get("instance_id"))
    task = next((s.content for s in steps if s.kind == StepKind.user), "")
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="swe_smith_xml",
        instance_id=instance_id,
        run_id=opt_str(obj.get("traj_id")),
        repo=repo_from_instance_id(instance_id),
        issue=issue_from_prompt(task),
        steps=steps,
        patch=text_of(obj.get("patch")),
        outcome=outcome_of(obj.get("resolved")),
        agent=AGENT,
        model=opt_str(obj.get("model")),
        origin=ctx.origin,
    )


LAYOUT = Layout(
    name="swe_smith_xml",
    framing="rows",
    sniff=_sniff,
    normalize=_normalize,
    description="SWE-smith rows: messages with <function=…> XML tool calls and OBSERVATION: user turns",
)
