"""Outcome files in the layouts that are not in the real folder: keyed SWE-bench reports, Multi-SWE-bench
reports and results.json, predictions; and how their outcomes and models join onto trajectories."""

from __future__ import annotations

import json

from mira_core.ingest import import_paths
from mira_core.query import RecordFilter
from mira_core.storage import records_repo
from mira_core.storage.engine import read_conn


def _traj_row(instance_id: str, **extra) -> str:
    msgs = [{"role": "user", "content": f"fix {instance_id}"}, {"role": "assistant", "content": "done"}]
    return json.dumps({"messages": msgs, "instance_id": instance_id, **extra})


def _outcomes(engine) -> dict[str, tuple]:
    with read_conn(engine) as conn:
        out = {}
        for r in records_repo.iter_record_metadata(conn, RecordFilter()):
            m = records_repo.get_metadata(conn, r["record_id"])
            out[m["instance_id"]] = (m["outcome"], m["f2p_success"], m["f2p_failure"], m["model"])
        return out


def test_multi_swe_bench_reports_and_results(engine, tmp_path):
    trajs = tmp_path / "trajs.jsonl"
    trajs.write_text("\n".join(_traj_row(f"o__r-{i}") for i in range(1, 5)) + "\n")
    logs = tmp_path / "evaluation_logs" / "o__r-1"
    logs.mkdir(parents=True)
    (logs / "report.json").write_text(json.dumps({
        "instance_id": "o__r-1", "resolved": False,
        "PASS_TO_PASS": {"success": ["a", "b"], "failure": []},
        "FAIL_TO_PASS": {"success": ["c"], "failure": ["d", "e"]},
    }))
    (tmp_path / "results.json").write_text(json.dumps({
        "submitted": 4, "submitted_ids": ["o__r-1", "o__r-2", "o__r-3", "o__r-4"],
        "success_ids": ["o__r-2"], "failure_ids": ["o__r-1"], "error_ids": ["o__r-3"],
        "empty_patch_ids": [], "success": 1, "failure": 1, "error": 1,
    }))
    summary = import_paths(engine, [tmp_path], source="agent_openhands")
    assert summary.rejected == [] and summary.layouts["multi_swe_report"] == 1 and summary.layouts["eval_summary"] == 1
    got = _outcomes(engine)
    # per-instance report wins for o__r-1 (counts 1 F2P success, 2 failures); results.json decides the rest.
    assert got["o__r-1"][:3] == ("not_resolved", 1, 2)
    assert got["o__r-2"][0] == "resolved"
    assert got["o__r-3"][0] == "not_resolved"  # an evaluation error is not a resolution
    assert got["o__r-4"][0] == "unknown"  # submitted only


def test_keyed_harness_report_and_predictions(engine, tmp_path):
    (tmp_path / "trajs.jsonl").write_text(_traj_row("o__r-1") + "\n" + _traj_row("o__r-2") + "\n")
    (tmp_path / "report.json").write_text(json.dumps({"o__r-1": {
        "patch_is_None": False, "resolved": True,
        "tests_status": {"FAIL_TO_PASS": {"success": ["x", "y"], "failure": []},
                         "PASS_TO_PASS": {"success": [], "failure": ["z"]}},
    }}))
    (tmp_path / "all_preds.jsonl").write_text(
        json.dumps({"model_name_or_path": "gpt4", "instance_id": "o__r-1", "model_patch": "diff"}) + "\n"
    )
    (tmp_path / "preds.json").write_text(
        json.dumps({"o__r-2": {"model_name_or_path": "claude", "instance_id": "o__r-2", "model_patch": ""}})
    )
    summary = import_paths(engine, [tmp_path], source="swe_qa")
    assert summary.rejected == []
    assert summary.layouts == {"messages": 1, "swebench_report": 1, "all_preds": 1, "preds_json": 1}
    got = _outcomes(engine)
    assert got["o__r-1"] == ("resolved", 2, 0, "gpt4")
    assert got["o__r-2"] == ("unknown", None, None, "claude")  # predictions give the model, not an outcome


def test_own_outcome_is_not_overwritten_by_a_report(engine, tmp_path):
    (tmp_path / "trajs.jsonl").write_text(_traj_row("o__r-1", resolved=False, model="m1") + "\n")
    (tmp_path / "run.json").write_text(json.dumps({"resolved": 1, "ids_resolved": ["o__r-1"], "ids_unresolved": []}))
    import_paths(engine, [tmp_path], source="swe_qa")
    assert _outcomes(engine)["o__r-1"] == ("not_resolved", None, None, "m1")


