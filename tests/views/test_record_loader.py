"""Record loader: the record with its neighbours, and the Browse page that shows it for going back."""

import pytest

from mira_core.errors import NotFoundError
from mira_core.query import RecordFilter, SortKey
from mira_core.storage import read_conn, records_repo
from mira_core.views.browse_params import BrowseView
from mira_core.views.record import load_record_context
from tests.reliability.builders import make_records


def test_neighbours_position_and_back_page(engine):
    ids = sorted(make_records(engine, 12, sources=("src_a", "src_b")))
    view = BrowseView(filter=RecordFilter(), sort=SortKey(column="record_id", descending=False), page=1, page_size=5)
    with read_conn(engine) as conn:
        ctx = load_record_context(conn, ids[7], view)
    assert (ctx.prev_id, ctx.next_id) == (ids[6], ids[8])
    assert (ctx.position, ctx.total) == (7, 12)
    assert ctx.back_view.page == 2  # 0-based rank 7 with 5 per page is on page 2
    assert ctx.record.record_id == ids[7] and ctx.meta["record_id"] == ids[7]
    assert ctx.where == "record 8 of 12 in the Browse filter"


def test_a_record_outside_the_filter_keeps_the_view(engine):
    ids = make_records(engine, 4, sources=("src_a", "src_b"))
    with read_conn(engine) as conn:
        src = {r: records_repo.get_metadata(conn, r)["source"] for r in ids}
    outside = next(r for r in ids if src[r] == "src_b")
    view = BrowseView(filter=RecordFilter(sources=["src_a"]), sort=SortKey(column="record_id", descending=False), page=3, page_size=5)
    with read_conn(engine) as conn:
        ctx = load_record_context(conn, outside, view)
        with pytest.raises(NotFoundError):
            load_record_context(conn, "no-such-record", view)
    assert ctx.position is None and ctx.back_view == view
    assert ctx.where.startswith("outside the Browse filter (2 records)")


@pytest.mark.parametrize("walk_min", [0, 10**6])  # SQLite: sort order walked / matches read and sorted
def test_a_record_in_a_capped_search_has_the_same_neighbours_and_rank(engine, monkeypatch, walk_min):
    from mira_core.views import record

    ids = sorted(make_records(engine, 40, sources=("src_a",)))  # every issue says "parser"
    view = BrowseView(filter=RecordFilter(text="parser"), sort=SortKey(column="record_id", descending=False),
                      page=1, page_size=5)
    with read_conn(engine) as conn:
        exact = [load_record_context(conn, ids[i], view) for i in (0, 7, 25, 39)]
        monkeypatch.setattr(record, "TEXT_COUNT_CAP", 30)
        monkeypatch.setattr(record, "TEXT_PAGE_DEPTH", 20)
        monkeypatch.setattr(records_repo, "WALK_MIN_MATCHES", walk_min)
        capped = [load_record_context(conn, ids[i], view) for i in (0, 7, 25, 39)]
    assert [(c.prev_id, c.next_id) for c in capped] == [(c.prev_id, c.next_id) for c in exact]
    assert [c.position for c in exact] == [0, 7, 25, 39] and [c.position for c in capped] == [0, 7, None, None]
    assert capped[1].where == "record 8 of more than 30 in the Browse filter" and capped[1].back_view.page == 2
    assert capped[2].where == "past the first 20 of more than 30 records in the Browse filter"
    assert capped[2].back_view == view
