"""Each record's latest complete student overall, kept on its row (migration 0016), on both back ends."""

from sqlalchemy import select

from mira_core.storage import migrate, scores_repo
from mira_core.storage.engine import make_engine, read_conn, write_tx
from mira_core.storage.tables import records
from tests.storage.test_browse_filters import _score, ids  # noqa: F401  (fixture)


def _keys(engine, rid):
    with read_conn(engine) as conn:
        return {r: (d, a) for r, d, a in conn.execute(
            select(records.c.record_id, records.c.overall_desc_key, records.c.overall_asc_key))}


def test_every_student_score_write_keeps_the_keys(engine, ids):  # noqa: F811
    keys = _keys(engine, ids)
    assert keys[ids[0]] == (90, 90)
    assert keys[ids[1]] == (80, 80)  # the newer score
    assert keys[ids[2]] == (70, 70)  # a newer incomplete one does not count
    for unscored in (ids[3], ids[4], ids[6]):  # only incomplete / a teacher label / nothing
        assert keys[unscored] == (-1, 101)
    with write_tx(engine) as conn:
        scores_repo.insert_scores(conn, [_score(ids[6], 33)])
        sid = conn.scalar(select(scores_repo.scores.c.score_id).where(scores_repo.scores.c.record_id == ids[0]))
        scores_repo.update_parsed(conn, [{"score_id": sid, "overall": 12}])  # reparse changes the number
    keys = _keys(engine, ids)
    assert keys[ids[6]] == (33, 33) and keys[ids[0]] == (12, 12)


def test_migration_0016_fills_the_keys_of_a_scored_store(db_url, tmp_path):
    from tests.app.builders import import_messages, messages_row

    eng = make_engine(db_url)
    migrate.upgrade(eng)
    import_messages(eng, tmp_path, [messages_row(i) for i in range(3)])
    with read_conn(eng) as conn:
        rid = sorted(conn.scalars(select(records.c.record_id)))
    with write_tx(eng) as conn:
        scores_repo.insert_score(conn, _score(rid[0], 77))
        conn.execute(records.update().values(overall_desc_key=-1, overall_asc_key=101))  # as before 0016
    migrate.downgrade(eng, "0015")
    migrate.upgrade(eng)  # the backfill
    keys = _keys(eng, rid)
    assert keys[rid[0]] == (77, 77) and keys[rid[1]] == (-1, 101)
    with read_conn(eng) as conn:  # going down and up again lost nothing
        assert len(conn.execute(select(scores_repo.scores.c.score_id)).all()) == 1
    eng.dispose()
