"""Reliability loaders: choices, the matrix under the page filters, the mask preview and one cell's drill-down.

The corpus is built so the numbers can be checked by hand: six records alternating src_a / src_b with
student scores 2, 2, 5, 5, 8, 8 on every dimension; the teacher gives src_a two points more and agrees
with src_b exactly. So per dimension src_a has MAE 2 and src_b MAE 0 (both ρ = 1), all sources MAE 1.
"""

import math

import numpy as np
import pytest

from mira_core.reliability import ALL_SOURCES, Cell, MaskRules, Override, create_spot_check, record_review
from mira_core.storage import read_conn, write_tx
from mira_core.views.reliability import (
    Judges,
    PairFilter,
    agreement_matrix,
    data_version,
    load_agreement,
    load_cell,
    load_choices,
    load_score_pairs,
    preview_mask,
)
from tests.reliability.builders import add_scores, make_records, person

RULES = MaskRules(max_mae=1.5, min_rho=0.3, min_n=2)


@pytest.fixture
def corpus(engine):
    ids = make_records(engine, 6)  # even positions src_a (not resolved), odd src_b (resolved)
    student = np.repeat([2.0, 2.0, 5.0, 5.0, 8.0, 8.0], 15).reshape(6, 15)
    teacher = student + np.array([2.0, 0.0] * 3)[:, None]
    add_scores(engine, ids, student, judge="stud", prompt_version="v7")
    add_scores(engine, ids, teacher, kind="teacher", judge="kimi")
    with read_conn(engine) as conn:
        pairs = load_score_pairs(conn, judges=Judges(teacher="kimi"))
    return engine, ids, pairs


def _row(matrix, source, slot="A1"):
    return matrix[(matrix.source == source) & (matrix.slot == slot)].iloc[0]


def test_choices_offer_what_is_stored_and_the_data_version_moves_with_scores(corpus):
    engine, ids, _ = corpus
    with read_conn(engine) as conn:
        choices = load_choices(conn)
        before = data_version(conn)
    assert (choices.teachers, choices.students, choices.prompts) == (["kimi"], ["stud"], ["v7"])
    assert choices.sources == ["src_a", "src_b"]
    add_scores(engine, ids[:1], np.full((1, 15), 3.0), judge="stud2")
    with read_conn(engine) as conn:
        assert data_version(conn) != before  # the page's cached pairs and matrix are keyed by it


def test_matrix_follows_the_page_filters(corpus):
    _, _, pairs = corpus
    full = agreement_matrix(pairs, where=PairFilter(), min_n=2)
    assert (_row(full, "src_a").mae, _row(full, "src_b").mae, _row(full, ALL_SOURCES).mae) == (2.0, 0.0, 1.0)
    assert _row(full, "src_a").n == 3 and not _row(full, "src_a").too_few
    only_b = agreement_matrix(pairs, where=PairFilter(sources=("src_b",)), min_n=2)
    assert set(only_b.source) == {"src_b", ALL_SOURCES} and _row(only_b, ALL_SOURCES).mae == 0.0
    resolved = agreement_matrix(pairs, where=PairFilter(outcomes=("resolved",)), min_n=2)
    assert set(resolved.source) == {"src_b", ALL_SOURCES}  # odd records are resolved
    strict = agreement_matrix(pairs, where=PairFilter(), min_n=4)
    assert _row(strict, "src_a").too_few and not _row(strict, ALL_SOURCES).too_few  # 3 < 4 <= 6


def test_preview_masks_what_the_rules_break_and_overrides_win(corpus):
    _, _, pairs = corpus
    matrix = agreement_matrix(pairs, where=PairFilter(), min_n=2)
    preview = preview_mask(matrix, rules=RULES)
    assert preview.masked_cells == sorted(Cell("src_a", f"A{k}") for k in range(1, 16))  # MAE 2 > 1.5
    assert preview.n_cells == 30 and preview.cell_sources == ["src_a", "src_b", ALL_SOURCES]
    forced = preview_mask(matrix, rules=RULES, overrides=[
        Override(source="src_a", slot="A3", masked=False, reason="checked by hand")])
    assert len(forced.masked_cells) == 14 and Cell("src_a", "A3") not in forced.masked_cells


