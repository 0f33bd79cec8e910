"""Outcome reports: upserted by instance id and joined onto the stored records of that instance.

Reports come from files that carry no trajectory (report.json, results.json, all_preds.jsonl) and may be
imported before or after their trajectories: `store_outcome_reports` joins onto records already stored,
`apply_known_outcomes` onto records inserted later. A `TestReport` is stored in the f2p_/p2p_/report_file
columns of both `records` and `outcome_reports`; `report_columns` and `report_from_columns` map it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from mira_core.records import Outcome, OutcomeReport, TestReport
from mira_core.storage.prepared_rows import ReportColumns, report_columns
from mira_core.storage.tables import outcome_reports, records

__all__ = ["ReportColumns", "apply_known_outcomes", "report_columns", "report_from_columns", "store_outcome_reports"]

# TestReport field -> its column in both `records` and `outcome_reports`.
_REPORT_COLUMNS = {
    "fail_to_pass_success": "f2p_success",
    "fail_to_pass_failure": "f2p_failure",
    "pass_to_pass_success": "p2p_success",
    "pass_to_pass_failure": "p2p_failure",
    "report_file": "report_file",
}


def report_from_columns(row: Mapping[str, Any]) -> TestReport:
    """The test report held in a `records` or `outcome_reports` row (fields None where a column is NULL)."""
    return TestReport(**{name: row.get(col) for name, col in _REPORT_COLUMNS.items()})


def store_outcome_reports(conn: Connection, reports: Iterable[OutcomeReport]) -> int:
    """Upsert outcome reports and join them onto stored records of the same instance id.

    Returns how many records got an outcome. Reports may arrive before or after their trajectories.
    """
    joined = 0
    for rep in reports:
        row = {"instance_id": rep.instance_id, "resolved": rep.resolved, "model": rep.model,
               **report_columns(rep.tests)}
        existing = conn.execute(
            select(outcome_reports).where(outcome_reports.c.instance_id == rep.instance_id)
        ).mappings().first()
        if existing is None:
            conn.execute(outcome_reports.insert().values(row))
        else:
            merged = {k: (v if v is not None else existing[k]) for k, v in row.items()}
            conn.execute(
                update(outcome_reports).where(outcome_reports.c.instance_id == rep.instance_id).values(merged)
            )
        joined += _join_outcome(conn, rep.instance_id)
    return joined


def _join_outcome(conn: Connection, instance_id: str) -> int:
    rep = conn.execute(select(outcome_reports).where(outcome_reports.c.instance_id == instance_id)).mappings().first()
    if rep is None:
        return 0
    if rep["model"]:  # predictions (all_preds.jsonl) carry only the model, with resolved unknown
        conn.execute(update(records).where(records.c.instance_id == instance_id, records.c.model.is_(None)).values(model=rep["model"]))
    if rep["resolved"] is None:
        return 0
    values = {
        "outcome": Outcome.resolved.value if rep["resolved"] else Outcome.not_resolved.value,
        **{col: rep[col] for col in _REPORT_COLUMNS.values()},
    }
    # Only records whose own file carried no outcome take the external report's.
    cond = and_(records.c.instance_id == instance_id, or_(records.c.outcome == Outcome.unknown.value, records.c.report_file.is_not(None)))
    res = conn.execute(update(records).where(cond).values(values))
    return res.rowcount or 0


def apply_known_outcomes(conn: Connection, record_ids: list[str]) -> None:
    """Join the reports already stored for the instances of `record_ids` (records just inserted)."""
    inst = conn.execute(
        select(records.c.instance_id).distinct().where(
            records.c.record_id.in_(record_ids), records.c.instance_id.is_not(None)
        )
    ).scalars().all()
    if not inst:
        return
    known = conn.execute(select(outcome_reports.c.instance_id).where(outcome_reports.c.instance_id.in_(inst))).scalars()
    for instance_id in known:
        _join_outcome(conn, instance_id)
