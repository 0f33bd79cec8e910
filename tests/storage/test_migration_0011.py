"""Migration 0011 adds the scores' usage token columns to a database at the previous schema, keeping its rows."""

from __future__ import annotations

from sqlalchemy import inspect, text

from mira_core.records import Record
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, write_tx
from mira_core.storage.records_repo import StoredItem, insert_items

SCORE = ("INSERT INTO scores (record_id, judge_kind, judge, job_id, prompt_version, created_at, raw_output, complete, "
         "shortened, elided_tokens, prompt_tokens, parsed) VALUES ('r1', 'student', 'm', 'j1', 'v1', "
         "'2026-01-01 00:00:00+00:00', 'raw', true, false, 0, 1234, '{}')")


def _columns(eng) -> set[str]:
    return {c["name"] for c in inspect(eng).get_columns("scores")}


def test_0011_from_the_previous_schema_and_back(db_url):
    eng = make_engine(db_url)
    migrate.upgrade(eng, "0009")
    assert "record_tokens" not in _columns(eng)
    rec = Record(record_id="r1", source="s", format="f", issue="x" * 40, origin="test")
    with write_tx(eng) as conn:  # the records table is unchanged since 0008 (0009 is the one before 0011)
        insert_items(conn, [StoredItem(rec, rec.model_dump_json().encode())])
        conn.execute(text(SCORE))
    migrate.upgrade(eng)
    assert {"usage_prompt_tokens", "record_tokens"} <= _columns(eng)
    with eng.connect() as conn:
        row = conn.execute(text("SELECT prompt_tokens, usage_prompt_tokens, record_tokens FROM scores")).one()
    assert tuple(row) == (1234, None, None)  # older scores have no usage count: their records stay estimated
    migrate.check(eng)
    migrate.downgrade(eng, "0009")
    assert "record_tokens" not in _columns(eng) and "usage_prompt_tokens" not in _columns(eng)
    eng.dispose()
