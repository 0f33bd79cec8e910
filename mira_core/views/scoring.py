"""The Scoring screen and the Record page's Scores tab: loaders and the tables they show (no streamlit here).

Scoring: how many records the start button would freeze, the worker's state and the recent jobs' progress.
Record scores: the latest student score's 15 anchors with rationales and problems, and every run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.identity import Actor, Role, normalize_user_id
from mira_core.query import RecordFilter, ScoredBy
from mira_core.records import Outcome
from mira_core.scoring.endpoint_trust import same_endpoint
from mira_core.scoring.jobs import JobProgress, list_progress, status_text
from mira_core.scoring.prompt import prompt_version
from mira_core.scoring.prompt_template import load_template
from mira_core.scoring.rubric import load_calibration, load_rubric
from mira_core.scoring.settings import ScorerSettings
from mira_core.scoring.simulator import SIMULATED_SUFFIX, is_simulated
from mira_core.scoring.worker_lock import WorkerState, worker_state
from mira_core.settings import Settings
from mira_core.storage import Connection, Engine, read_conn, records_repo, scores_repo

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

    @property
    def provenance(self) -> str:
        """'judge · job · prompt · when' (and how much was elided), plain text for a caption."""
        when = self.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") if self.created_at else "?"
        shortened = f" · shortened ({self.elided_tokens:,} tokens elided)" if self.shortened else ""
        return f"{self.judge} · job {self.job_id or '—'} · prompt {self.prompt_version} · {when}{shortened}"


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


def progress_rows(jobs: list[JobProgress], *, worker_alive: bool = True) -> pd.DataFrame:
    """The jobs table of the Scoring page from JobProgress objects (statuses as `jobs.status_text` words them)."""
    out = []
    for p in jobs:
        status = status_text(p, worker_alive=worker_alive)
        out.append({
            "job": p.job_id, "label": p.label, "status": status, "done": p.done, "partial": p.partial,
            "failed": p.failed, "remaining": p.remaining, "total": p.total,
            "progress": (p.done + p.partial + p.failed) / p.total if p.total else 1.0,
            "per second": "paused" if p.status == "paused" else f"{p.throughput_per_s:.2f}",
            "eta": format_duration(p.eta_seconds),
            "model": p.judge or p.model, "created": p.created_at, "started by": p.created_by,
        })
    return pd.DataFrame(out, columns=["job", "label", "status", "done", "partial", "failed", "remaining", "total",
                                      "progress", "per second", "eta", "model", "created", "started by"])


def format_duration(seconds: float | None) -> str:
    """'4 s', '12 min 5 s', '3 h 07 min', '2 d 4 h'; a dash when there is no estimate."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


# ----------------------------------------------------------------------------- Record page: Scores tab


@dataclass(frozen=True)
class RecordScores:
    """What the Record page's Scores tab shows: the latest student score in detail, then every run."""

    latest: ScoreSummary | None
    """Headline fields of the newest student score; None when the record has none."""
    anchors: pd.DataFrame
    """The latest score's 15 anchors (SCORE_COLUMNS: slot, dimension name, 0-10 score, rationale, problem)."""
    problems: list[str]
    """Parse problems of the latest score not tied to one slot."""
    runs: pd.DataFrame
    """Every student score of the record, newest first (RUN_COLUMNS)."""


def load_record_scores(conn: Connection, record_id: str, *, slot_names: dict[str, str]) -> RecordScores:
    """The record's student scores (one query); `slot_names` maps A1..A15 to the rubric's dimension names."""
    rows = scores_repo.scores_for_record(conn, record_id, judge_kind="student")
    if not rows:
        return RecordScores(None, pd.DataFrame(columns=SCORE_COLUMNS), [], runs_table([]))
    latest = rows[0]
    return RecordScores(summary(latest), score_table(latest, slot_names), general_problems(latest), runs_table(rows))


# ----------------------------------------------------------------------------- Scoring screen

ScoreChoice = Literal["all", "browse", "choose"]


