"""Tool outputs of a synthetic run: directory listings, grep hits, tracebacks, pytest sessions, diffs."""

from __future__ import annotations

import difflib
import random

from mira_core.demo.repos import MODULE_WORDS, Repo
from mira_core.demo.text import NOUNS, hexid

TOP_LEVEL = ("AUTHORS", "CHANGELOG.md", "CONTRIBUTING.md", "LICENSE", "MANIFEST.in", "README.md", "docs",
             "pyproject.toml", "setup.cfg", "setup.py", "tests", "tox.ini", ".github", "requirements-dev.txt")


def listing(rng: random.Random, root: str, repo: Repo, long: bool = True) -> str:
    """`ls -la` (or plain `ls`) of the repository root."""
    names = sorted({*rng.sample(TOP_LEVEL, rng.randint(7, len(TOP_LEVEL))), repo.package})
    if not long:
        return "\n".join(n + ("/" if "." not in n or n.startswith(".") else "") for n in names)
    rows = [f"total {rng.randint(80, 400)}"]
    for n in names:
        is_dir = "." not in n or n.startswith(".")
        size = 4096 if is_dir else rng.randint(200, 60000)
        perm = "drwxr-xr-x" if is_dir else "-rw-r--r--"
        rows.append(f"{perm}  {rng.randint(1, 9)} root root {size:6d} Jan {rng.randint(1, 28):2d} 10:{rng.randint(10, 59)} {n}")
    return "\n".join(rows)


def grep_hits(rng: random.Random, root: str, repo: Repo, name: str, path: str, line: int) -> str:
    """`grep -rn NAME` output: the definition plus a few call sites."""
    hits = [f"{root}/{path}:{line}:def {name}("]
    for _ in range(rng.randint(1, 9)):
        other = f"{repo.package}/{rng.choice(repo.subdirs)}/{rng.choice(MODULE_WORDS)}.py"
        hits.append(f"{root}/{other}:{rng.randint(10, 900)}:    {rng.choice(NOUNS)} = {name}({rng.choice(NOUNS)})")
    return "\n".join(hits)


def traceback(root: str, script: str, path: str, line: int, func: str, exc: str, message: str) -> str:
    """A Python traceback ending in the issue's exception."""
    return (
        "Traceback (most recent call last):\n"
        f'  File "{root}/{script}", line 4, in <module>\n'
        f"    result = {func}(data)\n"
        f'  File "{root}/{path}", line {line}, in {func}\n'
        f"    raise {exc}(msg)\n"
        f"{exc}: {message}"
    )


def pytest_session(rng: random.Random, root: str, repo: Repo, test_file: str, tests: list[str],
                   failing: list[str], failure_text: str) -> str:
    """A pytest run over `tests` with `failing` ones failing (with their traceback)."""
    n = len(tests)
    head = [
        "============================= test session starts ==============================",
        f"platform linux -- Python {repo.python}.{rng.randint(1, 19)}, pytest-7.{rng.randint(0, 4)}.{rng.randint(0, 3)}, pluggy-1.{rng.randint(0, 3)}.0",
        f"rootdir: {root}",
        "configfile: setup.cfg",
        f"collected {n} items",
        "",
    ]
    marks = "".join("F" if t in failing else "." for t in tests)
    body = [f"{test_file} {marks[i:i + 60]}" for i in range(0, len(marks), 60)]
    if failing:
        body += ["", "=================================== FAILURES ==================================="]
        for t in failing:
            body += [f"_____ {t.split('::')[-1]} _____", "", failure_text, ""]
        body += ["=========================== short test summary info ============================"]
        body += [f"FAILED {t} - {failure_text.splitlines()[-1][:80]}" for t in failing]
    secs = rng.uniform(0.4, 40.0)
    summary = (f"{len(failing)} failed, {n - len(failing)} passed" if failing else f"{n} passed") + f" in {secs:.2f}s"
    body.append(f"{'=' * 20} {summary} {'=' * 20}")
    return "\n".join(head + body)


def numbered(lines: list[str], start: int) -> str:
    """`cat -n` style: right-aligned line numbers and a tab."""
    return "\n".join(f"{i:6d}\t{text}" for i, text in enumerate(lines, start))


def unified_diff(files: dict[str, tuple[list[str], list[str]]], rng: random.Random) -> str:
    """A git-style unified diff of every (original, edited) file that changed."""
    parts: list[str] = []
    for path, (before, after) in files.items():
        if before == after:
            continue
        new = not before
        parts.append(f"diff --git a/{path} b/{path}")
        if new:
            parts.append("new file mode 100644")
        parts.append(f"index {'0000000' if new else hexid(rng)}..{hexid(rng)}{'' if new else ' 100644'}")
        body = list(difflib.unified_diff(before, after, "/dev/null" if new else f"a/{path}", f"b/{path}", n=3, lineterm=""))
        parts += body
    return "\n".join(parts) + ("\n" if parts else "")
