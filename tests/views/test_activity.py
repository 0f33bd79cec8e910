"""Activity loader: newest first, filtered by person, kind and record, paged back with a keyset."""

from mira_core.identity import Actor, Role
from mira_core.storage import read_conn, write_tx
from mira_core.team import record_change
from mira_core.views.activity import load_activity

ANN = Actor(user_id="ann@example.org", role=Role.curator)
OPS = Actor(user_id="ops", role=Role.admin, via="cli")


def _log(engine) -> None:
    with write_tx(engine) as conn:
        record_change(conn, ANN, "tag.add", target_kind="record", target_id="r1", record_id="r1", tag="good")
        record_change(conn, OPS, "mask.activate", target_kind="mask", target_id="3", previous=None)
        record_change(conn, ANN, "annotation.save", target_kind="record", target_id="r2", record_id="r2")


def test_newest_first_with_links_and_filter_choices(engine):
    _log(engine)
    with read_conn(engine) as conn:
        page = load_activity(conn)
    rows = page.rows
    assert rows.kind.tolist() == ["annotation.save", "mask.activate", "tag.add"]
    assert rows.person.tolist() == ["ann@example.org", "ops", "ann@example.org"]
    assert rows.via.tolist() == ["web", "cli", "web"]
    assert rows.open.fillna("").tolist() == ["record?id=r2", "", "record?id=r1"]
    assert rows.detail.tolist() == ["", "previous=None", "tag=good"] and rows.target.tolist()[1] == "mask 3"
    assert page.people == ["ann@example.org", "ops"] and page.older_than is None
    assert page.kinds == ["annotation.save", "mask.activate", "tag.add"]


def test_filters_and_paging(engine):
    _log(engine)
    with read_conn(engine) as conn:
        assert load_activity(conn, people=["ops"]).rows.kind.tolist() == ["mask.activate"]
        assert load_activity(conn, kinds=["tag.add"], people=["ann@example.org"]).rows.record.tolist() == ["r1"]
        assert load_activity(conn, record_id="r2").rows.kind.tolist() == ["annotation.save"]
        first = load_activity(conn, limit=2)
        assert first.rows.kind.tolist() == ["annotation.save", "mask.activate"] and first.older_than is not None
        second = load_activity(conn, limit=2, before_id=first.older_than)
    assert second.rows.kind.tolist() == ["tag.add"] and second.older_than is None
