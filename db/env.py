"""Alembic environment: runs migrations against MIRA_DATABASE_URL or a connection passed in by the app."""

from alembic import context

from mira_core.settings import load_settings
from mira_core.storage.engine import make_engine
from mira_core.storage.tables import metadata

# Dialect-specific search objects live outside the metadata; autogenerate must not "drop" them.
_EXTERNAL = ("records_fts", "record_search")


def include_object(obj, name, type_, reflected, compare_to):  # noqa: D103
    if type_ == "table" and name and name.startswith(_EXTERNAL):
        return False
    if type_ == "index" and name and name.startswith(("ix_record_search",)):
        return False
    return True


def run_migrations_online() -> None:  # noqa: D103
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
