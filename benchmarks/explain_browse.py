"""Where each Browse view's time goes on a built store: every SQL statement the page runs, with its plan.

For `mira-curator bench scale` stores (or any store): runs `load_browse_page` once per view that
`bench scale` measures, catching each statement SQLAlchemy sends (and its parameters), then runs it again
under `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL, or times it and prints `EXPLAIN QUERY PLAN` on SQLite.
Prints Markdown: per view, each statement's milliseconds and plan. Usage:

    python benchmarks/explain_browse.py DB_URL [--views imported,score_filtered,text] > plans.md
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from mira_core.bench.scale_measure import FILTER, FREQUENT_WORD, RARER_WORD, SORTS
from mira_core.query import RecordFilter
from mira_core.storage import Engine, make_engine, read_conn, records_repo
from mira_core.views.browse import load_browse_page
from mira_core.views.browse_params import BrowseView


def views(engine: Engine) -> dict[str, BrowseView]:
    """The views `bench scale` times, by the name of their figure (without `browse_` and `_ms`)."""
    out = {}
    for name, sort in SORTS.items():
        out[name] = BrowseView(sort=sort)
        out[f"{name}_filtered"] = BrowseView(filter=FILTER, sort=sort)
    out["text"] = BrowseView(filter=RecordFilter(text=FREQUENT_WORD))
    out["text_rarer"] = BrowseView(filter=RecordFilter(text=RARER_WORD))
    with read_conn(engine) as conn:
        total = records_repo.count_records(conn, RecordFilter())
    out["last_page"] = BrowseView(page=-(-total // BrowseView().page_size))
    return out


@contextmanager
def caught(engine: Engine) -> Iterator[list[tuple[str, object]]]:
    """Every (statement, parameters) sent on `engine` inside the block."""
    seen: list[tuple[str, object]] = []

    def grab(_conn: object, _cursor: object, statement: str, parameters: object, _context: object,
             _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def explain(engine: Engine, statement: str, parameters: object) -> tuple[float, str]:
    """(ms of the statement, its plan): EXPLAIN ANALYZE on PostgreSQL, a timed run + QUERY PLAN on SQLite."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()  # type: ignore[union-attr]
        if engine.dialect.name == "postgresql":
            cur.execute("SET jit = off")
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            lines = [r[0] for r in cur.fetchall()]
            ms = next((float(line.split()[2]) for line in lines if line.startswith("Execution Time")), float("nan"))
            return ms, "\n".join(lines)
        t = time.perf_counter()
        cur.execute(statement, parameters).fetchall()
        ms = (time.perf_counter() - t) * 1000
        plan = cur.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        return ms, "\n".join(f"{'  ' * (r[1] > 0)}{r[3]}" for r in plan)


def main() -> None:
    """Print each view's statements with times and plans."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--views", default="", help="comma-separated view names (default: all)")
    args = ap.parse_args()
    engine = make_engine(args.url)
    wanted = [v for v in args.views.split(",") if v]
    for name, view in views(engine).items():
        if wanted and name not in wanted:
            continue
        with read_conn(engine) as conn:  # once to warm caches; the second run is the one shown
            load_browse_page(conn, view, store_has_synthetic=True)
        with caught(engine) as seen:
            t = time.perf_counter()
            with read_conn(engine) as conn:
                load_browse_page(conn, view, store_has_synthetic=True)
            total = (time.perf_counter() - t) * 1000
        print(f"## {name}: {total:.1f} ms in all, {len(seen)} statements\n")
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            ms, plan = explain(engine, statement, parameters)
            print(f"{ms:.1f} ms\n\n```sql\n{statement.strip()}\n```\n\n```\n{plan}\n```\n")
    engine.dispose()


if __name__ == "__main__":
    main()
