"""Retention's token figures use the scorer's measured count of a record where its chosen score has one, and
say how many fall back to the import's estimate (characters / 4)."""

from __future__ import annotations

import dataclasses

import numpy as np

from mira_core.dimensions import N_SLOTS
from mira_core.selection.preview import precompute
from mira_core.selection.store import load_selection_data
from mira_core.storage.engine import read_conn, write_tx
from mira_core.storage.scores_repo import insert_score
from mira_core.views.retention import solve_sliders
from tests.selection.dbcorpus import score, seed


def _measured(rid: str, value: float, rec: str, tokens: int, *, complete: bool = True, job: str = "job2"):
    return dataclasses.replace(score(rid, value, rec, complete=complete, job=job), usage_prompt_tokens=tokens + 2000,
                               record_tokens=tokens)


def test_measured_tokens_replace_the_estimate_where_the_chosen_score_has_them(engine):
    seed(engine)  # estimates: a1 100, a2 200, a3 300, a4 400, b1 50, b2 60, b3 1000, b4 10, b5 5
    with write_tx(engine) as conn:
        insert_score(conn, _measured("a2", 6, "downsample", 777))  # newer complete score: chosen, measured
        insert_score(conn, _measured("b1", 7, "keep", 55))
        insert_score(conn, _measured("b3", 5, "keep", 4321, complete=False))  # incomplete: not chosen, estimate
    with read_conn(engine) as conn:
        data = load_selection_data(conn).data
    tokens = dict(zip((data.record_id(i) for i in range(data.n)), data.tokens.tolist(), strict=True))
    assert tokens == {"a1": 100, "a2": 777, "a3": 300, "a4": 400, "b1": 55, "b2": 60, "b3": 1000, "b4": 10, "b5": 5}
    assert data.tokens_measured is not None and int(data.tokens_measured.sum()) == 2
    assert data.token_figures() == "Token figures: 2 records measured by the scorer, 7 estimated (characters ÷ 4)"
    # the budget solver works on the same figures and says so
    pre = precompute(data, np.zeros((len(data.sources), N_SLOTS), dtype=bool))
    solved = solve_sliders(pre, amount=100.0, unit="% of corpus", rule="highest_first")
    assert solved.budget_tokens == 100 + 777 + 300 + 400 + 55 + 60 + 1000 + 10 + 5
    assert solved.message.endswith("token figures: 2 records measured by the scorer, 7 estimated (characters ÷ 4)")


def test_without_measured_scores_every_figure_is_the_estimate(engine):
    seed(engine)
    with read_conn(engine) as conn:
        data = load_selection_data(conn).data
    assert int(data.tokens.sum()) == 100 + 200 + 300 + 400 + 50 + 60 + 1000 + 10 + 5
    assert data.token_figures().startswith("Token figures: 0 records measured by the scorer, 9 estimated")
