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


def test_a_review_resumes_at_the_first_unanswered_item(check):
    engine, sid = check
    with write_tx(engine) as conn:
        record_review(conn, spot_check_id=sid, position=0, human_score=6, actor=person("ann"), note="fine")
        record_review(conn, spot_check_id=sid, position=1, human_score=None, skipped=True, actor=person("bob"))
    with read_conn(engine) as conn:
        fresh = load_spot_check_item(conn, spot_check_id=sid)
        first = load_spot_check_item(conn, spot_check_id=sid, position=0)
        past_end = load_spot_check_item(conn, spot_check_id=sid, position=99)
    assert (fresh.position, fresh.resume_at, fresh.n_answered, fresh.n_items) == (2, 2, 2, 4)
    assert fresh.human_score is None and not fresh.skipped and fresh.reviewer is None
    assert (first.human_score, first.note, first.reviewer, first.skipped) == (6, "fine", "ann", False)
    assert past_end.position == 3 and not past_end.all_answered
    assert fresh.reviewers.set_index("reviewer").to_dict("index") == {"ann": {"scored": 1, "skipped": 0},
                                                                       "bob": {"scored": 0, "skipped": 1}}


def test_skips_count_as_answered_and_a_finished_check_reopens_at_the_start(check):
    engine, sid = check
    with write_tx(engine) as conn:
        for pos in range(4):
            record_review(conn, spot_check_id=sid, position=pos, human_score=None, skipped=True, actor=person("ann"))
    with read_conn(engine) as conn:
        done = load_spot_check_item(conn, spot_check_id=sid)
        listing = load_spot_checks(conn, source="src_a", slot="A3")
        other_cell = load_spot_checks(conn, source="src_a", slot="A4")
    assert done.all_answered and (done.position, done.resume_at) == (0, 0) and done.skipped
    assert listing.spot_check_id.tolist() == [sid] and listing.done.tolist() == [4] and other_cell.empty


def test_judges_are_the_ones_the_spot_check_names(check, monkeypatch):
    engine, sid = check
    monkeypatch.setattr(view, "ISSUE_CHARS", 12)
    with read_conn(engine) as conn:
        item = load_spot_check_item(conn, spot_check_id=sid)
    assert item.teacher is not None and item.student is not None
    assert (item.teacher.judge, item.teacher.score) == ("kimi", 9.0)  # not the newer "later" label
    assert item.teacher.rationale == "kimi because A3"
    assert (item.student.judge, item.student.score) == ("stud", 4.0)
    assert item.issue == "Issue number…" and item.title.startswith("Issue number")
    assert (item.source, item.slot) == ("src_a", "A3") and item.stratum in {"gap", "low", "mid", "high"}


def test_unknown_spot_check_is_not_found(check):
    engine, _ = check
    with read_conn(engine) as conn, pytest.raises(NotFoundError, match="spot-check nope not found"):
        load_spot_check_item(conn, spot_check_id="nope")
