"""The distinct (judge, prompt version) pairs of one kind of score, read by seeking the index, not scanning.

The Retention and Reliability pages list the student models, prompt versions and teachers on every first
run. A DISTINCT over millions of score rows reads every row, or with the (judge_kind, judge,
prompt_version) index of migration 0019 every index entry. A store holds a few pairs, so this steps from
one pair to the next: two index seeks per pair (the next prompt version of the same judge, else the next
judge), whatever the number of scores.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from mira_core.storage.tables import scores


def judge_pairs(conn: Connection, kind: str) -> list[tuple[str, str]]:
    """Every distinct (judge, prompt_version) of scores of `kind` ('student' or 'teacher'), sorted."""
    s = scores.c
    first = select(s.judge, s.prompt_version).where(s.judge_kind == kind).order_by(s.judge, s.prompt_version).limit(1)
    out: list[tuple[str, str]] = []
    row = conn.execute(first).first()
    while row is not None:
        judge, prompt = str(row[0]), str(row[1])
        out.append((judge, prompt))
        row = (conn.execute(first.where(s.judge == judge, s.prompt_version > prompt)).first()
               or conn.execute(first.where(s.judge > judge)).first())
    return out
