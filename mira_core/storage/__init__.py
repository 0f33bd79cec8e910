"""Storage layer: the only place with SQL. Tables, engine set-up, migrations and repositories.

This face is what code outside storage may use besides the repository modules: the two SQLAlchemy types
it names connections and engines by (so it never imports SQLAlchemy itself), the transaction helpers,
and `open_store` for an edge that needs a migrated database.
"""

from sqlalchemy import Connection, Engine

from mira_core.storage.engine import is_sqlite, make_engine, read_conn, shared_engine, write_tx


def open_store(url: str, *, shared: bool = True) -> Engine:
    """The engine for `url`, migrated to head (idempotent); `shared` reuses one engine per URL per process."""
    from mira_core.storage import migrate  # migrate imports the repositories, which import this package

    engine = shared_engine(url) if shared else make_engine(url)
    migrate.upgrade(engine)
    return engine


__all__ = ["Connection", "Engine", "is_sqlite", "make_engine", "open_store", "read_conn", "shared_engine", "write_tx"]
