"""`mira-curator job confirm-endpoint`: the operator (admin) lets the worker send the key to a job's Base URL."""

import json
import os

import pytest

from mira_core.cli import main
from mira_core.identity import Actor, Role
from mira_core.scoring import jobs
from mira_core.scoring.settings import ScorerSettings
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine
from tests.reliability.builders import make_records


def test_job_confirm_endpoint_is_recorded_under_the_operator(capsys, monkeypatch):
    monkeypatch.setenv("MIRA_CURATOR", "local-op")
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    make_records(eng, 1)
    cy = Actor(user_id="cy@example.org", role=Role.curator)
    job_id = jobs.start_job(eng, ScorerSettings(base_url="http://127.0.0.1:9/v1"), actor=cy)
    assert main(["job", "confirm-endpoint", job_id]) == 0
    assert "endpoint confirmed" in capsys.readouterr().out
    assert main(["job", "confirm-endpoint", job_id]) == 0
    assert "already confirmed" in capsys.readouterr().out
    assert jobs.job_progress(eng, job_id).endpoint_confirmed_by == "local-op"
    eng.dispose()
    assert main(["activity", "--json", "--kind", "job.confirm_endpoint"]) == 0
    [change] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (change["actor"], change["target_id"]) == ("local-op", job_id)


def test_a_ray_run_can_host_the_model_on_the_clusters_gpus_from_the_command_line(capsys, monkeypatch):
    """`--ray-gpu --tensor-parallel-size N` reach the Ray run (no GPU here: the run itself is replaced)."""
    from mira_core.cli import scoring_cmds
    from mira_core.scoring.ray_engine import RaySummary

    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    make_records(eng, 2)
    cy = Actor(user_id="cy@example.org", role=Role.curator)
    job_id = jobs.start_job(eng, ScorerSettings(base_url="http://127.0.0.1:9/v1"), actor=cy, runner="ray")
    eng.dispose()
    seen = []

    def run(engine, settings, job, *, actor, api_key, options, progress):
        seen.append(options)
        return RaySummary(job_id=job)

    monkeypatch.setattr(scoring_cmds, "run_stored_job_on_ray", run)
    main(["job", "run-ray", job_id, "--ray-gpu", "--tensor-parallel-size", "4", "--ray-address", "auto"])
    main(["job", "run-ray", job_id])
    assert [(o.gpu_engine, o.tensor_parallel_size, o.address) for o in seen] == [(True, 4, "auto"), (False, 1, None)]
    assert f"continue it with `mira-curator job run-ray {job_id}`" in capsys.readouterr().out


def test_ray_sizes_below_one_are_refused_naming_the_option(capsys):
    for args in (["--tensor-parallel-size", "0"], ["--ray-concurrency", "-2"], ["--tensor-parallel-size", "two"]):
        with pytest.raises(SystemExit):
            main(["job", "run-ray", "some-job", *args])
        err = capsys.readouterr().err
        assert f"argument {args[0]}" in err and "is not a whole number of at least 1" in err
