"""Write an episode as a Nebius SWE-agent-trajectories row (FORMATS.md 2d).

The agent speaks SWE-agent 0.x ACI commands inside ``` fences at the end of each `ai` turn; every
observation is the next `user` turn, ending with the `(Open file: …)(Current directory: …)bash-$` footer.
`target` is the resolved flag.
"""

from __future__ import annotations

import random

from mira_core.demo.episode import Episode, Turn
from mira_core.demo.repos import Repo
from mira_core.jsonstream import JSONArray, JSONObject, JSONValue

SOURCE = "davinc_dev"
MODELS = ("swe-agent-llama-8b", "swe-agent-llama-70b", "swe-agent-llama-405b")
SYSTEM = (
    "SETTING: You are an autonomous programmer, and you're working directly in the command line with a special "
    "interface.\n\nThe special interface consists of a file editor that shows you 100 lines of a file at a time.\n"
    "In addition to typical bash commands, you can also use the following commands to help you navigate and edit "
    "files.\n\nCOMMANDS:\nopen:\n  docstring: opens the file at the given path in the editor.\n  signature: open "
    "<path> [<line_number>]\n\ncreate:\n  docstring: creates and opens a new file with the given name\n  signature: "
    "create <filename>\n\nsearch_dir:\n  docstring: searches for search_term in all files in dir\n  signature: "
    "search_dir <search_term> [<dir>]\n\nedit:\n  docstring: replaces lines <start_line> through <end_line> "
    "(inclusive) with the given text in the open file.\n  signature: edit <start_line>:<end_line>\n<replacement_text>"
    "\nend_of_edit\n\nsubmit:\n  docstring: submits your current code and terminates the session\n  signature: submit"
)
INSTRUCTIONS = (
    "\n\nINSTRUCTIONS:\nNow, you're going to solve this issue on your own. Your terminal session has started and "
    "you're in the repository's root directory. You can use any bash commands or the special interface to help "
    "you. Edit all the files you need to and run any checks or tests that you want.\nRemember, YOU CAN ONLY ENTER "
    "ONE COMMAND AT A TIME. You should always wait for feedback after every command.\nWhen you're satisfied with all "
    "of the changes you've made, you can submit your changes to the code base by simply running the submit command."
)
OVERHEAD_CHARS = len(SYSTEM) + len(INSTRUCTIONS) + 200


def root_for(repo: Repo) -> str:
    """SWE-agent works in /name."""
    return f"/{repo.name}"


def _window(turn: Turn, root: str) -> str:
    end = turn.start + len(turn.lines) - 1
    body = "\n".join(f"{i}:{s}" for i, s in enumerate(turn.lines, turn.start))
    return (f"[File: {root}/{turn.path} ({turn.total_lines} lines total)]\n({turn.start - 1} more lines above)\n"
            f"{body}\n({max(0, turn.total_lines - end)} more lines below)")


def _command(turn: Turn) -> str:
    if turn.tool == "ls":
        return "ls -F"
    if turn.tool == "grep" or turn.command.startswith("grep -rn"):
        term = turn.command.split('"')[1] if '"' in turn.command else turn.command
        return f'search_dir "{term}"'
    if turn.tool == "view":
        return f"open {turn.path} {turn.start + len(turn.lines) // 3}"
    if turn.tool == "create":
        return f"create {turn.path}"
    if turn.tool == "edit":
        n = max(1, len(turn.old.split("\n")))
        return f"edit {turn.start + 4}:{turn.start + 3 + n}\n{turn.new}\nend_of_edit"
    if turn.tool == "finish":
        return "submit"
    return turn.command.split(" && ", 1)[-1]


