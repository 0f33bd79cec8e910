"""Activity page through AppTest: the log newest first, filtered by person, paged back."""

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest

from mira_core.identity import Actor, Role
from mira_core.storage import open_store, write_tx
from mira_core.team import record_change

PAGE = str(Path(__file__).resolve().parents[2] / "app" / "screens" / "activity.py")


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_empty_log_says_so():
    open_store(os.environ["MIRA_DATABASE_URL"], shared=False).dispose()
    at = _app()
    assert any("No changes recorded yet" in i.value for i in at.info)


def test_log_filter_and_older_page():
    eng = open_store(os.environ["MIRA_DATABASE_URL"], shared=False)
    ann, bob = Actor(user_id="ann@example.org", role=Role.curator), Actor(user_id="bob@example.org", role=Role.admin)
    with write_tx(eng) as conn:
        for i in range(105):
            record_change(conn, ann if i % 2 else bob, "tag.add", target_kind="record", record_id=f"r{i}", n=i)
    eng.dispose()
    at = _app()
    table = at.dataframe[0].value
    assert len(table) == 100 and table.record.iloc[0] == "r104"  # newest first, one page of 100
    at.button(key="activity_older").click().run()
    assert at.dataframe[0].value.record.tolist() == ["r4", "r3", "r2", "r1", "r0"]
    at.button(key="activity_newer").click().run()
    assert at.dataframe[0].value.record.iloc[0] == "r104"
    at.multiselect(key="activity_people").set_value(["ann@example.org"]).run()
    assert not at.exception, at.exception
    people = set(at.dataframe[0].value.person)
    assert people == {"ann@example.org"} and len(at.dataframe[0].value) == 52
