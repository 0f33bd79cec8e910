"""Several endpoints: least-in-flight routing, each endpoint's own concurrency, health and backoff.

Real SIMULATED scorers on loopback ports, the real `openai` client over HTTP; a port nobody listens on is an
endpoint that is down.
"""

import asyncio
import socket
import time

import pytest

from mira_core.errors import ConfigError
from mira_core.scoring.client import ScorerClient
from mira_core.scoring.endpoints import EndpointPool
from mira_core.scoring.settings import ScorerSettings, checked_settings, load_scorer_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(urls: list[str], **knobs) -> ScorerSettings:
    return ScorerSettings(base_url=urls[0], replicas=urls[1:], backoff_base=0.0, **knobs)


async def _score(client: ScorerClient, n: int):
    try:
        return await asyncio.gather(*[client.complete("system", f"record {i}") for i in range(n)])
    finally:
        await client.aclose()


def test_requests_go_to_the_endpoint_with_fewest_in_flight(sim):
    slow, fast = sim(latency=0.4, concurrency=64), sim(latency=0.02, concurrency=64)
    client = ScorerClient(_settings([slow.base_url, fast.base_url], concurrency=4))
    results = asyncio.run(_score(client, 40))
    assert all(r.status == "ok" for r in results)
    # Round-robin would send 20 to each; the fast endpoint frees its slots sooner, so it gets most requests.
    assert fast.stats.counts["ok"] > 2 * slow.stats.counts["ok"] > 0
    assert slow.stats.peak <= 4 and fast.stats.peak <= 4  # each endpoint's own concurrency holds


def test_ties_are_spread_over_the_endpoints(sim):
    servers = [sim(latency=0.05) for _ in range(3)]
    client = ScorerClient(_settings([s.base_url for s in servers], concurrency=2))
    asyncio.run(_score(client, 30))
    assert [s.stats.counts["ok"] for s in servers] == [10, 10, 10]


def test_one_endpoint_down_lowers_capacity_and_the_others_answer(sim):
    up = sim()
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    client = ScorerClient(_settings([dead, up.base_url], concurrency=2, down_after=2, max_retries=10,
                                    pause_seconds=60))

    async def go():
        results = await asyncio.gather(*[client.complete("s", f"r{i}") for i in range(12)])
        status = {s.url: s for s in client.pool.status()}
        await client.aclose()
        return results, status

    results, status = asyncio.run(go())
    assert all(r.status == "ok" for r in results)  # retries went to the endpoint that answers
    assert up.stats.counts["ok"] == 12 and not client.down
    assert status[dead].state == "down" and status[dead].retry_in > 50 and status[dead].errors == 2
    assert "Connection error" in (status[dead].last_error or "")
    assert status[up.base_url].state == "up" and status[up.base_url].answered == 12


def test_every_endpoint_down_is_endpoint_down(sim):
    urls = [f"http://127.0.0.1:{_free_port()}/v1" for _ in range(2)]
    client = ScorerClient(_settings(urls, concurrency=1, down_after=2, max_retries=50))
    results = asyncio.run(_score(client, 8))  # two faults on each endpoint, then nothing is sent
    assert results[-1].status == "endpoint_down" and results[-1].attempts == 0  # never sent
    assert {r.status for r in results} == {"endpoint_down"}


def test_a_down_endpoint_is_probed_after_its_backoff_and_comes_back(sim):
    port = _free_port()
    late = f"http://127.0.0.1:{port}/v1"
    first = sim(latency=0.05)
    client = ScorerClient(_settings([late, first.base_url], concurrency=2, pause_seconds=0.3, pause_max=0.3,
                                    probe_timeout=1.0))

    async def go():
        assert (await client.probe()) is not None  # `late` does not answer: down, probed again in 0.3 s
        assert [s.state for s in client.pool.status()] == ["down", "up"]
        server = sim(port=port, latency=0.05)  # the replica comes up
        deadline = time.monotonic() + 10
        while client.pool.status()[0].state != "up" and time.monotonic() < deadline:
            await asyncio.gather(*[client.complete("s", "x") for _ in range(4)])
        await asyncio.gather(*[client.complete("s", f"y{i}") for i in range(8)])
        await client.aclose()
        return server

    server = asyncio.run(go())
    assert server.stats.counts.get("ok", 0) > 0  # requests reach it again without restarting anything


def test_a_replica_serving_another_model_is_not_used(sim):
    right, wrong = sim(), sim(model="someone/other-model")
    client = ScorerClient(_settings([right.base_url, wrong.base_url]))

    async def go():
        info = await client.probe()
        results = await asyncio.gather(*[client.complete("s", f"r{i}") for i in range(6)])
        status = client.pool.status()
        await client.aclose()
        return info, results, status

    info, results, status = asyncio.run(go())
    assert info is not None and info.id.startswith("whw06/MIRA-Agent-Group4")
    assert status[1].state == "down" and "serves someone/other-model" in status[1].last_error
    assert all(r.status == "ok" for r in results) and "ok" not in wrong.stats.counts


def test_pool_limits_add_up_over_endpoints():
    pool = EndpointPool(_settings(["http://a/v1", "http://b/v1", "http://a/v1/"], concurrency=8))
    assert [e.url for e in pool.endpoints] == ["http://a/v1", "http://b/v1"]  # a repeat is one endpoint
    assert (pool.limit, pool.ceiling) == (16, 16)
    pool.endpoints[1].mark_down("gone")
    assert (pool.limit, pool.ceiling, pool.all_down) == (8, 16, False)


def test_replicas_setting_reads_lists_and_names_a_bad_url(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRA_SCORER_REPLICAS", "http://r1:8000/v1, http://r2:8000/v1\nhttp://r3:8000/v1")
    loaded = load_scorer_settings(tmp_path / "none.toml", secrets_file=tmp_path / "none-secrets.toml")
    assert loaded.replicas == ["http://r1:8000/v1", "http://r2:8000/v1", "http://r3:8000/v1"]
    assert loaded.endpoints[0] == loaded.base_url and len(loaded.endpoints) == 4
    monkeypatch.setenv("MIRA_SCORER_REPLICAS", '["http://j:1/v1"]')
    assert load_scorer_settings(tmp_path / "none.toml").replicas == ["http://j:1/v1"]
    with pytest.raises(ConfigError, match=r"scorer setting replicas: must be an http:// or https:// URL.*'ftp://nope'"):
        checked_settings({"replicas": ["http://ok/v1", "ftp://nope"]})