def test_cell_drill_down_joins_titles_and_human_agreement(corpus):
    engine, ids, pairs = corpus
    matrix = agreement_matrix(pairs, where=PairFilter(), min_n=2)
    mask = preview_mask(matrix, rules=RULES).mask
    with write_tx(engine) as conn:
        sid = create_spot_check(conn, source="src_a", slot="A1", size=1, actor=person("ann"), teacher="kimi")
        record_review(conn, spot_check_id=sid, position=0, human_score=4, actor=person("ann"))
        record_review(conn, spot_check_id=sid, position=0, human_score=7, actor=person("bob"))
    with read_conn(engine) as conn:
        cell = load_cell(conn, pairs=pairs, matrix=matrix, mask=mask, source="src_a", slot="A1", max_points=2)
        everyone = load_cell(conn, pairs=pairs, matrix=matrix, mask=mask, source=ALL_SOURCES, slot="A1")
        agreement = load_agreement(conn)
    assert cell.decision is not None and cell.decision.masked and cell.decision.by == "rule"
    assert cell.stats is not None and (cell.stats.n, cell.stats.mae, cell.stats.rho) == (3, 2.0, 1.0)
    h = cell.human
    assert h is not None and (h.reviewed, h.items, h.reviewers, h.n_teacher) == (2, 1, 2, 2)  # each reviewer counts
    assert (h.iaa_items, h.iaa_pairs, h.iaa_mad) == (1, 1, 3.0) and math.isnan(h.iaa_alpha)  # alpha needs 2 items
    assert cell.n_pairs == 3 and len(cell.scatter) == 2  # capped at max_points; the histogram counts all
    assert cell.histogram.set_index("error").records[-2] == 3
    top = cell.disagreements
    assert list(top.columns) == ["title", "record_id", "student", "teacher", "error"]
    assert sorted(top.record_id) == sorted(ids[0::2]) and (top.error == -2.0).all()
    titles = dict(zip(top.record_id, top.title, strict=True))
    assert titles[ids[2]] == "Issue number 2: the parser crashes"
    assert cell.spot_checks.spot_check_id.tolist() == [sid]
    assert everyone.decision is None and everyone.n_pairs == 6 and everyone.spot_checks.empty
    assert everyone.human is None and len(agreement) == 1


def test_a_cell_without_pairs_has_no_numbers(corpus):
    engine, _, pairs = corpus
    matrix = agreement_matrix(pairs, where=PairFilter(), min_n=2)
    with read_conn(engine) as conn:
        cell = load_cell(conn, pairs=pairs, matrix=matrix, mask=preview_mask(matrix, rules=RULES).mask,
                         source="src_c", slot="A4")
    assert cell.stats is None and cell.decision is None and cell.n_pairs == 0
    assert cell.disagreements.empty and "title" in cell.disagreements.columns
    assert cell.histogram.records.sum() == 0 and cell.scatter.empty


def test_scatter_points_are_jittered_around_the_scores(corpus):
    engine, _, pairs = corpus
    matrix = agreement_matrix(pairs, where=PairFilter(), min_n=2)
    with read_conn(engine) as conn:
        cell = load_cell(conn, pairs=pairs, matrix=matrix, mask=preview_mask(matrix, rules=RULES).mask,
                         source="src_b", slot="A9")
    s = cell.scatter
    assert len(s) == 3 and ((s.teacher - s.teacher.round()).abs() <= 0.25).all()
    assert ((s.student - s.student.round()).abs() <= 0.25).all()
    assert not math.isclose(float(s.teacher.iloc[0]), float(s.student.iloc[0]))  # two seeds: not identical jitter
