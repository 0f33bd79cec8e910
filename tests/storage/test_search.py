"""Full-text filters return exactly the records whose text matches, on SQLite (FTS5 rows keyed by the
record's rowid) and PostgreSQL, across several imports; migration 0007 re-keys a store whose rows drifted."""

import sqlite3

from sqlalchemy import text

from mira_core.query import RecordFilter
from mira_core.storage import migrate
from mira_core.storage import records_repo as repo
from mira_core.storage.engine import make_engine, read_conn, write_tx
from mira_core.storage.search_index import search_rows_aligned
from tests.app.builders import import_messages, messages_row


def _by_word(engine, words: list[str]) -> dict[str, list[str]]:
    with read_conn(engine) as conn:
        return {w: repo.list_records(conn, RecordFilter(text=w), limit=10).instance_id.tolist() for w in words}


def test_each_word_finds_its_own_record_across_imports(engine, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    import_messages(engine, tmp_path / "a", [messages_row(i, issue=f"crash in module{i}word") for i in range(5)])
    # The second import repeats two rows (already present) between new ones.
    import_messages(engine, tmp_path / "b", [messages_row(i, issue=f"crash in module{i}word") for i in (3, 9, 4, 7)])
    words = [f"module{i}word" for i in (0, 1, 2, 3, 4, 7, 9)]
    assert _by_word(engine, words) == {w: [f"org__repo-{w[6:-4]}"] for w in words}
    with read_conn(engine) as conn:
        assert repo.count_records(conn, RecordFilter(text="crash")) == 7
        assert repo.count_records(conn, RecordFilter(text="crash module9word", sources=["swe_qa"])) == 1


def test_migration_rekeys_search_rows_that_drifted_from_their_records(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    migrate.upgrade(eng, "0006")
    import_messages(eng, tmp_path, [messages_row(i, issue=f"fails on input{i}x") for i in range(4)])
    with write_tx(eng) as conn:  # what an older store may hold: search rows numbered on their own
        conn.execute(text("UPDATE records_fts SET rowid = rowid + 100"))
    assert _by_word(eng, ["input2x"]) == {"input2x": []}
    migrate.upgrade(eng)
    assert _by_word(eng, [f"input{i}x" for i in range(4)]) == {f"input{i}x": [f"org__repo-{i}"] for i in range(4)}
    with read_conn(eng) as conn:
        assert conn.execute(text("SELECT count(*) FROM records_fts")).scalar() == 4
    eng.dispose()


def _hand_edited_store(tmp_path, deleted: int = 1):
    """A store where someone deleted a record with plain SQL (its search row stays behind)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'edited.sqlite'}")
    migrate.upgrade(eng)
    import_messages(eng, tmp_path, [messages_row(i, issue=f"fails on input{i}x") for i in range(5)])
    with write_tx(eng) as conn:
        conn.execute(text("DELETE FROM records WHERE instance_id = :i"), {"i": f"org__repo-{deleted}"})
    return eng


WORDS = [f"input{i}x" for i in (0, 2, 3, 4)]
EXPECTED = {**{w: [f"org__repo-{w[5]}"] for w in WORDS}, "input1x": []}


def test_records_renumbered_after_a_hand_delete_are_mended_at_the_next_start(tmp_path):
    """SQLite may renumber rowids of a table without an INTEGER PRIMARY KEY (VACUUM is allowed to)."""
    eng = _hand_edited_store(tmp_path)
    raw = sqlite3.connect(tmp_path / "edited.sqlite")
    raw.execute("UPDATE records SET rowid = rowid - 1 WHERE rowid > 2")  # what a renumbering does
    raw.commit()
    raw.execute("VACUUM")
    raw.close()
    assert _by_word(eng, WORDS) != EXPECTED  # the search rows point one record off
    with read_conn(eng) as conn:
        assert not search_rows_aligned(conn)
    migrate.upgrade(eng)  # what every command, the worker and the app do when they start
    assert _by_word(eng, [*WORDS, "input1x"]) == EXPECTED
    with read_conn(eng) as conn:
        assert search_rows_aligned(conn)
        assert conn.execute(text("SELECT count(*) FROM records_fts")).scalar() == 4
    eng.dispose()


def test_a_stale_search_row_is_dropped_so_the_next_import_can_reuse_its_rowid(tmp_path):
    eng = _hand_edited_store(tmp_path, deleted=4)  # the newest: the next record gets its rowid back
    with read_conn(eng) as conn:
        assert not search_rows_aligned(conn)  # one search row more than records
    migrate.upgrade(eng)
    (tmp_path / "more").mkdir()
    import_messages(eng, tmp_path / "more", [messages_row(9, issue="fails on input9x")])  # no rejection
    words = ["input0x", "input1x", "input4x", "input9x"]
    assert _by_word(eng, words) == {"input0x": ["org__repo-0"], "input1x": ["org__repo-1"], "input4x": [],
                                    "input9x": ["org__repo-9"]}
    eng.dispose()
