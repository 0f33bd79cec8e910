"""The export's reads: instance ids of the kept records, aligned with the ids asked, in batches."""

import numpy as np

from mira_core.storage import export_repo
from mira_core.storage.engine import read_conn
from tests.selection.dbcorpus import seed


def test_instance_ids_are_aligned_with_the_ids_asked(engine, monkeypatch):
    seed(engine)
    monkeypatch.setattr("mira_core.storage.rows.stream_tuples.__defaults__", (2,))  # several batches of 2 rows
    with read_conn(engine) as conn:
        got = export_repo.instance_ids(conn, np.array([b"b4", b"a1", b"zz", b"a3"], dtype="S32"))
        as_text = export_repo.instance_ids(conn, np.array(["a2"]))
        none = export_repo.instance_ids(conn, np.zeros(0, dtype="S32"))
    assert got.tolist() == ["inst-b4", "inst-a1", None, "inst-a3"]  # in the order asked; unknown id -> None
    assert as_text.tolist() == ["inst-a2"] and none.tolist() == []
