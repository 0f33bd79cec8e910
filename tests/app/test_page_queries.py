"""The two queries added to records_repo for the pages (has_synthetic, position), on SQLite and PostgreSQL."""

from mira_core.query import RecordFilter, SortKey
from mira_core.storage import records_repo
from mira_core.storage.engine import read_conn
from tests.app.builders import import_messages, insert_records, long_record, messages_row


def test_has_synthetic_and_position(engine, tmp_path):
    import_messages(engine, tmp_path, [messages_row(i, n_tools=i) for i in range(1, 5)])
    big = long_record(30)
    insert_records(engine, [big])
    real = RecordFilter(sources=["swe_qa"])
    by_steps = SortKey(column="n_steps", descending=False)
    with read_conn(engine) as conn:
        assert records_repo.has_synthetic(conn, RecordFilter())
        assert not records_repo.has_synthetic(conn, real)
        ids = records_repo.list_records(conn, real, sort=by_steps).record_id.tolist()
        assert [records_repo.position(conn, real, by_steps, rid) for rid in ids] == [0, 1, 2, 3]
        desc = SortKey(column="n_steps", descending=True)
        assert records_repo.position(conn, real, desc, ids[0]) == 3
        # Everything sorts before the 30-step record in ascending steps, within the unfiltered view.
        assert records_repo.position(conn, RecordFilter(), by_steps, big.record_id) == 4
