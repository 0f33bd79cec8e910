"""Retention view: record links, escaped titles, the summary table; the loaders of the page's cached
layers, the draft policy and its preview, the budget solver."""

import numpy as np
import pytest

from mira_core.dimensions import cluster_weights
from mira_core.reliability.mask_store import save_mask_version
from mira_core.reliability.masks import Cell, CellDecision, Mask
from mira_core.selection import CutSpec, ScorerRule
from mira_core.selection.data import make_data
from mira_core.selection.preview import Borderline, Cut, PreviewSettings, details, precompute, preview
from mira_core.settings import Settings
from mira_core.storage import read_conn, write_tx
from mira_core.views.retention import (
    DRAFT_NAME,
    PreviewBasis,
    RecordLabel,
    RetentionDraft,
    SliderRange,
    borderline_table,
    histogram,
    load_data_version,
    load_mask_cells,
    load_preview,
    load_record_labels,
    load_scorer_choices,
    load_selection,
    precompute_arrays,
    slider_range,
    solve_sliders,
    summary_table,
)
from tests.reliability.builders import person
from tests.selection.dbcorpus import seed


def test_borderline_rows_link_by_query_string_and_titles_stay_plain_text():
    labels = {"abc123": RecordLabel("org__repo-1", "**Crash** <b>x</b>")}
    rows = borderline_table([Borderline("abc123", 6.5), Borderline("x)](javascript:alert(1)&id=y", 1.0)], labels)
    assert rows.values.tolist() == [
        ["record?id=abc123", "org__repo-1", "**Crash** <b>x</b>", 6.5],  # a table cell is never markdown
        ["record?id=x%29%5D%28javascript%3Aalert%281%29%26id%3Dy", "", "", 1.0]]  # one id, quoted
    data = make_data(["r1"], ("<a href='x'>s</a>",), np.array([0]), np.array([10]), np.full((1, 15), 5.0),
                     np.array([True]))
    pre = precompute(data, np.zeros((1, 15), dtype=bool))
    p = preview(pre, PreviewSettings(cuts={"<a href='x'>s</a>": Cut("threshold", 0)}))
    fig = histogram(details(pre, p.counts)[0], "mean")
    assert "<a" not in fig.layout.title.text
    table = summary_table(p)
    assert table["kept"].tolist() == [1, 1] and table["source"].tolist()[-1] == "total"


# ----------------------------------------------------------------------------- loaders on the hand-made corpus


def _loaded_basis(engine, criterion="mean"):
    with read_conn(engine) as conn:
        version = load_data_version(conn)
        loaded = load_selection(conn, scorer=ScorerRule())
        cells = load_mask_cells(conn, sources=loaded.data.sources)
    basis = PreviewBasis(version=version.data, scorer=ScorerRule(), criterion=criterion, cells_json=cells,
                         mask_version=version.mask_version)
    weights = cluster_weights(Settings().anchors_path)
    return precompute_arrays(loaded.data, criterion=criterion, cells_json=cells, weights=weights), basis


def _draft(basis, cuts=None, global_cut=None, budget=None):
    return RetentionDraft(basis=basis, cuts=cuts or {}, global_cut=global_cut, budget_tokens=budget,
                          downsample_weight=0.5, downsample_recommendations=("downsample",))


def test_cached_layers_read_versions_choices_arrays_and_the_mask(engine):
    seed(engine)
    with read_conn(engine) as conn:
        before = load_data_version(conn)
        choices = load_scorer_choices(conn)
    assert before.mask_version is None and (choices.judges, choices.prompts) == (["mira-student"], ["v1"])
    with write_tx(engine) as conn:
        save_mask_version(conn, name="m", actor=person("t"), rules=None,
                          mask=Mask(cells={Cell("A", "A3"): CellDecision(masked=True, reason="MAE too high")}))
    pre, basis = _loaded_basis(engine)
    assert basis.mask_version is not None and basis.masked_cells == {"*": [], "A": ["A3"], "B": []}
    assert basis.mask_line == f"Mask: version {basis.mask_version} · 1 source × dimension cells left out of the aggregate"
    assert pre.sources == ("A", "B") and pre.mask[0].nonzero()[0].tolist() == [2] and not pre.mask[1].any()
    with read_conn(engine) as conn:
        assert load_data_version(conn).data == before.data  # a mask is not a data change: the arrays stay


def test_preview_of_a_draft_comes_from_its_policy(engine):
    seed(engine)
    pre, basis = _loaded_basis(engine)
    cuts = {"A": CutSpec(mode="threshold", value=5.0), "B": CutSpec(mode="top_records", value=50.0)}
    view = load_preview(pre, _draft(basis, cuts, budget=600))
    # A keeps a1 8, a2 6, a3 6 (600 tokens); B's top half of its scored b1 7, b2 2 is b1, plus the forced b4
    assert (view.preview.total.kept, view.preview.total.kept_tokens) == (5, 660)
    assert view.policy.name == DRAFT_NAME and view.policy.preview_settings().cuts["B"].mode == "top_records"
    assert view.over_budget and view.budget_line == "Kept 660 of a 600-token budget (110.0%; 60 tokens over)"
    a, b = view.sources
    assert a.histogram.layout.shapes[0].x0 == 5.0  # a threshold is drawn where it is
    assert b.histogram.layout.shapes[0].x0 == 7.0  # a top-% cut at the last kept value
    assert [b.record_id for b in a.below] == ["a4"] and a.above[-1].record_id == "a1"  # nearest the cut last
    with read_conn(engine) as conn:
        labels = load_record_labels(conn, view.borderline_ids)
    assert labels["a4"] == RecordLabel("inst-a4", labels["a4"].title) and set(labels) == set(view.borderline_ids)
    assert view.summary.set_index("source").loc["total", "kept"] == 5
    with pytest.raises(ValueError, match="name"):
        _draft(basis).policy("../etc")


def test_solver_sets_top_record_sliders_within_the_budget(engine):
    seed(engine)
    pre, _ = _loaded_basis(engine)
    solved = solve_sliders(pre, amount=360, unit="tokens", rule="highest_first")
    # b4 forced (10) + a1 100 + b1 50 + a2 200 = 360: A keeps 2 of its 4 scored records, B 1 of its 2
    assert solved.budget_tokens == 360 and solved.top_records == {"A": 50.0, "B": 50.0}
    assert solved.message.startswith("Solver: 360 of 360 tokens · A top 50.00% (cut at 6.000)")
    assert solve_sliders(pre, amount=100, unit="% of corpus", rule="same_quantile").budget_tokens == 2125


def test_slider_ranges_follow_the_criterion():
    assert slider_range("threshold", "overall") == SliderRange(0.0, 100.0, 0.5, 50.0, None)
    assert slider_range("threshold", "recommendation").step == 1.0
    top = slider_range("top_tokens", "overall")
    assert (top.low, top.high, top.format) == (0.0, 100.0, "%.2f%%") and top.clip(140.0) == 100.0
    assert slider_range("threshold", "mean").clip(-3) == 0.0
