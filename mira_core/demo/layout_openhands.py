"""Write an episode as an OpenHands evaluation `output.jsonl` row (FORMATS.md 1a).

Each tool call is an action event whose `tool_call_metadata.model_response` holds the assistant text and
the call (native tool calling, `args.thought` empty), followed by the observation event that answers it
(`cause`). The outcome is in `test_result.report.resolved`, as in evaluated OpenHands runs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import datetime, timedelta

from mira_core.demo.episode import Episode, Turn
from mira_core.demo.outputs import numbered
from mira_core.demo.repos import Repo
from mira_core.demo.text import call_id, hexid
from mira_core.jsonstream import JSONArray, JSONObject

SOURCE = "agent_openhands"
MODELS = ("openai/claude-3-5-sonnet-20241022", "openai/gpt-4o-2024-08-06", "openai/openrouter-llama-4-maverick",
          "litellm_proxy/deepseek-chat", "openai/Qwen2.5-Coder-32B-Instruct")
SYSTEM = (
    "You are OpenHands agent, a helpful AI assistant that can interact with a computer to solve tasks.\n\n<ROLE>\n"
    "Your primary role is to assist users by executing commands, modifying code, and solving technical problems "
    "effectively. You should be thorough, methodical, and prioritize quality over speed.\n</ROLE>\n\n"
    "<FILE_SYSTEM_GUIDELINES>\n* When a user provides a file path, do NOT assume it's relative to the current "
    "working directory. First explore the file system to locate the file before working on it.\n"
    "* If asked to edit a file, edit the file directly, rather than creating a new file with a different filename.\n"
    "</FILE_SYSTEM_GUIDELINES>\n\n<TROUBLESHOOTING>\n* If you've made repeated attempts to solve a problem but "
    "tests still fail: step back, reflect on 5-7 different possible sources of the problem, assess their "
    "likelihood, and address the most likely one.\n</TROUBLESHOOTING>"
)
TOOLS: JSONArray = [{"type": "function", "function": {"name": n, "description": d}} for n, d in (
    ("execute_bash", "Execute a bash command in the terminal within a persistent shell session."),
    ("str_replace_editor", "Custom editing tool for viewing, creating and editing files in plain-text format."),
    ("think", "Use the tool to think about something."),
    ("finish", "Signals the completion of the current task or conversation."),
)]


def root_for(repo: Repo) -> str:
    """OpenHands mounts the repository at /workspace/owner__name__version."""
    return f"/workspace/{repo.owner}__{repo.name}__{repo.version}"


def prompt(ep: Episode) -> str:
    """The task message: the issue inside <issue_description>."""
    return (f"<uploaded_files>\n{ep.root}\n</uploaded_files>\nI've uploaded a python code repository in the directory "
            f"{ep.root.rsplit('/', 1)[-1]}. Consider the following issue description:\n\n<issue_description>\n"
            f"{ep.issue}\n</issue_description>\n\nCan you help me implement the necessary changes to the repository so "
            "that the requirements specified in the <issue_description> are met?")


OVERHEAD_CHARS = len(SYSTEM) + 420


def _call(turn: Turn, root: str) -> tuple[str, str, JSONObject, str]:
    """(action type, function name, args, message) of a turn."""
    abs_path = f"{root}/{turn.path}"
    args: JSONObject
    if turn.tool in ("ls", "grep", "run", "test"):
        args = {"command": turn.command, "is_input": False, "thought": "", "blocking": False, "is_static": False,
                "cwd": None, "hidden": False, "confirmation_state": "confirmed", "security_risk": 0}
        return "run", "execute_bash", args, f"Running command: {turn.command}"
    if turn.tool == "view":
        end = turn.start + len(turn.lines) - 1
        args = {"path": abs_path, "start": 0, "end": -1, "thought": "", "security_risk": 0,
                "impl_source": "oh_aci", "view_range": [turn.start, end]}
        return "read", "str_replace_editor", args, f"Reading file: {abs_path}"
    if turn.tool == "finish":
        return "finish", "finish", {"final_thought": turn.output, "task_completed": "true", "outputs": {},
                                    "thought": ""}, turn.output
    command = "create" if turn.tool == "create" else "str_replace"
    args = {"path": abs_path, "command": command, "file_text": turn.file_text or None, "old_str": turn.old or None,
            "new_str": turn.new or None, "insert_line": None, "content": "", "start": 1, "end": -1, "thought": "",
            "security_risk": 0, "impl_source": "oh_aci"}
    return "edit", "str_replace_editor", args, ""


def _observation(turn: Turn, root: str, base: Mapping[str, str]) -> JSONObject:
    abs_path = f"{root}/{turn.path}"
    if turn.tool in ("ls", "grep", "run", "test"):
        code = turn.exit_code or 0
        meta: JSONObject = {"exit_code": code, "pid": -1, "username": "root", "hostname": base["hostname"], "working_dir": root,
                "py_interpreter_path": "/opt/miniconda3/envs/testbed/bin/python", "prefix": "",
                "suffix": f"\n[The command completed with exit code {code}.]"}
        return {"message": f"Command `{turn.command}` executed with exit code {code}.", "observation": "run",
                "content": turn.output, "extras": {"command": turn.command, "metadata": meta, "hidden": False},
                "success": code == 0}
    if turn.tool == "view":
        text = f"Here's the result of running `cat -n` on {abs_path}:\n{numbered(turn.lines, turn.start)}\n"
        return {"message": f"I read the file {abs_path}.", "observation": "read", "content": text,
                "extras": {"path": abs_path, "impl_source": "oh_aci"}}
    if turn.error:
        return {"message": turn.output, "observation": "error", "content": turn.output, "extras": {"error_id": ""}}
    if turn.tool == "create":
        content = turn.output
    else:
        content = (f"The file {abs_path} has been edited. Here's the result of running `cat -n` on a snippet of "
                   f"{abs_path}:\n{numbered(turn.lines, turn.start)}\nReview the changes and make sure they are as "
                   "expected. Edit the file again if necessary.")
    return {"message": f"I edited the file {abs_path}.", "observation": "edit", "content": content,
            "extras": {"path": abs_path, "prev_exist": turn.tool != "create", "old_content": turn.old or None,
                       "new_content": turn.new or turn.file_text, "impl_source": "oh_aci",
                       "diff": f"--- {abs_path}\n+++ {abs_path}\n", "_diff_cache": None}}


def _events(ep: Episode, rng: random.Random, model: str, start: datetime) -> JSONArray:
    clock = [start]

    def stamp() -> str:
        clock[0] += timedelta(seconds=rng.uniform(0.2, 9.0))
        return clock[0].isoformat()

    task = prompt(ep)
    events: JSONArray = [
        {"id": 0, "timestamp": stamp(), "source": "agent", "message": SYSTEM, "action": "system",
         "args": {"content": SYSTEM, "tools": TOOLS, "openhands_version": "0.35.0", "agent_class": "CodeActAgent"}},
        {"id": 1, "timestamp": stamp(), "source": "user", "message": task, "action": "message",
         "args": {"content": task, "image_urls": None, "wait_for_response": False}},
        {"id": 2, "timestamp": stamp(), "source": "user", "message": "Retrieving content for: " + task[:40],
         "action": "recall", "args": {"recall_type": "workspace_context", "query": task[:200], "thought": ""}},
    ]
    base = {"hostname": hexid(rng, 12)}
    tokens = 0
    for turn in ep.turns:
        kind, fn, args, message = _call(turn, ep.root)
        cid = call_id(rng)
        arguments = {k: v for k, v in args.items() if k in ("command", "path", "old_str", "new_str", "file_text")}
        tokens += rng.randint(3000, 9000)
        response: JSONObject = {"id": "gen-" + hexid(rng, 16), "created": int(clock[0].timestamp()), "model": model.split("/")[-1],
                    "object": "chat.completion", "choices": [{"finish_reason": "tool_calls", "index": 0, "message": {
                        "content": turn.thought, "role": "assistant", "tool_calls": [{"index": 1, "function": {
                            "arguments": json.dumps(arguments), "name": fn}, "id": cid, "type": "function"}]}}],
                    "usage": {"completion_tokens": len(turn.thought) // 4 + 40, "prompt_tokens": tokens}}
        meta: JSONObject = {"function_name": fn, "tool_call_id": cid, "model_response": response, "total_calls_in_response": 1}
        aid = len(events)
        events.append({"id": aid, "timestamp": stamp(), "source": "agent", "message": message, "action": kind,
                       "tool_call_metadata": meta, "llm_metrics": {"accumulated_cost": 0.0, "accumulated_token_usage": {
                           "model": model, "prompt_tokens": tokens, "completion_tokens": tokens // 40}}, "args": args})
        if kind != "finish":
            obs = _observation(turn, ep.root, base)
            events.append({"id": aid + 1, "timestamp": stamp(), "source": "agent", "cause": aid,
                           "tool_call_metadata": meta, **obs})
    state = "finished" if ep.ending == "finished" else "error"
    events.append({"id": len(events), "timestamp": stamp(), "source": "environment", "message": "",
                   "observation": "agent_state_changed", "content": "", "extras": {"agent_state": state}})
    return events


def row(ep: Episode, rng: random.Random, start: datetime) -> JSONObject:
    """The output.jsonl row for `ep` (marked synthetic in `synthetic` and `metadata.details`)."""
    model = rng.choice(MODELS)
    max_iter = rng.choice((30, 50, 100))
    out_dir = (f"evaluation/evaluation_outputs/outputs/princeton-nlp__SWE-bench_Verified-test/CodeActAgent/"
               f"{model.split('/')[-1]}_maxiter_{max_iter}_N_v0.35.0-no-hint-run_{rng.randint(1, 3)}")
    error = None
    if ep.ending == "max_iterations":
        error = f"RuntimeError: Agent reached maximum iteration. Current iteration: {max_iter}, max iteration: {max_iter}"
    return {
        "instance_id": ep.instance_id,
        "test_result": {"git_patch": ep.patch, "report": {"empty_generation": not ep.patch, "resolved": ep.resolved,
                                                          "failed_apply_patch": False, "error_eval": False}},
        "instruction": prompt(ep),
        "metadata": {"agent_class": "CodeActAgent", "llm_config": {"model": model, "api_key": "**********",
                     "temperature": 0.0, "top_p": 1.0, "max_message_chars": 30000}, "max_iterations": max_iter,
                     "eval_output_dir": out_dir, "start_time": start.strftime("%Y-%m-%d %H:%M:%S"),
                     "git_commit": hexid(rng, 40), "dataset": "princeton-nlp/SWE-bench_Verified", "data_split": "test",
                     "details": {"synthetic": True, "generator": "mira-curator demo"}, "condenser_config": None},
        "history": _events(ep, rng, model, start),
        "metrics": {"accumulated_cost": round(rng.uniform(0.05, 3.0), 4)},
        "error": error,
        "instance": {"repo": ep.repo.full_name, "instance_id": ep.instance_id, "problem_statement": ep.issue,
                     "FAIL_TO_PASS": json.dumps(ep.fail_to_pass), "PASS_TO_PASS": json.dumps(ep.pass_to_pass),
                     "base_commit": ep.base_commit, "version": ep.repo.version},
        "synthetic": True,
    }
