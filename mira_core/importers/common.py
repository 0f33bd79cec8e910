"""Small readers shared by the layouts: required fields, outcomes, instance ids, issue extraction."""

from __future__ import annotations

import json
import re
from typing import overload

from mira_core.errors import ImportRejected
from mira_core.jsonstream import JSONArray, JSONObject, JSONValue
from mira_core.records import Outcome

# SWE-bench ids are `owner__repo-NUMBER`; SWE-smith ids are `owner__repo.HASH8.kind`.
_SWE_BENCH_ID = re.compile(r"^(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)__(?P<name>[A-Za-z0-9_.-]+?)-(?P<num>\d+)$", re.ASCII)
_SWE_SMITH_ID = re.compile(r"^(?P<owner>[A-Za-z0-9][A-Za-z0-9-]*)__(?P<name>[A-Za-z0-9_.-]+?)\.[0-9a-f]{8}\.", re.ASCII)
# A sampled run appends `_N` to a SWE-bench id (`python__mypy-15976_0`, Nebius `AnalogJ__lexicon-336_17`).
# How OpenHands' bash tool ends its output, in the two wordings seen; only ASCII digits count.
_EXIT_MARK = re.compile(
    r"\[(?:Command finished with exit code|The command completed with exit code) (-?[0-9]{1,6})\.?\]\s*\Z", re.ASCII
)
_TOOL_FAILED = ("[Error occurred in processing last action]", "ERROR:\n")
_RUN_SUFFIX = re.compile(r"^(?P<base>[A-Za-z0-9][A-Za-z0-9-]*__[A-Za-z0-9_.-]+?-\d+)_(?P<run>\d+)$", re.ASCII)


def object_of(value: JSONValue, where: str) -> JSONObject:
    """`value`, which must be a JSON object; otherwise the item is rejected."""
    if not isinstance(value, dict):
        raise ImportRejected(where, f"expected a JSON object, got {type(value).__name__}")
    return value


@overload
def require(obj: JSONObject, key: str, kind: type[str], where: str) -> str: ...
@overload
def require(obj: JSONObject, key: str, kind: type[JSONArray], where: str) -> JSONArray: ...
@overload
def require(obj: JSONObject, key: str, kind: type[JSONObject], where: str) -> JSONObject: ...
def require(obj: JSONObject, key: str, kind: type, where: str) -> JSONValue:
    """`obj[key]`, which must exist and be of `kind`; otherwise the item is rejected naming the field."""
    value = obj.get(key)
    if value is None:
        raise ImportRejected(where, f"missing required field {key!r}")
    if not isinstance(value, kind):
        raise ImportRejected(where, f"field {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def as_dict(value: JSONValue) -> JSONObject:
    """`value` if it is a dict, else an empty dict (optional sub-objects)."""
    return value if isinstance(value, dict) else {}


def text_of(value: object) -> str:
    """Text of a message content: a str, a list of {type: text, text} parts, or anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in value)
    return json.dumps(value, ensure_ascii=False)


def opt_str(value: object) -> str | None:
    """A non-empty string or None (numbers are turned into text)."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def outcome_of(resolved: object) -> Outcome:
    """True -> resolved, False -> not_resolved, anything else (None, missing) -> unknown."""
    if resolved is True:
        return Outcome.resolved
    if resolved is False:
        return Outcome.not_resolved
    return Outcome.unknown


def repo_from_instance_id(instance_id: str | None) -> str | None:
    """`owner/name` from a SWE-bench or SWE-smith instance id, or None when the id has neither shape."""
    if not instance_id:
        return None
    m = _SWE_SMITH_ID.match(instance_id) or _SWE_BENCH_ID.match(split_run_suffix(instance_id)[0])
    return f"{m['owner']}/{m['name']}" if m else None


def split_run_suffix(instance_id: str) -> tuple[str, str | None]:
    """(`python__mypy-15976`, `0`) from `python__mypy-15976_0`; ids without a run suffix come back unchanged."""
    m = _RUN_SUFFIX.match(instance_id)
    return (m["base"], m["run"]) if m else (instance_id, None)


def between(text: str, start: str, end: str) -> str | None:
    """The text between the first `start` and the next `end` (or the end of `text`), stripped; None if absent."""
    i = text.find(start)
    if i < 0:
        return None
    i += len(start)
    j = text.find(end, i)
    return (text[i:j] if j >= 0 else text[i:]).strip()


def issue_from_prompt(prompt: str) -> str:
    """The issue inside a task prompt: `<pr_description>`, `<issue_description>` or after `ISSUE:`; else the prompt."""
    for start, end in (
        ("<pr_description>", "</pr_description>"),
        ("<issue_description>", "</issue_description>"),
        ("ISSUE:\n", "\n\nINSTRUCTIONS:"),
    ):
        found = between(prompt, start, end)
        if found:
            return found
    return prompt.strip()


def observation_status(text: str) -> tuple[int | None, bool]:
    """(exit code, error) read from a tool output's text, for layouts that keep only text.

    The exit code is OpenHands' closing `[Command finished with exit code N]` line; an error is a non-zero
    code, OpenHands' "[Error occurred in processing last action]" or an editor reply starting "ERROR:".
    """
    tail = text[-160:]
    m = _EXIT_MARK.search(tail)
    code = int(m[1]) if m else None
    body = text[13:] if text.startswith("OBSERVATION:\n") else text
    failed = (code is not None and code != 0) or tail.rstrip().endswith(_TOOL_FAILED[0]) or body.startswith(_TOOL_FAILED[1])
    return code, failed
