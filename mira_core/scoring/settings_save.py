"""Saving the scorer endpoint settings: an admin's change, recorded with the fields it changed.

The settings live in a TOML file, not the database, so the activity record is written in a transaction
that is still open while the file is replaced: a failed write rolls the record back, and a refused save
touches neither. The record holds field names with old and new values; the API key is never among them
(it is not a saved field).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from mira_core.identity import Actor, Role, require
from mira_core.scoring.settings import ScorerSettings, config_path, saved_config_values, write_scorer_config
from mira_core.storage import Engine, write_tx
from mira_core.team import record_change


class SavedSettings(NamedTuple):
    """Where the settings went and which fields changed (empty when the file already held them)."""

    path: Path
    changed: list[str]


def save_scorer_settings(engine: Engine, settings: ScorerSettings, *, actor: Actor,
                         path: Path | None = None) -> SavedSettings:
    """Write the endpoint settings (without the key) to the config file; admin only, recorded as `settings.save`.

    New jobs use the saved settings; running jobs keep the ones they started with.
    """
    require(actor, Role.admin, "saving the scorer endpoint settings")
    path = path or config_path()
    before = saved_config_values(path)
    after = settings.public_dict()
    changed = [k for k, v in after.items() if before.get(k) != v]
    with write_tx(engine) as conn:
        if changed:
            record_change(conn, actor, "settings.save", target_kind="settings", target_id="scorer", fields=changed,
                          old={k: before.get(k) for k in changed}, new={k: after[k] for k in changed})
        write_scorer_config(settings, path)
    return SavedSettings(path, changed)
