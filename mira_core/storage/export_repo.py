"""What a keep-list export reads beyond the selection arrays: the kept records' instance ids.

The selection arrays (`selection_repo.load_selection_columns`) carry no text but codes; the list names each
record's instance id, read here for the kept records only, aligned with the list's rows.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, select

from mira_core.storage.rows import stream_tuples
from mira_core.storage.tables import records


def instance_ids(conn: Connection, record_ids: np.ndarray) -> np.ndarray:
    """Instance ids of `record_ids` (an array of ids as str or ASCII bytes), aligned with it; None where none.

    One streamed pass over two short columns in table order (sorting by record id would walk the primary
    key and fetch each row: ~6x slower on SQLite), each row matched with one dict lookup (numpy's
    `searchsorted` on text was slower); only the wanted ids are kept.
    """
    ids = record_ids.tolist()
    position = {(rid.decode("ascii") if isinstance(rid, bytes) else rid): i for i, rid in enumerate(ids)}
    out = np.full(len(ids), None, dtype=object)
    if not position:
        return out
    for batch in stream_tuples(conn, select(records.c.record_id, records.c.instance_id)):
        for rid, iid in batch:
            i = position.get(rid)
            if i is not None:
                out[i] = iid
    return out

