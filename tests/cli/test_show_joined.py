"""What was joined from separate files (test counts, report file, model) is shown by `show` and the Record page."""

from __future__ import annotations

import json

from mira_core.cli import main
from mira_core.query import RecordFilter
from mira_core.settings import Settings
from mira_core.storage import read_conn, records_repo
from mira_core.storage.engine import make_engine
from mira_core.views.browse_params import BrowseView
from mira_core.views.record import load_record_context
from mira_core.views.record_meta import metadata_rows


def test_show_and_record_page_include_what_was_joined(tmp_path, capsys):
    msgs = [{"role": "user", "content": "fix o__r-1"}, {"role": "assistant", "content": "done"}]
    (tmp_path / "trajs.jsonl").write_text(json.dumps({"messages": msgs, "instance_id": "o__r-1"}) + "\n")
    report = tmp_path / "evals" / "o__r-1" / "report.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"instance_id": "o__r-1", "resolved": True,
                                  "FAIL_TO_PASS": {"success": ["t1", "t2"], "failure": ["t3"]},
                                  "PASS_TO_PASS": {"success": ["t4"], "failure": []}}))
    (tmp_path / "all_preds.jsonl").write_text(json.dumps(
        {"instance_id": "o__r-1", "model_name_or_path": "gpt-4o-2024-05-13", "model_patch": "diff"}) + "\n")
    assert main(["import", str(tmp_path), "--source", "swe_qa", "--quiet"]) == 0
    engine = make_engine(Settings().database_url)
    with read_conn(engine) as conn:
        rid = next(records_repo.iter_record_metadata(conn, RecordFilter()))["record_id"]
    capsys.readouterr()
    assert main(["show", rid]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["outcome"], shown["model"]) == ("resolved", "gpt-4o-2024-05-13")
    assert shown["report"] == {"fail_to_pass_success": 2, "fail_to_pass_failure": 1, "pass_to_pass_success": 1,
                               "pass_to_pass_failure": 0, "report_file": str(report)}
    with read_conn(engine) as conn:
        ctx = load_record_context(conn, rid, BrowseView())
    assert ctx.record.model == "gpt-4o-2024-05-13" and ctx.record.report.fail_to_pass_failure == 1
    rows = dict(metadata_rows(ctx.meta))
    assert rows["model"] == "gpt-4o-2024-05-13" and rows["outcome"] == "resolved"
    assert rows["tests"] == "FAIL_TO_PASS 2/3 passed · PASS_TO_PASS 1/1 passed"
    assert rows["test report file"] == str(report)
    engine.dispose()
