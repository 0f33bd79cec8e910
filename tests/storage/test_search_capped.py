"""A capped text-search count and a page read by probing the text index give what the straightforward
queries give (the full count up to the cap; the same rows in the same order), on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import text

from mira_core.query import RecordFilter, SortKey
from mira_core.storage import read_conn, write_tx
from mira_core.storage import records_repo as repo
from mira_core.storage.records_repo import MatchCount
from tests.app.builders import import_messages, messages_row

# 12 records: every issue has "crash"; "rare" in 3 of them; source "b" holds the last 4.
ISSUES = [f"crash {'rare' if i % 4 == 1 else 'plain'} number{i}" for i in range(12)]


@pytest.fixture
def store(engine, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    import_messages(engine, tmp_path / "a", [messages_row(i, issue=ISSUES[i]) for i in range(8)], source="a")
    import_messages(engine, tmp_path / "b", [messages_row(i, issue=ISSUES[i]) for i in range(8, 12)], source="b")
    with write_tx(engine) as conn:  # distinct sort keys for the score and token sorts
        conn.execute(text("UPDATE records SET token_estimate = length(instance_id) * 7 % 5, "
                          "overall_desc_key = length(title) % 3, overall_asc_key = length(title) % 3"))
    return engine


FILTERS = [RecordFilter(text="crash"), RecordFilter(text="rare"), RecordFilter(text="crash", sources=["b"]),
           RecordFilter(text="crash plain", min_tokens=1), RecordFilter(text="nothing")]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f"{f.text}-{f.sources}-{f.min_tokens}")
def test_capped_count_is_the_count_up_to_the_cap(store, f):
    with read_conn(store) as conn:
        n = repo.count_records(conn, f)
        assert repo.count_capped(conn, f, n) == MatchCount(n, True)
        assert repo.count_capped(conn, f, n + 5) == MatchCount(n, True)
        if n:
            assert repo.count_capped(conn, f, n - 1) == MatchCount(n - 1, False)
    if f in FILTERS[:2] or f == FILTERS[-1]:
        assert n == {"crash": 12, "rare": 3, "nothing": 0}[f.text]


SORTS = [SortKey(), SortKey(column="record_id", descending=False), SortKey(column="overall"),
         SortKey(column="token_estimate", descending=False), SortKey(column="instance_id")]


@pytest.mark.parametrize("sort", SORTS, ids=lambda s: f"{s.column}-{s.descending}")
def test_pages_read_every_way_are_the_listed_pages(store, sort, monkeypatch):
    with read_conn(store) as conn:
        for f in FILTERS:
            for offset in (0, 3, 10):
                listed = repo.list_records(conn, f, sort=sort, offset=offset, limit=4)
                n = repo.count_records(conn, f)
                for counted in (MatchCount(n, True), MatchCount(max(n - 1, 0), False)):
                    for walk_min in (0, n + 1):  # SQLite: rows in sort order tested / the matches read, sorted
                        monkeypatch.setattr(repo, "WALK_MIN_MATCHES", walk_min)
                        page = repo.list_records(conn, f, sort=sort, offset=offset, limit=4, text_count=counted)
                        assert page.record_id.tolist() == listed.record_id.tolist(), (f, offset, counted, walk_min)


def test_synthetic_check_of_a_text_search_reads_the_matches(store):
    with write_tx(store) as conn:
        conn.execute(text("UPDATE records SET synthetic = true WHERE instance_id = 'org__repo-5'"))
    with read_conn(store) as conn:
        assert repo.has_synthetic(conn, RecordFilter(text="rare"))  # number5 is a "rare" one
        assert not repo.has_synthetic(conn, RecordFilter(text="crash", sources=["b"]))
        assert repo.has_synthetic(conn, RecordFilter(sources=["a"]))


ODD = ['"', '" "', "'", "\\", "*", "-", "(", ")", "AND", "NEAR(", ":", "&|!", "^", "crash'", '"crash', "''", "{}", "a:*",
       "crash \\", 'crash "', "\\ \""]


@pytest.mark.parametrize("query", ODD)
def test_any_search_box_text_gives_a_count_and_a_page_never_a_syntax_error(store, query):
    # Whatever a curator types is words to look for, never the index's query syntax.
    f = RecordFilter(text=query)
    with read_conn(store) as conn:
        n = repo.count_records(conn, f)
        page = repo.list_records(conn, f, sort=SortKey(), offset=0, limit=50)
        capped = repo.count_capped(conn, f, 5)
    assert len(page) == min(n, 50)
    assert (capped.exact and capped.n == n) or (not capped.exact and capped.n == 5 < n)
    if not any(c.isalnum() for c in query):  # no word at all: no text filter
        assert n == 12
    if query.startswith("crash "):  # a stray quote or backslash beside a word: that word's matches
        assert n == 12
