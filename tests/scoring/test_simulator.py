"""The SIMULATED scorer: deterministic answers in the scorer format, vLLM-like endpoints, honest labels."""

import json
import re
import threading
import urllib.error
import urllib.request

from mira_core.scoring.simulator import (
    SIM_HEADER,
    count_tokens,
    is_simulated,
    simulated_answer,
)

SLOT = re.compile(r"^\[A(\d+)\] [^:\n]+: (\d+)/10 — ", re.MULTILINE)




def _post(url: str, body: dict) -> tuple[int, dict, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def _chat(server, user: str, max_tokens: int = 100) -> tuple[int, dict, dict]:
    return _post(server.base_url + "/chat/completions",
                 {"model": "whw06/MIRA-Agent-Group4", "max_tokens": max_tokens,
                  "messages": [{"role": "system", "content": "rubric"}, {"role": "user", "content": user}]})


def test_answer_is_deterministic_complete_and_labelled():
    prompt = "Fix the parser\ndiff --git a/x b/x\n+new\n-old\nTraceback: error"
    text = simulated_answer(prompt, seed=3)
    assert text == simulated_answer(prompt, seed=3)
    slots = SLOT.findall(text)
    assert [int(s) for s, _ in slots] == list(range(1, 16))
    assert all(0 <= int(v) <= 10 for _, v in slots)
    assert "domain_tag: SIMULATED" in text and "brief: SIMULATED" in text
    assert re.search(r"^training_recommendation: (keep|downsample|drop)$", text, re.MULTILINE)


def test_scores_follow_record_features():
    # Goal achievement (A3) gets +1.5 with a patch and -2 without: the same hash part differs by 3.5 points.
    # Across many prompts the patched variant must score higher on A3 on average.
    def a3(p: str) -> int:
        return int(dict(SLOT.findall(simulated_answer(p)))["3"])

    with_patch = [a3(f"issue {i}\ndiff --git a/f b/f\n+x") for i in range(40)]
    without = [a3(f"issue {i}\nno change made") for i in range(40)]
    assert sum(with_patch) > sum(without) + 40


def test_slot_names_are_read_from_the_prompt_template():
    template = "\n".join(f"[A{i}] Dimension {i}: <score>/10 — <justification>" for i in range(1, 16))
    text = simulated_answer("record text\n" + template)
    assert "[A7] Dimension 7: " in text


def test_models_and_tokenize_report_the_context_length(sim):
    server = sim(max_model_len=4096)
    with urllib.request.urlopen(server.base_url + "/models") as resp:
        assert resp.headers[SIM_HEADER] == "1"
        data = json.loads(resp.read())["data"][0]
    assert data["max_model_len"] == 4096 and is_simulated(data["id"])
    status, _, body = _post(f"http://127.0.0.1:{server.port}/tokenize", {"model": "m", "prompt": "x" * 41})
    assert status == 200 and body["count"] == count_tokens("x" * 41) == 11 and body["max_model_len"] == 4096


def test_completion_is_labelled_simulated(sim):
    server = sim()
    status, headers, body = _chat(server, "hello")
    assert status == 200 and headers[SIM_HEADER] == "1"
    assert body["model"].endswith("-SIMULATED")
    assert body["choices"][0]["finish_reason"] == "stop"


def test_context_length_error_looks_like_vllm(sim):
    server = sim(reject_above=50)
    status, _, body = _chat(server, "x" * 400, max_tokens=10)
    assert status == 400
    assert "maximum context length is 50 tokens" in body["message"]
    assert "110 input tokens" in body["message"] or "input tokens" in body["message"]


def test_429_carries_retry_after(sim):
    server = sim(rate_429=1.0, retry_after=2.5)
    status, headers, _ = _chat(server, "x")
    assert status == 429 and headers["Retry-After"] == "2.5"


def test_truncated_and_malformed_knobs(sim):
    server = sim(rate_truncated=1.0)
    _, _, body = _chat(server, "issue")
    assert body["choices"][0]["finish_reason"] == "length"
    assert len(body["choices"][0]["message"]["content"]) < len(simulated_answer("issue")) // 2 + 1
    server = sim(rate_malformed=1.0)
    _, _, body = _chat(server, "issue")
    content = body["choices"][0]["message"]["content"]
    assert content != simulated_answer("issue")
    valid = [s for s, v in SLOT.findall(content) if int(v) <= 10]
    assert len(valid) == 14  # one slot line out of range, unreadable or removed


def test_retries_of_a_prompt_get_fresh_fault_draws(sim):
    server = sim(rate_500=0.5, seed=1)
    statuses = [_chat(server, "same prompt")[0] for _ in range(30)]
    assert 200 in statuses and 500 in statuses


def test_server_concurrency_limit_queues_the_rest(sim):
    server = sim(latency=0.05, concurrency=2)
    threads = [threading.Thread(target=_chat, args=(server, f"p{i}")) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.stats.counts["ok"] == 8
    assert server.stats.peak == 2
