"""OpenHands V1 events (software-agent-sdk): output.jsonl rows and bare lists become steps with exit codes,
tools, thoughts, errors and the end of the run; a list with events but no readable step is rejected.

The fixtures follow the SDK's event models (openhands-sdk/openhands/sdk/event/) and the shape of a public
V1 run (OpenHands/benchmarks @78ea45a, benchmarks/openagentsafety/outputs/.../output.jsonl and
traj_<instance>.json): both the 2025 observation fields (`output`, `exit_code: null` with the real code in
`metadata.exit_code`, `error: bool`) and the later ones (`content: [{type, text}]`, `is_error`).
"""

from __future__ import annotations

import json

from mira_core.ingest import import_paths
from mira_core.query import RecordFilter
from mira_core.storage import records_repo
from mira_core.storage.engine import read_conn

MODEL = "litellm_proxy/neulab/gpt-4o-2024-08-06"


def _text(t: str) -> list[dict]:
    return [{"type": "text", "text": t}]


def _ev(kind: str, n: int, source: str, **fields) -> dict:
    return {"kind": kind, "id": f"ev-{n}", "timestamp": f"2025-10-30T03:50:{n:02d}", "source": source, **fields}


def _action(n: int, tool: str, action: dict | None, thought: str = "", **extra) -> dict:
    args = {k: v for k, v in (action or {}).items() if k != "kind"}
    return _ev("ActionEvent", n, "agent", thought=_text(thought) if thought else [], reasoning_content=None,
               thinking_blocks=[], action=action, tool_name=tool, tool_call_id=f"call_{n}",
               tool_call={"id": f"call_{n}", "name": tool, "arguments": json.dumps(args), "origin": "completion"},
               llm_response_id=f"resp-{n}", security_risk="UNKNOWN", **extra)


def _obs(n: int, tool: str, observation: dict) -> dict:
    return _ev("ObservationEvent", n, "environment", tool_name=tool, tool_call_id=f"call_{n - 1}",
               observation=observation, action_id=f"ev-{n - 1}")


def v1_history() -> list[dict]:
    return [
        _ev("SystemPromptEvent", 0, "agent", system_prompt={"type": "text", "text": "You are OpenHands agent."},
            tools=[{"name": "execute_bash"}]),
        _ev("MessageEvent", 1, "user", llm_message={"role": "user", "content": _text(
            "<issue_description>\nparse() crashes on empty input\n</issue_description>")}, activated_skills=[]),
        _ev("ConversationStateUpdateEvent", 2, "environment", key="execution_status", value="running"),
        _action(3, "execute_bash", {"kind": "ExecuteBashAction", "command": "pytest -x", "is_input": False,
                                    "timeout": None, "reset": False}, thought="Run the tests first."),
        _obs(4, "execute_bash", {"kind": "ExecuteBashObservation", "output": "1 failed", "command": "pytest -x",
                                 "exit_code": None, "error": False, "timeout": False,
                                 "metadata": {"exit_code": 2, "pid": -1, "working_dir": "/workspace"}}),
        _action(5, "str_replace_editor", {"kind": "FileEditorAction", "command": "str_replace", "path": "/w/p.py",
                                          "old_str": "x[0]", "new_str": "x[:1]"}),
        _obs(6, "str_replace_editor", {"kind": "FileEditorObservation", "command": "str_replace",
                                       "content": _text("ERROR: no match for old_str"), "is_error": True}),
        _action(7, "think", {"kind": "ThinkAction", "thought": "The slice is in parse_args, not parse."}),
        _obs(8, "think", {"kind": "ThinkObservation", "content": _text("Your thought has been logged.")}),
        _ev("AgentErrorEvent", 9, "agent", tool_name="browser", tool_call_id="call_9", error="Tool 'browser' not found"),
        _ev("UserRejectObservation", 10, "environment", tool_name="execute_bash", tool_call_id="call_10",
            action_id="ev-10", rejection_reason="rm -rf is not allowed"),
        _ev("MessageEvent", 11, "agent", llm_message={"role": "assistant", "content": _text("Fixed it."),
                                                      "reasoning_content": "Tests pass now."}),
        _action(12, "finish", {"kind": "FinishAction", "message": "Done: parse() handles empty input."}),
        _obs(13, "finish", {"kind": "FinishObservation", "message": "Done: parse() handles empty input."}),
        _ev("ConversationErrorEvent", 14, "environment", code="LLMContextWindowExceedError", detail="too long"),
    ]


def _records(engine) -> dict[str, object]:
    with read_conn(engine) as conn:
        return {m["instance_id"]: records_repo.get_record(conn, m["record_id"])
                for m in records_repo.iter_record_metadata(conn, RecordFilter())}


