"""Every layout turns any JSON value into a Record, reports, or an ImportRejected naming the item: never a
crash. Values are drawn around the keys the layouts read, so the fuzzing reaches deep into them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mira_core.errors import ImportRejected
from mira_core.importers import LAYOUTS
from mira_core.ingest import normalize_item
from mira_core.jsonstream import RawItem
from mira_core.records import Record

KEYS = [
    "history", "messages", "trajectory", "instance_id", "instance", "role", "content", "text", "action",
    "args", "extras", "observation", "source", "tool_calls", "function", "name", "arguments", "id",
    "tool_call_metadata", "model_response", "choices", "message", "metadata", "exit_code", "info",
    "replay_config", "environment", "problem_statement", "submission", "test_result", "report", "resolved",
    "tests_status", "FAIL_TO_PASS", "success", "failure", "ids_resolved", "model_patch", "issue", "thought",
    "run_id", "target", "error", "feedback", "tool_call_ids", "is_demo", "git_patch", "command", "agent_class",
]
scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(
    ["", "x", "run", "user", "assistant", "tool", "system", "ai", "main", "swe_main", "<function=f>\n<parameter=a>1</parameter>",
     "OBSERVATION:\nERROR:\nx", "```\nls\n```", "<returncode>1</returncode>", "[1, 2]", "{\"a\": 1}", "ISSUE:\nbug"]
)
values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(KEYS), kids, max_size=6),
    max_leaves=30,
)
entries = st.lists(st.dictionaries(st.sampled_from(KEYS), values, max_size=6), max_size=6)
# Objects that carry a list of event/message-like entries under the key a layout requires, or bare lists.
shaped = st.builds(
    lambda base, key, items: {**base, key: items},
    st.dictionaries(st.sampled_from(KEYS), values, max_size=5),
    st.sampled_from(["history", "messages", "trajectory", "tests_status", "ids_resolved"]),
    entries,
)
documents = shaped | entries | values


@pytest.mark.parametrize("layout", LAYOUTS, ids=[lay.name for lay in LAYOUTS])
@settings(max_examples=80, deadline=None)
@given(obj=documents)
def test_normalize_returns_or_rejects(layout, obj):
    raw = json.dumps(obj).encode()
    try:
        out = normalize_item(RawItem(raw, "f:1"), layout, "swe_qa", Path("/tmp/x/o__r-1.traj"))
    except ImportRejected as exc:
        assert exc.where == "f:1" and exc.reason
        return
    assert isinstance(out, Record) or (isinstance(out, list) and all(hasattr(r, "instance_id") for r in out))
    if isinstance(out, Record):
        out.model_dump_json()  # storable as the body
