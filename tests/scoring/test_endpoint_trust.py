"""The API key goes only to the Base URL an admin or the operator set, or one an admin confirmed for a job.

Real listeners on loopback ports (the SIMULATED scorer, noting each request's `Authorization` header) stand
for the trusted endpoint and for another one a curator chose; the worker runs in this process.
"""

import json

import pytest

from mira_core.identity import Actor, PermissionDenied, Role
from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.endpoint_trust import (
    check_connection,
    confirm_job_endpoint,
    endpoint_keys,
    job_endpoint_trust,
    same_endpoint,
)
from mira_core.scoring.settings import ScorerSettings, api_key_source, write_scorer_config
from mira_core.scoring.simulator import SimulatorConfig, SimulatorServer, start_in_thread
from mira_core.scoring.worker import Worker, WorkerOptions
from mira_core.settings import Settings
from mira_core.storage import jobs_repo, read_conn
from mira_core.team import list_changes
from tests.reliability.builders import make_records

KEY = "sk-test-operator-key-42"
CY = Actor(user_id="cy@example.org", role=Role.curator)
ANN = Actor(user_id="ann@example.org", role=Role.admin)


class _Listener:
    """A SIMULATED scorer on a free loopback port that notes (path, Authorization header or None)."""

    def __init__(self) -> None:
        self.server: SimulatorServer
        self.server, _ = start_in_thread(SimulatorConfig(latency=0.0))
        seen: list[tuple[str, str | None]] = []
        handler = self.server.RequestHandlerClass

        class Recording(handler):  # type: ignore[misc,valid-type]
            def parse_request(self) -> bool:
                ok = super().parse_request()
                if ok:
                    seen.append((self.path, self.headers.get("Authorization")))
                return ok

        self.server.RequestHandlerClass = Recording
        self.seen = seen

    @property
    def url(self) -> str:
        return self.server.base_url

    def authorizations(self) -> set[str | None]:
        return {auth for _, auth in self.seen}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listeners(tmp_path, monkeypatch):
    """(trusted, other): two listeners; the operator's key is in the environment, no config file yet."""
    for name in ScorerSettings.model_fields:
        monkeypatch.delenv(f"MIRA_SCORER_{name.upper()}", raising=False)
    monkeypatch.setenv("MIRA_SCORER_CONFIG", str(tmp_path / "scorer.toml"))
    monkeypatch.setenv("MIRA_SCORER_API_KEY", KEY)
    pair = (_Listener(), _Listener())
    yield pair
    for listener in pair:
        listener.close()


def _settings(url: str) -> ScorerSettings:
    return ScorerSettings(base_url=url, concurrency=2, pause_seconds=0.0)


def _start(engine, url: str, job_id: str, actor: Actor = CY) -> str:
    return jobs.start_job(engine, _settings(url), actor=actor, record_filter=RecordFilter(), job_id=job_id)


def _work(engine) -> None:
    """A worker as `worker_main` builds it: the key from the environment, the trusted URL read per job."""
    Worker(engine, Settings(), WorkerOptions(idle_exit=0.0, poll=0.01, api_key=api_key_source()[0])).run()


def _event(engine, job_id: str) -> tuple[str, str]:
    with read_conn(engine) as conn:
        row = jobs_repo.get_job(conn, job_id)
    assert row is not None
    return row["status"], row["last_event"] or ""


@pytest.mark.parametrize("trusted_by", ["environment", "admin-saved file"])
def test_a_curator_s_other_base_url_never_receives_the_key(engine, listeners, monkeypatch, tmp_path, trusted_by):
    trusted, other = listeners
    if trusted_by == "environment":
        monkeypatch.setenv("MIRA_SCORER_BASE_URL", trusted.url)
    else:
        write_scorer_config(ScorerSettings(base_url=trusted.url), tmp_path / "scorer.toml")
    make_records(engine, 2)
    _start(engine, other.url, "elsewhere")
    _start(engine, trusted.url + "/", "trusted")  # a trailing slash is the same endpoint
    _work(engine)
    assert other.seen and trusted.seen  # both were called: /v1/models and the completions
    assert other.authorizations() == {None}
    assert trusted.authorizations() == {f"Bearer {KEY}"}
    status, event = _event(engine, "elsewhere")
    assert status == "done" and f"API key not sent to {other.url}" in event
    assert "an admin must confirm" in event and KEY not in event
    assert _event(engine, "trusted") == ("done", "finished")


