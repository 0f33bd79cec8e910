"""The generator: deterministic bytes, the three real layouts, realistic content."""

from __future__ import annotations

import functools
import hashlib
import json

from mira_core.demo.corpus import SOURCES, generate_corpus, iter_rows, token_budget
from mira_core.views.diff import split_diff


def _digest(corpus) -> dict[str, str]:
    return {s: hashlib.sha256(p.read_bytes()).hexdigest() for s, p in corpus.files.items()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = generate_corpus(tmp_path / "a", 40, seed=7)
    b = generate_corpus(tmp_path / "b", 40, seed=7)
    c = generate_corpus(tmp_path / "c", 40, seed=8)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert a.records == 40 and sum(a.per_source.values()) == 40
    assert a.bytes == sum(p.stat().st_size for p in a.files.values())


def test_a_prefix_of_the_corpus_is_the_smaller_corpus():
    # Record i depends only on (seed, i): streaming more records never changes the earlier ones.
    assert list(iter_rows(15, 3)) == list(iter_rows(30, 3))[:15]


def test_generation_reports_progress(tmp_path):
    seen: list[tuple[int, int]] = []
    generate_corpus(tmp_path, 201, seed=1, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(200, 201), (201, 201)]


def test_token_budgets_are_long_tailed():
    import random

    rng = random.Random(0)
    budgets = sorted(token_budget(rng) for _ in range(5000))
    median = budgets[len(budgets) // 2]
    assert budgets[0] >= 900 and budgets[-1] <= 56_000
    assert 2_000 < median < 5_000  # most runs are short...
    assert sum(b >= 50_000 for b in budgets) >= 25  # ...and a few percent sit near the 60K ceiling


@functools.cache
def _rows(n: int, seed: int = 0) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {s: [] for s in SOURCES}
    for source, line in iter_rows(n, seed):
        out[source].append(json.loads(line))
    return out


def test_openhands_rows_follow_output_jsonl_layout():
    rows = _rows(60)["agent_openhands"]
    assert rows
    codes = []
    for r in rows:
        assert r["synthetic"] is True and r["metadata"]["details"]["synthetic"] is True
        assert {"instance_id", "instruction", "instance", "test_result", "history", "metadata", "error"} <= set(r)
        inst = r["instance"]
        assert isinstance(json.loads(inst["FAIL_TO_PASS"]), list) and isinstance(json.loads(inst["PASS_TO_PASS"]), list)
        assert inst["problem_statement"] in r["instruction"]
        assert r["metadata"]["llm_config"]["model"]
        assert r["history"][0]["action"] == "system"
        for e in r["history"]:
            assert ("action" in e) != ("observation" in e)
            if e.get("observation") == "run":
                codes.append(e["extras"]["metadata"]["exit_code"])
            if "cause" in e:
                assert r["history"][e["cause"]]["action"]
    assert 0 in codes and any(c != 0 for c in codes)  # failures as well as successes
    assert any(r["error"] for r in rows) or all(r["history"][-2].get("action") == "finish" for r in rows)


def test_nebius_rows_follow_role_text_layout():
    rows = _rows(60)["davinc_dev"]
    assert rows
    for r in rows:
        assert {"instance_id", "model_name", "target", "trajectory", "exit_status", "generated_patch", "eval_logs"} <= set(r)
        assert isinstance(r["target"], bool)
        roles = [t["role"] for t in r["trajectory"]]
        assert roles[:3] == ["system", "user", "ai"] and set(roles) == {"system", "user", "ai"}
        assert "ISSUE:\n" in r["trajectory"][1]["text"]
        assert all("```" in t["text"] for t in r["trajectory"] if t["role"] == "ai")
        assert r["eval_logs"].endswith("All tests passed." if r["target"] else "Some tests failed.")


def test_swe_gym_rows_follow_openai_messages_layout():
    rows = _rows(60)["swe_qa"]
    assert rows
    for r in rows:
        assert r["resolved"] == r["test_result"]["report"]["resolved"]
        assert "<pr_description>" in r["messages"][1]["content"]
        calls = {}
        for m in r["messages"]:
            assert set(m) == {"content", "function_call", "name", "role", "tool_call_id", "tool_calls"}
            for c in m["tool_calls"] or []:
                assert isinstance(json.loads(c["function"]["arguments"]), dict)
                calls[c["id"]] = c["function"]["name"]
            if m["role"] == "tool":
                assert m["content"].startswith("OBSERVATION:\n") and calls[m["tool_call_id"]] == m["name"]


def test_content_looks_like_real_runs():
    rows = _rows(120)
    oh = rows["agent_openhands"]
    text = "\n".join(json.dumps(r) for r in oh)
    for needle in ("Traceback (most recent call last)", "test session starts", "No replacement was performed",
                   "grep -rn", "str_replace", "reproduce_issue.py"):
        assert needle in text, needle
    repos = {r["instance"]["repo"] for r in oh}
    assert len(repos) >= 6
    patches = [r["test_result"]["git_patch"] for r in oh if r["test_result"]["git_patch"]]
    n_files = {len(split_diff(p).files) for p in patches}
    assert n_files <= {1, 2, 3} and {1, 2} <= n_files
    resolved = [r["test_result"]["report"]["resolved"] for r in oh]
    assert True in resolved and False in resolved
