"""Selection's data through the database: arrays from one query (latest complete score, overrides), the active
mask frozen per source, policies saved and read back, and only by a curator or admin, with a name on each."""

import numpy as np
import pytest

from mira_core.errors import ConflictError, NotFoundError
from mira_core.identity import Actor, PermissionDenied, Role
from mira_core.reliability.mask_store import save_mask_version
from mira_core.reliability.masks import Cell, CellDecision, Mask
from mira_core.selection.aggregate import OVERRIDE_DROP, OVERRIDE_KEEP
from mira_core.selection.policies import CutSpec, Policy, ScorerRule
from mira_core.selection.store import (
    active_mask_cells,
    delete_policy,
    get_policy,
    insert_generated,
    list_policies,
    load_selection_data,
    policy_revision,
    save_policy,
)
from mira_core.storage.engine import read_conn, write_tx
from mira_core.team import list_changes
from tests.reliability.builders import person
from tests.selection.dbcorpus import score, seed

ANN = Actor(user_id="ann@example.org", role=Role.curator)


def test_arrays_take_the_latest_complete_student_score(engine):
    seed(engine)
    with read_conn(engine) as conn:
        loaded = load_selection_data(conn)
    d = loaded.data
    assert d.sources == ("A", "B")
    assert [d.record_id(i) for i in range(d.n)] == ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4", "b5"]
    assert d.scores[0, 0] == 8.0  # not the older 1, not the newer incomplete 0
    assert d.complete.tolist() == [True] * 6 + [False, False, True]
    assert np.isnan(d.scores[6]).all()  # b3 only has an incomplete score
    assert d.tokens.tolist() == [100, 200, 300, 400, 50, 60, 1000, 10, 5]
    assert d.override[7] == OVERRIDE_KEEP and d.override[8] == OVERRIDE_DROP
    assert d.outcome.tolist()[:3] == [1, 0, 1]
    assert d.recommendation.tolist()[:4] == [0, 1, 1, 2]
    assert [(r.judge, r.prompt_version, r.records) for r in loaded.runs] == [("mira-student", "v1", 7)]


def test_scorer_rule_filters_by_model_and_prompt(engine):
    seed(engine)
    with write_tx(engine) as conn:
        conn_score = score("a2", 9, "keep", judge="other-model", prompt="v2", job="j2")
        from mira_core.storage.scores_repo import insert_score
        insert_score(conn, conn_score)
    with read_conn(engine) as conn:
        latest = load_selection_data(conn).data
        v1 = load_selection_data(conn, ScorerRule(prompt_version="v1")).data
        other = load_selection_data(conn, ScorerRule(judge="other-model")).data
    assert latest.scores[1, 0] == 9.0 and v1.scores[1, 0] == 6.0
    assert other.complete.tolist() == [False, True] + [False] * 7


def test_active_mask_cells_frozen_per_source(engine):
    seed(engine)
    mask = Mask(cells={Cell("*", "A3"): CellDecision(masked=True, reason="r"),
                       Cell("B", "A3"): CellDecision(masked=False, reason="verified", by="curator"),
                       Cell("A", "A1"): CellDecision(masked=True, reason="r")})
    with write_tx(engine) as conn:
        assert active_mask_cells(conn, ("A", "B")) == (None, {})
        vid = save_mask_version(conn, name="m1", mask=mask, rules=None, actor=person("t"))
    with read_conn(engine) as conn:
        version, cells = active_mask_cells(conn, ("A", "B"))
    assert version == vid
    assert cells == {"A": ["A1", "A3"], "B": [], "*": ["A3"]}  # B's forced unmask wins over '*'


def test_policy_save_load_list_conflict(engine):
    p = Policy(name="half", cuts={"A": CutSpec(mode="top_records", value=50)}, masked_cells={"A": ["A2"]},
               budget_tokens=5_000_000_000, scorer=ScorerRule(prompt_version="v1"))
    with write_tx(engine) as conn:
        saved = save_policy(conn, p, actor=ANN)
    assert saved.updated_at is not None and saved.created_at == saved.updated_at
    stamps = {"created_by", "created_at", "updated_at"}
    assert saved.model_dump(exclude=stamps) == p.model_dump(exclude=stamps) and saved.created_by == ANN.user_id
    with write_tx(engine) as conn, pytest.raises(ConflictError, match=r"already exists \(created by ann@"):
        save_policy(conn, p, actor=Actor(user_id="bob@example.org", role=Role.curator))
    with write_tx(engine) as conn:
        save_policy(conn, p.model_copy(update={"note": "v2"}), actor=ANN, replace=True)
    with read_conn(engine) as conn:
        assert [x.note for x in list_policies(conn)] == ["v2"]
        with pytest.raises(NotFoundError, match="policy list"):
            get_policy(conn, "nope")


