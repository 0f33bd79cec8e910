"""Every real file imports, with the counts and outcomes SOURCES.md lists, byte-exact raw, and joined reports.

Expected values are written by hand from SOURCES.md's table (column "trajectories", and the outcome slot of
"contents": True/False/None). Files whose outcome lives in a report.json (the SWE-smith .traj files and
ft_xml_example.jsonl) are expected *after* the join: all three run_evaluation reports say resolved=true.
The ADP OpenHands feedback rows carry positive/negative user feedback in that slot, which is not a test
outcome, so they stay unknown.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mira_core.ingest import import_paths
from mira_core.query import RecordFilter
from mira_core.storage import records_repo
from mira_core.storage.engine import read_conn

pytestmark = pytest.mark.realdata

R, N, U = "resolved", "not_resolved", "unknown"
SMITH = "env_native/SWE-bench__SWE-smith@cf2e649/tests/test_logs"
AGENT = "env_native/SWE-agent__SWE-agent@3ea751c"
OH = "openhands/OpenHands__OpenHands@d6fab19"
ADP = "zhu-yiqi__agent-data-protocol"

# file -> outcomes of its trajectories in file order (len = SOURCES.md "trajectories").
EXPECTED: dict[str, list[str]] = {
    f"{OH}/evaluation/benchmarks/multi_swe_bench/examples/output.jsonl": [U, U, U],
    f"{OH}/tests/unit/resolver/mock_output/output.jsonl": [R, R],
    f"{OH}/tests/runtime/trajs/basic.json": [U],
    f"{OH}/tests/runtime/trajs/basic_gui_mode.json": [U],
    f"{OH}/tests/runtime/trajs/basic_interactions.json": [U],
    f"{OH}/tests/runtime/trajs/wrong_initial_state.json": [U],
    "openhands/nunu0404__Python_OpenHands@9e1ba07/java_benchmark_run_20260128_064956/output_backup_065059.jsonl": [U] * 7,
    f"openhands/{ADP}@80a1efb/datasets/openhands/sample_raw.json": [U] * 5,
    f"openhands/{ADP}@2c6de11/datasets/openhands/sample_raw.json": [U] * 3,
    f"{SMITH}/trajectories/pandas-dev__pandas.95280573.pr_53652/pandas-dev__pandas.95280573.pr_53652.traj": [R],
    f"{SMITH}/trajectories/pydantic__pydantic.acb0f10f.pr_8316/pydantic__pydantic.acb0f10f.pr_8316.traj": [R],
    f"{SMITH}/run_evaluation/pandas-dev__pandas.95280573.pr_53652/report.json": [],
    f"{SMITH}/run_evaluation/pydantic__pydantic.acb0f10f.pr_8316/report.json": [],
    f"{SMITH}/run_evaluation/getmoto__moto.694ce1f4.pr_7331/report.json": [],
    f"{SMITH}/run_evaluation/report.json": [],
    f"{SMITH}/pandas-dev__pandas.95280573.pr_53652.json": [],
    f"{AGENT}/tests/test_data/trajectories/gpt4__swe-bench-dev-easy_first_only__default__t-0.00__p-0.95__c-3.00__install-1/pydicom__pydicom-1458.traj": [U],
    f"{AGENT}/tests/test_data/trajectories/gpt4__swe-bench-dev-easy_first_only__default__t-0.00__p-0.95__c-3.00__install-1/all_preds.jsonl": [],
    f"{AGENT}/tests/test_data/trajectories/gpt4__swe-agent__test-repo__default_from_url__t-0.00__p-0.95__c-3.00__install-1/swe-agent__test-repo-i1.traj": [U],
    f"{AGENT}/tests/test_data/trajectories/gpt4__swe-agent-test-repo__default_from_url__t-0.00__p-0.95__c-3.00__install-1/6e44b9__sweagenttestrepo-1c2844.traj": [U],
    f"{AGENT}/trajectories/demonstrations/replay__marshmallow-code__marshmallow-1867__default__t-0.20__p-0.95__c-2.00__install-1___install_from_source/marshmallow-code__marshmallow-1867.traj": [U],
    f"{AGENT}/trajectories/demonstrations/replay__marshmallow-code__marshmallow-1867__function_calling__install-1/marshmallow-code__marshmallow-1867.traj": [U],
    f"{AGENT}/trajectories/demonstrations/replay__marshmallow-code__marshmallow-1867__function_calling_replace_from_source/marshmallow-code__marshmallow-1867.traj": [U],
    f"{AGENT}/trajectories/demonstrations/human_thought__swe-bench-HumanEvalFix-python__lcb__t-0.00__p-0.95__c-4.00__install-0/humanevalfix-python-0.traj": [U],
    f"{AGENT}/trajectories/demonstrations/function_calling_simple.traj": [U],
    f"env_native/{ADP}@05546b4/datasets/nebius_SWE-agent-trajectories/sample_raw.json": [R] * 5,
    # 24 rows; SOURCES.md shows the first eight flags (True True False False True False False True).
    f"sft_messages/{ADP}@80a1efb/datasets/SWE-Gym_OpenHands-Sampled-Trajectories/sample_raw.json": [R, R, N, N, R, N, N, R],
    f"sft_messages/{ADP}@dc1a8b7/datasets/swe-gym_openhands_sampled_trajectories/sample_raw.json": [R] * 5,
    f"sft_messages/{ADP}@dc1a8b7/datasets/swe-smith/sample_raw.json": [R] * 5,
    "sft_messages/SWE-bench__SWE-smith@cf2e649/tests/test_logs/ft_xml_example.jsonl": [R, R, R],
}
SWE_GYM_80A1EFB_ROWS = 24
TOTAL = 76  # sum of SOURCES.md's "trajectories" column


def _position(origin: str) -> int:
    """Item order inside its file: the line number or the array index (0 for whole files)."""
    for sep in ("#", ":"):
        head, _, tail = origin.rpartition(sep)
        if head and tail.isdigit():
            return int(tail)
    return 0


def _file_of(origin: str, root: Path) -> str:
    rel = origin[len(str(root)) + 1 :]
    for sep in ("#", ":"):
        head, _, tail = rel.rpartition(sep)
        if head and tail.isdigit():
            return head
    return rel


def _stored(engine, root: Path) -> dict[str, list[dict]]:
    """Metadata rows grouped by file (relative to the real-data root), in item order."""
    by_file: dict[str, list[dict]] = {}
    with read_conn(engine) as conn:
        for row in records_repo.iter_record_metadata(conn, RecordFilter()):
            meta = records_repo.get_metadata(conn, row["record_id"])
            by_file.setdefault(_file_of(meta["origin"], root), []).append(meta)
    for rows in by_file.values():
        rows.sort(key=lambda m: _position(m["origin"]))
    return by_file


@pytest.fixture
def imported(engine, real_data):
    summary = import_paths(engine, [real_data], source="davinc_dev")
    return engine, real_data, summary


def test_every_real_file_is_listed_and_handled(imported):
    _engine, root, summary = imported
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.suffix in (".json", ".jsonl", ".traj")}
    assert on_disk == set(EXPECTED)
    assert summary.rejected == []
    assert summary.files == len(EXPECTED)
    # The task instance is recognised and skipped with its reason, not rejected; the notes beside the data
    # are passed over by their name, and say so.
    skipped = {s.where: s.reason for s in summary.skipped}
    task = str(root / f"{SMITH}/pandas-dev__pandas.95280573.pr_53652.json")
    assert set(skipped) == {task, str(root / "FORMATS.md"), str(root / "SOURCES.md")}
    assert "task instance" in skipped[task]
    assert skipped[str(root / "FORMATS.md")].startswith("not an input file name")


def test_counts_and_outcomes_match_sources(imported):
    engine, root, summary = imported
    assert summary.imported == TOTAL
    stored = _stored(engine, root)
    swe_gym = f"sft_messages/{ADP}@80a1efb/datasets/SWE-Gym_OpenHands-Sampled-Trajectories/sample_raw.json"
    for rel, outcomes in EXPECTED.items():
        rows = stored.get(rel, [])
        got = [r["outcome"] for r in rows]
        if rel == swe_gym:
            assert len(rows) == SWE_GYM_80A1EFB_ROWS
            assert got[: len(outcomes)] == outcomes
            assert {r["instance_id"] for r in rows[:8]} == {"dask__dask-9212"}
        else:
            assert got == outcomes, rel


def test_joined_reports_bring_test_counts(imported):
    engine, root, _ = imported
    with read_conn(engine) as conn:
        rows = [records_repo.get_metadata(conn, r["record_id"])
                for r in records_repo.iter_record_metadata(conn, RecordFilter())]
    smith = [r for r in rows if r["instance_id"] == "pydantic__pydantic.acb0f10f.pr_8316"]
    assert {r["format"] for r in smith} == {"swe_agent_traj_1", "swe_smith_xml"}
    report = json.loads((root / f"{SMITH}/run_evaluation/pydantic__pydantic.acb0f10f.pr_8316/report.json").read_text())
    f2p = report["tests_status"]["FAIL_TO_PASS"]
    p2p = report["tests_status"]["PASS_TO_PASS"]
    for r in smith:
        assert r["outcome"] == "resolved"
        assert (r["f2p_success"], r["f2p_failure"]) == (len(f2p["success"]), len(f2p["failure"]))
        assert (r["p2p_success"], r["p2p_failure"]) == (len(p2p["success"]), len(p2p["failure"]))
        assert r["report_file"].endswith("pydantic__pydantic.acb0f10f.pr_8316/report.json")


def test_raw_round_trip_is_byte_exact(imported):
    engine, _root, _ = imported
    with read_conn(engine) as conn:
        for row in records_repo.iter_record_metadata(conn, RecordFilter()):
            meta = records_repo.get_metadata(conn, row["record_id"])
            raw = records_repo.get_raw(conn, row["record_id"])
            origin = meta["origin"]
            head, sep, tail = origin.rpartition("#")
            if sep and tail.isdigit():
                data = Path(head).read_bytes()
                assert raw in data  # an exact slice of the file …
                assert json.loads(raw) == json.loads(data)[int(tail)]  # … that is that element
                continue
            head, sep, tail = origin.rpartition(":")
            if sep and tail.isdigit() and Path(head).is_file():
                assert raw == Path(head).read_bytes().splitlines()[int(tail) - 1]
            else:
                assert raw == Path(origin).read_bytes()


def test_reimport_adds_nothing(imported):
    engine, root, first = imported
    again = import_paths(engine, [root], source="davinc_dev")
    assert (again.imported, again.present) == (0, first.imported)
    with read_conn(engine) as conn:
        assert records_repo.count_records(conn, RecordFilter()) == TOTAL


SMITH_PARTS = (f"{SMITH}/run_evaluation", f"{SMITH}/trajectories",
               "sft_messages/SWE-bench__SWE-smith@cf2e649/tests/test_logs/ft_xml_example.jsonl")


def _smith_outcomes(engine) -> dict[tuple[str, str], str]:
    with read_conn(engine) as conn:
        return {(r["instance_id"], r["format"]): r["outcome"]
                for r in records_repo.iter_record_metadata(conn, RecordFilter())}


# pandas and pydantic have a .traj and an ft_xml row; moto only the ft_xml row. All three reports: resolved.
JOINED = {
    ("pandas-dev__pandas.95280573.pr_53652", "swe_agent_traj_1"): R,
    ("pydantic__pydantic.acb0f10f.pr_8316", "swe_agent_traj_1"): R,
    ("pandas-dev__pandas.95280573.pr_53652", "swe_smith_xml"): R,
    ("pydantic__pydantic.acb0f10f.pr_8316", "swe_smith_xml"): R,
    ("getmoto__moto.694ce1f4.pr_7331", "swe_smith_xml"): R,
}


@pytest.mark.parametrize("order", [SMITH_PARTS, tuple(reversed(SMITH_PARTS))], ids=["reports_first", "reports_last"])
def test_reports_join_in_one_command_in_any_order(engine, real_data, order):
    summary = import_paths(engine, [real_data / p for p in order], source="davinc_dev")
    assert summary.imported == 5 and summary.rejected == []
    assert _smith_outcomes(engine) == JOINED


@pytest.mark.parametrize("reports_first", [True, False])
def test_reports_join_across_commands(engine, real_data, reports_first):
    reports, *trajs = SMITH_PARTS
    batches = [[reports], trajs] if reports_first else [trajs, [reports]]
    for paths in batches:
        import_paths(engine, [real_data / p for p in paths], source="davinc_dev")
    assert _smith_outcomes(engine) == JOINED


def test_cli_imports_the_real_folder(real_data, capsys):
    """`mira-curator import PATH --source NAME` end to end (the autouse fixture points it at a temp SQLite)."""
    from mira_core.cli import main

    assert main(["import", str(real_data), "--source", "davinc_dev", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"imported {TOTAL}, already present 0, rejected 0" in out
    assert main(["import", str(real_data), "--source", "davinc_dev", "--quiet"]) == 0
    assert f"imported 0, already present {TOTAL}, rejected 0" in capsys.readouterr().out
