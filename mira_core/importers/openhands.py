"""OpenHands layouts (FORMATS.md section 1).

Evaluation `output.jsonl` (1a), resolver output (1d), bare event lists (1b) and the ADP user-feedback
rows (1e).

The pass/fail label of an evaluation run is not in `output.jsonl`; it arrives from a report.json joined by
instance id (see `reports.py`). Agent names are `metadata.agent_class` (e.g. CodeActAgent) where the file
says it, else "OpenHands".
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from mira_core.errors import ImportRejected
from mira_core.importers.base import ItemContext, Layout
from mira_core.importers.common import (
    as_dict,
    issue_from_prompt,
    object_of,
    opt_str,
    outcome_of,
    repo_from_instance_id,
    require,
    text_of,
)
from mira_core.importers.openhands_events import looks_like_event
from mira_core.importers.openhands_v1 import is_v1_event, read_event_list
from mira_core.jsonstream import JSONValue
from mira_core.records import Record, make_record_id

FALLBACK_AGENT = "OpenHands"


def _exit_status(error: JSONValue, finished: bool) -> str | None:
    err = opt_str(error)
    if err:
        return err
    return "finished" if finished else None


# ----------------------------------------------------------------------------- 1a evaluation output


def _sniff_output(obj: JSONValue, path: Path) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("history"), list)
        and ("instance_id" in obj or isinstance(obj.get("instance"), dict))
        and not isinstance(obj.get("issue"), dict)
    )


def _normalize_output(obj: JSONValue, ctx: ItemContext) -> Record:
    obj = object_of(obj, ctx.origin)
    history = require(obj, "history", list, ctx.origin)
    ev = read_event_list(history, ctx.origin)
    instance = as_dict(obj.get("instance"))
    meta = as_dict(obj.get("metadata"))
    test_result = as_dict(obj.get("test_result"))
    instance_id = opt_str(obj.get("instance_id")) or opt_str(instance.get("instance_id"))
    issue = text_of(instance.get("problem_statement")) or issue_from_prompt(
        text_of(obj.get("instruction")) or ev.first_user
    )
    resolved = as_dict(test_result.get("report")).get("resolved", test_result.get("resolved"))
    out_dir = opt_str(meta.get("eval_output_dir"))
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="openhands_output",
        instance_id=instance_id,
        run_id=PurePosixPath(out_dir).name if out_dir else None,
        repo=opt_str(instance.get("repo")) or repo_from_instance_id(instance_id),
        issue=issue,
        steps=ev.steps,
        patch=text_of(test_result.get("git_patch")),
        outcome=outcome_of(resolved),
        agent=opt_str(meta.get("agent_class")) or ev.agent or FALLBACK_AGENT,
        model=opt_str(as_dict(meta.get("llm_config")).get("model")) or opt_str(as_dict(meta.get("llm")).get("model"))
        or ev.model,
        exit_status=_exit_status(obj.get("error"), ev.finished),
        origin=ctx.origin,
    )


OUTPUT = Layout(
    name="openhands_output",
    framing="rows",
    sniff=_sniff_output,
    normalize=_normalize_output,
    description="OpenHands evaluation output.jsonl: instance_id, instance, history, test_result.git_patch",
)


# ----------------------------------------------------------------------------- 1d resolver output


def _sniff_resolver(obj: JSONValue, path: Path) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("history"), list) and isinstance(obj.get("issue"), dict)


def _normalize_resolver(obj: JSONValue, ctx: ItemContext) -> Record:
    obj = object_of(obj, ctx.origin)
    history = require(obj, "history", list, ctx.origin)
    issue = require(obj, "issue", dict, ctx.origin)
    ev = read_event_list(history, ctx.origin)
    owner, repo, number = opt_str(issue.get("owner")), opt_str(issue.get("repo")), opt_str(issue.get("number"))
    title, body = text_of(issue.get("title")), text_of(issue.get("body"))
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="openhands_resolver",
        instance_id=f"{owner}__{repo}-{number}" if owner and repo and number else None,
        repo=f"{owner}/{repo}" if owner and repo else None,
        issue=f"{title}\n\n{body}".strip() or issue_from_prompt(text_of(obj.get("instruction"))),
        steps=ev.steps,
        patch=text_of(obj.get("git_patch")),
        outcome=outcome_of(obj.get("success")),
        agent=ev.agent or FALLBACK_AGENT,
        model=ev.model,
        exit_status=_exit_status(obj.get("error"), ev.finished),
        origin=ctx.origin,
    )


RESOLVER = Layout(
    name="openhands_resolver",
    framing="rows",
    sniff=_sniff_resolver,
    normalize=_normalize_resolver,
    description="OpenHands resolver output.jsonl: issue{owner, repo, number, title, body}, history, success",
)


# ----------------------------------------------------------------------------- 1b bare event list


def _sniff_events(obj: JSONValue, path: Path) -> bool:
    return looks_like_event(obj) or is_v1_event(obj)


_GENERIC_NAMES = frozenset({"events", "trajectory", "traj", "history", "output", "conversation"})
_NAME_PREFIXES = ("traj_", "trajectory_", "events_", "history_")


def instance_from_file(path: Path) -> str | None:
    """An instance id for a bare event list, from where the file sits.

    The file name without extension, compression and a `traj_`-like prefix (OpenHands benchmarks write
    `traj_<instance>.json`), or the folder's name for a generic file name (`events.json`).
    """
    name = path.name
    for suffix in (".gz", ".zst", ".json", ".jsonl"):
        name = name.removesuffix(suffix)
    for prefix in _NAME_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix):]
            break
    if name.lower() in _GENERIC_NAMES:
        name = path.parent.name
    return name or None


def _normalize_events(obj: JSONValue, ctx: ItemContext) -> Record:
    if not isinstance(obj, list):
        raise ImportRejected(ctx.origin, f"expected a JSON array of OpenHands events, got {type(obj).__name__}")
    ev = read_event_list(obj, ctx.origin)
    instance_id = instance_from_file(ctx.path)
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="openhands_events",
        instance_id=instance_id,
        repo=repo_from_instance_id(instance_id),
        issue=issue_from_prompt(ev.first_user),
        steps=ev.steps,
        agent=ev.agent or FALLBACK_AGENT,
        model=ev.model,
        exit_status=_exit_status(None, ev.finished),
        origin=ctx.origin,
    )


EVENTS = Layout(
    name="openhands_events",
    framing="whole",
    sniff=_sniff_events,
    normalize=_normalize_events,
    description="a bare JSON array of OpenHands events, V0 (tests/runtime/trajs/*.json) or V1 (traj_<id>.json)",
)


# ----------------------------------------------------------------------------- 1e ADP feedback rows


def _sniff_feedback(obj: JSONValue, path: Path) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("trajectory"), list) and "feedback" in obj


def _normalize_feedback(obj: JSONValue, ctx: ItemContext) -> Record:
    obj = object_of(obj, ctx.origin)
    events = require(obj, "trajectory", list, ctx.origin)
    ev = read_event_list(events, ctx.origin)
    feedback = opt_str(obj.get("feedback"))
    return Record(
        record_id=make_record_id(ctx.source, ctx.raw),
        source=ctx.source,
        format="openhands_feedback",
        run_id=opt_str(obj.get("id")),
        issue=ev.first_user.strip(),
        steps=ev.steps,
        agent=ev.agent or FALLBACK_AGENT,
        model=ev.model,
        # A user's thumbs up/down is not a test outcome; it is kept as how the session ended.
        exit_status=f"user feedback: {feedback}" if feedback else _exit_status(None, ev.finished),
        origin=ctx.origin,
    )


FEEDBACK = Layout(
    name="openhands_feedback",
    framing="rows",
    sniff=_sniff_feedback,
    normalize=_normalize_feedback,
    description="ADP OpenHands feedback rows: {version, feedback, trajectory: [events]} (both event dialects)",
)