def _output(turn: Turn, root: str) -> str:
    if turn.tool == "view":
        return _window(turn, root)
    if turn.tool == "create":
        return f"[File: {root}/{turn.path} (1 lines total)]\n1:"
    if turn.tool == "edit" and turn.error:
        return ("Your proposed edit has introduced new syntax error(s). Please read this error message carefully and "
                "then retry editing the file.\n\nERRORS:\n- E999 IndentationError: unexpected indent\n\n"
                "Your changes have NOT been applied. Please fix your edit command and try again.")
    if turn.tool == "edit":
        return (_window(turn, root) + "\nFile updated. Please review the changes and make sure they are correct "
                "(correct indentation, no duplicate lines, etc). Edit the file again if necessary.")
    if turn.tool == "run" and turn.command.startswith("ls -la"):
        return "\n".join(line.rsplit(" ", 1)[-1] for line in turn.output.splitlines()[1:])
    return turn.output or "Your command ran successfully and did not produce any output."


def _trajectory(ep: Episode, rng: random.Random) -> JSONArray:
    def turn_(role: str, text: str | None, **extra: JSONValue) -> JSONObject:
        return {"cutoff_date": extra.get("cutoff_date"), "mask": role == "ai", "role": role,
                "system_prompt": extra.get("system_prompt"), "text": text}

    issue = ("We're currently solving the following issue within our repository. Here's the issue text:\nISSUE:\n"
             f"{ep.issue}{INSTRUCTIONS}\n\n(Open file: n/a)\n(Current directory: {ep.root})\nbash-$")
    out: JSONArray = [turn_("system", None, system_prompt=SYSTEM, cutoff_date="01.01.2023"), turn_("user", issue)]
    open_file = "n/a"
    for turn in ep.turns:
        out.append(turn_("ai", f"{turn.thought}\n```\n{_command(turn)}\n```"))
        if turn.tool == "finish":
            break
        if turn.tool in ("view", "edit", "create"):
            open_file = f"{ep.root}/{turn.path}"
        footer = f"\n(Open file: {open_file})\n(Current directory: {ep.root})\nbash-$"
        out.append(turn_("user", _output(turn, ep.root) + footer))
        if turn.tool == "create":
            out.append(turn_("ai", f"Now let me add the code.\n```\nedit 1:1\n{turn.file_text}end_of_edit\n```"))
            lines = turn.file_text.splitlines()
            body = "\n".join(f"{i}:{s}" for i, s in enumerate(lines, 1))
            out.append(turn_("user", f"[File: {ep.root}/{turn.path} ({len(lines)} lines total)]\n{body}\nFile updated."
                             + footer))
    return out


def _eval_logs(ep: Episode, rng: random.Random) -> str:
    files = [line.split(" b/", 1)[-1] for line in ep.patch.splitlines() if line.startswith("diff --git ")]
    head = (f"Will execute following command for apply_patch:\n```\n\ncd //{ep.repo.name} &&\nsource activate base &&\n"
            f"conda activate {ep.repo.name} &&\ngit apply -v /swebench_matterhorn/prediction_patch.patch --allow-empty\n"
            "```\n\n")
    applied = "".join(f"Checking patch {f}...\nApplied patch {f} cleanly.\n" for f in files)
    tail = "All tests passed." if ep.resolved else "Some tests failed."
    return f"{head}{applied}___ENVIRONMENT_SET_UP_PATCH_APPLIED___\n{ep.test_output}\n{tail}"


def row(ep: Episode, rng: random.Random) -> JSONObject:
    """The Nebius row for `ep` (marked `synthetic`)."""
    iid = ep.instance_id + (f"_{rng.randint(0, 60)}" if rng.random() < 0.6 else "")
    status = {"finished": rng.choice(("submitted", "submitted", "submitted (exit_context)")),
              "max_iterations": "exit_cost", "gave_up": "early_exit"}[ep.ending]
    return {
        "instance_id": iid,
        "model_name": rng.choice(MODELS),
        "target": ep.resolved,
        "trajectory": _trajectory(ep, rng),
        "exit_status": status,
        "generated_patch": "\n" + ep.patch if ep.patch else "",
        "eval_logs": _eval_logs(ep, rng),
        "synthetic": True,
    }
