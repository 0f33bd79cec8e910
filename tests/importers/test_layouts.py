"""What each layout reads out of the real files: steps, tools, exit codes, ids, agents, models, outcomes.

These run the importers without a database (detect + normalize), so they are fast and precise.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mira_core.importers.common import observation_status
from mira_core.ingest import normalize_item
from mira_core.input_files import detect
from mira_core.input_files import file_items as _items
from mira_core.records import Record, StepKind

pytestmark = pytest.mark.realdata

MAX = 32 << 20
OH = "openhands/OpenHands__OpenHands@d6fab19"
SMITH = "env_native/SWE-bench__SWE-smith@cf2e649/tests/test_logs"
AGENT = "env_native/SWE-agent__SWE-agent@3ea751c"
ADP = "zhu-yiqi__agent-data-protocol"


def records(path: Path) -> list[Record]:
    """Normalize every item of one file, as the importer would."""
    layout, container = detect(path, MAX)
    out = []
    for item in _items(path, layout, container, MAX):
        rec = normalize_item(item, layout, "davinc_dev", path)
        assert isinstance(rec, Record)
        out.append(rec)
    return out


def actions(rec: Record) -> list[tuple[str | None, dict | None]]:
    return [(s.tool_name, s.tool_args) for s in rec.steps if s.kind == StepKind.action]


def test_openhands_output_maps_events(real_data):
    path = real_data / f"{OH}/evaluation/benchmarks/multi_swe_bench/examples/output.jsonl"
    rows = [json.loads(line) for line in path.read_bytes().splitlines()]
    recs = records(path)
    for row, rec in zip(rows, recs, strict=True):
        assert rec.format == "openhands_output" and rec.instance_id == row["instance_id"]
        assert rec.issue == row["instance"]["problem_statement"]
        assert rec.patch == row["test_result"]["git_patch"]
        assert (rec.agent, rec.model, rec.repo) == ("CodeActAgent", "openai/openrouter-llama-4-maverick", "ponylang/ponyc")
        assert rec.run_id == "openrouter-llama-4-maverick_maxiter_50_N_v0.35.0-no-hint-run_1"
        assert [s.kind for s in rec.steps[:2]] == [StepKind.system, StepKind.user]
        # Non-zero exit codes and `observation: error` events are the error steps (hand count per line:
        # 5+0, 2+1, 12+1 from the events; editor "ERROR:" observations add to the total).
        failed_runs = [e for e in row["history"] if e.get("observation") == "run"
                       and e["extras"]["metadata"]["exit_code"] not in (0, None)]
        coded = [s for s in rec.steps if s.exit_code not in (None, 0)]
        assert len(coded) == len(failed_runs) and all(s.error for s in coded)
        errors = [e["content"] for e in row["history"] if e.get("observation") == "error"]
        assert all(any(s.error and s.content == c for s in rec.steps) for c in errors)
        assert not any("model_response" in json.dumps(s.tool_args or {}) for s in rec.steps)
    assert recs[2].exit_status.startswith("RuntimeError: Agent reached maximum iteration")
    assert recs[0].exit_status == "finished"


def test_openhands_visible_thought_comes_from_model_response(real_data):
    path = real_data / f"{OH}/evaluation/benchmarks/multi_swe_bench/examples/output.jsonl"
    row = json.loads(path.read_bytes().splitlines()[0])
    first = next(e for e in row["history"] if e.get("action") == "run")
    visible = first["tool_call_metadata"]["model_response"]["choices"][0]["message"]["content"]
    rec = records(path)[0]
    i = next(i for i, s in enumerate(rec.steps) if s.kind == StepKind.action)
    assert rec.steps[i - 1].kind == StepKind.thought and rec.steps[i - 1].content == visible
    assert rec.steps[i].tool_name == "execute_bash"
    assert rec.steps[i].tool_args == {"command": first["args"]["command"]}
    assert rec.steps[i + 1].kind == StepKind.observation and rec.steps[i + 1].exit_code == 0


def test_resolver_output_inline_dialect(real_data):
    rec = records(real_data / f"{OH}/tests/unit/resolver/mock_output/output.jsonl")[0]
    assert (rec.instance_id, rec.repo, rec.outcome) == ("neubig__pr-viewer-5", "neubig/pr-viewer", "resolved")
    assert rec.issue == "Add MIT license\n\nWe can license this repo under the MIT license."
    kinds = [s.kind.value for s in rec.steps[:4]]
    assert kinds == ["user", "thought", "action", "observation"]
    assert (rec.steps[2].tool_name, rec.steps[2].tool_args) == ("run", {"command": "touch LICENSE"})
    assert rec.steps[3].exit_code == 0 and not rec.steps[3].error
    assert rec.steps[-1].tool_name == "finish"


def test_bare_event_list(real_data):
    rec = records(real_data / f"{OH}/tests/runtime/trajs/wrong_initial_state.json")[0]
    assert rec.format == "openhands_events" and rec.instance_id == "wrong_initial_state"  # from the file name
    assert rec.issue == "Please rename game_2048.py to 2048.py"
    assert ("execute_bash", {"command": "mv /workspace/game_2048.py /workspace/2048.py"}) in actions(rec)
    assert rec.exit_status == "finished"


def test_feedback_rows_both_dialects(real_data):
    flat = records(real_data / f"openhands/{ADP}@80a1efb/datasets/openhands/sample_raw.json")
    assert [r.run_id for r in flat] == ["244", "231", "264", "146", "16"]
    first = flat[0]
    assert (first.agent, first.model) == ("CodeActAgent", "claude-3-5-sonnet-20240620")
    assert first.exit_status == "user feedback: positive" and first.outcome == "unknown"
    # Flattened dialect: the action's arguments sit in `extras`, the thought too.
    assert ("run_ipython", {"code": "open_file('/workspace/opendevin/runtime/utils/runtime_build.py')"}) in actions(first)
    assert any(s.kind == StepKind.thought and s.content.startswith("Certainly!") for s in first.steps)
    normal = records(real_data / f"openhands/{ADP}@2c6de11/datasets/openhands/sample_raw.json")
    assert [r.exit_status for r in normal] == ["user feedback: negative", "user feedback: positive", "user feedback: negative"]
    assert normal[0].steps[0].error and "Invalid token" in normal[0].steps[0].content
    assert ("run_ipython", {"code": "create_file('tank_battle.py')"}) in actions(normal[1])
    timeout = next(s for s in normal[1].steps if s.content == "Command execution timed out")
    assert timeout.error


def test_swe_agent_1x_uses_tool_calls(real_data):
    path = real_data / f"{SMITH}/trajectories/pydantic__pydantic.acb0f10f.pr_8316/pydantic__pydantic.acb0f10f.pr_8316.traj"
    raw = json.loads(path.read_bytes())
    rec = records(path)[0]
    assert (rec.format, rec.instance_id, rec.repo) == ("swe_agent_traj_1", "pydantic__pydantic.acb0f10f.pr_8316", "pydantic/pydantic")
    assert (rec.agent, rec.model, rec.exit_status) == ("swe-agent", "claude-3-7-sonnet-20250219", "submitted")
    assert rec.issue == json.loads(raw["replay_config"])["problem_statement"]["text"].strip()
    assert rec.patch == raw["info"]["submission"]
    calls = [(c["function"]["name"], json.loads(c["function"]["arguments"]))
             for m in raw["history"] for c in (m.get("tool_calls") or [])]
    assert actions(rec) == calls
    observations = [s.content for s in rec.steps if s.kind == StepKind.observation]
    assert observations == [t["observation"] for t in raw["trajectory"]]


def test_swe_smith_xml_matches_the_same_run_traj(real_data):
    """ft_xml_example.jsonl holds the same runs as the SWE-smith .traj files: the parsed XML calls must equal
    the .traj's JSON tool calls (this pins the one-newline rule for parameter values)."""
    xml = {r.instance_id: r for r in records(real_data / "sft_messages/SWE-bench__SWE-smith@cf2e649/tests/test_logs/ft_xml_example.jsonl")}
    for inst in ("pydantic__pydantic.acb0f10f.pr_8316", "pandas-dev__pandas.95280573.pr_53652"):
        traj = records(real_data / f"{SMITH}/trajectories/{inst}/{inst}.traj")[0]
        assert actions(xml[inst]) == actions(traj)
        assert xml[inst].issue == traj.issue
    obs = [s for s in xml["pydantic__pydantic.acb0f10f.pr_8316"].steps if s.kind == StepKind.observation]
    assert obs and all(s.content.startswith("OBSERVATION:") and s.tool_name for s in obs)


