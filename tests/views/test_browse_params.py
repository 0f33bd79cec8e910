"""Query parameters <-> Browse view: a shared URL opens exactly the same view; bad values are reported."""

from hypothesis import given
from hypothesis import strategies as st

from mira_core.query import RecordFilter, SortKey
from mira_core.records import Outcome
from mira_core.views.browse_params import (
    SORT_COLUMNS,
    BrowseView,
    page_of,
    record_params,
    view_from_params,
    view_to_params,
)

names = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12)


@given(
    sources=st.lists(names, max_size=3, unique=True),
    outcomes=st.lists(st.sampled_from(list(Outcome)), max_size=3, unique=True),
    models=st.lists(names, max_size=2, unique=True),
    tmin=st.none() | st.integers(0, 10**6),
    text=st.text(max_size=20).map(str.strip),
    column=st.sampled_from(SORT_COLUMNS),
    desc=st.booleans(),
    page=st.integers(1, 10**4),
    size=st.sampled_from([25, 50, 100, 200]),
    tags=st.lists(names, max_size=3, unique=True),
    override=st.none() | st.sampled_from(["force_keep", "force_drop", "any", "none"]),
    spot=st.none() | st.sampled_from(["in_spot_check", "reviewed", "not_reviewed"]),
    scored=st.none() | st.booleans(),
    omin=st.none() | st.integers(0, 100),
    omax=st.none() | st.integers(0, 100),
    recs=st.lists(st.sampled_from(["keep", "downsample", "drop"]), max_size=3, unique=True),
    dims=st.dictionaries(st.sampled_from([f"A{i}" for i in range(1, 16)]),
                         st.floats(0, 10, allow_nan=False) | st.integers(0, 10).map(float), max_size=3),
)
def test_round_trip(sources, outcomes, models, tmin, text, column, desc, page, size, tags, override, spot, scored,
                    omin, omax, recs, dims):
    view = BrowseView(
        filter=RecordFilter(sources=sources, outcomes=outcomes, models=models, min_tokens=tmin, text=text, tags=tags,
                            override=override, spot_check=spot, scored=scored, min_overall=omin, max_overall=omax,
                            recommendations=recs, dim_min=dims),
        sort=SortKey(column=column, descending=desc),
        page=page,
        page_size=size,
    )
    params = view_to_params(view)
    # Values travel as lists in a URL; single values as plain strings.
    as_lists = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    parsed = view_from_params(as_lists)
    assert parsed.problems == []
    assert parsed.view == view
    assert view_from_params(params).view == view


def test_defaults_give_empty_params():
    assert view_to_params(BrowseView()) == {}
    assert view_from_params({}).view == BrowseView()


def test_bad_values_are_ignored_and_reported():
    parsed = view_from_params(
        {"source": ["a", "b"], "outcome": ["resolved", "bogus"], "tmin": "-5", "tmax": "٧٣", "sort": "title", "order": "up", "page": "0", "size": "7"}
    )
    v = parsed.view
    assert v.filter.sources == ["a", "b"] and v.filter.outcomes == [Outcome.resolved]
    assert v.filter.min_tokens is None and v.filter.max_tokens is None
    assert v.sort == SortKey() and v.page == 1 and v.page_size == 50
    assert len(parsed.problems) == 7
    assert any("outcome='bogus'" in p for p in parsed.problems)


def test_page_of():
    assert [page_of(p, 25) for p in (0, 24, 25, 49, 50)] == [1, 1, 2, 2, 3]


def test_record_params_keep_the_view():
    view = BrowseView(filter=RecordFilter(sources=["swe_qa"]), sort=SortKey(column="n_steps", descending=False))
    assert record_params(view, "abc") == {"source": "swe_qa", "sort": "n_steps", "order": "asc", "id": "abc"}


def test_score_and_annotation_params_read_back():
    view = BrowseView(filter=RecordFilter(tags=["gold", "hard"], override="force_keep", spot_check="reviewed",
                                          scored=True, min_overall=60, max_overall=90, dim_min={"A3": 7, "A10": 2.5},
                                          recommendations=["keep", "downsample"]),
                      sort=SortKey(column="overall"))
    params = view_to_params(view)
    assert params == {"tag": ["gold", "hard"], "override": "force_keep", "spot": "reviewed", "scored": "yes",
                      "omin": "60", "omax": "90", "dim": ["A3:7", "A10:2.5"], "sort": "overall",
                      "rec": ["keep", "downsample"]}
    assert view_from_params(params).view == view


def test_bad_score_and_annotation_values_are_ignored_and_reported():
    parsed = view_from_params({"override": "keep", "spot": "done", "scored": "maybe", "omin": "101", "omax": "x",
                               "dim": ["A16:3", "A3:nan", "A3", "A2:4"], "tag": ["t"], "rec": ["keep", "maybe"]})
    f = parsed.view.filter
    assert f == RecordFilter(tags=["t"], dim_min={"A2": 4.0}, recommendations=["keep"])
    assert len(parsed.problems) == 9
    assert any("dim='A16:3'" in p for p in parsed.problems) and any("omin=101" in p for p in parsed.problems)


def test_anchor_columns_choice_reads_back_and_bad_values_are_reported():
    view = BrowseView(anchors=True, page=3)
    assert view_to_params(view) == {"cols": "anchors", "page": "3"}
    assert view_from_params(view_to_params(view)).view == view
    parsed = view_from_params({"cols": "everything"})
    assert parsed.view.anchors is False and parsed.problems == ["cols='everything' ignored: expected one of anchors"]
