"""`mira-curator parse FILE`: the parse of one scorer output, as JSON (to check what the parser reads)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mira_core.dimensions import slot_names
from mira_core.errors import NotFoundError
from mira_core.scoring.parse import parse_scorer_output


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `parse` command."""
    p = sub.add_parser("parse", help="print the parse of one scorer output file as JSON ('-' reads stdin)")
    p.add_argument("file", help="a text file holding one raw scorer output, or '-' for stdin")
    p.add_argument("--compact", action="store_true", help="one line instead of indented JSON")
    p.set_defaults(func=cmd_parse)


def read_output(name: str) -> str:
    """The text of the file (or stdin); undecodable bytes become U+FFFD, so any file can be parsed."""
    if name == "-":
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    path = Path(name)
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError as exc:
        raise NotFoundError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise NotFoundError(f"{path}: is a directory, give one output file") from exc


def cmd_parse(args: argparse.Namespace) -> int:
    """Print {"dimensions", "overall", "training_recommendation", "domain_tag", "brief", "complete", "problems"}."""
    parsed = parse_scorer_output(read_output(args.file), names=slot_names(args.settings.anchors_path))
    print(json.dumps(parsed.model_dump(mode="json"), ensure_ascii=False, indent=None if args.compact else 2))
    return 0
