"""The kept per-source counts (migration 0020's triggers) equal `count(*)` after every way records come and go,
on SQLite and PostgreSQL, and a migrated store starts with its existing records counted."""

from sqlalchemy import text

from mira_core.query import RecordFilter
from mira_core.storage import migrate
from mira_core.storage import records_repo as repo
from mira_core.storage.bench_copies import copy_records
from mira_core.storage.engine import make_engine, read_conn, write_tx
from mira_core.storage.record_counts import counted_sources, kept_count
from tests.app.builders import import_messages, messages_row
from tests.reliability.builders import make_records


def _kept(engine) -> dict[str, int]:
    with read_conn(engine) as conn:
        rows = conn.execute(text("SELECT source, n FROM record_counts WHERE n <> 0 ORDER BY source"))
        return {s: int(n) for s, n in rows}


def _scanned(engine) -> dict[str, int]:
    with read_conn(engine) as conn:
        rows = conn.execute(text("SELECT source, count(*) FROM records GROUP BY source ORDER BY source"))
        return {s: int(n) for s, n in rows}


def test_counts_follow_import_reimport_copies_and_deletes(engine, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    import_messages(engine, tmp_path / "a", [messages_row(i) for i in range(5)])
    import_messages(engine, tmp_path / "b", [messages_row(i) for i in (3, 4, 5, 6)])  # two already present
    import_messages(engine, tmp_path / "b", [messages_row(i) for i in range(3)], source="other")
    assert _kept(engine) == _scanned(engine) == {"other": 3, "swe_qa": 7}
    import_messages(engine, tmp_path / "a", [messages_row(i) for i in range(5)])  # a re-import adds nothing
    assert _kept(engine) == {"other": 3, "swe_qa": 7}
    with write_tx(engine) as conn:  # by hand: one record, then a source's records all at once
        conn.execute(text("DELETE FROM records WHERE instance_id = 'org__repo-6' AND source = 'swe_qa'"))
        conn.execute(text("DELETE FROM records WHERE source = 'other'"))
    assert _kept(engine) == _scanned(engine) == {"swe_qa": 6}
    with write_tx(engine) as conn:
        conn.execute(text("UPDATE records SET source = 'moved' WHERE instance_id = 'org__repo-0'"))
    assert _kept(engine) == _scanned(engine) == {"moved": 1, "swe_qa": 5}


def test_bench_copies_are_counted_in_their_statement(engine):
    make_records(engine, 6, sources=("src_a", "src_b", "src_c"))
    with write_tx(engine) as conn:
        copy_records(conn, 1)  # (its rowcount is -1 on PostgreSQL through psycopg's INSERT ... SELECT)
        copy_records(conn, 2)
    assert _kept(engine) == _scanned(engine) == {"src_a": 6, "src_b": 6, "src_c": 6}


def test_count_records_reads_kept_counts_for_no_filter_or_sources_only(engine):
    make_records(engine, 7, sources=("src_a", "src_b"))
    with write_tx(engine) as conn:  # were count(*) still read, this row would not change the answers below
        conn.execute(text("UPDATE record_counts SET n = n + 100 WHERE source = 'src_a'"))
    with read_conn(engine) as conn:
        assert repo.count_records(conn, RecordFilter()) == 107
        assert repo.count_records(conn, RecordFilter(sources=["src_a"], text="  ")) == 104
        assert repo.count_records(conn, RecordFilter(sources=["src_b", "nowhere"])) == 3
        assert repo.count_records(conn, RecordFilter(sources=["src_a"], min_tokens=0)) == 4  # scanned
        assert kept_count(conn, []) == 107


def test_which_filters_the_kept_counts_answer():
    assert counted_sources(RecordFilter()) == []
    assert counted_sources(RecordFilter(sources=["a", "b"], text=" ")) == ["a", "b"]
    assert counted_sources(RecordFilter(sources=["a"], text="word")) is None
    assert counted_sources(RecordFilter(tags=["t"])) is None
    assert counted_sources(RecordFilter(min_overall=0)) is None


def test_migration_counts_the_records_already_stored_and_goes_back(db_url):
    eng = make_engine(db_url)
    migrate.upgrade(eng, "0018")
    make_records(eng, 5, sources=("src_a", "src_b"))
    migrate.upgrade(eng)
    assert _kept(eng) == {"src_a": 3, "src_b": 2}
    make_records(eng, 9, sources=("src_b",))  # two of these nine are already stored
    assert _kept(eng) == _scanned(eng)
    migrate.downgrade(eng, "0018")
    make_records(eng, 12, sources=("src_c",))  # no trigger left behind that names the dropped table
    migrate.upgrade(eng)
    assert _kept(eng) == _scanned(eng)
    eng.dispose()
