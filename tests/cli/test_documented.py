"""Every CLI command is documented in the README (a command nobody can find is a command nobody uses)."""

import argparse
from pathlib import Path

from mira_core.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def test_every_command_is_in_the_readme():
    missing = [c for c in _commands() if f"mira-curator {c}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    lines = [ln.split("#")[0].strip() for ln in first_block.strip().splitlines()]
    assert lines == ["make run", "make test"]
