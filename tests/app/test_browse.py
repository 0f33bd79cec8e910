"""Browse page through AppTest: counts follow filters, sorting orders rows, the URL keeps the view."""

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mira_core.storage import migrate
from mira_core.storage.engine import make_engine
from tests.app.builders import import_messages, messages_row

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def _app() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _count_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "matching records" in m.value)


def test_filter_changes_count_and_url(corpus):
    at = _app()
    assert _count_line(at).startswith("**4** matching")
    assert any("SYNTHETIC DEMO DATA" in w.value for w in at.warning)
    at.multiselect(key="browse_source").select("swe_qa").run()
    assert _count_line(at).startswith("**3** matching")
    assert at.query_params["source"] == "swe_qa"
    assert not any("SYNTHETIC" in w.value for w in at.warning)  # only real records in view now
    at.text_input(key="browse_q").input("tokenizer").run()
    assert _count_line(at).startswith("**1** matching")
    assert at.dataframe[0].value["instance"].tolist() == ["org__repo-2"]
    at.multiselect(key="browse_outcome").select("resolved").run()
    assert _count_line(at).startswith("**0** matching")


def test_sort_by_steps_ascending(corpus):
    at = _app()
    at.selectbox(key="browse_sort").set_value("n_steps").run()
    at.toggle(key="browse_desc").set_value(False).run()
    steps = at.dataframe[0].value["steps"].tolist()
    assert steps == sorted(steps) and steps[-1] == 120
    assert (at.query_params["sort"], at.query_params["order"]) == ("n_steps", "asc")
    at.toggle(key="browse_desc").set_value(True).run()
    assert at.dataframe[0].value["steps"].tolist()[0] == 120


def test_url_opens_the_same_view(corpus):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params.update({"source": "swe_qa", "sort": "instance_id", "order": "asc", "size": "25"})
    at.run()
    assert _count_line(at).startswith("**3** matching")
    assert at.multiselect(key="browse_source").value == ["swe_qa"]
    assert at.dataframe[0].value["instance"].tolist() == ["org__repo-1", "org__repo-2", "org__repo-3"]
    assert at.selectbox(key="browse_size").value == 25


def test_bad_url_values_are_reported_not_fatal(corpus):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params.update({"sort": "nope", "outcome": "maybe"})
    at.run()
    assert not at.exception
    assert _count_line(at).startswith("**4** matching")
    assert sum("ignored" in w.value for w in at.warning) == 2


@pytest.fixture
def sixty(tmp_path):
    """60 imported swe_qa records (org__repo-100 .. org__repo-159)."""
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    import_messages(eng, tmp_path, [messages_row(i, resolved=i % 2 == 0) for i in range(100, 160)])
    eng.dispose()


def test_paging_keeps_page_in_url_and_resets_on_new_filter(sixty):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params.update({"size": "25", "sort": "instance_id", "order": "asc"})
    at.run()
    assert at.button(key="browse_prev").disabled and not at.button(key="browse_next").disabled
    at.button(key="browse_next").click().run()
    assert at.query_params["page"] == "2"
    names = at.dataframe[0].value["instance"].tolist()
    assert names[0] == "org__repo-125" and len(names) == 25
    at.button(key="browse_next").click().run()
    assert at.dataframe[0].value["instance"].tolist()[-1] == "org__repo-159"
    assert at.button(key="browse_next").disabled
    at.number_input(key="browse_page").set_value(1).run()
    assert "page" not in at.query_params and at.dataframe[0].value["instance"].tolist()[0] == "org__repo-100"
    at.number_input(key="browse_page").set_value(3).run()
    at.multiselect(key="browse_outcome").select("resolved").run()
    assert "page" not in at.query_params  # a new filter starts at page 1
    assert _count_line(at).startswith("**30** matching")


def test_page_from_url_is_clamped(sixty):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params.update({"size": "25", "page": "99"})
    at.run()
    assert at.query_params["page"] == "3" and len(at.dataframe[0].value) == 10


def test_empty_store_says_how_to_fill_it():
    at = _app()
    assert _count_line(at).startswith("**0** matching")
    assert "mira-curator import" in at.info[0].value
    assert at.button(key="browse_open_first").disabled


def test_odd_search_text_never_crashes(corpus):
    for q in ['((', '*', "a'b", 'NEAR', '"', 'AND OR NOT', "ünïcode-x"]:
        at = AppTest.from_file(MAIN, default_timeout=60)
        at.query_params["q"] = q
        at.run()
        assert not at.exception, (q, at.exception)
        assert at.text_input(key="browse_q").value == q.strip()
        wordless = any(c.value.endswith("has no word to search for (letters or digits): the search filters nothing.")
                       for c in at.caption)
        assert wordless == (q in ("((", "*", '"')), q  # said, not silently ignored


def test_a_search_past_the_count_cap_says_more_than_and_pages_its_first_matches(sixty, monkeypatch):
    from mira_core.views import browse

    monkeypatch.setattr(browse, "TEXT_COUNT_CAP", 40)  # 60 records say "parser"
    monkeypatch.setattr(browse, "TEXT_PAGE_DEPTH", 50)
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params.update({"size": "25", "sort": "instance_id", "order": "asc", "q": "parser", "page": "9"})
    at.run()
    assert _count_line(at).startswith("**more than 40** matching records for “parser” · showing 26–50")
    assert "pages reach the first 50: add words or filters" in _count_line(at)
    assert at.query_params["page"] == "2" and at.button(key="browse_next").disabled
    assert at.dataframe[0].value["instance"].tolist()[-1] == "org__repo-149"
    assert any("more than 40 records" in e.label for e in at.expander)
    at.text_input(key="browse_q").input("parser 123").run()
    assert _count_line(at).startswith("**2** matching") and "pages reach" not in _count_line(at)  # 123 and 124
