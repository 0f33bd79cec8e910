"""Record judgements loader: one record's student and teacher scores side by side with the active mask."""

import pytest

from mira_core.errors import NotFoundError
from mira_core.reliability.mask_store import save_mask_version
from mira_core.reliability.masks import Cell, CellDecision, Mask
from mira_core.storage.engine import read_conn, write_tx
from mira_core.views.record_judgements import load_record_judgements
from tests.reliability.builders import make_records, person, scored_corpus


@pytest.fixture
def scored(engine):
    return scored_corpus(engine)


def test_record_judgements_side_by_side_with_the_active_mask(scored):
    engine, ids, new, teacher = scored
    mask = Mask(cells={Cell("src_a", "A2"): CellDecision(masked=True, reason="MAE 3.10 > 2.00")})
    with write_tx(engine) as conn:
        save_mask_version(conn, name="m", mask=mask, rules=None, actor=person("ann"))
    with read_conn(engine) as conn:
        got = load_record_judgements(conn, record_id=ids[0])  # ids[0] is src_a and has a teacher label
        unlabelled = load_record_judgements(conn, record_id=ids[9], teacher="kimi")
        with pytest.raises(NotFoundError):
            load_record_judgements(conn, record_id="missing")
    df = got.rows
    a2 = df.set_index("slot").loc["A2"]
    assert a2.masked and a2.mask_reason == "MAE 3.10 > 2.00"
    assert a2.student == new[0, 1] and a2.teacher == teacher[0, 1]
    assert a2.student_rationale == "mira-student because A2" and a2.teacher_rationale == "kimi because A2"
    assert not df.set_index("slot").loc["A1"].masked
    assert unlabelled.rows.teacher.isna().all() and (unlabelled.rows.teacher_rationale == "").all()
    assert got.has_scores and unlabelled.has_scores  # ids[9] has a student score, no teacher label


def test_a_record_nobody_scored_has_nothing_to_show(engine):
    (rid,) = make_records(engine, 1)
    with read_conn(engine) as conn:
        got = load_record_judgements(conn, record_id=rid)
    assert not got.has_scores and got.record_id == rid and len(got.rows) == 15
    assert (got.rows.student_rationale == "").all() and not got.rows.masked.any()
