"""The record-annotation panel through AppTest: save, history, and a refused conflicting save."""

import os

import pytest
from streamlit.testing.v1 import AppTest

from mira_core.identity import Role
from mira_core.storage import annotations_repo as ann
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, read_conn
from tests.reliability.builders import make_records, person


def _panel(record_id: str):
    from ui.record_annotations import render_record_annotations

    render_record_annotations(record_id)


@pytest.fixture
def rid():
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    rid = make_records(eng, 1)[0]
    eng.dispose()
    return rid


def _open(rid: str) -> AppTest:
    at = AppTest.from_function(_panel, args=(rid,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_second_stale_save_is_refused_with_who_and_when(rid, monkeypatch):
    ann_view, bob_view = _open(rid), _open(rid)
    monkeypatch.setenv("MIRA_CURATOR", "bob")
    bob_view.radio(key=f"ann_override_{rid}").set_value("force_drop")
    bob_view.text_input(key=f"ann_reason_{rid}").input("duplicate of another run")
    bob_view.button[0].click().run()
    assert any(s.value == "Saved (version 1)." for s in bob_view.success)
    monkeypatch.setenv("MIRA_CURATOR", "ann")
    ann_view.text_area(key=f"ann_note_{rid}").input("looks fine to me")
    ann_view.button[0].click().run()
    assert not ann_view.exception, ann_view.exception
    msg = ann_view.error[0].value
    assert "changed by bob at" in msg and "Nothing was saved" in msg
    engine = make_engine(os.environ["MIRA_DATABASE_URL"])
    with read_conn(engine) as conn:
        stored = ann.get_annotation(conn, rid)
    assert (stored.override, stored.note, stored.updated_by) == ("force_drop", "", "bob")
    # Reload takes Bob's version; Ann's next save goes through on top of it.
    ann_view.button(key=f"ann_reload_{rid}").click().run()
    assert ann_view.radio(key=f"ann_override_{rid}").value == "force_drop"
    ann_view.text_area(key=f"ann_note_{rid}").input("agree, drop")
    ann_view.button[0].click().run()
    assert any(s.value == "Saved (version 2)." for s in ann_view.success)
    with read_conn(engine) as conn:
        assert ann.history(conn, rid).updated_by.tolist() == ["ann", "bob"]
    engine.dispose()


def test_override_without_reason_shows_error(rid):
    at = _open(rid)
    at.radio(key=f"ann_override_{rid}").set_value("force_keep")
    at.button[0].click().run()
    assert "needs a written reason" in at.error[0].value


def _judgements(record_id: str):
    from ui.record_judgements import render_record_judgements

    render_record_judgements(record_id)


def test_judgements_show_student_and_teacher_rationales_with_masked_dims(rid):
    import numpy as np

    from mira_core.reliability.mask_store import save_mask_version
    from mira_core.reliability.masks import Cell, CellDecision, Mask
    from mira_core.storage.engine import write_tx
    from tests.reliability.builders import add_scores

    engine = make_engine(os.environ["MIRA_DATABASE_URL"])
    add_scores(engine, [rid], np.full((1, 15), 6.0), judge="stud")
    add_scores(engine, [rid], np.full((1, 15), 8.0), kind="teacher", judge="kimi")
    with write_tx(engine) as conn:
        source = conn.exec_driver_sql("SELECT source FROM records").scalar()
        save_mask_version(conn, name="m", actor=person("ann"), rules=None, mask=Mask(
            cells={Cell(source, "A7"): CellDecision(masked=True, reason="rho 0.10 < 0.30")}))
    engine.dispose()
    at = AppTest.from_function(_judgements, args=(rid,), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["mask"].tolist()[6] == "masked: rho 0.10 < 0.30" and table["teacher"].tolist()[0] == 8.0
    assert any(e.label.startswith("A7 · Error Recovery \\(masked\\)") for e in at.expander)
    texts = [t.value for t in at.text]
    assert "stud because A7" in texts and "kimi because A7" in texts


def _bulk(sources: list[str]):
    from ui.bulk_tag import render_bulk_tag

    from mira_core.query import RecordFilter

    render_bulk_tag(RecordFilter(sources=sources))


def test_bulk_tag_form_tags_every_match(rid):
    engine = make_engine(os.environ["MIRA_DATABASE_URL"])
    make_records(engine, 6, sources=("x", "y"))
    at = AppTest.from_function(_bulk, args=(["x"],), default_timeout=60)
    at.run()
    assert "Tag all 3 records" in at.markdown[0].value
    at.text_input(key="bulk_tag_tag").input("needs review")
    at.button[0].click().run()
    assert at.success[0].value.endswith("added to 3 records (0 already had it).")
    with read_conn(engine) as conn:
        assert ann.tag_counts(conn).records.tolist() == [3]
    engine.dispose()


def test_a_viewer_is_told_which_role_saving_and_tagging_need(rid, monkeypatch):
    import ui.bulk_tag
    import ui.record_annotations

    viewer = person("vi@example.org", Role.viewer)
    monkeypatch.setattr(ui.record_annotations, "current_actor", lambda: viewer)
    monkeypatch.setattr(ui.bulk_tag, "current_actor", lambda: viewer)
    at = _open(rid)
    at.text_area(key=f"ann_note_{rid}").input("my note")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "annotating records needs the curator role" in at.error[0].value and not at.success
    bulk = AppTest.from_function(_bulk, args=(["src_a"],), default_timeout=60)
    bulk.run()
    bulk.text_input(key="bulk_tag_tag").input("needs review")
    bulk.button[0].click().run()
    assert "tagging records needs the curator role" in bulk.error[0].value and not bulk.success
    engine = make_engine(os.environ["MIRA_DATABASE_URL"])
    with read_conn(engine) as conn:
        assert ann.get_annotation(conn, rid).version == 0 and ann.tag_counts(conn).empty
    engine.dispose()