def test_bad_report_is_rejected_with_its_place(engine, tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"o__r-1": {"resolved": "yes", "tests_status": {}}}))
    summary = import_paths(engine, [tmp_path], source="swe_qa")
    assert [(r.where, "'resolved' must be true or false" in r.reason) for r in summary.rejected] == [
        (str(tmp_path / "report.json"), True)
    ]


def test_reports_flushed_in_small_batches_still_join(engine, tmp_path, monkeypatch):
    from mira_core import ingest

    monkeypatch.setattr(ingest, "REPORT_BATCH", 1)
    (tmp_path / "a_run.json").write_text(json.dumps({"ids_resolved": ["o__r-1"], "ids_unresolved": ["o__r-2"]}))
    (tmp_path / "b_trajs.jsonl").write_text(_traj_row("o__r-1") + "\n" + _traj_row("o__r-2") + "\n")
    summary = import_paths(engine, [tmp_path], source="swe_qa")
    assert summary.reports == 2
    got = _outcomes(engine)
    assert (got["o__r-1"][0], got["o__r-2"][0]) == ("resolved", "not_resolved")


def _java_results(path) -> None:
    """Shaped like multi-swe-bench/experiments evaluation/java/verified/*/results/results.json (SWE-bench-java):
    the resolved ids sit in a list under "resolved", beside the *_ids lists and the counts."""
    path.write_text(json.dumps({
        "total_instances": 5, "submitted_instances": 4, "completed_instances": 3, "resolved_instances": 1,
        "unresolved_instances": 1, "empty_patch_instances": 1, "error_instances": 0, "unstopped_instances": 0,
        "completed_ids": ["o__r-1", "o__r-2", "o__r-3"], "incomplete_ids": ["o__r-4"],
        "empty_patch_ids": ["o__r-3"], "submitted_ids": ["o__r-1", "o__r-2", "o__r-3", "o__r-4"],
        "resolved": ["o__r-1"], "unresolved_ids": ["o__r-2"], "error_ids": [],
        "unstopped_containers": [], "unremoved_images": [],
    }))


def test_java_experiment_summary_reads_the_resolved_list(engine, tmp_path):
    (tmp_path / "trajs.jsonl").write_text("\n".join(_traj_row(f"o__r-{i}") for i in range(1, 6)) + "\n")
    results = tmp_path / "results" / "results.json"
    results.parent.mkdir()
    _java_results(results)
    summary = import_paths(engine, [tmp_path], source="swe_java")
    assert summary.rejected == [] and summary.layouts["eval_summary"] == 1
    outcomes = {k: v[0] for k, v in _outcomes(engine).items()}
    # empty patch: nothing to test, so not resolved; incomplete: never evaluated, no verdict
    assert outcomes == {"o__r-1": "resolved", "o__r-2": "not_resolved", "o__r-3": "not_resolved",
                        "o__r-4": "unknown", "o__r-5": "unknown"}
    assert summary.outcomes_joined == 3


def test_forced_format_reads_the_list_and_refuses_files_of_another_kind(engine, tmp_path):
    (tmp_path / "trajs.jsonl").write_text(_traj_row("o__r-1") + "\n" + _traj_row("o__r-2") + "\n")
    traj = tmp_path / "o__r-2.traj"
    traj.write_text(json.dumps({"environment": "swe_main", "trajectory": [], "info": {},
                                "history": [{"role": "user", "content": "ISSUE:\nfix it"}]}))
    results = tmp_path / "results.json"
    _java_results(results)
    summary = import_paths(engine, [results, traj], source="swe_java", fmt="eval_summary")
    assert [(r.where, r.reason.split(":")[0]) for r in summary.rejected] == [
        (str(traj), "--format eval_summary does not fit this file")]
    assert "it is swe_agent_traj" in summary.rejected[0].reason
    import_paths(engine, [tmp_path / "trajs.jsonl"], source="swe_java")
    assert {k: v[0] for k, v in _outcomes(engine).items()} == {"o__r-1": "resolved", "o__r-2": "not_resolved"}


def test_a_report_format_that_finds_nothing_is_a_rejection(engine, tmp_path):
    f = tmp_path / "notes.json"
    f.write_text(json.dumps({"comment": "no ids here", "resolved": 0}))
    summary = import_paths(engine, [f], source="x", fmt="eval_summary")
    assert [(r.where, r.reason) for r in summary.rejected] == [
        (str(f), "eval_summary: no instance id with an outcome or model in this item; is it a file of that format?")]
