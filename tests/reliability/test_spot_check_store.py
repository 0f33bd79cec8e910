"""Spot-checks through the database: a seeded sample of one cell stored as a queue, reviews, agreement."""

import numpy as np
import pytest

from mira_core.errors import NotFoundError
from mira_core.reliability.masks import Cell
from mira_core.reliability.spot_check_store import agreement, create_spot_check, spot_check_cells
from mira_core.storage import spot_checks_repo as spot
from mira_core.storage.engine import read_conn, write_tx
from tests.reliability.builders import make_records, scored_corpus


@pytest.fixture
def scored(engine):
    return scored_corpus(engine)


def test_spot_check_sampling_review_and_agreement(scored):
    engine, ids, _new, _teacher = scored
    with write_tx(engine) as conn:
        sid = create_spot_check(conn, source="src_a", slot="A2", size=4, seed=1, created_by="ann",
                                teacher="kimi")
        again = create_spot_check(conn, source="src_a", slot="A2", size=4, seed=1, created_by="ann",
                                  teacher="kimi")
    with read_conn(engine) as conn:
        items = spot.spot_check_items_frame(conn, sid)
        same = spot.spot_check_items_frame(conn, again)
    assert len(items) == 4 and items.record_id.tolist() == same.record_id.tolist()  # seeded
    assert items.record_id.isin(ids[0::2]).all()  # src_a only
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
        create_spot_check(conn, source="src_a", slot="A1", size=3, created_by="ann")


def test_a_sampled_but_unreviewed_cell_has_an_agreement_row_with_nothing_reviewed(scored):
    engine, *_ = scored
    with write_tx(engine) as conn:
        create_spot_check(conn, source="src_b", slot="A5", size=3, seed=2, created_by="ann", teacher="kimi")
    with read_conn(engine) as conn:
        agree = agreement(conn)
    row = agree[(agree.source == "src_b") & (agree.slot == "A5")].iloc[0]
    assert row.reviewed == 0 and row.skipped == 0 and np.isnan(row.human_student_mae)


def test_unknown_slot_or_empty_size_is_refused(scored):
    engine, *_ = scored
    with write_tx(engine) as conn:
        with pytest.raises(ValueError, match="unknown dimension"):
            create_spot_check(conn, source="src_a", slot="A16", size=3, created_by="ann")
        with pytest.raises(ValueError, match="at least one item"):
            create_spot_check(conn, source="src_a", slot="A1", size=0, created_by="ann")


def test_one_spot_check_per_cell_and_a_cell_without_scores_is_reported(scored):
    engine, *_ = scored
    cells = [Cell("src_a", "A1"), Cell("src_z", "A1"), Cell("src_b", "A9")]
    done = spot_check_cells(engine, cells, size=2, created_by="ann", teacher="kimi")
    assert done.made == 2 and len(done.failed) == 1 and "no student scores for src_z A1" in done.failed[0]
    with read_conn(engine) as conn:
        listing = spot.list_spot_checks(conn)
    assert sorted(zip(listing.source, listing.slot, strict=True)) == [("src_a", "A1"), ("src_b", "A9")]
    assert (listing["size"] == 2).all() and (listing.teacher == "kimi").all()
