"""The real AsyncOpenAI client against the simulator over HTTP: each fault ends in the state it should."""

import asyncio
import random
import socket

from mira_core.scoring.client import ScorerClient, TokenCounter, backoff_delay, retry_after_seconds
from mira_core.scoring.settings import ScorerSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(base_url: str, prompts: list[str], delays: list[float] | None = None, **settings):
    """Score prompts concurrently; waits are recorded in `delays` instead of slept (no timing in tests)."""
    cfg = ScorerSettings(base_url=base_url, backoff_base=0.5, **settings)

    async def fake_sleep(d: float) -> None:
        if delays is not None:
            delays.append(d)

    async def go():
        client = ScorerClient(cfg, rng=random.Random(0), sleep=fake_sleep)
        try:
            return await asyncio.gather(*[client.complete("system", p) for p in prompts])
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_ok_answer_is_labelled_simulated(sim):
    server = sim()
    [r] = _run(server.base_url, ["a record"])
    assert r.status == "ok" and r.simulated and r.model.endswith("-SIMULATED")
    assert r.text.startswith("[A1] ") and r.attempts == 1 and r.prompt_tokens


def test_429_is_retried_honouring_retry_after(sim):
    server = sim(rate_429=0.6, retry_after=7)
    delays: list[float] = []
    results = _run(server.base_url, [f"r{i}" for i in range(10)], delays, max_retries=20)
    assert all(r.status == "ok" for r in results)
    assert server.stats.counts["429"] == len(delays) > 0
    assert all(d >= 7 for d in delays)  # the Retry-After, plus a little jitter
    assert max(r.attempts for r in results) > 1


def test_500_and_dropped_connections_are_retried(sim):
    server = sim(rate_500=0.3, rate_drop=0.3, seed=5)
    results = _run(server.base_url, [f"r{i}" for i in range(12)], [], max_retries=30, down_after=100)
    assert all(r.status == "ok" for r in results)
    assert server.stats.counts["500"] > 0 and server.stats.counts["drop"] > 0


def test_context_length_is_too_long_and_not_retried(sim):
    server = sim(reject_above=100)
    [r] = _run(server.base_url, ["x" * 1000], [], max_tokens=10)
    assert r.status == "too_long" and r.error_kind == "too_long" and r.attempts == 1
    assert "maximum context length" in r.error
    assert server.stats.counts == {"too_long": 1}


def test_truncated_and_empty_outputs_are_incomplete(sim):
    server = sim(rate_truncated=1.0)
    [r] = _run(server.base_url, ["a record"])
    assert r.status == "incomplete" and r.error_kind == "truncated" and r.text


def test_exhausted_retries_fail_with_the_kind(sim):
    server = sim(rate_500=1.0)
    delays: list[float] = []
    [r] = _run(server.base_url, ["r"], delays, max_retries=3, down_after=100)
    assert (r.status, r.error_kind, r.attempts) == ("failed", "http_5xx", 4)
    assert len(delays) == 3


def test_endpoint_down_stops_retrying_after_the_streak():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    delays: list[float] = []
    results = _run(url, ["a", "b", "c"], delays, max_retries=50, down_after=4, concurrency=1)
    assert [r.status for r in results] == ["endpoint_down"] * 3
    assert results[0].error_kind == "connection"
    assert len(delays) <= 4  # stopped at the streak, not after 50 retries each


def test_probe_reports_the_served_model(sim):
    server = sim(max_model_len=8192)

    async def go():
        client = ScorerClient(ScorerSettings(base_url=server.base_url))
        try:
            return await client.probe()
        finally:
            await client.aclose()

    info = asyncio.run(go())
    assert info.max_model_len == 8192 and info.simulated


def test_backoff_and_retry_after_rules():
    rng = random.Random(1)
    assert all(0 <= backoff_delay(a, 0.5, 4.0, rng) <= min(4.0, 0.5 * 2**a) for a in range(10))
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("nan") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after_seconds(None) is None


def test_token_counter_asks_tokenize(sim):
    server = sim()
    counter = TokenCounter(ScorerSettings(base_url=server.base_url))
    assert counter("y" * 4000) == 1000  # the simulator's exact count: 4 chars per token
    assert server.stats.counts["tokenize"] == 1


