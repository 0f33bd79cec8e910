"""Spot-check loader: the item to review, where a review resumes, and which judges it shows."""

import numpy as np
import pytest

from mira_core.errors import NotFoundError
from mira_core.reliability import create_spot_check, record_review
from mira_core.storage import read_conn, write_tx
from mira_core.views import spot_check as view
from mira_core.views.spot_check import load_spot_check_item, load_spot_checks
from tests.reliability.builders import add_scores, make_records, person


@pytest.fixture
def check(engine):
    """Six src_a records scored by student `stud` and teachers `kimi` then `later`; a 4-item check of A3."""
    ids = make_records(engine, 6, sources=("src_a",))
    add_scores(engine, ids, np.full((6, 15), 4.0), judge="stud")
    add_scores(engine, ids, np.full((6, 15), 9.0), kind="teacher", judge="kimi")
    add_scores(engine, ids, np.full((6, 15), 1.0), kind="teacher", judge="later")  # newest teacher label
    with write_tx(engine) as conn:
        sid = create_spot_check(conn, source="src_a", slot="A3", size=4, seed=0, actor=person("ann"), teacher="kimi")
    return engine, sid


def test_a_review_resumes_at_the_first_item_this_reviewer_has_not_answered(check):
    engine, sid = check
    with write_tx(engine) as conn:
        record_review(conn, spot_check_id=sid, position=0, human_score=6, actor=person("ann"), note="fine")
        record_review(conn, spot_check_id=sid, position=1, human_score=None, skipped=True, actor=person("ann"))
        record_review(conn, spot_check_id=sid, position=2, human_score=3, actor=person("bob"))
    with read_conn(engine) as conn:
        fresh = load_spot_check_item(conn, spot_check_id=sid, reviewer="ann")
        first = load_spot_check_item(conn, spot_check_id=sid, position=0, reviewer="ann")
        bobs = load_spot_check_item(conn, spot_check_id=sid, reviewer="bob")
        past_end = load_spot_check_item(conn, spot_check_id=sid, position=99, reviewer="ann")
    assert (fresh.position, fresh.resume_at, fresh.n_answered, fresh.n_items) == (2, 2, 2, 4)
    assert fresh.human_score is None and not fresh.skipped and not fresh.answered  # bob's 3 is not ann's
    assert (first.human_score, first.note, first.reviewer, first.skipped) == (6, "fine", "ann", False)
    assert (bobs.position, bobs.n_answered) == (0, 1)  # bob starts where he has not answered: the first item
    assert past_end.position == 3 and not past_end.all_answered
    assert fresh.reviewers.set_index("reviewer").to_dict("index") == {"ann": {"scored": 1, "skipped": 1},
                                                                       "bob": {"scored": 1, "skipped": 0}}


def test_review_is_blind_until_the_reviewer_answers(check):
    engine, sid = check
    with write_tx(engine) as conn:
        record_review(conn, spot_check_id=sid, position=0, human_score=8, actor=person("ann"), note="ann's view")
        record_review(conn, spot_check_id=sid, position=0, human_score=2, actor=person("cat"))
    with read_conn(engine) as conn:
        before = load_spot_check_item(conn, spot_check_id=sid, position=0, reviewer="bob")
    assert before.n_reviewers == 2 and before.others_hidden == 2 and before.others.empty
    assert before.human_score is None
    with write_tx(engine) as conn:
        record_review(conn, spot_check_id=sid, position=0, human_score=5, actor=person("bob"))
    with read_conn(engine) as conn:
        after = load_spot_check_item(conn, spot_check_id=sid, position=0, reviewer="bob")
    assert after.n_reviewers == 3 and after.others_hidden == 0
    assert after.others[["reviewer", "human_score", "note"]].values.tolist() == [["ann", 8, "ann's view"],
                                                                                 ["cat", 2, ""]]


def test_a_changed_answer_keeps_the_earlier_one(check):
    engine, sid = check
    with write_tx(engine) as conn:
        record_review(conn, spot_check_id=sid, position=1, human_score=7, actor=person("ann"))
        record_review(conn, spot_check_id=sid, position=1, human_score=None, skipped=True, actor=person("ann"))
        record_review(conn, spot_check_id=sid, position=1, human_score=4, actor=person("ann"))
    with read_conn(engine) as conn:
        item = load_spot_check_item(conn, spot_check_id=sid, position=1, reviewer="ann")
        listing = load_spot_checks(conn, reviewer="ann")
    assert item.human_score == 4 and item.earlier == ("7", "skipped") and item.n_reviewers == 1
    assert listing[["done", "reviewers", "mine"]].values.tolist() == [[1, 1, 1]]  # one item, counted once


def test_skips_count_as_answered_and_a_finished_check_reopens_at_the_start(check):
    engine, sid = check
    with write_tx(engine) as conn:
        for pos in range(4):
            record_review(conn, spot_check_id=sid, position=pos, human_score=None, skipped=True, actor=person("ann"))
    with read_conn(engine) as conn:
        done = load_spot_check_item(conn, spot_check_id=sid, reviewer="ann")
        for_bob = load_spot_check_item(conn, spot_check_id=sid, reviewer="bob")
        listing = load_spot_checks(conn, source="src_a", slot="A3", reviewer="bob")
        other_cell = load_spot_checks(conn, source="src_a", slot="A4")
    assert done.all_answered and (done.position, done.resume_at) == (0, 0) and done.skipped
    assert not for_bob.all_answered and for_bob.n_answered == 0  # ann finishing does not finish bob's review
    assert listing.spot_check_id.tolist() == [sid] and listing[["done", "mine", "reviewers"]].values.tolist() == [
        [4, 0, 1]] and listing.status.tolist() == ["done"]
    assert other_cell.empty


def test_judges_are_the_ones_the_spot_check_names(check, monkeypatch):
    engine, sid = check
    monkeypatch.setattr(view, "ISSUE_CHARS", 12)
    with read_conn(engine) as conn:
        item = load_spot_check_item(conn, spot_check_id=sid, reviewer="ann")
    assert item.teacher is not None and item.student is not None
    assert (item.teacher.judge, item.teacher.score) == ("kimi", 9.0)  # not the newer "later" label
    assert item.teacher.rationale == "kimi because A3"
    assert (item.student.judge, item.student.score) == ("stud", 4.0)
    assert item.issue == "Issue number…" and item.title.startswith("Issue number")
    assert (item.source, item.slot) == ("src_a", "A3") and item.stratum in {"gap", "low", "mid", "high"}


def test_unknown_spot_check_is_not_found(check):
    engine, _ = check
    with read_conn(engine) as conn, pytest.raises(NotFoundError, match="spot-check nope not found"):
        load_spot_check_item(conn, spot_check_id="nope", reviewer="ann")
