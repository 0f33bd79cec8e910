"""Mask-version loaders: the saved versions, one version's cells and JSON, the preview's carried overrides."""

import pytest

from mira_core.errors import NotFoundError
from mira_core.reliability import Cell, CellDecision, Mask, Override, mask_from_json, save_mask_version
from mira_core.storage import read_conn, write_tx
from mira_core.views.mask_versions import (
    VERSION_COLUMNS,
    load_curator_overrides,
    load_mask_version,
    load_mask_versions,
)
from tests.reliability.builders import person

RULED = Mask(cells={Cell("src_a", "A2"): CellDecision(masked=True, reason="MAE 2.50 > 2.00"),
                    Cell("src_a", "A1"): CellDecision(masked=False, reason="checked", by="curator")})
FORCED = Mask(cells={Cell("src_b", "A7"): CellDecision(masked=True, reason="teacher misreads it", by="curator"),
                     Cell("src_b", "A3"): CellDecision(masked=True, reason="rho 0.10 < 0.30")})


def test_versions_newest_first_and_one_versions_cells(engine):
    with write_tx(engine) as conn:
        first = save_mask_version(conn, name="first", mask=RULED, rules=None, actor=person("ann"))
        second = save_mask_version(conn, name="second", mask=FORCED, rules=None, actor=person("bob"), activate=False)
    with read_conn(engine) as conn:
        versions = load_mask_versions(conn)
        chosen = load_mask_version(conn, version_id=first)
        with pytest.raises(NotFoundError, match="mask version 99"):
            load_mask_version(conn, version_id=99)
    assert list(versions.columns) == list(VERSION_COLUMNS)
    assert versions.version_id.tolist() == [second, first] and versions.active.tolist() == [False, True]
    assert chosen.n_masked == 1 and chosen.cells.slot.tolist() == ["A1", "A2"]  # sorted by cell
    assert chosen.cells.iloc[0].to_dict() == {"source": "src_a", "slot": "A1", "masked": False,
                                              "decided by": "curator", "reason": "checked"}
    assert mask_from_json(chosen.json).masked_cells() == {Cell("src_a", "A2")}  # the download reads back


def test_a_new_preview_starts_from_the_active_versions_curator_decisions(engine):
    with read_conn(engine) as conn:
        assert load_curator_overrides(conn) == []  # nothing saved yet
    with write_tx(engine) as conn:
        save_mask_version(conn, name="first", mask=RULED, rules=None, actor=person("ann"))
        save_mask_version(conn, name="second", mask=FORCED, rules=None, actor=person("bob"))
    with read_conn(engine) as conn:
        carried = load_curator_overrides(conn)
    assert carried == [Override(source="src_b", slot="A7", masked=True, reason="teacher misreads it")]
