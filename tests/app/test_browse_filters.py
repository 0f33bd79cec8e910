"""Browse curation filters and bulk actions through AppTest: tags, overrides and scores change the count and
the URL; bulk tagging covers every match across pages; "Score these N" carries the filter to Scoring."""

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mira_core.storage import annotations_repo as ann
from mira_core.storage import migrate, scores_repo
from mira_core.storage.engine import make_engine, read_conn, write_tx
from tests.app.builders import import_messages, messages_row
from tests.reliability.builders import person

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def _count_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "matching records" in m.value)


def _score(rid: str, overall: int) -> scores_repo.NewScore:
    return scores_repo.NewScore(
        record_id=rid, judge_kind="student", judge="m", job_id=None, prompt_version="v1", raw_output="x",
        complete=True, overall=overall, recommendation="keep", domain_tag="t", brief="b", shortened=False,
        elided_tokens=0, prompt_tokens=1, parsed_json="{}", slots={"A3": overall / 10},
    )


@pytest.fixture
def sixty(tmp_path) -> list[str]:
    """60 swe_qa records (30 resolved); the first 20 ids (sorted) scored 0, 5, ..., 95; 3 tagged 'gold',
    one of them force-kept."""
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    import_messages(eng, tmp_path, [messages_row(i, resolved=i % 2 == 0) for i in range(100, 160)])
    with read_conn(eng) as conn:
        ids = sorted(conn.exec_driver_sql("SELECT record_id FROM records").scalars())
    with write_tx(eng) as conn:
        for k, rid in enumerate(ids[:20]):
            scores_repo.insert_score(conn, _score(rid, 5 * k))
        for rid in ids[30:33]:
            ann.save_annotation(conn, rid, expected_version=0, tags=["gold"], who="ann")
        ann.save_annotation(conn, ids[40], expected_version=0,
                            override="force_keep", reason="clean run", tags=["gold"], who="ann")
    eng.dispose()
    return ids


