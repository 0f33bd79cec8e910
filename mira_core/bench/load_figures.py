"""`bench load`'s figures: percentiles per action and session count, the lost-write check, the goals."""

from __future__ import annotations

import argparse
import os

import numpy as np

from mira_core.bench.load_session import ACTIONS, IN_PAGE, SessionPlan, SessionResult
from mira_core.bench.registry import Figures
from mira_core.storage import Engine, read_conn, spot_checks_repo
from mira_core.storage.annotations_repo import get_annotation

Writes = list[tuple[str, SessionPlan, SessionResult]]


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def run_figures(n: int, results: list[SessionResult], *, wall: float, cpu: dict[str, float],
                peak: tuple[float, int], scoring: tuple[float, float]) -> Figures:
    """One session count's figures: every session's samples pooled per action."""
    pooled = {a: [s for r in results for s in r.samples[a]] for a in ACTIONS}
    answered = {a: [s for r in results for s in r.answered[a]] for a in IN_PAGE}
    errors = [e for r in results for e in r.errors]
    actions = sum(len(v) for v in pooled.values())
    return {
        "sessions": n, "wall_s": round(wall, 1),
        "actions_ms": {a: {"p50": _pct(v, 50), "p95": _pct(v, 95), "n": len(v)} for a, v in pooled.items()},
        "in_page_server_answer_ms": {a: {"p50": _pct(v, 50), "p95": _pct(v, 95)} for a, v in answered.items()},
        "samples_ms": {a: [[round(x) for x in r.samples[a]] for r in results] for a in ACTIONS},
        "cpu_s_per_action": {k: round(v / actions, 3) for k, v in cpu.items()} if actions else {},
        "errors": len(errors), "error_examples": errors[:5],
        "server_rss_mb_peak": round(peak[0], 1), "server_threads_peak": peak[1],
        "cpu_s": cpu, "cpu_share_of_machine": {k: round(v / (wall * (os.cpu_count() or 1)), 3) for k, v in cpu.items()},
        "scoring_rps": round(scoring[0], 2), "scoring_slowest_10s_rps": round(scoring[1], 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def lost_writes(engine: Engine, writes: Writes) -> dict[str, int]:
    """Tags and spot-check answers the pages confirmed, and how many of them the database holds."""
    tags = [(rid, tag) for _, _, r in writes for rid, tag in r.tags]
    answered = sum(r.answers for _, _, r in writes)
    with read_conn(engine) as conn:
        found_tags = sum(tag in get_annotation(conn, rid).tags for rid, tag in tags)
        found_answers = 0
        for spot, plan, result in writes:
            progress = spot_checks_repo.reviewer_progress(conn, spot)
            mine = progress[progress.reviewer == plan.curator]
            found_answers += min(int(mine.scored.sum()), result.answers)
    return {"tags_confirmed": len(tags), "tags_in_db": found_tags, "answers_confirmed": answered,
            "answers_in_db": found_answers, "lost": len(tags) - found_tags + answered - found_answers}


def _goals(runs: list[Figures], idle: list[float], lost: dict[str, int]) -> dict[str, object]:
    """The issue's goals, read off the most-sessions run against the one-session run."""
    first, last = runs[0], runs[-1]
    one, most = first["actions_ms"], last["actions_ms"]
    assert isinstance(one, dict) and isinstance(most, dict)
    ratios = {a: round(most[a]["p95"] / one[a]["p95"], 2) for a in ACTIONS
              if most[a]["p95"] is not None and one[a]["p95"]}
    in_page = {a: most[a]["p95"] for a in IN_PAGE}
    idle_rps = sum(idle) / len(idle)
    scoring = {str(r["sessions"]): round(float(r["scoring_rps"]) / idle_rps, 3) if idle_rps else None  # type: ignore[arg-type]
               for r in runs}
    return {
        "sessions_compared": [first["sessions"], last["sessions"]],
        "in_page_p95_ms": in_page, "in_page_p95_le_1s": all(v is not None and v <= 1000 for v in in_page.values()),
        "p95_vs_1_session": ratios, "p95_le_3x_1_session": all(v <= 3 for v in ratios.values()),
        "errors_0": all(r["errors"] == 0 for r in runs), "lost_writes_0": lost["lost"] == 0,
        "scoring_vs_idle": scoring, "scoring_ge_0_7": all(v is not None and v >= 0.7 for v in scoring.values()),
    }


def summary(args: argparse.Namespace, runs: list[Figures], idle: list[float], lost: dict[str, int], *,
            commit: str, load_before: tuple[float, float, float], load_after: tuple[float, float, float]) -> Figures:
    """The whole run's JSON figures."""
    return {
        "records": args.records, "backend": "url" if args.database_url else args.backend, "loops": args.loops,
        "sign_in": "oidc (one curator per session)", "commit": commit, "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before], "load_average_after": [round(x, 2) for x in load_after],
        "think_s": args.think_s, "browser_nice": args.browser_nice, "worker_nice": args.worker_nice,
        "simulator_nice": args.simulator_nice, "navigate": args.navigate,
        "stagger_s": args.stagger_s,
        "scorer": {"latency_s": args.scorer_latency, "concurrency": args.scorer_concurrency,
                   "ideal_rps": round(args.scorer_concurrency / args.scorer_latency, 1)},
        "scoring_idle_rps": [round(x, 2) for x in idle],
        "runs": runs, "writes": lost, "goals": _goals(runs, idle, lost),
    }
