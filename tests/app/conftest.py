"""AppTest fixtures: pages import `ui.*` from app/ (Streamlit puts the script folder on sys.path; AppTest
does not), and a small corpus in the per-test database named by MIRA_DATABASE_URL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mira_core.storage import migrate
from mira_core.storage.engine import make_engine
from tests.app.builders import import_messages, insert_records, long_record, messages_row

APP = Path(__file__).resolve().parents[2] / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))


@pytest.fixture
def corpus(tmp_path):
    """Three swe_qa records (imported) + one synthetic 120-step agent_openhands record; returns its id."""
    eng = make_engine(os.environ["MIRA_DATABASE_URL"])
    migrate.upgrade(eng)
    import_messages(eng, tmp_path, [
        messages_row(1, resolved=True),
        messages_row(2, resolved=False, issue="Crash in tokenizer when input is empty", n_tools=3),
        messages_row(3),
    ])
    big = long_record()
    insert_records(eng, [big])
    eng.dispose()
    return big.record_id
