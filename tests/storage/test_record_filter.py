"""The filter compiler's own faces: an empty filter adds no condition, each set field adds one, every
condition is honoured by `matching_ids`, and the sort key of an unknown record is a NotFoundError."""

import pytest

from mira_core.errors import NotFoundError
from mira_core.query import RecordFilter, SortKey
from mira_core.storage import record_filter
from mira_core.storage.engine import read_conn
from tests.app.builders import import_messages, messages_row


def test_one_condition_per_field_and_none_for_an_empty_filter(sqlite_engine):
    with read_conn(sqlite_engine) as conn:
        assert record_filter.where(conn, RecordFilter()) == []
        f = RecordFilter(sources=["swe_qa"], text="parser", tags=["a", "b", "a"], scored=True, min_overall=50)
        assert len(record_filter.where(conn, f)) == 6  # source, text, two distinct tags, scored, score bound


def test_matching_ids_and_sort_key(sqlite_engine, tmp_path):
    import_messages(sqlite_engine, tmp_path, [messages_row(i, issue=f"crash in part{i}") for i in range(3)])
    with read_conn(sqlite_engine) as conn:
        ids = set(conn.execute(record_filter.matching_ids(conn, RecordFilter(text="part1"))).scalars())
        assert len(ids) == 1
        sort = SortKey(column="instance_id")
        frm, expr = record_filter.sort_source(sort)
        (rid,) = ids
        assert record_filter.sort_key(conn, sort, frm, expr, rid) == ("org__repo-1", rid)
        with pytest.raises(NotFoundError):
            record_filter.sort_key(conn, sort, frm, expr, "no-such-record")