def test_v1_output_row_reads_every_event_kind(engine, tmp_path):
    row = {"instance_id": "o__parser-7", "test_result": {"git_patch": "diff --git a/p.py b/p.py\n"},
           "instruction": "fix it", "metadata": {"llm": {"model": MODEL, "api_key": None},
                                                 "eval_output_dir": "./outputs/ds/gpt-4o_maxiter_100_N_v1"},
           "history": v1_history(), "metrics": None, "error": None,
           "instance": {"instance_id": "o__parser-7", "problem_statement": "parse() crashes on empty input"}}
    f = tmp_path / "output.jsonl"
    f.write_text(json.dumps(row) + "\n")
    summary = import_paths(engine, [f], source="oh_v1")
    assert summary.rejected == [] and summary.layouts == {"openhands_output": 1}
    rec = _records(engine)["o__parser-7"]
    assert (rec.model, rec.agent, rec.run_id, rec.exit_status) == (MODEL, "OpenHands", "gpt-4o_maxiter_100_N_v1", "finished")
    got = [(s.kind.value, s.tool_name, s.exit_code, s.error) for s in rec.steps]
    assert got == [
        ("system", None, None, False), ("user", None, None, False),
        ("thought", None, None, False), ("action", "execute_bash", None, False),
        ("observation", "execute_bash", 2, True),  # top-level exit_code null: the real one from metadata
        ("action", "str_replace_editor", None, False), ("observation", "str_replace_editor", None, True),
        ("thought", "think", None, False),  # ThinkAction is a thought; its observation repeats it
        ("observation", "browser", None, True), ("observation", "execute_bash", None, True),
        ("thought", None, None, False), ("message", None, None, False),
        ("action", "finish", None, False),  # FinishObservation repeats the message
        ("message", None, None, True),
    ]
    s = rec.steps
    assert s[0].content == "You are OpenHands agent." and s[2].content == "Run the tests first."
    assert s[3].tool_args == {"command": "pytest -x"} and s[4].content == "1 failed"
    assert s[5].tool_args == {"command": "str_replace", "path": "/w/p.py", "old_str": "x[0]", "new_str": "x[:1]"}
    assert s[6].content == "ERROR: no match for old_str" and s[7].content == "The slice is in parse_args, not parse."
    assert s[8].content == "Tool 'browser' not found" and s[9].content == "Action rejected: rm -rf is not allowed"
    assert (s[10].content, s[11].content) == ("Tests pass now.", "Fixed it.")
    assert s[12].content == "Done: parse() handles empty input."
    assert s[13].content == "LLMContextWindowExceedError: too long"


def test_v1_bare_list_gets_its_instance_id_from_the_file_name(engine, tmp_path):
    run = tmp_path / "outputs"
    run.mkdir()
    (run / "traj_o__parser-7.json").write_text(json.dumps(v1_history()))
    nested = tmp_path / "o__lexer-3"
    nested.mkdir()
    (nested / "events.json").write_text(json.dumps(v1_history()[3:5]))  # starts with an ActionEvent
    summary = import_paths(engine, [tmp_path], source="oh_v1")
    assert summary.rejected == [] and summary.layouts == {"openhands_events": 2}
    recs = _records(engine)
    assert set(recs) == {"o__parser-7", "o__lexer-3"}
    first = recs["o__parser-7"]
    assert (first.repo, first.exit_status, len(first.steps)) == ("o/parser", "finished", 14)
    assert first.issue == "parse() crashes on empty input"
    assert [(s.kind.value, s.exit_code) for s in recs["o__lexer-3"].steps] == [
        ("thought", None), ("action", None), ("observation", 2)]


def test_events_without_a_readable_step_are_rejected_with_their_place(engine, tmp_path):
    """A non-empty event list that yields no step is never a silent empty record (either schema)."""
    plumbing_v1 = [_ev("ConversationStateUpdateEvent", i, "environment", key="k", value=i) for i in range(3)]
    plumbing_v0 = [{"id": 1, "source": "environment", "observation": "agent_state_changed", "content": "",
                    "extras": {"agent_state": "running"}}]
    (tmp_path / "traj_a__b-1.json").write_text(json.dumps(plumbing_v1))
    rows = tmp_path / "output.jsonl"
    good = {"instance_id": "a__b-2", "history": v1_history(), "metadata": {}}
    rows.write_text(json.dumps(good) + "\n" + json.dumps({"instance_id": "a__b-3", "history": plumbing_v0}) + "\n")
    summary = import_paths(engine, [tmp_path], source="oh_v1")
    assert summary.imported == 1
    reasons = {r.where: r.reason for r in summary.rejected}
    assert reasons == {
        str(tmp_path / "traj_a__b-1.json"):
            "3 events but none this importer reads as a step (ConversationStateUpdateEvent ×3): not imported",
        f"{rows}:2": "1 event but none this importer reads as a step (observation agent_state_changed ×1): not imported",
    }


def test_a_trajectory_with_entries_but_no_step_is_rejected(engine, tmp_path):
    """The same rule for any layout: entries under history/trajectory/messages that give no step."""
    f = tmp_path / "o__r-1.traj"
    f.write_text(json.dumps({"environment": "x", "trajectory": [{"note": "?"}], "info": {},
                             "history": [{"role": "tool", "content": ""}]}))
    summary = import_paths(engine, [f], source="swe")
    assert summary.imported == 0
    assert [(r.where, r.reason) for r in summary.rejected] == [
        (str(f), "swe_agent_traj: 1 entries in 'history' but no step could be read from them: not imported")]
