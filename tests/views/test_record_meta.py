"""Metadata block and test-report line."""

from mira_core.views.record_meta import altered_note, metadata_rows, report_summary


def test_report_summary():
    assert report_summary({}) == "no test report"
    meta = {"f2p_success": 3, "f2p_failure": 1, "p2p_success": 20, "p2p_failure": None}
    assert report_summary(meta) == "FAIL_TO_PASS 3/4 passed · PASS_TO_PASS 20/20 passed"


def test_metadata_rows_and_altered_note():
    rows = dict(metadata_rows({"source": "swe_qa", "token_estimate": 61234, "n_steps": 5, "n_errors": 0}))
    assert rows["source"] == "swe_qa" and rows["agent"] == "—"
    assert rows["tokens (est.)"] == "61,234" and rows["steps / errors"] == "5 / 0"
    assert altered_note({"altered_fields": "[]"}) is None
    assert "issue, steps[2].content" in altered_note({"altered_fields": '["issue", "steps[2].content"]'})
