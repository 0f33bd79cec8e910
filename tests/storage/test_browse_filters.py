"""Browse filters on tags, overrides, spot checks and the latest student score, and sorting by that score,
on SQLite and PostgreSQL: count, page, neighbours and position all agree on the same rows."""

import pytest
from pydantic import ValidationError

from mira_core.query import RecordFilter, SortKey
from mira_core.reliability.spot_check_store import create_spot_check
from mira_core.storage import annotations_repo as ann
from mira_core.storage import record_filter, scores_repo
from mira_core.storage import records_repo as repo
from mira_core.storage import spot_checks_repo as spots
from mira_core.storage.engine import read_conn, write_tx
from tests.app.builders import import_messages, messages_row
from tests.reliability.builders import person


def _score(rid: str, overall: int, *, complete: bool = True, kind: str = "student", a3: float = 5.0,
           rec: str = "keep"):
    return scores_repo.NewScore(
        record_id=rid, judge_kind=kind, judge="m", job_id=None, prompt_version="v1", raw_output="x",
        complete=complete, overall=overall, recommendation=rec, domain_tag="t", brief="b", shortened=False,
        elided_tokens=0, prompt_tokens=1, parsed_json="{}", slots={"A1": 6.0, "A3": a3},
    )


@pytest.fixture
def ids(engine, tmp_path) -> list[str]:
    """8 records; scores, annotations as in the comments (index into the sorted ids)."""
    import_messages(engine, tmp_path, [messages_row(i) for i in range(8)])
    with read_conn(engine) as conn:
        rid = sorted(conn.exec_driver_sql("SELECT record_id FROM records").scalars())
    with write_tx(engine) as conn:
        for s in (
            _score(rid[0], 90, a3=8),
            _score(rid[1], 40, a3=3, rec="drop"), _score(rid[1], 80, a3=9),  # the newer score counts
            _score(rid[2], 70), _score(rid[2], 10, complete=False),  # an incomplete newer one does not
            _score(rid[3], 95, complete=False),  # only incomplete: unscored
            _score(rid[4], 99, kind="teacher"),  # a teacher label is not a student score
            _score(rid[5], 20, a3=7, rec="drop"),
        ):
            scores_repo.insert_score(conn, s)
        ann.save_annotation(conn, rid[0], expected_version=0, override="force_keep", reason="great",
                            tags=["gold", "hard"], who="ann")
        ann.save_annotation(conn, rid[1], expected_version=0, tags=["gold"], who="ann")
        ann.save_annotation(conn, rid[2], expected_version=0, tags=["hard"], who="ann")
        ann.save_annotation(conn, rid[6], expected_version=0, override="force_drop", reason="noise", who="ann")
    return rid


def _matches(engine, f: RecordFilter, ids: list[str]) -> set[int]:
    """Indexes of the matching records; count, page and matching_ids must agree."""
    with read_conn(engine) as conn:
        listed = repo.list_records(conn, f, limit=100).record_id.tolist()
        assert repo.count_records(conn, f) == len(listed)
        assert set(conn.execute(record_filter.matching_ids(conn, f)).scalars()) == set(listed)
    return {ids.index(r) for r in listed}


def test_tags_must_all_be_present(engine, ids):
    assert _matches(engine, RecordFilter(tags=["gold"]), ids) == {0, 1}
    assert _matches(engine, RecordFilter(tags=["gold", "hard"]), ids) == {0}
    assert _matches(engine, RecordFilter(tags=["nope"]), ids) == set()


def test_overrides(engine, ids):
    assert _matches(engine, RecordFilter(override="force_keep"), ids) == {0}
    assert _matches(engine, RecordFilter(override="force_drop"), ids) == {6}
    assert _matches(engine, RecordFilter(override="any"), ids) == {0, 6}
    assert _matches(engine, RecordFilter(override="none"), ids) == {1, 2, 3, 4, 5, 7}


def test_scored_and_latest_overall(engine, ids):
    assert _matches(engine, RecordFilter(scored=True), ids) == {0, 1, 2, 5}
    assert _matches(engine, RecordFilter(scored=False), ids) == {3, 4, 6, 7}
    assert _matches(engine, RecordFilter(min_overall=60), ids) == {0, 1, 2}
    assert _matches(engine, RecordFilter(max_overall=50), ids) == {5}  # record 1's older 40 does not count
    assert _matches(engine, RecordFilter(min_overall=60, max_overall=85), ids) == {1, 2}
    assert _matches(engine, RecordFilter(min_overall=100), ids) == set()


def test_recommendation_of_the_latest_score(engine, ids):
    assert _matches(engine, RecordFilter(recommendations=["drop"]), ids) == {5}  # record 1's older drop is gone
    assert _matches(engine, RecordFilter(recommendations=["keep", "drop"]), ids) == {0, 1, 2, 5}
    assert _matches(engine, RecordFilter(recommendations=["keep"], min_overall=75), ids) == {0, 1}


def test_dimension_minimum_reads_the_latest_score(engine, ids):
    assert _matches(engine, RecordFilter(dim_min={"A3": 7}), ids) == {0, 1, 5}
    assert _matches(engine, RecordFilter(dim_min={"A3": 7}, min_overall=60), ids) == {0, 1}
    assert _matches(engine, RecordFilter(dim_min={"A3": 7, "A1": 6.5}), ids) == set()
    assert _matches(engine, RecordFilter(dim_min={"A2": 0}), ids) == set()  # no value for A2: no match


