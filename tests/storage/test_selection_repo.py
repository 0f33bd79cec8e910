"""Selection storage: columns from one query with codes as stored text, policy rows, the cache key."""

import numpy as np
import pytest

from mira_core.errors import ConflictError, NotFoundError
from mira_core.storage import selection_repo
from mira_core.storage.engine import read_conn, write_tx
from tests.selection.dbcorpus import seed


def test_columns_keep_stored_text_and_the_chosen_scores(engine):
    seed(engine)
    with read_conn(engine) as conn:
        cols = selection_repo.load_selection_columns(conn)
        other = selection_repo.load_selection_columns(conn, judge="other-model")
    assert list(cols.record_ids) == ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "b5"]
    assert list(cols.sources) == ["A"] * 4 + ["B"] * 5
    assert list(cols.outcomes[:3]) == ["resolved", "not_resolved", "resolved"]
    assert list(cols.recommendations[:4]) == ["keep", "downsample", "downsample", "drop"]
    assert cols.recommendations[6] is None  # b3 has no complete score
    assert list(cols.overrides[6:]) == [None, "force_keep", "force_drop"]
    assert cols.complete.tolist() == [True] * 6 + [False, False, True]
    assert cols.scores.shape == (9, 15) and cols.scores.dtype == np.float32 and cols.scores[0, 0] == 8.0
    assert cols.tokens.tolist() == [100, 200, 300, 400, 50, 60, 1000, 10, 5]
    assert [(r.judge, r.prompt_version, r.records) for r in cols.runs] == [("mira-student", "v1", 7)]
    assert not other.complete.any() and other.runs == ()


def _row(name: str, note: str = "") -> selection_repo.PolicyRow:
    return selection_repo.PolicyRow(
        name=name, mode="per_source", criterion="mean", thresholds='{"cuts": {}, "global_cut": null}',
        mask_version=None, mask_cells="{}", scorer_rule="{}", budget_tokens=None, budget_rule=None,
        weights='{"downsample_weight": 0.5, "downsample_recommendations": []}', note=note, created_by="ann")


def test_policy_rows_save_replace_list_delete(engine):
    with write_tx(engine) as conn:
        saved = selection_repo.save_policy_row(conn, _row("p"))
        with pytest.raises(ConflictError, match="already exists"):
            selection_repo.save_policy_row(conn, _row("p"))
    assert saved.created_at is not None and saved.created_at == saved.updated_at
    assert saved.created_at.tzinfo is not None
    assert saved.thresholds == _row("p").thresholds and saved.mask_cells == "{}"
    with write_tx(engine) as conn:
        replaced = selection_repo.save_policy_row(conn, _row("p", note="v2"), replace=True)
        selection_repo.save_policy_row(conn, _row("a"))
    assert replaced.note == "v2" and replaced.created_at == saved.created_at
    with write_tx(engine) as conn:
        assert [r.name for r in selection_repo.list_policy_rows(conn)] == ["a", "p"]
        assert selection_repo.delete_policy(conn, "a") and not selection_repo.delete_policy(conn, "a")
        with pytest.raises(NotFoundError, match="policy list"):
            selection_repo.get_policy_row(conn, "a")


def test_selection_version_changes_with_scores(engine):
    with read_conn(engine) as conn:
        before = selection_repo.selection_version(conn)
    seed(engine)
    with read_conn(engine) as conn:
        assert selection_repo.selection_version(conn) != before