def test_token_counter_falls_back_without_tokenize():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    counter = TokenCounter(ScorerSettings(base_url=url))
    assert counter("z" * 400) > 0


def test_probe_endpoint_without_asyncio(sim):
    from mira_core.scoring.client import probe_endpoint

    server = sim(max_model_len=4096)
    info = probe_endpoint(ScorerSettings(base_url=server.base_url))
    assert (info.id, info.max_model_len, info.simulated) == ("whw06/MIRA-Agent-Group4-SIMULATED", 4096, True)
    assert probe_endpoint(ScorerSettings(base_url=f"http://127.0.0.1:{_free_port()}/v1")) is None


def _status_error(cls, status: int, message: str, headers: dict | None = None):
    import httpx2 as httpx

    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx.Response(status, headers=headers or {}, request=request)
    return cls(message, response=response, body={"message": message})


def test_classify_error_separates_final_from_retryable():
    """Bad requests end the item; 429 waits without counting toward 'down'; 5xx, timeouts and refused
    connections are retried and count toward it (subclass order: RateLimitError is an APIStatusError)."""
    import httpx2 as httpx
    import openai

    from mira_core.scoring.client import CallResult, RetryableError, classify_error

    too_long = classify_error(_status_error(openai.BadRequestError, 400, "maximum context length is 100 tokens"),
                              2, 60)
    assert isinstance(too_long, CallResult) and (too_long.status, too_long.error_kind, too_long.attempts) == (
        "too_long", "too_long", 2)
    assert classify_error(_status_error(openai.NotFoundError, 404, "no model"), 1, 60).error_kind == "http_404"
    limited = classify_error(_status_error(openai.RateLimitError, 429, "slow down", {"retry-after": "7"}), 1, 60)
    assert limited == RetryableError("http_429", "slow down", 7.0, endpoint_fault=False)
    busy = classify_error(_status_error(openai.InternalServerError, 503, "busy"), 1, 60)
    assert isinstance(busy, RetryableError) and busy.kind == "http_5xx" and busy.endpoint_fault
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    timeout = classify_error(openai.APITimeoutError(request=request), 1, 12.5)
    assert timeout == RetryableError("timeout", "no answer within 12.5 s", None, endpoint_fault=True)
    refused = classify_error(openai.APIConnectionError(request=request), 1, 60)
    assert isinstance(refused, RetryableError) and refused.kind == "connection" and refused.endpoint_fault


def test_retry_after_is_honoured_up_to_its_configured_maximum(sim):
    server = sim(rate_429=1.0, retry_after=60)
    delays: list[float] = []
    [r] = _run(server.base_url, ["r"], delays, max_retries=1)
    assert all(60 <= d <= 63 for d in delays) and delays  # not retried early (jitter: 10% of a backoff <= 30 s)
    capped: list[float] = []
    _run(server.base_url, ["s"], capped, max_retries=1, retry_after_max=10)
    assert all(10 <= d <= 13 for d in capped) and capped
    assert (r.status, r.error_kind) == ("failed", "http_429")


def test_sustained_429s_lower_the_requests_in_flight_and_answers_raise_them_again():
    from mira_core.scoring.adaptive_limit import AdaptiveLimit

    limit = AdaptiveLimit(16, cooldown=0.0)
    for expected in (8, 4, 2, 1, 1):
        limit.slow_down()
        assert limit.limit == expected
    for _ in range(1 + 2 + 3):  # one more slot per `limit` answers: 1 -> 2 -> 3 -> 4
        limit.speed_up()
    assert limit.limit == 4
    burst = AdaptiveLimit(16, cooldown=60.0)
    for _ in range(10):  # one burst of 429s from requests sent together counts once
        burst.slow_down()
    assert burst.limit == 8


def test_unsent_calls_of_a_down_endpoint_are_labelled_endpoint_down():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    results = _run(url, ["a", "b", "c"], [], max_retries=50, down_after=2, concurrency=1)
    assert results[0].error_kind == "connection" and results[-1].error_kind == "endpoint_down"
    assert results[-1].attempts == 0  # never sent