def test_unknown_dimension_or_overall_out_of_range_is_refused():
    with pytest.raises(ValidationError, match="A16"):
        RecordFilter(dim_min={"A16": 3})
    with pytest.raises(ValidationError):
        RecordFilter(min_overall=101)


def test_spot_check_status(engine, ids):
    with write_tx(engine) as conn:
        sid = create_spot_check(conn, source="swe_qa", slot="A3", size=10, actor=person("ann"))
        items = spots.spot_check_items_frame(conn, sid)
        spots.record_review(conn, sid, int(items.position[0]), human_score=5, reviewer="ann")
        spots.record_review(conn, sid, int(items.position[1]), human_score=None, skipped=True, reviewer="ann")
    sampled = {ids.index(r) for r in items.record_id}
    assert len(sampled) >= 4 and sampled <= {0, 1, 2, 3, 5}  # records with a student score
    first, second = ids.index(items.record_id[0]), ids.index(items.record_id[1])
    assert _matches(engine, RecordFilter(spot_check="in_spot_check"), ids) == sampled
    assert _matches(engine, RecordFilter(spot_check="reviewed"), ids) == {first}
    assert _matches(engine, RecordFilter(spot_check="not_reviewed"), ids) == sampled - {first, second}


def test_bulk_tag_reaches_every_match_of_a_score_filter(engine, ids):
    with write_tx(engine) as conn:
        assert ann.bulk_tag(conn, RecordFilter(min_overall=60), "top", who="ann") == 3
    assert _matches(engine, RecordFilter(tags=["top"]), ids) == {0, 1, 2}


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("f", [RecordFilter(), RecordFilter(override="none")], ids=["all", "filtered"])
def test_sort_by_overall_puts_unscored_last_and_keyset_agrees(engine, ids, descending, f):
    sort = SortKey(column="overall", descending=descending)
    with read_conn(engine) as conn:
        order = repo.list_records(conn, f, sort=sort, limit=100).record_id.tolist()
        scored = [ids.index(r) for r in order if ids.index(r) in {0, 1, 2, 5}]
        expected = [0, 1, 2, 5] if descending else [5, 2, 1, 0]
        assert scored == [i for i in expected if ids[i] in order]
        n_scored = len(scored)
        unscored = order[n_scored:]
        assert unscored == sorted(unscored, reverse=descending)  # ties break on record id
        assert {ids.index(r) for r in unscored}.isdisjoint({0, 1, 2, 5})
        for i, rid in enumerate(order):
            assert repo.position(conn, f, sort, rid) == i
            prv, nxt = repo.neighbours(conn, f, sort, rid)
            assert prv == (order[i - 1] if i else None)
            assert nxt == (order[i + 1] if i + 1 < len(order) else None)


def test_keyset_on_instance_id_sees_records_without_one(engine, ids):
    with write_tx(engine) as conn:
        conn.exec_driver_sql(f"UPDATE records SET instance_id = NULL WHERE record_id IN ('{ids[2]}', '{ids[5]}')")
    for descending in (True, False):
        sort = SortKey(column="instance_id", descending=descending)
        with read_conn(engine) as conn:
            order = repo.list_records(conn, RecordFilter(), sort=sort, limit=100).record_id.tolist()
            assert len(order) == 8
            # NULL sorts as '' on both backends (PostgreSQL alone would put NULLs first when descending)
            assert set(order[-2:] if descending else order[:2]) == {ids[2], ids[5]}
            for i, rid in enumerate(order):
                assert repo.position(conn, RecordFilter(), sort, rid) == i
                assert repo.neighbours(conn, RecordFilter(), sort, rid)[1] == (order[i + 1] if i + 1 < 8 else None)


def test_latest_overall_of_a_page(engine, ids):
    with read_conn(engine) as conn:
        got = repo.latest_overall(conn, ids)
    assert got == {ids[0]: 90, ids[1]: 80, ids[2]: 70, ids[5]: 20}


def test_latest_anchor_scores_of_a_page(engine, ids):
    with read_conn(engine) as conn:
        got = repo.latest_anchor_scores(conn, ids)
    assert set(got) == {ids[0], ids[1], ids[2], ids[5]}  # incomplete-only and teacher-only are unscored
    assert [got[ids[k]][2] for k in (0, 1, 2, 5)] == [8.0, 9.0, 5.0, 7.0]  # A3 of the latest complete score
    assert got[ids[1]][0] == 6.0 and got[ids[1]][1] is None and len(got[ids[1]]) == 15


@pytest.mark.parametrize("column", ["imported_at", "overall", "token_estimate", "instance_id"])
@pytest.mark.parametrize("descending", [True, False])
def test_pages_past_the_middle_read_from_the_other_end_give_the_same_rows(engine, ids, column, descending):
    """`list_records(total=...)` reads late pages in the reverse order: every page and size still agrees."""
    sort = SortKey(column=column, descending=descending)
    for f in (RecordFilter(), RecordFilter(tags=["gold"])):
        with read_conn(engine) as conn:
            everything = repo.list_records(conn, f, sort=sort, limit=100).record_id.tolist()
            total = repo.count_records(conn, f)
            for size in (1, 3, 5):
                for offset in range(0, total + size, size):
                    page = repo.list_records(conn, f, sort=sort, offset=offset, limit=size, total=total)
                    assert page.record_id.tolist() == everything[offset:offset + size], (size, offset)
