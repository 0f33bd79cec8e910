"""The outcome-report model: one TestReport holds the counts, and a report survives the import worker pool."""

import pickle

from mira_core.records import OutcomeReport
from mira_core.records import TestReport as ReportCounts


def test_has_counts_tells_a_per_instance_report_from_a_summary():
    assert ReportCounts(fail_to_pass_success=0, report_file="r.json").has_counts
    assert ReportCounts(pass_to_pass_success=3).has_counts
    assert not ReportCounts(report_file="results.json").has_counts
    assert not ReportCounts(fail_to_pass_failure=2).has_counts  # as before: success counts mark a detailed report


def test_outcome_report_pickles_for_the_spawn_pool():
    rep = OutcomeReport(instance_id="o__r-1", resolved=True, model="gpt-x",
                        tests=ReportCounts(fail_to_pass_success=1, fail_to_pass_failure=2, report_file="a/report.json"))
    assert pickle.loads(pickle.dumps(rep)) == rep


def test_test_report_fields_are_those_stored_record_bodies_hold():
    assert set(ReportCounts.model_fields) == {
        "fail_to_pass_success", "fail_to_pass_failure", "pass_to_pass_success", "pass_to_pass_failure", "report_file"}
