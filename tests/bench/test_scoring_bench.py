"""`bench scoring` at a tiny size: the several-endpoint and priority figures are there and add up."""

import argparse

from mira_core.bench import scoring


def test_bench_scoring_reports_several_endpoints_and_the_priority_wait():
    parser = argparse.ArgumentParser()
    scoring.add_arguments(parser)
    args = parser.parse_args(["--requests", "24", "--sequential-requests", "1", "--latency", "0.05",
                              "--concurrency", "4", "--server-concurrency", "4", "--prompt-chars", "200",
                              "--job-records", "0", "--ray-records", "0", "--endpoints", "3",
                              "--multi-concurrency", "2", "--priority-bulk-records", "30"])
    figures = scoring.run(args)
    assert figures["ok"] == 24 and figures["endpoints"] == 3
    shares = [int(n) for n in str(figures["multi_answers_per_endpoint"]).split("/")]
    assert len(shares) == 3 and sum(shares) == 24 + 1  # the warm-up call counts too
    assert min(shares) > 0  # least-in-flight routing used every endpoint
    assert figures["multi_ideal_rps"] == 3 * 2 / 0.05 and 0 < figures["multi_fraction_of_ideal"] <= 1.05
    assert figures["priority_wait_ms"] > 0 and figures["priority_bulk_remaining"] >= 0
