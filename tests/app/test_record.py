"""Record page through AppTest: issue, timeline, diff sections, metadata, prev/next within the filter."""

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


def test_record_shows_issue_steps_and_diff_sections(corpus):
    ids = _browse_first_id({"source": "swe_qa", "q": "tokenizer"})
    at = _record({"id": ids[0]})
    codes = [c.value for c in at.code]
    assert "Crash in tokenizer when input is empty" in codes
    assert at.subheader[0].value == "org\\_\\_repo\\-2"  # escaped markdown of the instance id
    labels = [e.label for e in at.expander]
    assert any(lbl.startswith("pkg\\/parser\\_2\\.py · modified · +1 −1") for lbl in labels), labels
    assert any(lbl.startswith("tests\\/test\\_2\\.py · added · +1 −0") for lbl in labels), labels
    assert any("-    return 2\n+    return 3" in c for c in codes)
    # Three tool calls, each in a collapsible expander labelled with the tool and its command.
    assert sum(lbl.startswith("bash — ls \\-la dir") for lbl in labels) == 3
    assert any(c == "ls -la dir1" for c in codes)
    assert "outcome" in at.dataframe[0].value["field"].tolist()
    assert [t.label for t in at.tabs] == ["Issue", "Steps (11)", "Patch (2 files)", "Scores", "Student vs teacher",
                                        "Metadata", "Annotation"]
    assert any(s.value == "Curator annotation" for s in at.subheader)


def test_long_record_pages_steps_and_folds_observations(corpus):
    at = _record({"id": corpus})
    assert any("SYNTHETIC DEMO DATA" in w.value for w in at.warning)
    caption = next(c.value for c in at.caption if c.value.startswith("steps "))
    assert caption == "steps 1–50 of 120 · page 1 of 3"
    # Observations of 40 lines show 12 and fold the other 28 behind an expander.
    assert any(e.label == "show 28 more lines" for e in at.expander)
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
