"""The Reliability page's human-agreement table: answered cells only, with how many answers each has."""

import pandas as pd

from mira_core.reliability.spotcheck import AGREEMENT_COLUMNS
from mira_core.views.spot_check import summarize_agreement


def _row(source, slot, reviewed, skipped, mae=float("nan")):
    values = dict.fromkeys(AGREEMENT_COLUMNS, float("nan"))
    values.update(source=source, slot=slot, reviewed=reviewed, skipped=skipped, items=reviewed, reviewers=1,
                  n_teacher=0, iaa_items=0, iaa_pairs=0, human_student_mae=mae)
    return values


def test_only_cells_with_answers_and_their_answer_counts():
    agreement = pd.DataFrame([_row("a", "A1", 2, 1, 0.5), _row("b", "A2", 0, 0), _row("c", "A3", 9, 0, 1.0),
                              _row("d", "A4", 0, 1)])
    got = summarize_agreement(agreement)
    assert got.table[["source", "slot", "answers"]].values.tolist() == [["c", "A3", 9], ["a", "A1", 3], ["d", "A4", 1]]
    assert list(got.table.columns[:3]) == ["source", "slot", "answers"]
    assert got.title == "3 cells with answers (9, 3 and 1 answers); 1 sampled cell has none yet"
    assert got.table.human_student_mae.tolist() == ["1.00", "0.50", "–"]  # undefined: a dash, never None


def test_one_answer_and_none_at_all():
    assert summarize_agreement(pd.DataFrame([_row("a", "A1", 1, 0)])).title == "1 cell with answers (1 answer)"
    none = summarize_agreement(pd.DataFrame([_row("a", "A1", 0, 0), _row("b", "A1", 0, 0)]))
    assert none.table.empty and none.title == "no cell has answers yet; 2 sampled cells have none yet"