def test_swe_agent_0x(real_data):
    folder = f"{AGENT}/tests/test_data/trajectories/gpt4__swe-bench-dev-easy_first_only__default__t-0.00__p-0.95__c-3.00__install-1"
    rec = records(real_data / f"{folder}/pydicom__pydicom-1458.traj")[0]
    assert (rec.format, rec.instance_id, rec.model) == ("swe_agent_traj_0", "pydicom__pydicom-1458", "gpt4")
    assert rec.issue.startswith("Pixel Representation attribute should be optional")
    assert "INSTRUCTIONS:" not in rec.issue
    assert actions(rec)[0] == ("create", {"command": "create reproduce_bug.py"})
    assert actions(rec)[-1] == ("submit", {"command": "submit"})


def test_history_only_traj(real_data):
    rec = records(real_data / f"{AGENT}/trajectories/demonstrations/function_calling_simple.traj")[0]
    assert rec.instance_id == "function_calling_simple" and rec.patch == "" and rec.exit_status is None
    assert actions(rec)[0] == ("find_file", {"file_name": "missing_colon.py"})
    first_obs = next(s for s in rec.steps if s.kind == StepKind.observation)
    assert first_obs.tool_name == "find_file"


def test_nebius_rows(real_data):
    recs = records(real_data / f"env_native/{ADP}@05546b4/datasets/nebius_SWE-agent-trajectories/sample_raw.json")
    first = recs[0]
    assert (first.instance_id, first.run_id, first.model) == ("tomerfiliba__plumbum-366", "17", "swe-agent-llama-70b")
    assert first.issue.startswith("SyntaxError in plumbum/cli/image.py") and "INSTRUCTIONS:" not in first.issue
    assert actions(first)[:2] == [("ls", {"command": "ls -F"}), ("find_file", {"command": 'find_file "image.py" plumbum'})]
    assert actions(first)[-1] == ("submit", {"command": "submit"})
    assert recs[3].model == "swe-agent-llama-405b"


