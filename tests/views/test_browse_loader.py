"""Browse loader: one page of a view with scores and anchors; the page number is clamped to what exists."""

import numpy as np
from sqlalchemy import text

from mira_core.query import RecordFilter, SortKey
from mira_core.reliability.mask_store import save_mask_version
from mira_core.reliability.masks import Cell, CellDecision, Mask
from mira_core.storage import read_conn, write_tx
from mira_core.views.browse import load_browse_page
from mira_core.views.browse_params import BrowseView
from tests.reliability.builders import add_scores, make_records, person


def _view(**kw) -> BrowseView:
    base = {"filter": RecordFilter(), "sort": SortKey(column="record_id", descending=False), "page": 1, "page_size": 25}
    return BrowseView(**{**base, **kw})


def test_page_is_clamped_and_counts_are_of_the_whole_filter(engine):
    make_records(engine, 30)
    with read_conn(engine) as conn:
        page = load_browse_page(conn, _view(page=9), store_has_synthetic=False)
    assert (page.total, page.n_pages, page.view.page) == (30, 2, 2)  # page 9 of 2 -> the last page
    assert len(page.rows) == 5 and (page.first_row, page.last_row) == (26, 30)
    assert page.rows.overall.isna().all() and not page.synthetic


def test_anchor_columns_blank_masked_cells_and_overall_comes_from_the_latest_score(engine):
    ids = make_records(engine, 4, sources=("src_a",))
    add_scores(engine, ids, np.full((4, 15), 7.0))
    with write_tx(engine) as conn:
        conn.execute(text("UPDATE scores SET overall = 61"))
        mask = Mask(cells={Cell("src_a", "A3"): CellDecision(masked=True, reason="MAE too high")})
        save_mask_version(conn, name="m", mask=mask, rules=None, actor=person("t"))
    with read_conn(engine) as conn:
        page = load_browse_page(conn, _view(anchors=True), store_has_synthetic=False)
        plain = load_browse_page(conn, _view(), store_has_synthetic=False)
    assert page.rows.overall.tolist() == [61] * 4
    assert page.rows.A3.isna().all() and (page.rows.A1 == 7.0).all()
    assert page.masked == {"src_a": ["A3"]}
    assert "A1" not in plain.rows.columns and plain.masked == {}


def test_tags_and_override_come_with_the_page_in_one_query_whatever_its_size(engine):
    from sqlalchemy import event

    from mira_core.storage.annotations_repo import save_annotation

    ids = make_records(engine, 40, sources=("src_a",))
    with write_tx(engine) as conn:
        for rid in ids:
            save_annotation(conn, rid, expected_version=0, tags=["b", "a"], who="t")
        save_annotation(conn, ids[0], expected_version=1, override="force_drop", reason="dup", tags=["a", "b"],
                        who="t")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    counts = []
    for size in (10, 40):
        before = len(statements)
        with read_conn(engine) as conn:
            page = load_browse_page(conn, _view(page_size=size, anchors=True), store_has_synthetic=False)
        counts.append(len(statements) - before)
    assert counts[0] == counts[1]  # no query per row
    by_id = page.rows.set_index("record_id")
    assert by_id.loc[ids[0], "override"] == "force drop" and by_id.loc[ids[0], "tags"] == ["a", "b"]
    assert by_id.loc[ids[1], "override"] == "" and by_id.loc[ids[1], "tags"] == ["a", "b"]


def test_a_text_search_past_the_cap_says_more_than_and_pages_its_first_matches(engine, monkeypatch):
    from mira_core.storage import records_repo
    from mira_core.views import browse

    make_records(engine, 60, sources=("src_a",))  # every issue says "parser"
    monkeypatch.setattr(browse, "TEXT_COUNT_CAP", 40)
    monkeypatch.setattr(browse, "TEXT_PAGE_DEPTH", 50)
    searched = RecordFilter(text="parser")
    with read_conn(engine) as conn:
        first = load_browse_page(conn, _view(filter=searched), store_has_synthetic=False)
        last = load_browse_page(conn, _view(filter=searched, page=99), store_has_synthetic=False)
        plain = load_browse_page(conn, _view(filter=searched.model_copy(update={"text": "number 7"})),
                                 store_has_synthetic=False)
        straight = records_repo.list_records(conn, searched, sort=first.view.sort, limit=50).record_id.tolist()
    assert (first.total, first.exact, first.total_label, first.n_pages) == (40, False, "more than 40", 2)
    assert last.view.page == 2  # page 99 clamped to the pages that reach the first 50 matches
    assert first.rows.record_id.tolist() + last.rows.record_id.tolist() == straight
    assert (plain.total, plain.exact, plain.total_label) == (1, True, "1")
