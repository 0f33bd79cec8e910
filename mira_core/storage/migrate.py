"""Run Alembic migrations from code (the CLI, the app and tests all go through here)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from mira_core.storage import search_index
from mira_core.storage.engine import read_conn, write_tx

DB_DIR = Path(__file__).resolve().parents[2] / "db"


def alembic_config(url: str) -> Config:
    """Config pointing at the project's `db/` migrations for `url`."""
    cfg = Config(str(DB_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(DB_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of `engine`'s database to `revision` (idempotent).

    On SQLite at head, also re-key the full-text rows if a hand edit moved them off their records
    (`search_index.search_rows_aligned`).
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
        after = MigrationContext.configure(conn).get_current_revision()
    if engine.dialect.name == "postgresql":
        _vacuum(engine, [table for rev, table in VACUUM_AFTER.items() if _crossed(before, after, rev)])
    if revision == "head" and engine.dialect.name == "sqlite":
        with read_conn(engine) as conn:  # no write lock unless there is something to mend
            aligned = search_index.search_rows_aligned(conn)
        if not aligned:
            with write_tx(engine) as conn:
                if not search_index.search_rows_aligned(conn):
                    search_index.rekey_search(conn)


VACUUM_AFTER = {"0021": "scores", "0022": "records"}
"""Revisions after which the selection load reads a table by an index-only scan on PostgreSQL, which needs
the table vacuumed (its visibility map set): 0021 rewrites every score row (its packed slots), 0022 adds the
records' covering index. VACUUM cannot run inside the migration's transaction, so it runs here after."""


def _crossed(before: str | None, after: str | None, revision: str) -> bool:
    """Whether an upgrade from `before` to `after` applied `revision` (revision ids are zero-padded numbers)."""
    return after is not None and after >= revision and (before is None or before < revision)


def _vacuum(engine: Engine, tables: list[str]) -> None:
    """VACUUM (ANALYZE) each of `tables`, outside any transaction (VACUUM refuses to run inside one)."""
    if not tables:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back to `revision` (used by migration tests)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()


def check(engine: Engine) -> None:
    """Raise if the tables in `tables.py` differ from what the migrations build (`alembic check`)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)
