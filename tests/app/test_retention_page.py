"""Retention page through AppTest: sliders move the previewed counts, the solver sets them, policies save."""

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mira_core.selection.store import get_policy
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, read_conn
from mira_core.team import list_changes
from tests.selection.dbcorpus import seed

PAGE = str(Path(__file__).resolve().parents[2] / "app" / "screens" / "retention.py")


@pytest.fixture
def seeded():
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    seed(eng)
    yield eng
    eng.dispose()


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_slider_moves_the_previewed_counts(seeded):
    at = _app()
    first = at.dataframe[0].value.set_index("source")
    # a2 and a3 pass and the scorer marked both "downsample": weight 0.5 on their 500 tokens -> 660 - 250
    assert first.loc["A", "downsampled"] == 2 and first.loc["total", "effective tokens"] == 410
    # threshold 5 everywhere: A keeps a1 8, a2 6, a3 6; B keeps b1 7 and the forced b4 -> 5 of 9 records
    assert _metric(at, "Records kept") == "5 / 9"
    assert _metric(at, "Tokens kept") == "660 / 2,125"
    at.slider(key="ret_v_threshold_mean_A").set_value(7.0).run()
    assert not at.exception, at.exception
    # A now keeps only a1 (100 tokens): 3 records, 100 + 50 + 10 tokens
    assert _metric(at, "Records kept") == "3 / 9"
    assert _metric(at, "Tokens kept") == "160 / 2,125"
    summary = at.dataframe[0].value  # the first table is the per-source summary
    assert summary.set_index("source").loc["A", "kept"] == 1
    assert summary.set_index("source").loc["B", "unscored"] == 1


def test_global_mode_and_budget_solver(seeded):
    at = _app()
    at.radio(key="ret_mode").set_value("global").run()
    at.slider(key="ret_v_threshold_mean___global__").set_value(6.5).run()
    assert _metric(at, "Records kept") == "3 / 9"  # a1, b1 and the forced b4
    at.number_input(key="ret_solve_amount").set_value(360.0)  # form widgets apply on submit
    at.radio(key="ret_solve_unit").set_value("tokens")
    at.radio(key="ret_solve_rule").set_value("highest_first")
    next(b for b in at.button if b.label == "Set sliders").click().run()
    assert not at.exception, at.exception
    # highest first within 360 tokens: b4 forced (10) + a1 100 + b1 50 + a2 200 = 360
    assert _metric(at, "Tokens kept") == "360 / 2,125"
    assert at.radio(key="ret_mode").value == "top_records"
    assert any("360 of 360" in c.value for c in at.caption)


def test_save_policy_then_download(seeded, monkeypatch):
    monkeypatch.setenv("MIRA_CURATOR", "ann@example.org")  # local mode: the local user, as admin
    at = _app()
    at.text_input(key="ret_name").input("half")
    next(b for b in at.button if b.label == "Save policy").click().run()
    assert not at.exception, at.exception
    with read_conn(seeded) as conn:
        saved = get_policy(conn, "half")
    assert saved.cuts["A"].value == 5.0 and saved.criterion == "mean" and saved.created_by == "ann@example.org"
    at.button(key="ret_dl_go").click().run()
    assert not at.exception, at.exception
    assert any("5 records" in c.value for c in at.caption)
    with read_conn(seeded) as conn:
        log = list_changes(conn)
    assert [(c.actor, c.via, c.kind, c.target_id) for c in log] == [
        ("ann@example.org", "web", "export.download", "keep-half.jsonl"),
        ("ann@example.org", "web", "policy.save", "half")]


def test_load_a_saved_policy_into_the_sliders(seeded):
    at = _app()
    at.text_input(key="ret_name").input("base")
    next(b for b in at.button if b.label == "Save policy").click().run()
    at.slider(key="ret_v_threshold_mean_A").set_value(9.0).run()
    assert _metric(at, "Records kept") == "2 / 9"
    at.button(key="ret_load_go").click().run()
    assert not at.exception, at.exception
    assert at.slider(key="ret_v_threshold_mean_A").value == 5.0
    assert _metric(at, "Records kept") == "5 / 9"


def test_new_scores_wait_for_reload(seeded):
    at = _app()
    assert _metric(at, "Records kept") == "5 / 9"
    from mira_core.storage.engine import write_tx
    from mira_core.storage.scores_repo import insert_score
    from tests.selection.dbcorpus import score

    with write_tx(seeded) as conn:
        insert_score(conn, score("b2", 9, "keep", job="later"))
    import streamlit as st

    st.cache_data.clear()  # the data version is cached for 5 s
    at.run()
    assert _metric(at, "Records kept") == "5 / 9"  # still the loaded arrays
    assert any("changed since this view loaded" in i.value for i in at.info)
    at.button(key="ret_reload").click().run()
    assert _metric(at, "Records kept") == "6 / 9"  # b2 now scores 9 and passes


def test_the_weighted_criterion_previews_with_the_anchors_cluster_sizes(seeded):
    """Switching to the cluster-size weighted mean rebuilds the arrays with the anchors file's weights."""
    at = _app()
    at.selectbox(key="ret_criterion").set_value("weighted").run()
    assert not at.exception, at.exception
    assert _metric(at, "Records kept").endswith("/ 9")
    assert any(k.startswith("ret_v_") and "weighted" in k for k in (s.key for s in at.slider))


def _save(at: AppTest, name: str) -> None:
    at.text_input(key="ret_name").input(name)
    next(b for b in at.button if b.label == "Save policy").click().run()
    assert not at.exception, at.exception


def test_the_solver_rule_and_request_are_saved_until_a_slider_moves(seeded):
    at = _app()
    at.number_input(key="ret_solve_amount").set_value(360.0)
    at.radio(key="ret_solve_unit").set_value("tokens")
    at.radio(key="ret_solve_rule").set_value("same_quantile")
    next(b for b in at.button if b.label == "Set sliders").click().run()
    _save(at, "solved")
    at.slider(key="ret_v_top_records_A").set_value(10.0).run()
    _save(at, "moved")
    with read_conn(seeded) as conn:
        solved, moved = get_policy(conn, "solved"), get_policy(conn, "moved")
    assert (solved.budget_rule, solved.budget_request, solved.budget_tokens) == ("same_quantile", "360 tokens", 360)
    assert solved.mask_version is None and solved.cuts["A"].mode == "top_records"
    assert (moved.budget_rule, moved.budget_request) == (None, None)  # the sliders no longer hold its answer


def _table(at: AppTest, column: str):
    """The first table with `column` (AppTest does not keep a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_saved_policies_table_and_a_diff_with_records_and_parameters(seeded):
    at = _app()
    _save(at, "half")
    at.slider(key="ret_v_threshold_mean_A").set_value(7.0).run()
    _save(at, "strict")
    table = _table(at, "mask version").set_index("name")
    assert table.loc["strict", ["kept", "kept tokens", "mask version"]].tolist() == [3, 160, "none"]
    at.selectbox(key="ret_diff_a").set_value("half")
    at.selectbox(key="ret_diff_b").set_value("strict")
    at.button(key="ret_diff_go").click().run()
    assert not at.exception, at.exception
    records = _table(at, "reason")
    assert records[["change", "record_id"]].values.tolist() == [["leaves", "a2"], ["leaves", "a3"]]
    params = _table(at, "changed")
    assert params[params.changed].parameter.tolist() == ["cuts.A.value"]
