"""Mask versions through the database: a Mask saved as rows and read back, exactly one active."""

import pytest

from mira_core.errors import NotFoundError
from mira_core.identity import PermissionDenied, Role
from mira_core.reliability.mask_store import activate_mask_version, active_mask, load_mask, save_mask_version
from mira_core.reliability.masks import Cell, CellDecision, Mask, MaskFormatError, MaskRules
from mira_core.storage import reliability_repo as repo
from mira_core.storage.engine import read_conn, write_tx
from mira_core.team import list_changes
from tests.reliability.builders import person


def test_mask_versions_exactly_one_active_and_old_ones_readable(engine):
    m1 = Mask(cells={Cell("src_a", "A1"): CellDecision(masked=True, reason="MAE 3.00 > 2.00")})
    m2 = Mask(cells={Cell("*", "A7"): CellDecision(masked=True, reason="paper", by="import"),
                     Cell("src_a", "A1"): CellDecision(masked=False, reason="checked", by="curator")})
    with write_tx(engine) as conn:
        assert repo.active_mask_version(conn) is None and active_mask(conn).cells == {}
        v1 = save_mask_version(conn, name="first", mask=m1, rules=MaskRules(), actor=person("ann"))
        v2 = save_mask_version(conn, name="second", mask=m2, rules=None, actor=person("bob"))
    with read_conn(engine) as conn:
        versions = repo.list_mask_versions(conn)
        assert versions.active.tolist() == [True, False]
        assert versions.masked.tolist() == [1, 1]
        assert active_mask(conn).cells == m2.cells
        assert load_mask(conn, v1).cells == m1.cells
    with write_tx(engine) as conn:
        activate_mask_version(conn, v1, actor=person("cy"))
    with read_conn(engine) as conn:
        assert repo.active_mask_version(conn) == v1
        assert repo.list_mask_versions(conn).active.sum() == 1
        with pytest.raises(NotFoundError, match="mask version 99"):
            load_mask(conn, 99)
    with write_tx(engine) as conn, pytest.raises(NotFoundError, match="mask version 99"):
        activate_mask_version(conn, 99, actor=person("cy"))
    assert v2 != v1


def test_a_mask_version_needs_a_name(engine):
    with write_tx(engine) as conn, pytest.raises(MaskFormatError, match="needs a name"):
        save_mask_version(conn, name="  ", mask=Mask(), rules=None, actor=person("ann"))
    with read_conn(engine) as conn:
        assert repo.list_mask_versions(conn).empty


MASK = Mask(cells={Cell("src_a", "A1"): CellDecision(masked=True, reason="MAE 3.00 > 2.00"),
                   Cell("src_a", "A2"): CellDecision(masked=False, reason="ok")})


@pytest.mark.parametrize("role", list(Role))
def test_saving_a_version_needs_a_curator_and_activating_it_an_admin(engine, role):
    who = person(f"{role}@example.org", role)
    with write_tx(engine) as conn:
        if role is Role.viewer:
            with pytest.raises(PermissionDenied, match="saving mask versions needs the curator role; viewer@"):
                save_mask_version(conn, name="draft", mask=MASK, rules=None, actor=who, activate=False)
        else:
            save_mask_version(conn, name="draft", mask=MASK, rules=None, actor=who, activate=False)
        if role is not Role.admin:  # saving it as the active one is activating it (a viewer may not even save)
            needs = "saving mask versions needs the curator" if role is Role.viewer else "activating a mask version needs the admin"
            with pytest.raises(PermissionDenied, match=f"{needs} role; {role}@"):
                save_mask_version(conn, name="live", mask=MASK, rules=None, actor=who)
        else:
            save_mask_version(conn, name="live", mask=MASK, rules=None, actor=who)
    with read_conn(engine) as conn:
        versions = repo.list_mask_versions(conn)
        log = list_changes(conn, kinds=["mask.save", "mask.activate"])
    expected = {Role.viewer: [], Role.curator: ["draft"], Role.admin: ["live", "draft"]}[role]
    assert versions.name.tolist() == expected and set(versions.created_by) <= {who.user_id}
    assert [(c.kind, c.actor, c.target_kind, c.target_id) for c in log] == [
        ("mask.activate", who.user_id, "mask", str(v)) for v in versions.version_id[versions.active]] + [
        ("mask.save", who.user_id, "mask", str(v)) for v in versions.version_id]
    if role is Role.admin:
        assert log[0].detail == {"previous": None} and log[1].detail == {"name": "live", "masked": 1, "cells": 2}


@pytest.mark.parametrize("role", list(Role))
def test_activating_a_version_needs_an_admin(engine, role):
    with write_tx(engine) as conn:
        first = save_mask_version(conn, name="first", mask=MASK, rules=None, actor=person("ops"))
        second = save_mask_version(conn, name="second", mask=Mask(), rules=None, actor=person("ops"))
    who = person(f"{role}@example.org", role)
    with write_tx(engine) as conn:
        if role is Role.admin:
            activate_mask_version(conn, first, actor=who)
        else:
            with pytest.raises(PermissionDenied, match=f"activating a mask version needs the admin role; {role}@"):
                activate_mask_version(conn, first, actor=who)
    with read_conn(engine) as conn:
        active = repo.active_mask_version(conn)
        mine = list_changes(conn, actors=[who.user_id])
    if role is not Role.admin:
        assert (active, mine) == (second, [])  # unchanged, and no trace
        return
    assert active == first
    assert [(c.kind, c.target_kind, c.target_id, c.detail) for c in mine] == [
        ("mask.activate", "mask", str(first), {"previous": second})]
