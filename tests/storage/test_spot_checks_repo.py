"""Spot-check answers as stored rows: one per reviewer and revision, and the migration that made them so."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from mira_core.errors import StorageError
from mira_core.storage import migrate
from mira_core.storage import spot_checks_repo as spot
from mira_core.storage.engine import make_engine, read_conn, write_tx
from mira_core.storage.tables import records, spot_check_answers
from tests.app.builders import import_messages, messages_row


def _check(engine, tmp_path, n: int = 3) -> tuple[str, list[str]]:
    import_messages(engine, tmp_path, [messages_row(i) for i in range(n)])
    with write_tx(engine) as conn:
        ids = [r for (r,) in conn.execute(select(records.c.record_id).order_by(records.c.record_id))]
        sid = spot.insert_spot_check(conn, source="swe_qa", slot="A3", created_by="ann", seed=0, student_judge=None,
                                     teacher=None, items=[spot.SpotCheckItemRow(r, "mid", 5.0, None) for r in ids])
    return sid, ids


def test_answers_are_per_reviewer_with_their_history(engine, tmp_path):
    sid, _ = _check(engine, tmp_path)
    with write_tx(engine) as conn:
        spot.record_review(conn, sid, 0, human_score=7, reviewer="ann")
        spot.record_review(conn, sid, 0, human_score=3, reviewer="bob")
        spot.record_review(conn, sid, 0, human_score=6, reviewer="ann", note="second look")
    with read_conn(engine) as conn:
        current = spot.item_answers(conn, sid, 0)
        history = spot.answer_history(conn, sid, 0, "ann")
        every = list(spot.iter_reviews(conn, history=True))
        latest = list(spot.iter_reviews(conn))
        scores = spot.item_scores(conn)
    assert current[["reviewer", "revision", "human_score"]].values.tolist() == [["ann", 2, 6], ["bob", 1, 3]]
    assert history.human_score.tolist() == [7, 6] and history.note.tolist() == ["", "second look"]
    assert [(r["reviewer"], r["human_score"], r["current"]) for r in every] == [
        ("ann", 7, False), ("bob", 3, True), ("ann", 6, True)]
    assert sorted((r["reviewer"], r["human_score"]) for r in latest) == [("ann", 6), ("bob", 3)]
    # Agreement input: the two current answers of item 0, and one empty row for each unanswered item.
    assert sorted(scores.human_score.fillna(-1).tolist()) == [-1, -1, 3, 6]


def test_status_is_done_once_every_item_has_someones_answer(engine, tmp_path):
    sid, ids = _check(engine, tmp_path, n=2)
    with write_tx(engine) as conn:
        spot.record_review(conn, sid, 0, human_score=1, reviewer="ann")
        spot.record_review(conn, sid, 1, human_score=None, skipped=True, reviewer="bob")
        with pytest.raises(ValueError, match="0-10"):
            spot.record_review(conn, sid, 1, human_score=11, reviewer="ann")
    with read_conn(engine) as conn:
        listing = spot.list_spot_checks(conn, reviewer="ann").iloc[0]
        reviewed = [r for (r,) in conn.execute(select(records.c.record_id).where(
            records.c.record_id.in_(spot.spot_checked_ids(reviewed=True))))]
        pending = [r for (r,) in conn.execute(select(records.c.record_id).where(
            records.c.record_id.in_(spot.spot_checked_ids(reviewed=False))))]
    assert (listing.status, listing.done, listing.mine, listing.reviewers) == ("done", 2, 1, 2)
    assert reviewed == [ids[0]] and pending == []  # a skip is an answer, not a score


def test_one_reviewer_cannot_hold_two_current_answers(engine, tmp_path):
    """The (item, reviewer, revision) key refuses a second row for a revision already taken."""
    sid, _ = _check(engine, tmp_path, n=1)
    with write_tx(engine) as conn:
        spot.record_review(conn, sid, 0, human_score=4, reviewer="ann")
    with pytest.raises(StorageError), write_tx(engine) as conn:  # what a racing second save would try
        conn.execute(spot_check_answers.insert().values(
            spot_check_id=sid, position=0, reviewer="ann", revision=1, is_current=True, human_score=9, skipped=False,
            note="", reviewed_at=datetime.now(UTC)))
    with read_conn(engine) as conn:
        assert spot.item_answers(conn, sid, 0).human_score.tolist() == [4]


def test_migration_keeps_the_answers_of_the_one_answer_schema(db_url, tmp_path):
    eng = make_engine(db_url)
    migrate.upgrade(eng, "0008")
    import_messages(eng, tmp_path, [messages_row(i) for i in range(3)])
    with write_tx(eng) as conn:
        ids = [r for (r,) in conn.execute(select(records.c.record_id).order_by(records.c.record_id))]
        conn.execute(text("INSERT INTO spot_checks (spot_check_id, source, slot, size, seed, created_by, created_at,"
                          " status) VALUES ('s1', 'swe_qa', 'A3', 3, 0, 'ann', :t, 'open')"), {"t": datetime.now(UTC)})
        for pos, (score, skipped, who) in enumerate([(8, False, "ann"), (None, True, "bob"), (None, False, None)]):
            conn.execute(text(
                "INSERT INTO spot_check_items (spot_check_id, position, record_id, stratum, student_score, human_score,"
                " skipped, note, reviewer, reviewed_at) VALUES ('s1', :p, :r, 'mid', 5, :h, :s, 'n', :w, :t)"),
                {"p": pos, "r": ids[pos], "h": score, "s": skipped, "w": who, "t": datetime.now(UTC) if who else None})
    migrate.upgrade(eng)
    with read_conn(eng) as conn:
        got = [(r["position"], r["reviewer"], r["human_score"], r["skipped"], r["revision"], r["current"])
               for r in spot.iter_reviews(conn)]
    assert got == [(0, "ann", 8, False, 1, True), (1, "bob", None, True, 1, True)]
    migrate.downgrade(eng, "0008")  # and back: the answers return to their items
    with read_conn(eng) as conn:
        back = conn.execute(text("SELECT human_score, reviewer FROM spot_check_items ORDER BY position")).all()
    assert [tuple(r) for r in back] == [(8, "ann"), (None, "bob"), (None, None)]
    eng.dispose()
