"""Saved policies on the Retention screen: back into the sliders, diffed, downloaded (by a curator, logged)."""

import pytest

from mira_core.dimensions import cluster_weights
from mira_core.identity import Actor, PermissionDenied, Role
from mira_core.selection import CutSpec, Policy, policy_revision, save_policy
from mira_core.settings import Settings
from mira_core.storage import read_conn, write_tx
from mira_core.team import list_changes
from mira_core.views.retention import GLOBAL_SLIDER
from mira_core.views.retention_policies import (
    load_policy_diff,
    load_policy_sliders,
    load_policy_table,
    policy_names,
    policy_sliders,
    prepare_download,
)
from tests.selection.dbcorpus import seed

WEIGHTS = cluster_weights(Settings().anchors_path)

ANN = Actor(user_id="ann@example.org", role=Role.curator)


def test_saved_policy_back_into_sliders_clipped_with_a_note_for_mixed_modes():
    mixed = Policy(name="mixed", cuts={"A": CutSpec(mode="top_tokens", value=30.0),
                                       "B": CutSpec(mode="threshold", value=12.0)})
    s = policy_sliders(mixed)
    assert (s.mode, s.cut_mode) == ("threshold", "threshold")  # the first mode by name
    assert s.values == {"A": 10.0, "B": 10.0}  # both shown as thresholds, clipped to the 0-10 mean scale
    assert s.note == "Policy mixed mixes cut modes; the sliders show every cut as threshold."
    g = policy_sliders(Policy(name="g", criterion="overall", global_cut=CutSpec(mode="threshold", value=70.0)))
    assert (g.mode, g.cut_mode, g.values, g.note) == ("global", "threshold", {GLOBAL_SLIDER: 70.0}, None)
    assert policy_sliders(Policy(name="none")).mode is None


def test_saved_policies_diff_and_download(engine):
    seed(engine)
    for name, value in (("half", 5.0), ("strict", 7.0)):
        cuts = {s: CutSpec(mode="threshold", value=value) for s in ("A", "B")}
        with write_tx(engine) as conn:
            save_policy(conn, Policy(name=name, cuts=cuts), actor=ANN)
    with read_conn(engine) as conn:
        assert policy_names(conn) == ["half", "strict"]
        assert load_policy_sliders(conn, "strict").values == {"A": 7.0, "B": 7.0}
    view = load_policy_diff(engine, "half", "strict", weights=WEIGHTS)
    diff = view.sources.set_index("source")
    assert list(diff.columns) == ["entering", "entering_tokens", "leaving", "leaving_tokens", "staying"]
    assert diff.loc["A"].tolist() == [0, 0, 2, 500, 1]  # a2 and a3 leave, a1 stays
    assert diff.loc["B"].tolist() == [0, 0, 0, 0, 2]  # b1 and the forced b4 stay
    # a2 and a3 (aggregate 6) are kept at threshold 5, not at 7
    assert view.records.to_dict("records") == [
        {"change": "leaves", "record_id": rid, "source": "A", "aggregate_a": 6.0, "aggregate_b": 6.0,
         "reason": "keeps aggregate ≥ 5.000; the other keeps aggregate ≥ 7.000"} for rid in ("a2", "a3")]
    changed = view.params[view.params.changed]
    assert changed[["parameter", "policy_a", "policy_b"]].values.tolist() == [
        ["cuts.A.value", "5.0", "7.0"], ["cuts.B.value", "5.0", "7.0"]]
    assert "criterion" in set(view.params.parameter[~view.params.changed])
    table = load_policy_table(engine, weights=WEIGHTS).set_index("name")
    assert table.loc["half", ["created by", "kept", "kept tokens", "mask version"]].tolist() == [
        "ann@example.org", 5, 660, "none"]  # a1 a2 a3 b1 b4: 100+200+300+50+10
    assert table.loc["strict", "kept"] == 3  # a1, b1, b4
    files = prepare_download(engine, name="half", fmt="csv", actor=ANN, weights=WEIGHTS)
    assert (files.rows, files.list_name) == (5, "keep-half.csv")
    assert files.list_bytes.decode().splitlines()[1].startswith("a1,A,inst-a1,")


@pytest.mark.parametrize("role", list(Role))
def test_preparing_a_download_needs_a_curator_and_is_logged(engine, role):
    seed(engine)
    with write_tx(engine) as conn:
        saved = save_policy(conn, Policy(name="half", cuts={s: CutSpec(mode="threshold", value=5.0)
                                                            for s in ("A", "B")}), actor=ANN)
    who = Actor(user_id=f"{role}@example.org", role=role)
    if role is Role.viewer:
        with pytest.raises(PermissionDenied, match="downloading exports needs the curator role"):
            prepare_download(engine, name="half", fmt="jsonl", actor=who, weights=WEIGHTS)
        with read_conn(engine) as conn:
            assert [c.kind for c in list_changes(conn)] == ["policy.save"]  # refused: nothing logged
        return
    files = prepare_download(engine, name="half", fmt="jsonl", actor=who, weights=WEIGHTS)
    with read_conn(engine) as conn:
        log = list_changes(conn, kinds=["export.download"])
    assert [(c.actor, c.target_kind, c.target_id) for c in log] == [(who.user_id, "export", "keep-half.jsonl")]
    assert log[0].detail == {"policy": "half", "revision": policy_revision(saved), "format": "jsonl", "rows": 5,
                             "sha256": files.sha256}


def test_a_download_reuses_the_pages_arrays_for_the_current_version_and_gives_the_same_bytes(engine, monkeypatch):
    from mira_core.selection import export
    from mira_core.selection.store import load_selection_data
    from mira_core.storage import selection_repo

    seed(engine)
    with write_tx(engine) as conn:
        save_policy(conn, Policy(name="half", cuts={s: CutSpec(mode="threshold", value=5.0) for s in ("A", "B")}),
                    actor=ANN)
    asked: list[tuple[str, object]] = []

    def cached(version, rule):  # the page's cache: arrays loaded once per (version, scorer)
        asked.append((version, rule))
        with read_conn(engine) as conn:
            return load_selection_data(conn, rule)

    fresh = prepare_download(engine, name="half", fmt="parquet", actor=ANN, weights=WEIGHTS)
    monkeypatch.setattr(export, "load_selection_data", None)  # the export must not load the arrays itself
    reused = prepare_download(engine, name="half", fmt="parquet", actor=ANN, weights=WEIGHTS, cached=cached)
    with read_conn(engine) as conn:
        version = selection_repo.selection_version(conn)
    assert len(asked) == 1 and asked[0][0] == version  # asked for the version read at the download
    assert (reused.list_bytes, reused.manifest_bytes, reused.rows) == (fresh.list_bytes, fresh.manifest_bytes, 5)
