"""What the pages show of scores: a record's score table and runs, the jobs table (no streamlit here)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from pydantic import BaseModel

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.scoring.simulator import is_simulated

SCORE_COLUMNS = ["slot", "dimension", "score", "rationale", "problem"]
RUN_COLUMNS = ["when", "judge", "kind", "job", "prompt version", "overall", "recommendation", "complete",
               "shortened"]


class ScoreSummary(BaseModel):
    """The headline of one stored score."""

    score_id: int
    judge: str
    judge_kind: str
    simulated: bool
    job_id: str | None
    prompt_version: str
    created_at: Any
    overall: int | None
    recommendation: str | None
    domain_tag: str | None
    brief: str | None
    complete: bool
    shortened: bool
    elided_tokens: int
    raw_output: str


def summary(row: dict) -> ScoreSummary:
    """The headline fields of a `scores` row."""
    return ScoreSummary(
        score_id=row["score_id"], judge=row["judge"], judge_kind=row["judge_kind"], simulated=is_simulated(row["judge"]),
        job_id=row["job_id"], prompt_version=row["prompt_version"], created_at=row["created_at"],
        overall=row["overall"], recommendation=row["recommendation"], domain_tag=row["domain_tag"],
        brief=row["brief"], complete=bool(row["complete"]), shortened=bool(row["shortened"]),
        elided_tokens=int(row["elided_tokens"] or 0), raw_output=row["raw_output"] or "",
    )


def score_table(row: dict, names: dict[str, str]) -> pd.DataFrame:
    """One line per slot A1..A15 (columns SCORE_COLUMNS): the number (None when invalid), rationale, problems.

    `names` maps slot -> dimension name (from the rubric); scores are 0-10 so the page can draw bars.
    """
    parsed = json.loads(row.get("parsed") or "{}")
    rationales: dict[str, str] = parsed.get("rationales") or {}
    problems: dict[str, list[str]] = {}
    for p in parsed.get("problems") or []:
        if isinstance(p, dict) and p.get("slot"):
            problems.setdefault(str(p["slot"]), []).append(f"{p.get('kind', '')}: {p.get('detail', '')}".strip(": "))
    lines = []
    for slot, col in zip(SLOTS, COLUMNS, strict=True):
        lines.append({
            "slot": slot, "dimension": names.get(slot, slot), "score": row.get(col),
            "rationale": rationales.get(slot, ""), "problem": "; ".join(problems.get(slot, [])),
        })
    return pd.DataFrame(lines, columns=SCORE_COLUMNS)


def general_problems(row: dict) -> list[str]:
    """Parse problems not tied to a slot (summary fields, the output as a whole)."""
    parsed = json.loads(row.get("parsed") or "{}")
    return [f"{p.get('kind', '')}: {p.get('detail', '')}" for p in parsed.get("problems") or []
            if isinstance(p, dict) and not p.get("slot")]


def runs_table(rows: list[dict]) -> pd.DataFrame:
    """Every score of a record, newest first (columns RUN_COLUMNS); a simulated judge's name ends in -SIMULATED."""
    out = [{
        "when": r["created_at"], "judge": r["judge"],
        "kind": r["judge_kind"], "job": r["job_id"] or "", "prompt version": r["prompt_version"],
        "overall": r["overall"], "recommendation": r["recommendation"] or "", "complete": bool(r["complete"]),
        "shortened": bool(r["shortened"]),
    } for r in rows]
    return pd.DataFrame(out, columns=RUN_COLUMNS)


def progress_rows(jobs: list[Any]) -> pd.DataFrame:
    """The jobs table of the Scoring page from JobProgress objects."""
    out = []
    for p in jobs:
        status = p.status + (f" ({p.pause_reason})" if p.pause_reason else "")
        out.append({
            "job": p.job_id, "label": p.label, "status": status, "done": p.done, "failed": p.failed,
            "remaining": p.remaining, "total": p.total,
            "progress": (p.done + p.failed) / p.total if p.total else 1.0,
            "per second": round(p.throughput_per_s, 2),
            "eta (s)": None if p.eta_seconds is None else round(p.eta_seconds),
            "model": p.judge or p.model, "created": p.created_at,
        })
    return pd.DataFrame(out, columns=["job", "label", "status", "done", "failed", "remaining", "total", "progress",
                                      "per second", "eta (s)", "model", "created"])