def test_swe_gym_rows(real_data):
    recs = records(real_data / f"sft_messages/{ADP}@dc1a8b7/datasets/swe-gym_openhands_sampled_trajectories/sample_raw.json")
    first = recs[0]
    assert (first.instance_id, first.model, first.agent) == ("python__mypy-15976", "gpt-4o-2024-08-06", "CodeActAgent")
    assert first.run_id == "gpt-4o-2024-08-06_maxiter_50_N_v2.1-no-hint-train-t0-run_1#0"
    assert first.patch.startswith("diff --git a/mypy/plugins/attrs.py")
    assert first.issue and "<pr_description>" not in first.issue
    assert all(isinstance(args, dict) for _, args in actions(first))
    assert all(s.tool_name for s in first.steps if s.kind == StepKind.observation)


def test_swe_smith_rows(real_data):
    first = records(real_data / f"sft_messages/{ADP}@dc1a8b7/datasets/swe-smith/sample_raw.json")[0]
    assert first.run_id == "arrow-py__arrow.1d70d009.lm_rewrite__nuzjfyur.l13ggwmx"
    assert (first.model, first.outcome, first.repo) == ("claude-3-7-sonnet-20250219", "resolved", "arrow-py/arrow")
    assert first.patch.startswith("diff --git a/autograd/")  # the anomaly FORMATS.md notes is kept as is
    assert actions(first)[-1] == ("submit", {})


def test_swe_gym_exit_codes_from_tool_text(real_data):
    """OpenHands ends bash output with `[Command finished with exit code N]`; counted over the 24 rows of the
    @80a1efb sample: 43 x 0, 31 x 1, 16 x 2, 2 x 130, and 2 outputs end in "[Error occurred …]"."""
    recs = records(real_data / f"sft_messages/{ADP}@80a1efb/datasets/SWE-Gym_OpenHands-Sampled-Trajectories/sample_raw.json")
    bash = [s for r in recs for s in r.steps if s.kind == StepKind.observation and s.tool_name == "execute_bash"]
    codes = Counter(s.exit_code for s in bash)
    assert codes == Counter({0: 43, 1: 31, 2: 16, 130: 2, None: 2})
    assert all(s.error == (s.exit_code != 0) for s in bash)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok\n[Command finished with exit code 0]", (0, False)),
        ("boom\n[The command completed with exit code 2.]\n", (2, True)),
        ("x\n[Command finished with exit code \u0667]", (None, False)),  # non-ASCII digit: not a code
        ("OBSERVATION:\nERROR:\nInvalid `path` parameter", (None, True)),
        ("tail\n[Error occurred in processing last action]", (None, True)),
        ("[Command finished with exit code 1] and more text", (None, False)),
    ],
)
def test_observation_status(text, expected):
    assert observation_status(text) == expected


@pytest.mark.parametrize("commit", ["80a1efb", "2c6de11"])
def test_bare_event_list_in_both_feedback_dialects(real_data, tmp_path, commit):
    """The events of an ADP feedback row, saved as a bare array, read the same as inside the row."""
    path = real_data / f"openhands/{ADP}@{commit}/datasets/openhands/sample_raw.json"
    row = json.loads(path.read_bytes())[0]
    bare = tmp_path / "events.json"
    bare.write_text(json.dumps(row["trajectory"], indent=1))
    (as_events,) = records(bare)
    assert as_events.format == "openhands_events"
    assert as_events.steps == records(path)[0].steps


def test_split_command_takes_the_last_block():
    from mira_core.importers.nebius import split_command

    text = "Look first.\n```\nls\n```\nThen:\n```bash\nfind . -name x\n```\n"
    assert split_command(text) == ("Look first.\n```\nls\n```\nThen:", "find . -name x")
    assert split_command("no fence here") == ("no fence here", None)
