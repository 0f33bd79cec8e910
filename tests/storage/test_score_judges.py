"""The (judge, prompt version) walk finds exactly what a DISTINCT over every score row finds."""

import numpy as np
from sqlalchemy import select

from mira_core.storage import reliability_repo, selection_repo
from mira_core.storage.engine import read_conn
from mira_core.storage.score_judges import judge_pairs
from mira_core.storage.tables import scores
from tests.reliability.builders import add_scores, make_records


def test_judge_pairs_match_a_distinct_scan(engine):
    ids = make_records(engine, 6)
    values = np.full((6, 15), 5.0)
    for judge, prompt in [("m2", "v1"), ("m1", "v2"), ("m1", "v1"), ("m1", "v10"), ("m2", "v1"), ("z", "a")]:
        add_scores(engine, ids, values, judge=judge, prompt_version=prompt)
    add_scores(engine, ids[:2], values[:2], kind="teacher", judge="kimi", prompt_version="teacher")
    add_scores(engine, ids[:2], values[:2], kind="teacher", judge="glm", prompt_version="teacher")
    with read_conn(engine) as conn:
        for kind in ("student", "teacher", "nobody"):
            want = conn.execute(select(scores.c.judge, scores.c.prompt_version).distinct()
                                .where(scores.c.judge_kind == kind)).all()
            assert judge_pairs(conn, kind) == sorted(tuple(r) for r in want), kind
        assert selection_repo.scorer_choices(conn) == (["m1", "m2", "z"], ["a", "v1", "v10", "v2"])
        assert reliability_repo.list_judges(conn, "teacher") == ["glm", "kimi"]
        assert reliability_repo.list_prompt_versions(conn) == ["a", "v1", "v10", "v2"]
