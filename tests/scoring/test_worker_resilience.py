"""A worker that keeps going, on SQLite and PostgreSQL, over real HTTP with shortened timings.

Outages several times longer than the idle exit and the probe backoff cap, a SIGKILL and a restart by the next
CLI call, a probe that hangs on a listener that never answers, and SIGTERM under sustained 429s.
"""

import os
import signal
import socket
import threading
import time

from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.settings import ScorerSettings
from mira_core.scoring.worker_lock import worker_state
from mira_core.storage import workers_repo
from mira_core.storage.engine import read_conn
from mira_core.views.scoring import load_jobs_panel
from tests.scoring.support import db_url, running_worker, wait_for, worker_process
from tests.scoring.test_jobs import CY, _corpus, _free_port, _scores


def _settings(base_url: str, **kw) -> ScorerSettings:
    base = {"concurrency": 4, "backoff_base": 0.001, "backoff_max": 0.02, "max_retries": 2, "down_after": 3,
            "pause_seconds": 0.05, "pause_max": 0.2, "probe_timeout": 0.5}
    return ScorerSettings(base_url=base_url, **{**base, **kw})


def _progress(engine, job_id: str) -> jobs.JobProgress:
    return jobs.job_progress(engine, job_id)


def _reap(pid: int) -> None:
    """SIGTERM a worker this test started (through the CLI) and wait for it to exit."""
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)


def test_a_job_survives_a_long_outage_and_a_kill_unattended(engine, tmp_path, sim, monkeypatch, capsys):
    """The issue's scenario: the endpoint dies mid-job for 2 s (idle exit 0.3 s, probe backoff cap 0.2 s), the
    worker waits and resumes by itself; then it is SIGKILLed and the next `mira-curator jobs` starts another."""
    from mira_core.cli import main

    ids = _corpus(engine, tmp_path, 40)
    port = _free_port()
    server = sim(port=port, latency=0.05, concurrency=4)
    job_id = jobs.start_job(engine, _settings(server.base_url), actor=CY, record_filter=RecordFilter())
    proc = worker_process(engine, "--idle-exit", "0.3", "--poll", "0.05")
    try:
        wait_for(lambda: _progress(engine, job_id).done >= 8)
        server.crash()
        wait_for(lambda: _progress(engine, job_id).pause_reason == "endpoint_down")
        time.sleep(2.0)  # the outage: far longer than the idle exit and the probe backoff cap
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        assert "probing again" in (_progress(engine, job_id).last_event or "")
        stalled = _progress(engine, job_id).done
        sim(port=port, latency=0.05, concurrency=4)  # back: the same worker resumes without help
        wait_for(lambda: _progress(engine, job_id).done >= stalled + 8)
        assert worker_state(engine).pid == proc.pid
        proc.kill()
        proc.wait()
        shown = load_jobs_panel(engine).table.set_index("job").loc[job_id, "status"]
        assert shown == "running (no worker alive: waiting for one)"  # not plain "running" for a dead worker
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    monkeypatch.setenv("MIRA_DATABASE_URL", db_url(engine))
    monkeypatch.setenv("MIRA_WORKER_AUTOSTART", "1")
    assert main(["jobs"]) == 0  # the next look starts a worker for the open job
    assert f"{job_id}  running (no worker alive: waiting for one)  done" in capsys.readouterr().out
    wait_for(lambda: worker_state(engine).alive)
    new_pid = worker_state(engine).pid
    try:
        assert new_pid != proc.pid
        wait_for(lambda: _progress(engine, job_id).status == "done")
    finally:
        _reap(new_pid)
    prog = _progress(engine, job_id)
    assert (prog.done, prog.failed, prog.partial, prog.remaining) == (40, 0, 0, 0)
    assert sorted(r["record_id"] for r in _scores(engine, job_id)) == ids  # 0 lost, 0 duplicated
    assert not worker_state(engine).alive  # the SIGTERMed worker left cleanly


class _BlackHole:
    """A listener that accepts connections and never answers (a hung endpoint)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def close(self) -> None:
        for c in self.accepted:
            c.close()
        self.sock.close()


def _heartbeats(engine) -> list:
    with read_conn(engine) as conn:
        return [r["heartbeat_at"] for r in workers_repo.worker_rows(conn)]


def test_a_hung_probe_stops_neither_the_heartbeat_nor_other_jobs(engine, tmp_path, sim):
    _corpus(engine, tmp_path, 4)
    hole = _BlackHole()
    server = sim()
    try:
        # The hung job is older, so it is probed first; its requests could wait 120 s, its probe waits 1.5 s.
        hung = jobs.start_job(engine, _settings(hole.base_url, request_timeout=120.0, probe_timeout=1.5),
                              actor=CY, record_filter=RecordFilter())
        healthy = jobs.start_job(engine, _settings(server.base_url), actor=CY, record_filter=RecordFilter())
        with running_worker(engine, heartbeat_every=0.05):
            wait_for(lambda: hole.accepted)  # the probe is in flight and will get no answer
            seen = set()
            for _ in range(12):
                seen.update(_heartbeats(engine))
                time.sleep(0.05)
            wait_for(lambda: _progress(engine, healthy).status == "done", timeout=20)
            assert _progress(engine, hung).pause_reason == "endpoint_down"
            assert worker_state(engine, stale_after=1.0).alive
    finally:
        hole.close()
    assert len(seen) >= 3  # the heartbeat kept beating while the probe hung
    assert _progress(engine, hung).failed == 0 and _progress(engine, healthy).done == 4


def test_sigterm_under_sustained_429s_hands_items_back_and_exits_quickly(engine, tmp_path, sim):
    _corpus(engine, tmp_path, 12)
    server = sim(rate_429=1.0, retry_after=100)  # every call is told to come back in 100 s
    job_id = jobs.start_job(engine, _settings(server.base_url, max_retries=5), actor=CY,
                            record_filter=RecordFilter())
    proc = worker_process(engine, "--poll", "0.05")
    try:
        wait_for(lambda: server.stats.counts.get("429", 0) >= 1 and _progress(engine, job_id).counts["running"] > 0)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)  # the spec's bound: stop claiming, hand back, exit within 10 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    prog = _progress(engine, job_id)
    assert (prog.status, prog.counts["running"], prog.counts["pending"], prog.failed) == ("queued", 0, 12, 0)
    assert "worker stopped" in (prog.last_event or "")
    assert not worker_state(engine).alive
