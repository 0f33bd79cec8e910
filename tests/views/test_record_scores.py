"""Scores tab: student, teacher, human (blind review per item) and the mask per dimension; a job in flight."""

import pandas as pd
from sqlalchemy import update

from mira_core.reliability.mask_store import save_mask_version
from mira_core.reliability.masks import Cell, CellDecision, Mask
from mira_core.reliability.spot_check_store import create_spot_check, record_review
from mira_core.scoring import jobs
from mira_core.scoring.settings import ScorerSettings
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.tables import score_job_items
from mira_core.views.record_scores import job_in_flight, load_scores_tab, visible_human_answers
from tests.reliability.builders import person, scored_corpus

NAMES = {f"A{i}": f"dim {i}" for i in range(1, 16)}


def _answers(rows):
    return pd.DataFrame(rows, columns=["spot_check_id", "slot", "position", "reviewer", "human_score", "skipped"])


def test_blind_review_shows_an_answer_only_to_who_answered_the_same_item():
    answers = _answers([
        ("s1", "A7", 0, "ann", 7.0, False), ("s1", "A7", 0, "bob", 6.0, False),
        ("s1", "A7", 1, "bob", 5.0, False),  # ann has not answered item 1: held back from her
        ("s2", "A3", 0, "ann", float("nan"), True), ("s2", "A3", 0, "cyd", 8.0, False),  # her skip counts
    ])
    ann = visible_human_answers(answers, "ann")
    assert ann.by_slot == {"A7": "7 (ann) · 6 (bob)", "A3": "8 (cyd)"} and ann.hidden == 1
    dan = visible_human_answers(answers, "dan")  # answered nothing: sees nothing, told how much is held back
    assert dan.by_slot == {} and dan.hidden == 5
    bob = visible_human_answers(answers, "bob")
    assert bob.by_slot == {"A7": "7 (ann) · 6 (bob) · 5 (bob)"} and bob.hidden == 2


def test_scores_tab_puts_student_teacher_human_and_mask_side_by_side(engine):
    _, ids, new, teacher = scored_corpus(engine)
    mask = Mask(cells={Cell("src_a", "A2"): CellDecision(masked=True, reason="MAE 3.10 > 2.00")})
    with write_tx(engine) as conn:
        save_mask_version(conn, name="m", mask=mask, rules=None, actor=person("ann"))
        sid = create_spot_check(conn, source="src_a", slot="A2", size=6, seed=0, actor=person("ann"), teacher="kimi")
    with read_conn(engine) as conn:
        items = pd.read_sql_query(f"SELECT position, record_id FROM spot_check_items WHERE spot_check_id = '{sid}'",
                                  conn)
    pos = int(items.set_index("record_id").position[ids[0]])
    with write_tx(engine) as conn:
        record_review(conn, spot_check_id=sid, position=pos, human_score=9, actor=person("ann"))
    with read_conn(engine) as conn:
        for_ann = load_scores_tab(conn, ids[0], viewer="ann", slot_names=NAMES)
        for_bob = load_scores_tab(conn, ids[0], viewer="bob", slot_names=NAMES)
    a2 = for_ann.table.set_index("slot").loc["A2"]
    assert a2.dimension == "dim 2" and a2.score == new[0, 1] and a2.teacher == teacher[0, 1]
    assert a2.human == "9 (ann)" and a2.masked and a2["mask"] == "masked: MAE 3.10 > 2.00"
    assert a2.rationale == "mira-student because A2"
    assert not for_ann.table.set_index("slot").loc["A1"].masked and for_ann.hidden_human == 0
    assert (for_bob.table.human == "").all() and for_bob.hidden_human == 1
    assert for_ann.job_in_flight is None and len(for_ann.scores.runs) == 2


def test_a_job_is_in_flight_until_it_has_scored_the_record(engine):
    _, ids, _, _ = scored_corpus(engine)
    job = jobs.start_job(engine, ScorerSettings(), actor=person("ops"), record_ids=[ids[0]])
    with read_conn(engine) as conn:
        assert job_in_flight(conn, ids[0]) == job and job_in_flight(conn, ids[1]) is None
    with write_tx(engine) as conn:
        conn.execute(update(score_job_items).values(status="done"))
    with read_conn(engine) as conn:
        assert job_in_flight(conn, ids[0]) is None
