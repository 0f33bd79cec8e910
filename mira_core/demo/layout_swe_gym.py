"""Write an episode as a SWE-Gym OpenHands-Sampled-Trajectories row (FORMATS.md 3a).

OpenAI chat messages with every key present (`null` when unused): assistant turns carry `tool_calls`
(arguments as a JSON string), tool results are `role: tool` messages starting with `OBSERVATION:`.
The issue sits in `<pr_description>`; the outcome is `resolved` and `test_result.report.resolved`.
"""

from __future__ import annotations

import json
import random

from mira_core.demo.episode import Episode, Turn
from mira_core.demo.outputs import numbered
from mira_core.demo.repos import Repo
from mira_core.demo.text import call_id
from mira_core.jsonstream import JSONArray, JSONObject, JSONValue

SOURCE = "swe_qa"
MODELS = ("gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "Qwen2.5-Coder-32B-Instruct")
SYSTEM = (
    "You are a helpful assistant that can interact with a computer to solve tasks.\n<IMPORTANT>\n* If user provides "
    "a path, you should NOT assume it's relative to the current working directory. Instead, you should explore the "
    "file system to find the file before working on it.\n</IMPORTANT>\n"
)
CONTINUE = ("Please continue working on the task on whatever approach you think is suitable.\nIf you think you have "
            "solved the task, please first send your answer to user through message and then finish the interaction.\n"
            "IMPORTANT: YOU SHOULD NEVER ASK FOR HUMAN HELP.\n")
_PROPS = ("command", "path", "file_text", "old_str", "new_str", "insert_line", "view_range")


def _tool(name: str, description: str, required: JSONArray, props: tuple[str, ...]) -> JSONObject:
    """An editing tool's schema as SWE-Gym rows carry it: every property listed, unused ones null."""
    properties: JSONObject = {
        p: ({"type": "string", "description": p, "enum": None} if p in props else None) for p in _PROPS}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "required": required, "properties": properties}}}


TOOLS: JSONArray = [
    _tool("execute_bash", "Execute a bash command in the terminal.", ["command"], ("command",)),
    _tool("str_replace_editor", "Custom editing tool for viewing, creating and editing files.", ["command", "path"],
          _PROPS),
    {"type": "function", "function": {"name": "finish", "description": "Finish the interaction.", "parameters": None}},
]
OVERHEAD_CHARS = len(SYSTEM) + 400


def root_for(repo: Repo) -> str:
    """SWE-Gym runs mount the repository at /workspace/owner__name__version."""
    return f"/workspace/{repo.owner}__{repo.name}__{repo.version}"


def _message(role: str, content: str | None, **extra: JSONValue) -> JSONObject:
    return {"content": content, "function_call": None, "name": extra.get("name"), "role": role,
            "tool_call_id": extra.get("tool_call_id"), "tool_calls": extra.get("tool_calls")}


def _call(turn: Turn, root: str) -> tuple[str, JSONObject]:
    abs_path = f"{root}/{turn.path}"
    if turn.tool in ("ls", "grep", "run", "test"):
        return "execute_bash", {"command": turn.command}
    if turn.tool == "view":
        return "str_replace_editor", {"command": "view", "path": abs_path,
                                      "view_range": [turn.start, turn.start + len(turn.lines) - 1]}
    if turn.tool == "create":
        return "str_replace_editor", {"command": "create", "path": abs_path, "file_text": turn.file_text}
    if turn.tool == "finish":
        return "finish", {}
    return "str_replace_editor", {"command": "str_replace", "path": abs_path, "old_str": turn.old, "new_str": turn.new}


def _observation(turn: Turn, root: str) -> str:
    abs_path = f"{root}/{turn.path}"
    if turn.tool == "view":
        return f"OBSERVATION:\nHere's the result of running `cat -n` on {abs_path}:\n{numbered(turn.lines, turn.start)}"
    if turn.tool == "edit" and not turn.error:
        return (f"OBSERVATION:\nThe file {abs_path} has been edited. Here's the result of running `cat -n` on a snippet "
                f"of {abs_path}:\n{numbered(turn.lines, turn.start)}\nReview the changes and make sure they are as "
                "expected. Edit the file again if necessary.")
    if turn.tool in ("create", "edit"):
        return "OBSERVATION:\n" + turn.output
    prompt = f"root@openhands-workspace:{root} # "
    return (f"OBSERVATION:\n{turn.output}\r\n[Python Interpreter: /opt/miniconda3/envs/testbed/bin/python]\r\n"
            f"{prompt}\n[Command finished with exit code {turn.exit_code or 0}]")


def _messages(ep: Episode, rng: random.Random) -> JSONArray:
    task = (f"<uploaded_files>\n{ep.root}\n</uploaded_files>\nI've uploaded a python code repository in the directory "
            f"{ep.root.rsplit('/', 1)[-1]}. Consider the following PR description:\n\n<pr_description>\n{ep.issue}\n"
            "</pr_description>\n\nCan you help me implement the necessary changes to the repository so that the "
            "requirements specified in the <pr_description> are met?")
    out: JSONArray = [_message("system", SYSTEM), _message("user", task)]
    for turn in ep.turns:
        name, args = _call(turn, ep.root)
        cid = call_id(rng)
        content = turn.thought if rng.random() < 0.7 else ""
        calls: JSONArray = [{"function": {"arguments": json.dumps(args), "name": name}, "id": cid, "index": None, "type": "function"}]
        out.append(_message("assistant", content, tool_calls=calls))
        if turn.tool == "finish":
            break
        out.append(_message("tool", _observation(turn, ep.root), name=name, tool_call_id=cid))
        if rng.random() < 0.03:  # OpenHands' auto-reply after a turn without progress
            out.append(_message("user", CONTINUE))
    return out


def row(ep: Episode, rng: random.Random) -> JSONObject:
    """The SWE-Gym row for `ep` (marked `synthetic`)."""
    model = rng.choice(MODELS)
    run_id = f"{model}_maxiter_{rng.choice((30, 50))}_N_v2.1-no-hint-train-t0{rng.randint(0, 2)}-run_{rng.randint(1, 5)}"
    files = [line.split(" b/", 1)[-1] for line in ep.patch.splitlines() if line.startswith("diff --git ")]
    applied = "".join(f"Checking patch {f}...\r\n" for f in files) + "".join(f"Applied patch {f} cleanly.\r\n" for f in files)
    return {
        "instance_id": f"{ep.instance_id}_{rng.randint(0, 9)}",
        "run_id": run_id,
        "resolved": ep.resolved,
        "messages": _messages(ep, rng),
        "tools": TOOLS,
        "test_result": {
            "apply_patch_output": applied + ("APPLY_PATCH_PASS" if ep.patch else ""),
            "git_patch": ep.patch.replace("\n", "\r\n"),
            "report": {"empty_generation": not ep.patch, "error_eval": False, "failed_apply_patch": False,
                       "resolved": ep.resolved, "test_timeout": False},
            "test_output": ep.test_output,
        },
        "synthetic": True,
    }
