"""Spot-checks through the database: a seeded sample of one cell stored as a queue, reviews, agreement."""

import numpy as np
import pytest

from mira_core.errors import NotFoundError
from mira_core.identity import PermissionDenied, Role
from mira_core.reliability.masks import Cell
from mira_core.reliability.spot_check_store import (
    agreement,
    create_spot_check,
    record_review,
    spot_check_cells,
)
from mira_core.storage import spot_checks_repo as spot
from mira_core.storage.engine import read_conn, write_tx
from mira_core.team import list_changes
from tests.reliability.builders import make_records, person, scored_corpus


@pytest.fixture
def scored(engine):
    return scored_corpus(engine)


def test_spot_check_sampling_review_and_agreement(scored):
    engine, ids, _new, _teacher = scored
    with write_tx(engine) as conn:
        sid = create_spot_check(conn, source="src_a", slot="A2", size=4, seed=1, actor=person("ann"),
                                teacher="kimi")
        again = create_spot_check(conn, source="src_a", slot="A2", size=4, seed=1, actor=person("ann"),
                                  teacher="kimi")
    with read_conn(engine) as conn:
        items = spot.spot_check_items_frame(conn, sid, reviewer="ann")
        same = spot.spot_check_items_frame(conn, again)
    assert len(items) == 4 and items.record_id.tolist() == same.record_id.tolist()  # seeded
    assert items.record_id.isin(ids[0::2]).all()  # src_a only
    # src_a has 6 records, 4 of them labelled by kimi (ids[:8] alternate sources): those 4 are drawn.
    assert items.teacher_score.notna().all() and items.record_id.isin(ids[:8]).all()
    with write_tx(engine) as conn:
        for pos, row in items.iterrows():
            if pos == 3:
                spot.record_review(conn, sid, pos, human_score=None, skipped=True, reviewer="ann")
            else:
                spot.record_review(conn, sid, pos, human_score=int(row.student_score), reviewer="ann", note="ok")
        with pytest.raises(ValueError, match="0-10"):
            spot.record_review(conn, sid, 0, human_score=11, reviewer="ann")
    with read_conn(engine) as conn:
        listing = spot.list_spot_checks(conn, source="src_a", slot="A2")
        agree = agreement(conn)
    mine = listing.set_index("spot_check_id").loc[sid]
    assert mine.done == 4 and mine.status == "done"
    row = agree[(agree.source == "src_a") & (agree.slot == "A2")].iloc[0]
    assert row.reviewed == 3  # the second spot-check of the cell was never reviewed
    assert row.skipped == 1 and row.human_student_mae == 0.0


def test_spot_check_of_an_unscored_cell_is_refused(engine):
    make_records(engine, 2)
    with write_tx(engine) as conn, pytest.raises(NotFoundError, match="no student scores"):
        create_spot_check(conn, source="src_a", slot="A1", size=3, actor=person("ann"))


def test_a_sampled_but_unreviewed_cell_has_an_agreement_row_with_nothing_reviewed(scored):
    engine, *_ = scored
    with write_tx(engine) as conn:
        create_spot_check(conn, source="src_b", slot="A5", size=3, seed=2, actor=person("ann"), teacher="kimi")
    with read_conn(engine) as conn:
        agree = agreement(conn)
    row = agree[(agree.source == "src_b") & (agree.slot == "A5")].iloc[0]
    assert row.reviewed == 0 and row.skipped == 0 and np.isnan(row.human_student_mae)


def test_unknown_slot_or_empty_size_is_refused(scored):
    engine, *_ = scored
    with write_tx(engine) as conn:
        with pytest.raises(ValueError, match="unknown dimension"):
            create_spot_check(conn, source="src_a", slot="A16", size=3, actor=person("ann"))
        with pytest.raises(ValueError, match="at least one item"):
            create_spot_check(conn, source="src_a", slot="A1", size=0, actor=person("ann"))


