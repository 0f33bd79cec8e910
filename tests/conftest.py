"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when the server is up), real data."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mira_core.storage import migrate
from mira_core.storage.engine import make_engine

REAL_DATA = Path(os.environ.get("MIRA_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "real"))


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path, monkeypatch):
    """Point every setting that holds state at a temp dir, so tests never touch db/mira.sqlite."""
    monkeypatch.setenv("MIRA_DATABASE_URL", f"sqlite:///{tmp_path / 'mira.sqlite'}")
    monkeypatch.setenv("MIRA_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("MIRA_WORKER_AUTOSTART", "0")  # a test that wants a worker started asks for it


@pytest.fixture
def real_data() -> Path:
    """The shared real-trajectory folder; CI requires it, a user's machine skips with a message."""
    if not REAL_DATA.is_dir():
        msg = f"real trajectories not found at {REAL_DATA} (set MIRA_REAL_DATA to the shared/data/real folder)"
        if os.environ.get("MIRA_REQUIRE_REAL_DATA"):
            pytest.fail(msg)
        pytest.skip(msg)
    return REAL_DATA


def _pg_engine():
    base = os.environ.get("MIRA_TEST_PG_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("MIRA_TEST_PG_URL is not set: run the suite through `make test`")
        pytest.skip("PostgreSQL leg skipped: MIRA_TEST_PG_URL not set (make test starts a server)")
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    return admin, name, url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """A URL of an empty database on each backend (unmigrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    admin, name, url = _pg_engine()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(db_url):
    """A migrated engine on each backend."""
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    """A migrated SQLite engine only (for tests that do not need the PostgreSQL leg)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'only.sqlite'}")
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


def pytest_collection_modifyitems(config, items):
    """Run browser tests last: Playwright's sync API keeps an event loop running in the main thread for
    the life of its session fixture, and `asyncio.run()` in later tests (the scoring client) would fail."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/") or item.nodeid.startswith("browser/"))
