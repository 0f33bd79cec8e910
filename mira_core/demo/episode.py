"""A synthetic agent run, independent of the layout it will be written in.

An `Episode` is what an agent did on one issue: explore (ls, grep, view), reproduce (create a script, run
it, see the traceback), fix (edit, sometimes a failed edit first), test (pytest, sometimes a failure and
another round), and end (finish, or hit the iteration limit). Its text size follows a token budget so
the corpus has the long-tailed length distribution of real runs. Layout writers (`layouts.py`) turn
it into OpenHands, Nebius or SWE-Gym rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from mira_core.demo import outputs
from mira_core.demo.pools import Pools, function_lines
from mira_core.demo.repos import Repo, module_path, pick_repo, test_path
from mira_core.demo.text import EXCEPTIONS, class_name, hexid, ident, sentence

ToolKind = Literal["ls", "grep", "view", "create", "run", "edit", "test", "finish"]
Ending = Literal["finished", "max_iterations", "gave_up"]
SCRIPT = "reproduce_issue.py"
TURN_WRAPPER_CHARS = 150  # what layouts add around a turn's text (headers, prompts, footers)


@dataclass
class Turn:
    """One tool call and what came back. `lines`/`start` hold a file window for view and edit results."""

    thought: str
    tool: ToolKind
    command: str = ""
    path: str = ""
    old: str = ""
    new: str = ""
    file_text: str = ""
    output: str = ""
    lines: list[str] = field(default_factory=list)
    start: int = 1
    total_lines: int = 0
    exit_code: int | None = None
    error: bool = False


@dataclass
class Episode:
    """What happened on one issue (see module docstring)."""

    repo: Repo
    number: int
    base_commit: str
    title: str
    issue: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    turns: list[Turn]
    patch: str
    resolved: bool
    ending: Ending
    root: str
    test_output: str

    @property
    def instance_id(self) -> str:
        """`owner__name-NUMBER`."""
        return self.repo.instance_id(self.number)


class _Run:
    """Mutable state while an episode is being built: files as edited so far, turns, text budget used."""

    def __init__(self, rng: random.Random, pools: Pools, root: str, budget_chars: int):
        self.rng, self.pools, self.root, self.budget = rng, pools, root, budget_chars
        self.files: dict[str, tuple[list[str], list[str]]] = {}
        self.turns: list[Turn] = []
        self.used = 0

    def add(self, turn: Turn) -> Turn:
        self.turns.append(turn)
        self.used += len(turn.thought) + len(turn.command) + len(turn.old) + len(turn.new) + len(turn.file_text)
        self.used += len(turn.output) + sum(len(s) + 8 for s in turn.lines) + TURN_WRAPPER_CHARS
        return turn

    def think(self, lead: str, low: int = 0, high: int = 2) -> str:
        extra = self.pools.prose(self.rng, low, high) if high else ""
        return (lead + " " + extra).strip()

    def open_file(self, path: str, focus: list[str] | None = None) -> list[str]:
        if path not in self.files:
            fn = focus or list(self.rng.choice(self.pools.functions))
            lines = self.pools.module_lines(self.rng, self.rng.randint(4, 22), fn)
            self.files[path] = (lines, list(lines))
        return self.files[path][1]

    def view(self, path: str, around: int | None = None, lead: str = "") -> Turn:
        lines = self.open_file(path)
        span = self.rng.randint(20, max(21, min(140, self.budget // 150)))
        if around is None:
            around = self.rng.randrange(len(lines))
        lo = max(0, min(around - span // 3, len(lines) - span))
        window = lines[lo : lo + span]
        return self.add(Turn(self.think(lead or f"Let me look at `{path}`."), "view", path=path,
                             lines=window, start=lo + 1, total_lines=len(lines)))

    def edit(self, path: str, old: str, new: str, ok: bool = True) -> Turn:
        lines = self.open_file(path)
        lead = f"I'll update `{path}` so that it handles this case." if ok else f"Let me fix `{path}`."
        if not ok:
            out = f"ERROR:\nNo replacement was performed, old_str `{old}` did not appear verbatim in {self.root}/{path}."
            return self.add(Turn(self.think(lead), "edit", path=path, old=old, new=new, output=out, error=True))
        at = lines.index(old) if old in lines else len(lines)
        lines[at : at + 1] = new.split("\n")
        snippet = lines[max(0, at - 4) : at + len(new.split("\n")) + 4]
        return self.add(Turn(self.think(lead), "edit", path=path, old=old, new=new,
                             lines=snippet, start=max(0, at - 4) + 1, total_lines=len(lines)))

    def run(self, command: str, output: str, code: int, lead: str) -> Turn:
        return self.add(Turn(self.think(lead), "run", command=command, output=output, exit_code=code, error=code != 0))


def _issue(rng: random.Random, pools: Pools, repo: Repo, func: str, exc: str, message: str, tb: str,
           small: bool) -> tuple[str, str]:
    title = rng.choice([
        f"`{func}` raises {exc} on {rng.choice(['empty', 'None', 'nested', 'unicode', 'negative'])} input",
        f"Regression in {repo.version}: {func} returns wrong {class_name(rng)}",
        f"{class_name(rng)}.{func} fails when {sentence(rng, 3, 6)[:-1].lower()}",
        f"Unexpected {exc} from {repo.package}.{func}",
    ])
    body = [title, "", pools.prose(rng, 1, 2) if small else pools.prose(rng, 2, 5), "", "**To reproduce**", "", "```python",
            f"from {repo.package} import {func}", f"data = {class_name(rng)}()", f"{func}(data)", "```", "",
            "```", tb, "```", "", "**Expected behaviour**", "", pools.prose(rng, 1, 1 if small else 3), "",
            f"**Environment**: {repo.name} {repo.version}, Python {repo.python}, Linux"]
    if not small and rng.random() < 0.4:
        body += ["", pools.prose(rng, 2, 6)]
    return title, "\n".join(body)


def build_episode(rng: random.Random, pools: Pools, *, root_for: Callable[[Repo], str], budget_tokens: int,
                  overhead_chars: int = 0) -> Episode:
    """An episode whose normalized text is about `budget_tokens` tokens (chars/4), overhead included.

    `root_for(repo)` gives the working directory the layout uses (e.g. `/workspace/owner__name__1.2`).
    """
    repo = pick_repo(rng)
    root = root_for(repo)
    # The patch and the last test run come on top of what `_Run` counts: keep ~3K chars for them.
    run = _Run(rng, pools, root, budget_tokens * 4 - overhead_chars - 3000)
    func, exc = ident(rng), rng.choice(EXCEPTIONS)
    message = sentence(rng, 4, 9)[:-1]
    main = module_path(rng, repo)
    focus = function_lines(rng, func)
    lines = run.open_file(main, focus)
    def_line = lines.index(focus[0]) + 1
    tb = outputs.traceback(root, SCRIPT, main, def_line + 3, func, exc, message)
    small = budget_tokens < 2000
    title, issue = _issue(rng, pools, repo, func, exc, message, tb, small)
    run.used += 2 * len(issue)  # the record's issue and the task prompt that quotes it
    tests = [f"{test_path(main)}::test_{ident(rng)}" for _ in range(rng.randint(3, 8) if small else rng.randint(6, 45))]
    f2p = tests[: rng.randint(1, 3)]

    _explore_start(run, repo, main, func, def_line, tb, small)
    _explore_more(run, repo, main, int(run.budget * rng.uniform(0.35, 0.7)))
    fix = _fix_focus(run, main, focus)
    outcome = rng.random()
    resolved = fix is not None and outcome < 0.45
    _extra_files(run, repo, main, f2p)
    final = _test_cycles(run, repo, main, tests, f2p, resolved, exc, message)
    ending: Ending = "finished"
    if fix is None:
        ending = "gave_up"
    elif not resolved and outcome > 0.82:
        ending = "max_iterations"
    if ending == "finished":
        done = "I have fixed the issue and the tests pass." if resolved else "I made a fix for the reported problem."
        run.add(Turn(run.think(done, 1, 3), "finish", output=run.think(done, 1, 2)))
    patch = "" if ending == "gave_up" else outputs.unified_diff(run.files, rng)
    return Episode(repo, rng.randint(1000, 1000 + 1500), hexid(rng, 40), title, issue, f2p, tests[len(f2p):],
                   run.turns, patch, resolved, ending, root, final)


def _explore_start(run: _Run, repo: Repo, main: str, func: str, def_line: int, tb: str, small: bool) -> None:
    rng, root = run.rng, run.root
    if not small:
        run.run(f"ls -la {root}", outputs.listing(rng, root, repo), 0, "Let me start by exploring the repository structure.")
    run.run(f'grep -rn "def {func}" {root}/{repo.package}', outputs.grep_hits(rng, root, repo, func, main, def_line), 0,
            f"Let me find where `{func}` is defined.")
    run.view(main, def_line, f"Let me open `{main}` around `{func}`.")
    script = f"from {repo.package} import {func}\n\ndata = None\nresult = {func}(data)\nprint(result)\n"
    run.add(Turn(run.think("Let me create a script to reproduce the error.", 0, 1), "create", path=SCRIPT,
                 file_text=script, output=f"File created successfully at: {root}/{SCRIPT}"))
    run.run(f"cd {root} && python {SCRIPT}", tb, 1, "Now let me run it to confirm the error.")


def _explore_more(run: _Run, repo: Repo, main: str, until: int) -> None:
    rng, root = run.rng, run.root
    while run.used < until:
        r = rng.random()
        if r < 0.55:
            path = main if rng.random() < 0.3 else module_path(rng, repo)
            run.view(path)
        elif r < 0.75:
            name = rng.choice(run.pools.names)
            run.run(f'grep -rn "{name}" {root}/{repo.package}',
                    outputs.grep_hits(rng, root, repo, name, module_path(rng, repo), rng.randint(10, 700)), 0,
                    f"Let me check how `{name}` is used.")
        elif r < 0.85:
            miss = ident(rng)
            run.run(f'grep -rn "{miss}" {root}/{repo.package}', "", 1, f"Is `{miss}` referenced anywhere?")
        elif r < 0.93:
            bad = f"{repo.package}/tests/test_{ident(rng)}.py"
            out = f"ERROR: file or directory not found: {bad}\n\nno tests ran in 0.{rng.randint(10, 99)}s"
            run.run(f"cd {root} && python -m pytest {bad} -q", out, 4, "Let me run the related tests.")
        else:
            log = "\n".join(f"{hexid(rng)} {sentence(rng, 4, 9)}" for _ in range(rng.randint(3, 10)))
            run.run(f"cd {root} && git log --oneline -{rng.randint(3, 10)}", log, 0, "Let me check the recent history.")


def _fix_focus(run: _Run, main: str, focus: list[str]) -> Turn | None:
    rng = run.rng
    target = focus[-1]  # the return line
    indent = target[: len(target) - len(target.lstrip())]
    var = target.split()[-1]
    guard = f"{indent}if {var} is None:\n{indent}    return {rng.choice(['None', '[]', '{}', '0'])}\n{target}"
    if rng.random() < 0.3:  # a failed edit first, then a recovery
        run.edit(main, target.strip() + "  ", guard, ok=False)
    if rng.random() < 0.06:
        return None
    return run.edit(main, target, guard)


def _test_cycles(run: _Run, repo: Repo, main: str, tests: list[str], f2p: list[str], resolved: bool,
                 exc: str, message: str) -> str:
    """Run the tests until the budget is spent; failures lead to a look at the test and another edit."""
    rng, root = run.rng, run.root
    run.run(f"cd {root} && python {SCRIPT}", "None" if resolved or rng.random() < 0.5 else f"{exc}: {message}",
            0, "Let me run the reproduction script again.")
    test_file = test_path(main)
    failure = (f"E   AssertionError: assert {rng.choice(['None', '[]', '0'])} == {class_name(rng)}()\n\n"
               f"{root}/{test_file}:{rng.randint(20, 400)}: AssertionError")
    failing_now = not resolved or rng.random() < 0.4
    while True:
        failing = f2p[:1] if failing_now else []
        out = outputs.pytest_session(rng, root, repo, test_file, tests, failing, failure)
        run.run(f"cd {root} && python -m pytest {test_file} -q", out, 1 if failing else 0, "Now let me run the tests.")
        if run.used >= run.budget:
            return out
        if failing:
            run.view(test_file, None, "Let me look at the failing test.")
            _tweak(run, main)
            failing_now = not resolved
        else:
            _explore_more(run, repo, main, min(run.budget, run.used + rng.randint(2000, 12000)))


def _tweak(run: _Run, path: str) -> None:
    """A small follow-up edit on a line that occurs once in the file."""
    lines = run.open_file(path)
    candidates = [s for s in lines if s.startswith("    ") and not s.strip().startswith("#")]
    old = run.rng.choice(candidates) if candidates else ""
    if old and lines.count(old) == 1:
        run.edit(path, old, f"{old}\n    # {sentence(run.rng, 4, 9)}")


def _extra_files(run: _Run, repo: Repo, main: str, f2p: list[str]) -> None:
    rng = run.rng
    n = rng.choices([1, 2, 3], weights=[60, 30, 10])[0]
    if n >= 2:
        other = module_path(rng, repo)
        while other == main:
            other = module_path(rng, repo)
        lines = run.open_file(other)
        old = next((s for s in lines if s.startswith("    return ")), lines[-3])
        run.edit(other, old, old.replace("return ", "return tuple(", 1) + ")" if "return " in old else old + "  # noqa")
    if n >= 3:
        test_file = test_path(main).replace("test_", "test_regression_", 1)
        text = f"from {repo.package} import *\n\n\ndef {f2p[0].split('::')[-1]}():\n    assert True\n"
        run.files[test_file] = ([], text.splitlines())
        run.add(Turn(run.think("Let me add a regression test."), "create", path=test_file, file_text=text,
                     output=f"File created successfully at: {run.root}/{test_file}"))


def shorten(ep: Episode, chars: int) -> Episode:
    """The same run with every text cut to about `chars` characters (short bodies for huge demo stores).

    Turns, tools, exit codes, errors, the ending, the outcome and the patch stay as they are, so the
    metadata a record gets (steps, errors, patch files, outcome) is that of the full run; the title line of
    the issue is kept whole.
    """
    for t in ep.turns:
        t.thought, t.output, t.file_text = t.thought[:chars], t.output[:chars], t.file_text[:chars]
        t.command, t.old, t.new = t.command[:chars], t.old[:chars], t.new[:chars]
        t.lines = [line[:chars] for line in t.lines[: max(2, chars // 40)]]
    ep.issue = ep.issue[: max(4 * chars, len(ep.title) + 1)]
    ep.test_output = ep.test_output[: 2 * chars]
    return ep