def test_empty_store_gives_empty_arrays(engine):
    with read_conn(engine) as conn:
        loaded = load_selection_data(conn)
    assert loaded.data.n == 0 and loaded.data.scores.shape == (0, 15) and loaded.runs == ()


def test_generated_arrays_round_trip(engine):
    from mira_core.selection.generate import generate_data

    data = generate_data(300, seed=4)
    with write_tx(engine) as conn:
        insert_generated(conn, data)
    with read_conn(engine) as conn:
        got = load_selection_data(conn).data
    ok = data.complete
    assert (got.record_ids == data.record_ids).all() and (got.complete == ok).all()
    assert np.array_equal(got.scores[ok], data.scores[ok]) and np.isnan(got.scores[~ok]).all()
    assert np.array_equal(got.tokens, data.tokens) and np.array_equal(got.outcome, data.outcome)
    assert np.array_equal(got.recommendation[ok], data.recommendation[ok])


def _as(role: Role) -> Actor:
    return Actor(user_id=f"{role}@example.org", role=role)


@pytest.mark.parametrize("role", list(Role))
def test_saving_and_replacing_a_policy_needs_a_curator_and_is_logged(engine, role):
    who = _as(role)
    first = Policy(name="half", cuts={"A": CutSpec(mode="threshold", value=5)})
    second = first.model_copy(update={"cuts": {"A": CutSpec(mode="threshold", value=7)}})
    if role is Role.viewer:
        with write_tx(engine) as conn, pytest.raises(
                PermissionDenied, match=r"saving policies needs the curator role; viewer@example\.org is a viewer"):
            save_policy(conn, first, actor=who)
        with read_conn(engine) as conn:
            assert list_policies(conn) == [] and list_changes(conn) == []  # refused: no row, no activity
        return
    with write_tx(engine) as conn:
        v1 = save_policy(conn, first, actor=ANN)
        v2 = save_policy(conn, second, actor=who, replace=True)
    with read_conn(engine) as conn:
        stored = get_policy(conn, "half")
        log = list_changes(conn)
    assert stored.cuts["A"].value == 7 and stored.created_by == ANN.user_id  # the creator stays, like created_at
    assert policy_revision(v1) != policy_revision(v2) == policy_revision(stored)
    assert [(c.actor, c.kind, c.target_kind, c.target_id) for c in log] == [
        (who.user_id, "policy.save", "policy", "half"), (ANN.user_id, "policy.save", "policy", "half")]
    assert log[0].detail == {"old_revision": policy_revision(v1), "new_revision": policy_revision(v2)}
    assert log[1].detail == {"old_revision": None, "new_revision": policy_revision(v1)}


@pytest.mark.parametrize("role", list(Role))
def test_deleting_a_policy_needs_a_curator_and_is_logged(engine, role):
    who = _as(role)
    with write_tx(engine) as conn:
        saved = save_policy(conn, Policy(name="gone", note="old"), actor=ANN)
    with write_tx(engine) as conn:
        if role is Role.viewer:
            with pytest.raises(PermissionDenied, match="deleting policies needs the curator role"):
                delete_policy(conn, "gone", actor=who)
        else:
            assert delete_policy(conn, "gone", actor=who) is True
            assert delete_policy(conn, "gone", actor=who) is False  # nothing left: nothing logged
    with read_conn(engine) as conn:
        names = [p.name for p in list_policies(conn)]
        log = list_changes(conn)
    if role is Role.viewer:
        assert names == ["gone"] and [c.kind for c in log] == ["policy.save"]
        return
    assert names == [] and [(c.actor, c.kind, c.target_id) for c in log] == [
        (who.user_id, "policy.delete", "gone"), (ANN.user_id, "policy.save", "gone")]
    assert log[0].detail == {"old_revision": policy_revision(saved)}


def test_a_revision_ignores_who_saved_and_when():
    p = Policy(name="p", cuts={"B": CutSpec(mode="threshold", value=1), "A": CutSpec(mode="threshold", value=2)})
    same = Policy(name="p", cuts={"A": CutSpec(mode="threshold", value=2), "B": CutSpec(mode="threshold", value=1)},
                  created_by="someone else")
    assert policy_revision(p) == policy_revision(same) and len(policy_revision(p)) == 12
    assert policy_revision(p) != policy_revision(p.model_copy(update={"note": "changed"}))
