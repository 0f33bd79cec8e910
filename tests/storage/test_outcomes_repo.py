"""A TestReport maps onto the f2p_/p2p_/report_file columns of `records` and `outcome_reports` and back."""

from mira_core.records import TestReport as ReportCounts
from mira_core.storage.outcomes_repo import report_columns, report_from_columns
from mira_core.storage.tables import outcome_reports, records


def test_report_columns_round_trip_onto_both_tables():
    rep = ReportCounts(fail_to_pass_success=1, fail_to_pass_failure=2, pass_to_pass_success=3, report_file="r.json")
    cols = report_columns(rep)
    assert cols == {"f2p_success": 1, "f2p_failure": 2, "p2p_success": 3, "p2p_failure": None,
                    "report_file": "r.json"}
    assert set(cols) <= set(records.c.keys()) and set(cols) <= set(outcome_reports.c.keys())
    assert report_from_columns(cols) == rep
    assert report_columns(None) == dict.fromkeys(cols)
    assert report_from_columns({}) == ReportCounts()
