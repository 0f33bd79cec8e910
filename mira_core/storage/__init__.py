"""Storage layer: the only place with SQL. Tables, engine set-up, migrations and repositories.

Domain code names the database handles it is given by these re-exported types (`from mira_core.storage
import Engine`), never by importing SQLAlchemy itself. This package imports none of its own submodules, so
`from mira_core.storage import records_repo` (as `migrate` does) never meets a half-initialised package.
"""

from sqlalchemy.engine import Connection, Engine

__all__ = ["Connection", "Engine"]