def _app(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params.update(params or {})
    at.run()
    assert not at.exception, at.exception
    return at


def test_tag_and_override_filters_change_count_and_url(sixty):
    at = _app()
    assert _count_line(at).startswith("**60** matching")
    at.multiselect(key="browse_tag").select("gold").run()
    assert _count_line(at).startswith("**4** matching")
    assert at.query_params["tag"] == "gold"
    at.selectbox(key="browse_override").set_value("force_keep").run()
    assert _count_line(at).startswith("**1** matching")
    assert at.query_params["override"] == "force_keep"
    at.selectbox(key="browse_override").set_value("none").run()
    assert _count_line(at).startswith("**3** matching")


def test_score_filters_and_sort_by_score(sixty):
    at = _app()
    at.selectbox(key="browse_scored").set_value(True).run()
    assert _count_line(at).startswith("**20** matching") and at.query_params["scored"] == "yes"
    at.number_input(key="browse_omin").set_value(50).run()
    assert _count_line(at).startswith("**10** matching") and at.query_params["omin"] == "50"
    at.number_input(key="browse_omax").set_value(70).run()
    assert _count_line(at).startswith("**5** matching")
    at.selectbox(key="browse_sort").set_value("overall").run()
    assert at.dataframe[0].value["score"].tolist() == [70, 65, 60, 55, 50]
    at.multiselect(key="browse_rec").select("drop").run()
    assert _count_line(at).startswith("**0** matching") and at.query_params["rec"] == "drop"
    at.multiselect(key="browse_rec").unselect("drop").run()
    at.multiselect(key="browse_dims").select("A3").run()
    at.number_input(key="browse_dim_A3").set_value(6.0).run()
    assert _count_line(at).startswith("**3** matching") and at.query_params["dim"] == "A3:6"


def test_url_opens_score_filters(sixty):
    at = _app({"omin": "90", "sort": "overall", "order": "asc", "dim": "A3:9.5"})
    assert _count_line(at).startswith("**1** matching")
    assert at.number_input(key="browse_omin").value == 90
    assert at.number_input(key="browse_dim_A3").value == 9.5
    assert at.dataframe[0].value["score"].tolist() == [95]


def test_bulk_tag_applies_to_every_match_not_just_the_page(sixty):
    at = _app({"outcome": "resolved", "size": "25"})
    assert _count_line(at).startswith("**30** matching") and len(at.dataframe[0].value) == 25
    at.text_input(key="bulk_tag_tag").input("reviewed-batch")
    at.button[[b.label for b in at.button].index("Apply to all matches")].click().run()
    assert not at.exception, at.exception
    assert any("added to 30 records" in s.value for s in at.success)
    at = _app({"tag": "reviewed-batch"})
    assert _count_line(at).startswith("**30** matching")
    assert "reviewed-batch" in at.multiselect(key="browse_tag").options


def test_score_link_carries_the_filter(sixty):
    at = _app({"tag": "gold", "scored": "no", "size": "25"})
    links = [e.proto for e in at.get("page_link") if "Score these" in e.proto.label]
    assert [(p.label, p.page) for p in links] == [("Score these 4 records", "scoring")]
    assert sorted(links[0].query_string.split("&")) == ["scored=no", "size=25", "tag=gold"]


def test_scoring_page_reads_the_linked_filter(sixty, tmp_path, monkeypatch):
    monkeypatch.setenv("MIRA_SCORER_CONFIG", str(tmp_path / "scorer.toml"))
    monkeypatch.setenv("MIRA_SCORER_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens
    link = next(e.proto for e in _app({"tag": "gold", "scored": "no"}).get("page_link") if "Score" in e.proto.label)
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    at.switch_page("screens/scoring.py")
    at.query_params.update(dict(p.split("=", 1) for p in link.query_string.split("&")))
    at.session_state["scoring_autostart"] = False  # never start a worker process from a test
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="scoring_selection").options[0].startswith("current Browse filter (4 records)")


def test_anchor_columns_show_latest_scores_and_blank_masked_cells(sixty):
    from mira_core.reliability.mask_store import save_mask_version
    from mira_core.reliability.masks import Cell, CellDecision, Mask

    at = _app({"scored": "yes", "sort": "overall", "order": "desc", "omin": "80"})
    assert "A3" not in at.dataframe[0].value.columns
    at.toggle(key="browse_anchors").set_value(True).run()
    assert at.query_params["cols"] == "anchors"  # a shared link shows the same columns
    table = at.dataframe[0].value
    cols = list(table.columns)
    assert cols[cols.index("score") + 1: cols.index("score") + 16] == [f"A{i}" for i in range(1, 16)]
    assert table["A3"].tolist() == [9.5, 9.0, 8.5, 8.0] and table["A1"].isna().all()
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    with write_tx(eng) as conn:
        save_mask_version(conn, name="m", rules=None, actor=person("ann"), mask=Mask(
            cells={Cell("swe_qa", "A3"): CellDecision(masked=True, reason="MAE too high")}))
    eng.dispose()
    at.run()
    assert at.dataframe[0].value["A3"].isna().all()
    assert any("masked for that source" in c.value and c.value.replace("\\", "").endswith("swe_qa: A3") for c in at.caption)


def test_the_sidebar_link_back_opens_the_last_view_until_filters_are_cleared(sixty):
    at = _app({"sort": "overall", "order": "asc"})
    assert at.button(key="browse_clear").disabled  # nothing to clear yet
    at.multiselect(key="browse_tag").select("gold").run()
    assert _count_line(at).startswith("**4** matching") and not at.button(key="browse_clear").disabled
    at.query_params.clear()  # what the sidebar's links send: no parameters
    at.switch_page("screens/activity.py").run()
    assert not at.exception, at.exception
    at.query_params.clear()
    at.switch_page("screens/browse.py").run()
    assert not at.exception, at.exception
    # Back in this session: the view it left, filter and sort, and the URL says so (a link to share).
    assert _count_line(at).startswith("**4** matching")
    assert at.query_params["tag"] == "gold" and at.query_params["sort"] == "overall"
    assert at.multiselect(key="browse_tag").value == ["gold"]
    at.button(key="browse_clear").click().run()
    assert _count_line(at).startswith("**60** matching")
    assert "tag" not in at.query_params and at.query_params["sort"] == "overall"  # the sort stays
    assert at.multiselect(key="browse_tag").value == [] and at.button(key="browse_clear").disabled
    # Cleared is remembered too: the link back now opens every record.
    at.query_params.clear()
    at.switch_page("screens/activity.py").run()
    at.query_params.clear()
    at.switch_page("screens/browse.py").run()
    assert _count_line(at).startswith("**60** matching") and at.query_params["sort"] == "overall"