@dataclass(frozen=True)
class ScoreTarget:
    """What the "choose" form of the Scoring page picked; empty lists mean no constraint."""

    sources: tuple[str, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    unscored_only: bool = False
    """Only records without any complete student score."""
    not_current: bool = False
    """Only records the current model + prompt version has not scored completely."""


@dataclass(frozen=True)
class ScoringChoices:
    """What a new job can score: every record, the Browse filter's records, or a choice made on the page."""

    browse_filter: RecordFilter
    """The filter of the Browse view the page was opened with."""
    matching: int
    """Records the Browse filter matches."""
    total: int
    """Records in the store."""
    sources: list[str]
    """Sources in the store, for the "choose" form."""
    current: ScoredBy
    """The current model (and its SIMULATED twin) with the current prompt version."""

    @property
    def options(self) -> list[ScoreChoice]:
        """The choices to offer: the Browse filter only when it narrows anything."""
        return ["browse", "all", "choose"] if self.browse_filter != RecordFilter() else ["all", "choose"]

    def label(self, choice: ScoreChoice) -> str:
        """The option's text with its record count."""
        if choice == "browse":
            return f"current Browse filter ({self.matching:,} records)"
        if choice == "choose":
            return "choose…"
        return f"all records ({self.total:,})"

    def record_filter(self, choice: ScoreChoice, target: ScoreTarget | None = None) -> RecordFilter:
        """The filter a job started with this choice freezes."""
        if choice == "browse":
            return self.browse_filter
        if choice == "all" or target is None:
            return RecordFilter()
        return RecordFilter(sources=list(target.sources), outcomes=list(target.outcomes),
                            scored=False if target.unscored_only else None,
                            not_scored_by=self.current if target.not_current else None)


def current_run(settings: Settings, scorer: ScorerSettings) -> ScoredBy:
    """The judge names and prompt version a job started now would store (what "not scored yet" means)."""
    version = prompt_version(load_rubric(settings.anchors_path), load_calibration(settings.calibration_path),
                             load_template(settings.prompt_template))
    return ScoredBy(judges=[scorer.model, scorer.model + SIMULATED_SUFFIX], prompt_version=version)


def load_scoring_choices(conn: Connection, browse_filter: RecordFilter, current: ScoredBy) -> ScoringChoices:
    """Count the Browse filter's records and all records; list the sources."""
    return ScoringChoices(browse_filter, records_repo.count_records(conn, browse_filter),
                          records_repo.count_records(conn, RecordFilter()),
                          records_repo.distinct_values(conn, "source"), current)


def count_matching(conn: Connection, f: RecordFilter) -> int:
    """Records a job over `f` would freeze now."""
    return records_repo.count_records(conn, f)


@dataclass(frozen=True)
class JobsPanel:
    """The Scoring page's live panel: the worker's state and the most recent jobs."""

    worker: WorkerState
    """Whether a worker serves this database (pid, host, heartbeat age)."""
    progress: list[JobProgress]
    """The most recent jobs, newest first."""
    table: pd.DataFrame
    """`progress_rows(progress)`: one row per job."""

    def job(self, job_id: str) -> JobProgress:
        """One listed job (KeyError when it is not among them)."""
        for p in self.progress:
            if p.job_id == job_id:
                return p
        raise KeyError(job_id)


def load_jobs_panel(engine: Engine, *, limit: int = 20) -> JobsPanel:
    """The worker's state, then the progress of the `limit` most recent jobs (a few reads per job)."""
    worker = worker_state(engine)
    progress = list_progress(engine, limit=limit)
    return JobsPanel(worker, progress, progress_rows(progress, worker_alive=worker.alive))


def load_partial_items(engine: Engine, job_id: str, *, limit: int = 50) -> pd.DataFrame:
    """The job's most recent partial items: which record, and what its answer missed (columns record, missing)."""
    with read_conn(engine) as conn:
        rows = scores_repo.job_items(conn, job_id, statuses=["partial"], limit=limit)
    return pd.DataFrame([(r["record_id"], r["last_error"] or "") for r in rows], columns=["record", "missing"])


def requeueable(p: JobProgress) -> int:
    """Items that "Re-queue failed" would put back: failed and incomplete (too_long stays)."""
    return p.counts.get("failed", 0) + p.counts.get("incomplete", 0)


def may_cancel(actor: Actor, p: JobProgress) -> bool:
    """Whether the Cancel button is offered: a curator's own job, or any job for an admin.

    Only a hint for the page; `cancel_job` checks the same rule itself.
    """
    own = normalize_user_id(p.created_by) == normalize_user_id(actor.user_id)
    return actor.can(Role.admin) or (own and actor.can(Role.curator))


def key_withheld(p: JobProgress, trusted_url: str) -> bool:
    """Whether the worker keeps the API key from this job: its Base URL is not the trusted one, unconfirmed.

    The same rule the worker applies (`endpoint_trust.job_endpoint_trust`), for the page's warning.
    """
    return p.endpoint_confirmed_by is None and not same_endpoint(p.base_url, trusted_url)


_STATE_LABEL = {"up": "up", "slowed": "slowed (429s)", "probing": "down, probing", "down": "down"}


def endpoint_rows(state: WorkerState, configured: list[str]) -> pd.DataFrame:
    """One row per endpoint: state, in flight / allowed, answers per second, counts, next probe, last error.

    The live workers' view when one runs; otherwise the configured endpoints, marked idle. Endpoints a running
    job uses but the settings no longer name (a job keeps the settings it started with) are listed too.
    """
    cols = ["endpoint", "state", "in flight", "answers/s", "answered", "errors", "next probe", "last error"]
    seen = {s.url: s for s in state.endpoints} if state.alive else {}
    rows = []
    for s in seen.values():
        rows.append([s.url, _STATE_LABEL[s.state] + (", key withheld" if s.key_withheld else ""), f"{s.in_flight} / {s.limit}",
                     s.rate, s.answered, s.errors, "" if s.retry_in is None else format_duration(s.retry_in),
                     s.last_error or ""])
    for url in configured:
        if not any(same_endpoint(url, u) for u in seen):
            rows.append([url, "idle (no job running)" if state.alive else "idle (no worker)", "0", 0.0, 0, 0, "", ""])
    return pd.DataFrame(rows, columns=cols)
