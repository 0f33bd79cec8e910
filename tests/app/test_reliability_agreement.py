"""Reliability page's human spot-check agreement expander: answered cells with their answer counts, dashes
for undefined figures, no rows of None."""

import os
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from mira_core.reliability.demo_teacher import label_demo_corpus
from mira_core.reliability.spot_check_store import create_spot_check, record_review
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, write_tx
from tests.reliability.builders import add_scores, make_records, person

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def test_agreement_lists_answered_cells_with_counts_and_dashes():
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    ids = make_records(eng, 40)
    add_scores(eng, ids, np.random.default_rng(0).integers(0, 11, (40, 15)).astype(float), judge="mira")
    label_demo_corpus(eng, actor=person(), coverage=1.0)
    with write_tx(eng) as conn:
        sid = create_spot_check(conn, source="src_a", slot="A7", size=3, seed=0, actor=person("ann"))
        create_spot_check(conn, source="src_b", slot="A2", size=3, seed=0, actor=person("ann"))  # unanswered
        record_review(conn, spot_check_id=sid, position=0, human_score=6, actor=person("ann"))
        record_review(conn, spot_check_id=sid, position=1, human_score=None, skipped=True, actor=person("ann"))
    eng.dispose()
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    at.switch_page("screens/reliability.py")
    at.run()
    assert not at.exception, at.exception
    box = next(e for e in at.expander if e.label.startswith("Human spot-check agreement"))
    assert box.label == "Human spot-check agreement: 1 cell with answers (2 answers); 1 sampled cell has none yet"
    table = box.dataframe[0]
    assert table.value[["source", "slot", "answers", "reviewed", "skipped"]].values.tolist() == [
        ["src_a", "A7", 2, 1, 1]]
    cells = table.value.iloc[0].tolist()
    # One score: MAE is defined (2 decimals), Spearman and alpha are not: a dash, never None or nan.
    assert "–" in cells and not any(str(c) in ("None", "nan", "NaN") for c in cells), cells
    assert any(str(c).count(".") == 1 and len(str(c).split(".")[1]) == 2 for c in cells), cells
