"""Mask versions through the database: a Mask saved as rows and read back, exactly one active."""

import pytest

from mira_core.errors import NotFoundError
from mira_core.reliability.mask_store import activate_mask_version, active_mask, load_mask, save_mask_version
from mira_core.reliability.masks import Cell, CellDecision, Mask, MaskFormatError, MaskRules
from mira_core.storage import reliability_repo as repo
from mira_core.storage.engine import read_conn, write_tx


def test_mask_versions_exactly_one_active_and_old_ones_readable(engine):
    m1 = Mask(cells={Cell("src_a", "A1"): CellDecision(masked=True, reason="MAE 3.00 > 2.00")})
    m2 = Mask(cells={Cell("*", "A7"): CellDecision(masked=True, reason="paper", by="import"),
                     Cell("src_a", "A1"): CellDecision(masked=False, reason="checked", by="curator")})
    with write_tx(engine) as conn:
        assert repo.active_mask_version(conn) is None and active_mask(conn).cells == {}
        v1 = save_mask_version(conn, name="first", mask=m1, rules=MaskRules(), created_by="ann")
        v2 = save_mask_version(conn, name="second", mask=m2, rules=None, created_by="bob")
    with read_conn(engine) as conn:
        versions = repo.list_mask_versions(conn)
        assert versions.active.tolist() == [True, False]
        assert versions.masked.tolist() == [1, 1]
        assert active_mask(conn).cells == m2.cells
        assert load_mask(conn, v1).cells == m1.cells
    with write_tx(engine) as conn:
        activate_mask_version(conn, v1)
    with read_conn(engine) as conn:
        assert repo.active_mask_version(conn) == v1
        assert repo.list_mask_versions(conn).active.sum() == 1
        with pytest.raises(NotFoundError, match="mask version 99"):
            load_mask(conn, 99)
    with write_tx(engine) as conn, pytest.raises(NotFoundError, match="mask version 99"):
        activate_mask_version(conn, 99)
    assert v2 != v1


def test_a_mask_version_needs_a_name(engine):
    with write_tx(engine) as conn, pytest.raises(MaskFormatError, match="needs a name"):
        save_mask_version(conn, name="  ", mask=Mask(), rules=None, created_by="ann")
    with read_conn(engine) as conn:
        assert repo.list_mask_versions(conn).empty
