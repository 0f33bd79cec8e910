"""Scoring views: the Record page's Scores tab, the start section's counts and the jobs panel."""

import dataclasses
import json

import numpy as np
import pytest

from mira_core.identity import Actor, Role
from mira_core.query import RecordFilter, ScoredBy
from mira_core.scoring import ScorerSettings, pause_job, start_job
from mira_core.storage import read_conn, scores_repo, write_tx
from mira_core.views.scoring import (
    ScoreTarget,
    count_matching,
    format_duration,
    load_jobs_panel,
    load_record_scores,
    load_scoring_choices,
    requeueable,
)
from tests.reliability.builders import add_scores, make_records
from tests.selection.dbcorpus import score

CY = Actor(user_id="cy@example.org", role=Role.curator)


def test_record_scores_show_the_latest_run_in_detail_and_every_run(engine):
    rid = make_records(engine, 1)[0]
    add_scores(engine, [rid], np.full((1, 15), 3.0), job_id="first")
    latest = np.full((1, 15), 7.0)
    latest[0, 4] = np.nan  # A5 unreadable in the newer run
    add_scores(engine, [rid], latest, job_id="second")
    with read_conn(engine) as conn:
        got = load_record_scores(conn, rid, slot_names={"A1": "Plan quality"})
    assert got.latest is not None and got.latest.job_id == "second"
    assert got.anchors["dimension"].tolist()[:2] == ["Plan quality", "A2"]  # an unnamed slot keeps its id
    assert got.anchors["score"].isna().tolist() == [False] * 4 + [True] + [False] * 10
    assert got.anchors["score"].dropna().eq(7.0).all()
    assert got.anchors["rationale"][0] == "mira-student because A1"
    assert got.runs["job"].tolist() == ["second", "first"] and got.problems == []
    assert got.latest.provenance.startswith("mira-student · job second · prompt v1 · ")


def test_general_problems_and_a_record_without_scores(engine):
    rid, other = make_records(engine, 2)
    parsed = {"problems": [{"kind": "missing", "detail": "no brief"}, {"slot": "A2", "kind": "range", "detail": "11"}]}
    row = dataclasses.replace(score(rid, 5, "keep"), parsed_json=json.dumps(parsed), shortened=True,
                              elided_tokens=1200)
    with write_tx(engine) as conn:
        scores_repo.insert_score(conn, row)
    with read_conn(engine) as conn:
        got = load_record_scores(conn, rid, slot_names={})
        none = load_record_scores(conn, other, slot_names={})
    assert got.problems == ["missing: no brief"]  # the slot's problem is on its row instead
    assert got.anchors.set_index("slot").loc["A2", "problem"] == "range: 11"
    assert got.latest is not None and got.latest.provenance.endswith("shortened (1,200 tokens elided)")
    assert none.latest is None and none.anchors.empty and none.runs.empty


CURRENT = ScoredBy(judges=["m", "m-SIMULATED"], prompt_version="p1")


def test_scoring_choices_offer_the_browse_filter_only_when_it_narrows(engine):
    make_records(engine, 5, sources=("x", "y"))
    with read_conn(engine) as conn:
        narrowed = load_scoring_choices(conn, RecordFilter(sources=["x"]), CURRENT)
        everything = load_scoring_choices(conn, RecordFilter(), CURRENT)
    assert (narrowed.matching, narrowed.total) == (3, 5)  # x gets records 0, 2, 4
    assert narrowed.options == ["browse", "all", "choose"] and everything.options == ["all", "choose"]
    assert narrowed.label("browse") == "current Browse filter (3 records)"
    assert narrowed.label("all") == "all records (5)"
    assert narrowed.record_filter("browse").sources == ["x"] and narrowed.record_filter("all") == RecordFilter()
    assert everything.sources == ["x", "y"]
    chosen = everything.record_filter("choose", ScoreTarget(sources=("y",), unscored_only=True, not_current=True))
    assert (chosen.sources, chosen.scored, chosen.not_scored_by) == (["y"], False, CURRENT)


def test_records_not_scored_by_the_current_run(engine):
    ids = make_records(engine, 4)
    add_scores(engine, ids[:1], np.full((1, 15), 5.0), judge="m-SIMULATED", prompt_version="p1")  # current
    add_scores(engine, ids[1:2], np.full((1, 15), 5.0), judge="m", prompt_version="p0")  # an older prompt
    add_scores(engine, ids[2:3], np.full((1, 15), 5.0), judge="other", prompt_version="p1")  # another model
    with read_conn(engine) as conn:
        todo = count_matching(conn, RecordFilter(not_scored_by=CURRENT))
        unscored = count_matching(conn, RecordFilter(scored=False))
    assert (todo, unscored) == (3, 1)


@pytest.mark.parametrize(("seconds", "shown"), [(None, "–"), (float("nan"), "–"), (4.4, "4 s"), (725, "12 min 5 s"),
                                                (3 * 3600 + 7 * 60, "3 h 07 min"), (2 * 86400 + 4 * 3600, "2 d 4 h")])
def test_durations_read_as_durations(seconds, shown):
    assert format_duration(seconds) == shown


def test_jobs_panel_lists_recent_jobs_newest_first_with_their_state(engine):
    ids = make_records(engine, 4)
    first = start_job(engine, ScorerSettings(), actor=CY, record_ids=ids[:1], job_id="job-a")
    second = start_job(engine, ScorerSettings(), actor=CY, record_filter=RecordFilter(), job_id="job-b")
    pause_job(engine, first, actor=CY)
    panel = load_jobs_panel(engine, limit=20)
    assert not panel.worker.alive  # no worker has ever run here
    assert panel.table["job"].tolist() == [second, first]
    assert panel.table["status"].tolist() == ["queued", "paused (user)"]
    assert panel.table["total"].tolist() == [4, 1]
    assert panel.job(first).label == f"record {ids[0]}" and requeueable(panel.job(second)) == 0
    assert len(load_jobs_panel(engine, limit=1).progress) == 1