def test_one_spot_check_per_cell_and_a_cell_without_scores_is_reported(scored):
    engine, *_ = scored
    cells = [Cell("src_a", "A1"), Cell("src_z", "A1"), Cell("src_b", "A9")]
    done = spot_check_cells(engine, cells, size=2, actor=person("ann"), teacher="kimi")
    assert done.made == 2 and len(done.failed) == 1 and "no student scores for src_z A1" in done.failed[0]
    with read_conn(engine) as conn:
        listing = spot.list_spot_checks(conn)
    assert sorted(zip(listing.source, listing.slot, strict=True)) == [("src_a", "A1"), ("src_b", "A9")]
    assert (listing["size"] == 2).all() and (listing.teacher == "kimi").all()


@pytest.mark.parametrize("role", list(Role))
def test_starting_spot_checks_needs_a_curator_and_names_them(scored, role):
    engine, *_ = scored
    who = person(f"{role}@example.org", role)
    with write_tx(engine) as conn:
        if role is Role.viewer:
            with pytest.raises(PermissionDenied, match="starting spot-checks needs the curator role; viewer@"):
                create_spot_check(conn, source="src_a", slot="A2", size=3, actor=who)
        else:
            create_spot_check(conn, source="src_a", slot="A2", size=3, seed=4, actor=who)
    if role is Role.viewer:  # refused before the first cell, not once per cell
        with pytest.raises(PermissionDenied, match="starting spot-checks needs the curator role"):
            spot_check_cells(engine, [Cell("src_a", "A1"), Cell("src_b", "A9")], size=2, actor=who)
    else:
        assert spot_check_cells(engine, [Cell("src_b", "A9")], size=2, actor=who).made == 1
    with read_conn(engine) as conn:
        listing = spot.list_spot_checks(conn)
        log = list_changes(conn)
    if role is Role.viewer:
        assert (listing.empty, log) == (True, [])
        return
    assert listing.created_by.tolist() == [who.user_id] * 2
    # No teacher named: no item has a teacher label to compare with, and the log says so.
    details = {"src_a": {"source": "src_a", "slot": "A2", "items": 3, "seed": 4, "with_teacher": 0,
                         "without_teacher": 3},
               "src_b": {"source": "src_b", "slot": "A9", "items": 2, "seed": 0, "with_teacher": 0,
                         "without_teacher": 2}}
    assert {c.target_id: (c.kind, c.actor, c.target_kind, c.detail) for c in log} == {
        sid: ("spot_check.create", who.user_id, "spot_check", details[source])
        for sid, source in zip(listing.spot_check_id, listing.source, strict=True)}


@pytest.mark.parametrize("role", list(Role))
def test_answering_a_spot_check_needs_a_curator_and_names_them(scored, role):
    engine, *_ = scored
    with write_tx(engine) as conn:
        sid = create_spot_check(conn, source="src_a", slot="A2", size=2, actor=person("ops"))
    who = person(f"{role}@example.org", role)
    with write_tx(engine) as conn:
        if role is Role.viewer:
            with pytest.raises(PermissionDenied, match="answering spot-checks needs the curator role; viewer@"):
                record_review(conn, spot_check_id=sid, position=0, human_score=5, actor=who)
        else:
            record_review(conn, spot_check_id=sid, position=0, human_score=5, note="looks right", actor=who)
            record_review(conn, spot_check_id=sid, position=1, human_score=None, skipped=True, actor=who)
    with read_conn(engine) as conn:
        items = spot.spot_check_items_frame(conn, sid, reviewer=who.user_id)
        mine = list_changes(conn, actors=[who.user_id])
    if role is Role.viewer:
        assert (int(items.n_reviewers.sum()), mine) == (0, [])
        return
    assert items.answered.tolist() == [True, True] and items.n_reviewers.tolist() == [1, 1]
    assert [(c.kind, c.target_kind, c.target_id, c.record_id, c.detail) for c in mine] == [  # no note, no score
        ("spot_check.answer", "spot_check", sid, items.record_id[1], {"position": 1, "skipped": True}),
        ("spot_check.answer", "spot_check", sid, items.record_id[0], {"position": 0, "skipped": False})]
