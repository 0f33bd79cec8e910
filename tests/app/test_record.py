"""Record page through AppTest: issue, timeline, diff sections, metadata, prev/next within the filter."""

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def _record(params: dict) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    at.switch_page("screens/record.py")
    at.query_params.clear()
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def _browse_first_id(params: dict) -> list[str]:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params.update(params)
    at.run()
    return at.dataframe[0].value["record id"].tolist()


def _tab(at: AppTest, label: str) -> AppTest:
    at.query_params["tab"] = label
    at.run()
    assert not at.exception, at.exception
    return at


def test_record_shows_issue_steps_and_diff_sections(corpus):
    ids = _browse_first_id({"source": "swe_qa", "q": "tokenizer"})
    at = _record({"id": ids[0]})
    assert [t.label for t in at.tabs] == ["Issue", "Steps", "Patch", "Scores", "Student vs teacher",
                                        "Metadata", "Annotation"]
    assert any("Crash in tokenizer when input is empty" in m.value for m in at.markdown)
    assert at.subheader[0].value == "org\\_\\_repo\\-2"  # escaped markdown of the instance id
    assert [e.label for e in at.expander] == ["Keyboard shortcuts"]  # only the open tab: no step, no file
    _tab(at, "Patch")
    labels = [e.label for e in at.expander]
    assert any(lbl.startswith("pkg\\/parser\\_2\\.py · modified · +1 −1") for lbl in labels), labels
    assert any(lbl.startswith("tests\\/test\\_2\\.py · added · +1 −0") for lbl in labels), labels
    assert any("-    return 2\n+    return 3" in c.value for c in at.code)
    assert any(c.value == "2 files changed" for c in at.caption)
    _tab(at, "Steps")
    labels = [e.label for e in at.expander]
    # Three tool calls, each in a collapsible expander labelled with the tool and its command, sent when opened.
    assert sum(lbl.startswith("bash — ls \\-la dir") for lbl in labels) == 3
    assert not any(c.value == "ls -la dir1" for c in at.code)
    call = next(e for e in at.expander if e.label.startswith("bash — ls \\-la dir1"))
    at.session_state[call.key] = True  # what a click on the expander does
    at.run()
    assert any(c.value == "ls -la dir1" for c in at.code)
    _tab(at, "Metadata")
    assert "outcome" in at.dataframe[0].value["field"].tolist()
    _tab(at, "Annotation")
    assert any(s.value == "Curator annotation" for s in at.subheader)


def test_long_record_pages_steps_and_folds_observations(corpus):
    at = _tab(_record({"id": corpus}), "Steps")
    assert any("SYNTHETIC DEMO DATA" in w.value for w in at.warning)
    caption = next(c.value for c in at.caption if c.value.startswith("steps "))
    assert caption == "steps 1–50 of 120 · page 1 of 3"
    # Observations of 40 lines show 12 and fold the other 28 behind an expander, sent only when opened.
    folded = [e for e in at.expander if e.label == "show 28 more lines"]
    assert folded and not any("output line 39 " in c.value for c in at.code)
    at.session_state[folded[0].key] = True
    at.run()
    assert any("output line 39 " in c.value for c in at.code)
    at.button(key="record_steps_next_top").click().run()
    caption = next(c.value for c in at.caption if c.value.startswith("steps "))
    assert caption == "steps 51–100 of 120 · page 2 of 3"
    at.number_input(key="record_step_page").set_value(3).run()
    caption = next(c.value for c in at.caption if c.value.startswith("steps "))
    assert caption == "steps 101–120 of 120 · page 3 of 3"
    assert at.button(key="record_steps_next_top").disabled
    at.toggle(key="record_errors_only").set_value(True).run()
    caption = next(c.value for c in at.caption if c.value.startswith("steps "))
    assert at.number_input(key="record_step_page").value == 1  # a new filter starts at its first page
    assert caption.endswith("page 1 of 1") and "of 13 " in caption  # observations at i % 9 == 2, i < 119


def test_the_open_tab_stays_across_records(corpus):
    view = {"source": "swe_qa", "sort": "instance_id", "order": "asc"}
    ids = _browse_first_id(view)
    at = _tab(_record({**view, "id": ids[0]}), "Metadata")
    at.button(key="record_next").click().run()
    assert at.query_params["id"] == ids[1] and at.query_params["tab"] == "Metadata"
    assert at.dataframe[0].value["value"].tolist()[-1] == ids[1]  # the metadata of the new record
    del at.query_params["tab"]  # e.g. back to Browse and into a record again: the session's last tab
    at.run()
    assert at.dataframe and at.dataframe[0].value["value"].tolist()[-1] == ids[1]


def test_prev_next_walk_the_filter_in_order(corpus):
    view = {"source": "swe_qa", "sort": "instance_id", "order": "asc"}
    ids = _browse_first_id(view)
    at = _record({**view, "id": ids[0]})
    assert at.button(key="record_prev").disabled
    seen = [at.query_params["id"]]
    for _ in range(2):
        at.button(key="record_next").click().run()
        seen.append(at.query_params["id"])
    assert seen == ids
    assert any(c.value == "record 3 of 3 in the Browse filter" for c in at.caption)
    assert at.button(key="record_next").disabled  # last of the filter: the synthetic record is outside it
    at.button(key="record_prev").click().run()
    assert at.query_params["id"] == ids[1]


def test_record_outside_the_filter_says_so(corpus):
    at = _record({"source": "swe_qa", "id": corpus})  # the agent_openhands record
    assert any(c.value.startswith("outside the Browse filter (3 records)") for c in at.caption)


def test_unknown_id_is_a_clear_error(corpus):
    at = _record({"id": "doesnotexist"})
    assert "record doesnotexist not found" in at.error[0].value


def test_without_id_a_pasted_id_opens_the_record(corpus):
    at = _record({})
    assert "No record chosen" in at.info[0].value
    at.text_input(key="record_pick").input(corpus).run()
    assert at.query_params["id"] == corpus
    assert at.subheader[0].value == "big\\_\\_task\\-1"


def test_scores_tab_greys_masked_dimensions_and_carries_the_legend(corpus):
    import os

    from mira_core.reliability.mask_store import save_mask_version
    from mira_core.reliability.masks import Cell, CellDecision, Mask
    from mira_core.storage.engine import make_engine, write_tx
    from tests.reliability.builders import person

    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    mask = Mask(cells={Cell("agent_openhands", "A2"): CellDecision(masked=True, reason="MAE 3.10 > 2.00")})
    with write_tx(eng) as conn:
        save_mask_version(conn, name="m", mask=mask, rules=None, actor=person("ann"))
    eng.dispose()
    at = _tab(_record({"id": corpus}), "Scores")
    table = at.dataframe[0]
    assert table.value["mask"].tolist()[1] == "masked: MAE 3.10 > 2.00" and table.value["mask"].tolist()[0] == ""
    grey = {int(m) for m in re.findall(r"#T_\w+_row(\d+)_col\d+ \{ color: #9e9e9e", table.proto.arrow_data.styler.styles)}
    assert grey == {1}  # A2's row only
    assert "human" in table.value.columns and "teacher" in table.value.columns
    legend = next(e for e in at.expander if e.label == "What the dimensions judge")
    assert "**A14 · Tool Selection** — Choosing the right tool" in legend.markdown[0].value
