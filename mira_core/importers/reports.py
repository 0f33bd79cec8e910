"""Outcome files that carry no trajectory: they become OutcomeReports joined to records by instance id.

- SWE-bench harness `report.json` per instance (FORMATS.md 2c), flat (SWE-smith) or keyed by instance id;
  a flat one takes its instance id from the folder it sits in (`run_evaluation/<id>/report.json`).
- Multi-SWE-bench per-instance report (1c): `{instance_id, resolved, FAIL_TO_PASS{success, failure}, …}`.
- Run-level summaries: SWE-bench `{ids_resolved, ids_unresolved}` / `{resolved_ids, unresolved_ids, …}`,
  Multi-SWE-bench `results.json` `{success_ids, failure_ids, error_ids, empty_patch_ids}`, and the
  SWE-bench-java / Multi-SWE-bench experiment summaries whose resolved ids are a list under `resolved`
  beside `unresolved_ids`, `empty_patch_ids` (unresolved: nothing to test) and `incomplete_ids` (no verdict:
  never evaluated; the id is recorded without an outcome).
- Predictions: `all_preds.jsonl` rows and `preds.json`-style objects `{id: {model_name_or_path, model_patch}}`
  give the model only (resolved unknown).
- A SWE-bench task instance (`{instance_id, problem_statement, patch, FAIL_TO_PASS…}`) is the task, not a
  run: it is reported as skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeGuard

from mira_core.errors import ImportRejected
from mira_core.importers.base import ItemContext, ItemSkipped, Layout
from mira_core.importers.common import as_dict, object_of, opt_str, require
from mira_core.jsonstream import JSONObject, JSONValue
from mira_core.records import OutcomeReport, TestReport

_RESOLVED_KEYS = ("ids_resolved", "resolved_ids", "success_ids", "resolved")  # "resolved" only as a list
_UNRESOLVED_KEYS = ("ids_unresolved", "unresolved_ids", "failure_ids", "error_ids", "empty_patch_ids")
_NO_VERDICT_KEYS = ("incomplete_ids",)
_COUNT_OR_IDS = frozenset({"resolved"})  # a count in SWE-bench's report.json, the id list in SWE-bench-java's


def _count(group: JSONValue, key: str) -> int | None:
    value = as_dict(group).get(key)
    return len(value) if isinstance(value, list) else None


def _report(instance_id: str, body: JSONObject, tests: JSONObject, where: str) -> OutcomeReport:
    resolved = body.get("resolved")
    if not isinstance(resolved, bool):
        raise ImportRejected(where, f"report for {instance_id}: 'resolved' must be true or false")
    f2p, p2p = tests.get("FAIL_TO_PASS"), tests.get("PASS_TO_PASS")
    return OutcomeReport(
        instance_id=instance_id,
        resolved=resolved,
        tests=TestReport(
            fail_to_pass_success=_count(f2p, "success"),
            fail_to_pass_failure=_count(f2p, "failure"),
            pass_to_pass_success=_count(p2p, "success"),
            pass_to_pass_failure=_count(p2p, "failure"),
            report_file=where,
        ),
        model=opt_str(body.get("model_name_or_path")),
    )


# ----------------------------------------------------------------------------- SWE-bench report.json


def _is_harness_body(value: JSONValue) -> TypeGuard[JSONObject]:
    return isinstance(value, dict) and isinstance(value.get("tests_status"), dict) and "resolved" in value


def _sniff_harness(obj: JSONValue, path: Path) -> bool:
    if _is_harness_body(obj):
        return True
    return isinstance(obj, dict) and len(obj) >= 1 and all(_is_harness_body(v) for v in obj.values())


def _normalize_harness(obj: JSONValue, ctx: ItemContext) -> list[OutcomeReport]:
    if not isinstance(obj, dict):
        raise ImportRejected(ctx.origin, "a SWE-bench report must be a JSON object")
    if _is_harness_body(obj):
        instance_id = opt_str(obj.get("instance_id")) or ctx.path.parent.name
        return [_report(instance_id, obj, as_dict(obj["tests_status"]), ctx.origin)]
    reports = []
    for instance_id, body in obj.items():
        if not _is_harness_body(body):
            raise ImportRejected(ctx.origin, f"report for {instance_id}: missing 'resolved' or 'tests_status'")
        reports.append(_report(instance_id, body, as_dict(body["tests_status"]), ctx.origin))
    return reports


HARNESS_REPORT = Layout(
    name="swebench_report",
    framing="whole",
    sniff=_sniff_harness,
    normalize=_normalize_harness,
    description="SWE-bench harness report.json per instance (flat, or keyed by instance id)",
)


# ----------------------------------------------------------------------------- Multi-SWE-bench per instance


def _sniff_multi(obj: JSONValue, path: Path) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("instance_id"), str)
        and isinstance(obj.get("resolved"), bool)
        and (isinstance(obj.get("FAIL_TO_PASS"), dict) or isinstance(obj.get("PASS_TO_PASS"), dict))
    )


def _normalize_multi(obj: JSONValue, ctx: ItemContext) -> list[OutcomeReport]:
    obj = object_of(obj, ctx.origin)
    instance_id = require(obj, "instance_id", str, ctx.origin)
    return [_report(instance_id, obj, obj, ctx.origin)]


MULTI_REPORT = Layout(
    name="multi_swe_report",
    framing="whole",
    sniff=_sniff_multi,
    normalize=_normalize_multi,
    description="Multi-SWE-bench report.json: instance_id, resolved, FAIL_TO_PASS/PASS_TO_PASS{success, failure}",
)


# ----------------------------------------------------------------------------- run-level summaries


def _sniff_summary(obj: JSONValue, path: Path) -> bool:
    return isinstance(obj, dict) and any(isinstance(obj.get(k), list) for k in _RESOLVED_KEYS)


def _is_id_list(value: JSONValue) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(i, str) for i in value)


def _normalize_summary(obj: JSONValue, ctx: ItemContext) -> list[OutcomeReport]:
    if not isinstance(obj, dict):
        raise ImportRejected(ctx.origin, "a run summary must be a JSON object")
    verdicts: dict[str, bool | None] = {}
    # a later group wins a conflict: a verdict over none, resolved over unresolved
    for keys, resolved in ((_NO_VERDICT_KEYS, None), (_UNRESOLVED_KEYS, False), (_RESOLVED_KEYS, True)):
        for key in keys:
            ids = obj.get(key)
            if ids is None or (key in _COUNT_OR_IDS and not isinstance(ids, list)):
                continue
            if not _is_id_list(ids):
                raise ImportRejected(ctx.origin, f"field {key!r} must be a list of instance ids")
            verdicts.update(dict.fromkeys(ids, resolved))
    return [OutcomeReport(instance_id=i, resolved=r, tests=TestReport(report_file=ctx.origin))
            for i, r in verdicts.items()]


RUN_SUMMARY = Layout(
    name="eval_summary",
    framing="whole",
    sniff=_sniff_summary,
    normalize=_normalize_summary,
    description="run-level report.json / results.json: ids_resolved, resolved_ids, resolved: [ids], success_ids, "
                "unresolved_ids, empty_patch_ids, incomplete_ids (no verdict)…",
)


# ----------------------------------------------------------------------------- predictions


def _sniff_preds_row(obj: JSONValue, path: Path) -> bool:
    return isinstance(obj, dict) and "model_patch" in obj and isinstance(obj.get("instance_id"), str)


def _normalize_preds_row(obj: JSONValue, ctx: ItemContext) -> list[OutcomeReport]:
    obj = object_of(obj, ctx.origin)
    instance_id = require(obj, "instance_id", str, ctx.origin)
    model = opt_str(obj.get("model_name_or_path"))
    return [OutcomeReport(instance_id=instance_id, resolved=None, tests=TestReport(report_file=ctx.origin), model=model)]


ALL_PREDS = Layout(
    name="all_preds",
    framing="rows",
    sniff=_sniff_preds_row,
    normalize=_normalize_preds_row,
    description="all_preds.jsonl rows: instance_id, model_name_or_path, model_patch (model only, outcome unknown)",
)


def _sniff_preds_map(obj: JSONValue, path: Path) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(_sniff_preds_row(v, path) for v in obj.values())


def _normalize_preds_map(obj: JSONValue, ctx: ItemContext) -> list[OutcomeReport]:
    if not isinstance(obj, dict):
        raise ImportRejected(ctx.origin, "predictions must be a JSON object keyed by instance id")
    return [r for v in obj.values() for r in _normalize_preds_row(v, ctx)]


PREDS_MAP = Layout(
    name="preds_json",
    framing="whole",
    sniff=_sniff_preds_map,
    normalize=_normalize_preds_map,
    description="preds.json / mini-swe-agent results.json: {instance_id: {model_name_or_path, model_patch}}",
)


# ----------------------------------------------------------------------------- task instances


def _sniff_task(obj: JSONValue, path: Path) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("instance_id"), str)
        and "problem_statement" in obj
        and ("patch" in obj or "FAIL_TO_PASS" in obj)
        and not any(k in obj for k in ("history", "messages", "trajectory", "resolved"))
    )


def _normalize_task(obj: JSONValue, ctx: ItemContext) -> list[OutcomeReport]:
    instance_id = opt_str(as_dict(obj).get("instance_id"))
    raise ItemSkipped(ctx.origin, f"SWE-bench task instance {instance_id} (the task and gold patch, not a run): nothing to import")


TASK_INSTANCE = Layout(
    name="swebench_task",
    framing="whole",
    sniff=_sniff_task,
    normalize=_normalize_task,
    description="SWE-bench task instance (instance_id, problem_statement, patch): recognised and skipped",
)
