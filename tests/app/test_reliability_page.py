"""Reliability page through AppTest: live mask preview, overrides, saving and activating mask versions."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mira_core.identity import Role
from mira_core.reliability.demo_teacher import label_demo_corpus
from mira_core.reliability.mask_store import active_mask
from mira_core.storage import migrate
from mira_core.storage import reliability_repo as repo
from mira_core.storage.engine import make_engine, read_conn
from tests.reliability.builders import add_scores, make_records, person

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture
def scored():
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    ids = make_records(eng, 300, sources=("src_a", "src_b", "src_c"))
    rng = np.random.default_rng(0)
    add_scores(eng, ids, rng.integers(0, 11, (300, 15)).astype(float), judge="mira-SIMULATED")
    label_demo_corpus(eng, actor=person(), coverage=0.8)
    yield eng
    eng.dispose()


def _page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    at.switch_page("screens/reliability.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _masked(at: AppTest) -> int:
    value = next(m.value for m in at.metric if m.label == "Masked cells (draft, not saved)")
    return int(value.split(" of ")[0])


def test_threshold_change_updates_masked_count_and_save_version(scored):
    at = _page()
    assert len(at.get("plotly_chart")) == 3  # heatmap, scatter and histogram
    top = next(d.value for d in at.dataframe if "open" in d.value.columns)
    assert top["open"].str.startswith("record?id=").all() and top["title"].str.startswith("Issue number").all()
    assert (top["error"].abs().diff().dropna() <= 0).all()  # largest disagreements first
    before = _masked(at)
    at.slider(key="rel_max_mae").set_value(0.5).run()
    assert not at.exception, at.exception
    strict = _masked(at)
    assert strict > before
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heatmap["texttemplate"] == "%{text}" and heatmap["hovertemplate"].startswith("%{customdata}")
    labels = [cell for row in heatmap["text"] for cell in row]
    assert sum(cell.endswith("✕") for cell in labels) == strict  # masked cells are marked in the heatmap
    at.slider(key="rel_max_mae").set_value(5.0).run()
    at.slider(key="rel_min_rho").set_value(-1.0).run()
    at.checkbox(key="rel_mask_too_few").uncheck().run()
    assert _masked(at) == 0
    at.text_input(key="rel_mask_name").input("nothing masked")
    at.button[[b.label for b in at.button].index("Save mask version")].click().run()
    assert not at.exception, at.exception
    assert any("Saved mask version 1 and made it active" in s.value for s in at.success)
    with read_conn(scored) as conn:
        versions = repo.list_mask_versions(conn)
    assert versions.name.tolist() == ["nothing masked"] and versions.active.tolist() == [True]
    assert any(e.label.startswith("Cells of version 1 (0 masked)") for e in at.expander)


def test_curator_override_changes_preview_and_is_saved(scored):
    at = _page()
    at.slider(key="rel_max_mae").set_value(5.0).run()
    at.slider(key="rel_min_rho").set_value(-1.0).run()
    assert _masked(at) == 0
    at.selectbox(key="rel_cell_source").set_value("src_b").run()
    at.selectbox(key="rel_cell_slot").set_value("A4").run()
    at.radio(key="rel_override_choice").set_value("force masked")
    at.text_input(key="rel_override_reason").input("teacher misreads this source")
    at.button[[b.label for b in at.button].index("Apply to preview")].click().run()
    assert not at.exception, at.exception
    assert _masked(at) == 1
    assert any("teacher misreads this source" in m.value for m in at.markdown)
    at.text_input(key="rel_mask_name").input("with override")
    at.button[[b.label for b in at.button].index("Save mask version")].click().run()
    with read_conn(scored) as conn:
        mask = active_mask(conn)
    d = mask.decision("src_b", "A4")
    assert d is not None and d.masked and d.by == "curator" and d.reason == "teacher misreads this source"
    # A later session starts from the active version's curator decisions: new thresholds keep them.
    later = _page()
    assert _masked(later) >= 1
    later.slider(key="rel_max_mae").set_value(5.0).run()
    later.slider(key="rel_min_rho").set_value(-1.0).run()
    assert _masked(later) == 1
    later.button(key="rel_clear_overrides").click().run()
    assert _masked(later) == 0


def test_spot_checks_for_every_masked_cell(scored):
    at = _page()
    at.slider(key="rel_max_mae").set_value(1.0).run()
    n = _masked(at)
    assert n > 0
    at.number_input(key="rel_masked_spot_size").set_value(3)
    at.button(key="rel_masked_spot_go").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith(f"Created {n} spot-checks")
    from mira_core.storage import spot_checks_repo

    with read_conn(scored) as conn:
        checks = spot_checks_repo.list_spot_checks(conn)
    assert len(checks) == n and (checks["size"] <= 3).all()


def test_override_without_reason_is_refused(scored):
    at = _page()
    at.selectbox(key="rel_cell_source").set_value("src_a").run()
    at.radio(key="rel_override_choice").set_value("force unmasked")
    at.button[[b.label for b in at.button].index("Apply to preview")].click().run()
    assert any("written reason" in e.value for e in at.error)


def test_page_without_teacher_labels_says_how_to_import(tmp_path):
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    eng.dispose()
    at = _page()
    assert any("import-teacher" in i.value for i in at.info)


def test_a_curator_saves_a_version_but_only_an_admin_activates_it(scored, monkeypatch):
    import ui.db
    import ui.mask_versions

    curator = person("cy@example.org", Role.curator)
    monkeypatch.setattr(ui.db, "current_actor", lambda: curator)  # the page script imports it on every run
    monkeypatch.setattr(ui.mask_versions, "current_actor", lambda: curator)
    at = _page()
    box = at.checkbox(key="rel_mask_activate")
    assert box.disabled and not box.value  # unticked: saving as the active one would be refused
    at.text_input(key="rel_mask_name").input("draft")
    at.button[[b.label for b in at.button].index("Save mask version")].click().run()
    assert not at.exception, at.exception
    assert any(s.value == "Saved mask version 1." for s in at.success)
    assert at.button(key="rel_activate").disabled
    with read_conn(scored) as conn:
        versions = repo.list_mask_versions(conn)
    assert versions[["name", "active", "created_by"]].values.tolist() == [["draft", False, "cy@example.org"]]


def test_opens_at_the_active_versions_rules_and_spot_checks_its_cells(scored):
    from mira_core.reliability.mask_store import save_mask_version
    from mira_core.reliability.masks import Cell, CellDecision, Mask, MaskRules
    from mira_core.storage.engine import write_tx

    rules = MaskRules(max_mae=1.3, min_rho=0.1, min_n=12, mask_too_few=False)
    cells = {Cell("src_a", "A2"): CellDecision(masked=True, reason="r"),
             Cell("src_b", "A9"): CellDecision(masked=True, reason="r")}
    with write_tx(scored) as conn:
        vid = save_mask_version(conn, name="team mask", mask=Mask(cells=cells), rules=rules, actor=person("ann"))
    at = _page()
    assert [at.slider(key="rel_max_mae").value, at.slider(key="rel_min_rho").value] == [1.3, 0.1]
    assert at.number_input(key="rel_min_n").value == 12 and at.checkbox(key="rel_mask_too_few").value is False
    line = next(i.value for i in at.info if "Active mask" in i.value).replace("\\", "")
    assert line.startswith(f"Active mask: v{vid} “team mask” by ann on ") and line.endswith(", 2 cells masked")
    assert any(s.value == "Mask rules (draft until saved)" for s in at.subheader)
    at.slider(key="rel_max_mae").set_value(0.2).run()  # the draft now masks far more than the active version
    assert _masked(at) > 2
    assert any(f"differs from active version {vid}" in c.value for c in at.caption)
    at.number_input(key="rel_masked_spot_size").set_value(3)
    at.button(key="rel_masked_spot_go").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == (f"Created 2 spot-checks of the active mask v{vid}; "
                                   "open them on the Spot-check page.")


def test_disagreements_carry_both_rationales(scored):
    at = _page()
    top = next(d.value for d in at.dataframe if "student_rationale" in d.value.columns)
    # builders.add_scores writes "<judge> because <slot>"; the demo teacher writes its own SIMULATED text
    assert top["student_rationale"].str.startswith("mira-SIMULATED because A1").all()
    assert (top["teacher_rationale"].str.len() > 0).all()
