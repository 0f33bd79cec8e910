"""Spot-check page through AppTest: score with the number buttons, skip, go back, resume later."""

import os
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mira_core.identity import Role
from mira_core.reliability import spot_check_store
from mira_core.reliability.demo_teacher import label_demo_corpus
from mira_core.storage import migrate
from mira_core.storage import spot_checks_repo as spot
from mira_core.storage.engine import make_engine, read_conn, write_tx
from tests.reliability.builders import add_scores, make_records, person

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture
def check():
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    ids = make_records(eng, 40)
    add_scores(eng, ids, np.random.default_rng(0).integers(0, 11, (40, 15)).astype(float), judge="mira")
    label_demo_corpus(eng, actor=person(), coverage=1.0)
    with write_tx(eng) as conn:
        sid = spot_check_store.create_spot_check(conn, source="src_a", slot="A7", size=4, seed=0,
                                                 actor=person("ann"), teacher="kimi-k2.6-SIMULATED")
    yield eng, sid
    eng.dispose()


def _open(sid: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    at.switch_page("screens/spot_check.py")
    at.query_params["id"] = sid
    at.run()
    assert not at.exception, at.exception
    return at


def _caption(at: AppTest, prefix: str) -> str:
    return next(c.value for c in at.caption if c.value.startswith(prefix))


def _as(monkeypatch, who: str, role: Role = Role.curator) -> None:
    import ui.db

    monkeypatch.setattr(ui.db, "current_actor", lambda: person(who, role))


def test_review_with_buttons_skip_back_and_resume(check, monkeypatch):
    eng, sid = check
    _as(monkeypatch, "ann@example.org")
    at = _open(sid)
    assert _caption(at, "item ").startswith("item 1 of 4")
    assert any(m.value.startswith("**A7 · Error Recovery**") for m in at.markdown)
    assert any("SIMULATED teacher label" in t.value for t in at.text)  # the teacher's rationale
    at.text_input(key=f"sc_note_{sid}_0").input("clear case")
    at.button(key="sc_score_7").click().run()
    assert _caption(at, "item ").startswith("item 2 of 4")
    at.button(key="sc_skip").click().run()
    assert _caption(at, "item ").startswith("item 3 of 4")
    at.button(key="sc_prev").click().run()
    assert _caption(at, "item ").startswith("item 2 of 4")
    assert _caption(at, "Your answer: ").startswith("Your answer: skipped.")
    with read_conn(eng) as conn:
        items = spot.spot_check_items_frame(conn, sid, reviewer="ann@example.org")
    assert items.human_score.iloc[0] == 7 and items.note.iloc[0] == "clear case" and bool(items.skipped.iloc[1])
    # The same reviewer opens it later: it resumes at the first item they have not answered.
    later = _open(sid)
    assert _caption(later, "item ").startswith("item 3 of 4")
    later.button(key="sc_score_10").click().run()
    later.button(key="sc_score_0").click().run()
    assert any("You have answered every item" in s.value for s in later.success)
    with read_conn(eng) as conn:
        assert spot.get_spot_check(conn, sid)["status"] == "done"
        agreement = spot_check_store.agreement(conn)
    assert agreement.iloc[0].reviewed == 3


def test_a_second_reviewer_answers_blind_then_sees_the_first(check, monkeypatch):
    eng, sid = check
    with write_tx(eng) as conn:
        spot_check_store.record_review(conn, spot_check_id=sid, position=0, human_score=7, note="ann was here",
                                       actor=person("ann@example.org"))
    _as(monkeypatch, "bob@example.org")
    at = _open(sid)
    assert _caption(at, "item ").startswith("item 1 of 4")  # bob starts at the start: ann's answer is not his
    assert _caption(at, "1 reviewer answered this item already")
    assert not any("ann was here" in str(d.value) for d in at.dataframe)  # blind: not before bob answers
    at.button(key="sc_score_2").click().run()
    at.button(key="sc_prev").click().run()
    others = next(d.value for d in at.dataframe if "reviewer" in d.value.columns)
    assert others[["reviewer", "answer", "note"]].values.tolist() == [["ann@example.org", "7", "ann was here"]]
    at.button(key="sc_score_3").click().run()  # bob changes his mind: the history keeps his 2
    with read_conn(eng) as conn:
        history = spot.answer_history(conn, sid, 0, "bob@example.org")
        row = spot_check_store.agreement(conn).iloc[0]
    assert history.human_score.tolist() == [2, 3]
    assert (row.reviewed, row["items"], row.reviewers, row.iaa_items, row.iaa_pairs, row.iaa_mad) == (2, 1, 2, 1, 1, 4.0)


def test_without_id_lists_spot_checks(check):
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    at.switch_page("screens/spot_check.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Spot-checks"


def test_a_viewer_reads_but_cannot_answer(check, monkeypatch):
    eng, sid = check
    _as(monkeypatch, "vi@example.org", Role.viewer)
    at = _open(sid)
    at.button(key="sc_score_7").click().run()
    assert not at.exception, at.exception
    assert any(e.value.startswith("answering spot\\-checks needs the curator role") for e in at.error)
    assert _caption(at, "item ").startswith("item 1 of 4")  # it stays on the item
    with read_conn(eng) as conn:
        assert not spot.spot_check_items_frame(conn, sid).n_reviewers.any()


def test_the_reviewer_sees_the_evidence_the_dimension_needs(check, monkeypatch):
    eng, sid = check  # A7 Error Recovery: judged on the trajectory
    _as(monkeypatch, "ann@example.org")
    at = _open(sid)
    assert [t.label for t in at.tabs] == ["Timeline", "Patch", "Issue"]
    assert _caption(at, "steps ").startswith("steps 1–1 of 1")  # the folded timeline, open first
    assert "this spot-check drew 4 with a teacher label, 0 without" in _caption(at, "item ")
    anchors = next(e for e in at.expander if e.label.startswith("Anchors for A7"))
    assert anchors.label == "Anchors for A7 (2)" and not anchors.markdown  # closed: its examples are not sent
    at.session_state[anchors.key] = True
    at.run()
    anchors = next(e for e in at.expander if e.label.startswith("Anchors for A7"))
    assert anchors.markdown[0].value.startswith("**8/10** — ")
    name = next(m for m in at.markdown if m.value.startswith("**A7 · Error Recovery**"))
    assert name.help.startswith("How the agent reacts to failed commands")  # the description on hover
    # Answer buttons come before the evidence in the page, so they are on screen without scrolling.
    order = [getattr(n, "key", None) or getattr(n, "label", "") for n in at.main]
    assert order.index("sc_score_7") < order.index("Timeline")
    with write_tx(eng) as conn:  # A3 Goal Achievement: judged on the issue and the patch
        sid3 = spot_check_store.create_spot_check(conn, source="src_a", slot="A3", size=2, seed=0,
                                                  actor=person("ann"))
    at3 = _open(sid3)
    assert [t.label for t in at3.tabs] == ["Issue", "Patch", "Timeline"]
    assert any("Issue number" in m.value for m in at3.markdown)
    assert "drew 0 with a teacher label, 2 without" in _caption(at3, "item ")
