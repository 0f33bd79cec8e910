"""The active mask reaches the preview and the export, and a policy file naming no masked cells takes it."""

from __future__ import annotations

import json
import os

from mira_core.cli import main
from mira_core.selection.policies import CutSpec, Policy, ScorerRule
from mira_core.storage import migrate
from mira_core.storage.engine import make_engine, read_conn
from mira_core.views.retention import (
    PreviewBasis,
    RetentionDraft,
    load_mask_cells,
    load_preview,
    load_selection,
    precompute_arrays,
)
from tests.selection.masked_corpus import activate_a1_mask, seed_masked_corpus

WEIGHTS = (1.0,) * 15


def _kept_ids(engine) -> list[str]:
    """Ids the Retention preview keeps at threshold 3.2 under whatever mask is active now."""
    with read_conn(engine) as conn:
        data = load_selection(conn, scorer=ScorerRule()).data
        cells = load_mask_cells(conn, sources=data.sources)
    pre = precompute_arrays(data, criterion="mean", cells_json=cells, weights=WEIGHTS)
    basis = PreviewBasis(version="v", scorer=ScorerRule(), criterion="mean", cells_json=cells, mask_version=None)
    draft = RetentionDraft(basis=basis, cuts={"S": CutSpec(mode="threshold", value=3.2)}, global_cut=None,
                           budget_tokens=None, downsample_weight=0.5, downsample_recommendations=())
    view = load_preview(pre, draft)
    return [b.record_id for s in view.sources for b in s.details.above]


def test_active_mask_changes_the_preview(sqlite_engine):
    seed_masked_corpus(sqlite_engine)
    assert _kept_ids(sqlite_engine) == ["r1"]  # 3.47 >= 3.2 > 3.08
    activate_a1_mask(sqlite_engine)
    assert _kept_ids(sqlite_engine) == ["r2"]  # A1 masked: 3.3 >= 3.2 > 3.0


def _export(tmp_path, name: str) -> list[str]:
    assert main(["export", "--policy", name]) == 0
    return [json.loads(line)["record_id"] for line in (tmp_path / "exports" / f"keep-{name}.jsonl").open()]


def test_policy_import_without_cells_takes_the_active_mask(tmp_path, capsys):
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    seed_masked_corpus(eng)
    policy = Policy(name="p", cuts={"S": CutSpec(mode="threshold", value=3.2)})
    path = tmp_path / "p.json"
    path.write_text(policy.model_dump_json())
    assert main(["policy", "import", str(path)]) == 0
    assert "no mask version is saved: no dimension is masked" in capsys.readouterr().out
    assert _export(tmp_path, "p") == ["r1"]

    version = activate_a1_mask(eng)
    eng.dispose()
    assert main(["policy", "import", "--replace", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"using the active mask (version {version}), 1 source x dimension cells" in out
    assert f"(mask version {version})" in out
    assert main(["policy", "show", "p"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["mask_version"] == version and shown["masked_cells"]["S"] == ["A1"]
    assert _export(tmp_path, "p") == ["r2"]
    manifest = json.loads((tmp_path / "exports" / "keep-p.jsonl.manifest.json").read_text())
    assert manifest["mask"] == {"version": version, "cells": {"*": [], "S": ["A1"]}}
