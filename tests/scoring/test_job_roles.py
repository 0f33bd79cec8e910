"""Who may drive scoring: each job control and the endpoint settings, called with each role on both backends.

A refused call raises PermissionDenied naming the role it needs and leaves no job change and no activity;
an allowed call stores the person's id and appears in the activity log with its kind and target.
"""

import json

import numpy as np
import pytest

from mira_core.identity import Actor, PermissionDenied, Role
from mira_core.query import RecordFilter
from mira_core.scoring import jobs, save_scorer_settings
from mira_core.scoring.settings import ScorerSettings, write_scorer_config
from mira_core.storage import jobs_repo, read_conn, scores_repo, write_tx
from mira_core.team import list_changes
from tests.reliability.builders import add_scores, make_records

SETTINGS = ScorerSettings(base_url="http://127.0.0.1:9/v1")
ANN = Actor(user_id="ann@example.org", role=Role.admin)
ROLES = [Role.viewer, Role.curator, Role.admin]


def _as(role: Role, who: str = "someone@example.org") -> Actor:
    return Actor(user_id=who, role=role)


def _job(engine, job_id: str) -> dict:
    with read_conn(engine) as conn:
        row = jobs_repo.get_job(conn, job_id)
    assert row is not None
    return row


def _state(engine, job_id: str = "j1") -> tuple[str, str | None]:
    """(status, last event) of a job: the event names who moved it."""
    row = _job(engine, job_id)
    return row["status"], row["last_event"]


def _changes(engine) -> list[tuple[str, str, str | None, dict]]:
    """(actor, kind, target_id, detail) of every change, oldest first."""
    with read_conn(engine) as conn:
        return [(c.actor, c.kind, c.target_id, c.detail) for c in reversed(list_changes(conn))]


def _started(engine, job_id: str = "j1", actor: Actor = ANN) -> str:
    make_records(engine, 3)
    return jobs.start_job(engine, SETTINGS, actor=actor, record_filter=RecordFilter(), job_id=job_id)


def _fail_items(engine, job_id: str) -> None:
    """Mark every item failed, as a worker would after its retries."""
    with write_tx(engine) as conn:
        for rid, _ in scores_repo.claim_items(conn, job_id, 100, "t"):
            scores_repo.finish_item(conn, job_id, rid, "t", status="failed", error_kind="server")
        jobs_repo.set_job_status(conn, job_id, "done")


@pytest.mark.parametrize("role", ROLES)
def test_starting_a_job_needs_a_curator(engine, role):
    make_records(engine, 3)
    who = _as(role)
    if role is Role.viewer:
        with pytest.raises(PermissionDenied, match="starting scoring jobs needs the curator role; someone@"):
            jobs.start_job(engine, SETTINGS, actor=who, job_id="j1")
        with read_conn(engine) as conn:
            assert jobs_repo.get_job(conn, "j1") is None
        assert _changes(engine) == []
        return
    assert jobs.start_job(engine, SETTINGS, actor=who, label="all", job_id="j1") == "j1"
    assert jobs.start_job(engine, SETTINGS, actor=who, job_id="j1") == "j1"  # a replayed click records nothing
    assert (_job(engine, "j1")["created_by"], _job(engine, "j1")["total"]) == ("someone@example.org", 3)
    assert jobs.job_progress(engine, "j1").created_by == "someone@example.org"
    assert _changes(engine) == [("someone@example.org", "job.start", "j1",
                                 {"label": "all", "model": SETTINGS.model, "base_url": SETTINGS.base_url})]


@pytest.mark.parametrize("role", ROLES)
def test_pausing_resuming_and_requeueing_need_a_curator(engine, role):
    _started(engine)
    who = _as(role)
    if role is Role.viewer:
        with pytest.raises(PermissionDenied, match="pausing scoring jobs needs the curator role"):
            jobs.pause_job(engine, "j1", actor=who)
        with write_tx(engine) as conn:
            jobs_repo.set_job_status(conn, "j1", "paused", pause_reason="user")
        with pytest.raises(PermissionDenied, match="resuming scoring jobs needs the curator role"):
            jobs.resume_job(engine, "j1", actor=who)
        _fail_items(engine, "j1")
        with pytest.raises(PermissionDenied, match="re-queueing failed items needs the curator role"):
            jobs.requeue_failed(engine, "j1", actor=who)
        with read_conn(engine) as conn:
            assert scores_repo.item_counts(conn, "j1")["failed"] == 3
        assert _job(engine, "j1")["status"] == "done"
        assert [kind for _, kind, _, _ in _changes(engine)] == ["job.start"]
        return
    jobs.pause_job(engine, "j1", actor=who)
    assert _state(engine) == ("paused", "paused by someone@example.org")
    jobs.resume_job(engine, "j1", actor=who)
    assert _state(engine) == ("queued", "resumed by someone@example.org")
    _fail_items(engine, "j1")
    assert jobs.requeue_failed(engine, "j1", actor=who) == 3
    assert jobs.requeue_failed(engine, "j1", actor=who) == 0  # nothing went back: nothing recorded
    assert _job(engine, "j1")["last_event"] == "3 items re-queued by someone@example.org"
    assert _changes(engine)[1:] == [
        ("someone@example.org", "job.pause", "j1", {"from_status": "queued"}),
        ("someone@example.org", "job.resume", "j1", {"pause_reason": "user"}),
        ("someone@example.org", "job.requeue", "j1", {"items": 3, "include_too_long": False}),
    ]


