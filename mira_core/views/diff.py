"""Split a unified diff into per-file sections for the Record page.

Hunk-aware: inside a hunk the `@@ -a,b +c,d @@` counts say how many lines belong to it, so a removed
line that happens to read `--- x` or `-- diff --git` never starts a new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.ASCII)


@dataclass
class DiffFile:
    """One file's part of a patch."""

    path: str = ""
    old_path: str | None = None
    new_path: str | None = None
    status: str = "modified"
    """modified / added / deleted / renamed / binary."""
    added: int = 0
    removed: int = 0
    text: str = ""


@dataclass
class DiffSections:
    """A patch as per-file sections plus any text before the first file header (e.g. a commit message)."""

    preamble: str = ""
    files: list[DiffFile] = field(default_factory=list)


def _strip_prefix(p: str) -> str | None:
    p = p.split("\t", 1)[0].rstrip("\r\n")
    if p.startswith('"') and p.endswith('"') and len(p) >= 2:
        p = p[1:-1]
    if p == "/dev/null":
        return None
    if p[:2] in ("a/", "b/"):
        return p[2:]
    return p


def _git_paths(rest: str) -> tuple[str, str]:
    """Old and new path from `diff --git a/X b/Y` (X == Y for all but renames, which say it again)."""
    rest = rest.rstrip("\r\n")
    n = len(rest)
    if rest.startswith("a/") and n % 2 == 1:
        half = (n - 1) // 2
        left, right = rest[:half], rest[half + 1 :]
        if right.startswith("b/") and left[2:] == right[2:]:
            return left[2:], right[2:]
    i = rest.rfind(" b/")
    if i > 0:
        return rest[:i].removeprefix("a/"), rest[i + 3 :]
    return rest, rest


class _Splitter:
    def __init__(self) -> None:
        self.out = DiffSections()
        self.cur: DiffFile | None = None
        self.pre: list[str] = []
        self.lines: list[str] = []
        self.seen_minus = False
        self.git = False
        self.old_left = 0
        self.new_left = 0

    def start(self, git: bool) -> None:
        self.close()
        self.cur = DiffFile()
        self.seen_minus = False
        self.git = git

    def close(self) -> None:
        if self.cur is not None:
            cur = self.cur
            cur.text = "".join(self.lines)
            cur.path = cur.new_path or cur.old_path or cur.path
            if cur.old_path is None and cur.new_path is not None and cur.status == "modified":
                cur.status = "added"
            elif cur.new_path is None and cur.old_path is not None and cur.status == "modified":
                cur.status = "deleted"
            self.out.files.append(cur)
        self.lines = []
        self.cur = None

    def in_hunk_line(self, line: str) -> bool:
        c = line[:1]
        if c in (" ", "") or line in ("\n", "\r\n"):
            self.old_left -= 1
            self.new_left -= 1
        elif c == "-" and self.old_left > 0:
            self.old_left -= 1
            assert self.cur is not None
            self.cur.removed += 1
        elif c == "+" and self.new_left > 0:
            self.new_left -= 1
            assert self.cur is not None
            self.cur.added += 1
        elif c != "\\":
            self.old_left = self.new_left = 0  # malformed hunk: fall back to header parsing
            return False
        return True

    def header_line(self, line: str, nxt: str) -> None:
        if line.startswith("diff --git "):
            self.start(git=True)
            assert self.cur is not None
            self.cur.old_path, self.cur.new_path = _git_paths(line[len("diff --git ") :])
            self.cur.path = self.cur.new_path
        elif line.startswith("--- ") and nxt.startswith("+++ "):
            if self.cur is None or self.seen_minus or not self.git:
                self.start(git=False)
            assert self.cur is not None
            self.seen_minus = True
            self.cur.old_path = _strip_prefix(line[4:])
            self.cur.new_path = _strip_prefix(nxt[4:])
        elif self.cur is not None and (m := _HUNK.match(line)):
            self.old_left = int(m.group(2)) if m.group(2) is not None else 1
            self.new_left = int(m.group(4)) if m.group(4) is not None else 1
        elif self.cur is not None:
            if line.startswith("rename from ") or line.startswith("rename to "):
                self.cur.status = "renamed"
            elif line.startswith("new file mode"):
                self.cur.status = "added"
            elif line.startswith("deleted file mode"):
                self.cur.status = "deleted"
            elif line.startswith("Binary files ") or line.startswith("GIT binary patch"):
                self.cur.status = "binary"


def split_diff(patch: str) -> DiffSections:
    """Per-file sections of a unified diff (git or plain `---`/`+++`); counts added and removed lines."""
    sp = _Splitter()
    lines = patch.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if (sp.old_left > 0 or sp.new_left > 0) and sp.in_hunk_line(line):
            sp.lines.append(line)
            continue
        sp.header_line(line, lines[i + 1] if i + 1 < len(lines) else "")
        (sp.lines if sp.cur is not None else sp.pre).append(line)
    sp.close()
    sp.out.preamble = "".join(sp.pre)
    return sp.out
