"""The Record page's metadata block and test-report line, from a `records` metadata row."""

from __future__ import annotations

import json
from typing import Any

from mira_core.storage.outcomes_repo import report_from_columns


def report_summary(meta: dict[str, Any]) -> str:
    """E.g. "FAIL_TO_PASS 3/4 passed · PASS_TO_PASS 20/20 passed", or "no test report"."""
    tests = report_from_columns(meta)
    parts = []
    for label, ok, bad in (
        ("FAIL_TO_PASS", tests.fail_to_pass_success, tests.fail_to_pass_failure),
        ("PASS_TO_PASS", tests.pass_to_pass_success, tests.pass_to_pass_failure),
    ):
        if ok is None and bad is None:
            continue
        parts.append(f"{label} {ok or 0}/{(ok or 0) + (bad or 0)} passed")
    return " · ".join(parts) if parts else "no test report"


def altered_note(meta: dict[str, Any]) -> str | None:
    """A sentence naming the fields whose text was made storable (NUL -> ␀ ...), or None."""
    raw = meta.get("altered_fields") or "[]"
    try:
        fields = json.loads(raw) if isinstance(raw, str) else list(raw)
    except json.JSONDecodeError:
        fields = [str(raw)]
    if not fields:
        return None
    return (
        "Text in " + ", ".join(map(str, fields)) + " was altered to be storable (NUL → ␀, lone surrogate → �); "
        "`mira-curator raw ID` gives the exact original."
    )


def metadata_rows(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for the metadata block, in reading order; missing values shown as "—"."""

    def s(v: Any) -> str:
        return "—" if v is None or v == "" else str(v)

    return [
        ("source", s(meta.get("source"))),
        ("instance", s(meta.get("instance_id"))),
        ("repository", s(meta.get("repo"))),
        ("agent", s(meta.get("agent"))),
        ("model", s(meta.get("model"))),
        ("format", s(meta.get("format"))),
        ("outcome", s(meta.get("outcome"))),
        ("tests", report_summary(meta)),
        ("test report file", s(meta.get("report_file"))),
        ("exit status", s(meta.get("exit_status"))),
        ("tokens (est.)", f"{int(meta.get('token_estimate') or 0):,}"),
        ("steps / errors", f"{s(meta.get('n_steps'))} / {s(meta.get('n_errors'))}"),
        ("run", s(meta.get("run_id"))),
        ("origin", s(meta.get("origin"))),
        ("record id", s(meta.get("record_id"))),
    ]