@pytest.mark.parametrize(("role", "own", "needed"), [
    (Role.viewer, True, "curator"),
    (Role.curator, True, None),
    (Role.curator, False, "admin"),
    (Role.admin, False, None),
])
def test_a_curator_cancels_their_own_job_and_an_admin_anyone_s(engine, role, own, needed):
    who = _as(role)
    _started(engine, actor=_as(Role.curator) if own else _as(Role.curator, "bob@example.org"))
    if needed:
        # Someone else's job: the refusal names the person who started it.
        what = "cancelling scoring jobs" if role is Role.viewer else "cancelling bob@example.org's job j1"
        with pytest.raises(PermissionDenied, match=f"{what} needs the {needed} role; someone@example.org is a"):
            jobs.cancel_job(engine, "j1", actor=who)
        assert _job(engine, "j1")["status"] == "queued"
        assert [kind for _, kind, _, _ in _changes(engine)] == ["job.start"]
        return
    jobs.cancel_job(engine, "j1", actor=who)
    assert _state(engine) == ("cancelled", "cancelled by someone@example.org")
    starter = _job(engine, "j1")["created_by"]
    assert _changes(engine)[-1] == ("someone@example.org", "job.cancel", "j1",
                                    {"from_status": "queued", "started_by": starter})


def _scored(engine) -> None:
    """Two stored scores whose raw output the parser reads as incomplete (the columns say complete)."""
    add_scores(engine, make_records(engine, 2), np.full((2, 15), 5.0))


@pytest.mark.parametrize("role", ROLES)
def test_reparsing_needs_an_admin(engine, role):
    _scored(engine)
    who = _as(role)
    if role is not Role.admin:
        with pytest.raises(PermissionDenied, match="re-parsing stored scores needs the admin role"):
            jobs.reparse_scores(engine, actor=who)
        with read_conn(engine) as conn:
            ids = [i for i, _ in scores_repo.raw_output_batch(conn, after_id=0, limit=10)]
            assert list(scores_repo.complete_flags(conn, ids).values()) == [True, True]  # untouched
        assert _changes(engine) == []
        return
    summary = jobs.reparse_scores(engine, actor=who, batch=1)
    assert (summary.scores, summary.complete_before, summary.complete_after) == (2, 2, 0)
    assert _changes(engine) == [("someone@example.org", "scores.reparse", None,
                                 {"scores": 2, "complete_before": 2, "complete_after": 0})]


@pytest.mark.parametrize("role", ROLES)
def test_saving_endpoint_settings_needs_an_admin_and_records_old_and_new(engine, role, tmp_path):
    path = tmp_path / "scorer.toml"
    write_scorer_config(ScorerSettings(model="m1"), path)
    before = path.read_text()
    new = ScorerSettings(model="m2", concurrency=8, api_key="sk-never-recorded")
    who = _as(role)
    if role is not Role.admin:
        with pytest.raises(PermissionDenied, match="saving the scorer endpoint settings needs the admin role"):
            save_scorer_settings(engine, new, actor=who, path=path)
        assert path.read_text() == before
        assert _changes(engine) == []
        return
    saved = save_scorer_settings(engine, new, actor=who, path=path)
    assert saved == (path, ["model", "concurrency"])
    assert 'model = "m2"' in path.read_text()
    assert save_scorer_settings(engine, new, actor=who, path=path).changed == []  # same again: no record
    with read_conn(engine) as conn:
        [change] = list_changes(conn)
    assert (change.actor, change.kind, change.target_kind, change.target_id) == (
        "someone@example.org", "settings.save", "settings", "scorer")
    assert change.detail == {"fields": ["model", "concurrency"], "old": {"model": "m1", "concurrency": 64},
                             "new": {"model": "m2", "concurrency": 8}}
    assert "sk-never-recorded" not in json.dumps(change.detail) + path.read_text()


def test_a_failed_settings_write_leaves_no_record(engine, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(OSError):
        save_scorer_settings(engine, ScorerSettings(model="m2"), actor=ANN, path=blocked / "scorer.toml")
    assert _changes(engine) == []