def test_an_admin_s_confirmation_lets_the_key_go_to_that_job_only(engine, listeners, monkeypatch):
    trusted, other = listeners
    monkeypatch.setenv("MIRA_SCORER_BASE_URL", trusted.url)
    make_records(engine, 2)
    _start(engine, other.url, "confirmed")
    assert confirm_job_endpoint(engine, "confirmed", actor=ANN) is True
    assert confirm_job_endpoint(engine, "confirmed", actor=ANN) is False  # already: nothing recorded
    _work(engine)
    assert other.authorizations() == {f"Bearer {KEY}"}
    other.seen.clear()
    _start(engine, other.url, "not-confirmed")  # the same URL in a new job needs its own confirmation
    _work(engine)
    assert other.seen and other.authorizations() == {None}
    assert jobs.job_progress(engine, "confirmed").endpoint_confirmed_by == ANN.user_id
    assert jobs.job_progress(engine, "not-confirmed").endpoint_confirmed_by is None


@pytest.mark.parametrize("role", [Role.viewer, Role.curator, Role.admin])
def test_confirming_a_job_s_endpoint_needs_an_admin(engine, role):
    make_records(engine, 1)
    _start(engine, "http://127.0.0.1:9/v1", "j1")
    who = Actor(user_id="someone@example.org", role=role)
    if role is not Role.admin:
        with pytest.raises(PermissionDenied, match="confirming a job's scorer endpoint needs the admin role"):
            confirm_job_endpoint(engine, "j1", actor=who)
        assert jobs.job_progress(engine, "j1").endpoint_confirmed_by is None
        with read_conn(engine) as conn:
            assert [c.kind for c in list_changes(conn)] == ["job.start"]
        return
    confirm_job_endpoint(engine, "j1", actor=who)
    with read_conn(engine) as conn:
        change = list_changes(conn)[0]
    assert (change.actor, change.kind, change.target_kind, change.target_id) == (
        "someone@example.org", "job.confirm_endpoint", "job", "j1")
    assert change.detail == {"base_url": "http://127.0.0.1:9/v1", "started_by": CY.user_id}
    assert jobs.job_progress(engine, "j1").endpoint_confirmed_by == "someone@example.org"


def test_same_endpoint_compares_what_a_request_goes_to():
    assert same_endpoint("HTTP://LocalHost:80/v1/", "http://localhost/v1")
    assert same_endpoint("https://h/v1", "https://h:443/v1")
    assert not same_endpoint("http://h:8000/v1", "http://h:8001/v1")
    assert not same_endpoint("http://h/v1", "https://h/v1")
    assert not same_endpoint("http://trusted@evil/v1", "http://trusted/v1")
    assert not same_endpoint("", "")


def test_a_confirmation_counts_for_the_url_it_was_given_for():
    stored = '{"base_url": "http://b/v1", "endpoint_confirmed": {"base_url": "http://a/v1", "by": "ann"}}'
    assert job_endpoint_trust(stored, "http://t/v1") == (False, "http://b/v1", None, ("http://b/v1",))
    assert job_endpoint_trust(stored, "http://b/v1/").trusted


def test_each_replica_gets_the_key_only_when_an_admin_set_or_confirmed_it():
    stored = '{"base_url": "http://a/v1", "replicas": ["http://b/v1", "http://evil/v1", "http://a/v1/"]}'
    trust = job_endpoint_trust(stored, ["http://a/v1", "http://b/v1"])
    assert not trust.trusted and trust.withheld == ("http://evil/v1",)  # the repeat of a is one endpoint
    assert endpoint_keys(trust, ["http://a/v1", "http://b/v1", "http://evil/v1"], "k") == {
        "http://a/v1": "k", "http://b/v1": "k", "http://evil/v1": ""}
    confirmed = json.loads(stored) | {"endpoint_confirmed": {
        "base_url": "http://a/v1", "urls": ["http://a/v1", "http://b/v1", "http://evil/v1"], "by": "ann"}}
    after = job_endpoint_trust(json.dumps(confirmed), ["http://a/v1"])
    assert after.trusted and after.confirmed_by == "ann"


def test_check_connection_reports_the_model_and_sends_the_key_only_to_the_trusted_url(listeners):
    trusted, other = listeners
    keyed = _settings(trusted.url).model_copy(update={"api_key": KEY})
    ok = check_connection(keyed, trusted.url)
    assert ok.info is not None and ok.key_sent
    assert (ok.info.id, ok.info.max_model_len) == ("whw06/MIRA-Agent-Group4-SIMULATED", 65536)
    elsewhere = check_connection(keyed.model_copy(update={"base_url": other.url}), trusted.url)
    assert elsewhere.info is not None and not elsewhere.key_sent
    assert trusted.authorizations() == {f"Bearer {KEY}"} and other.authorizations() == {None}
