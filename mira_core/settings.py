"""One place for configuration: environment variables `MIRA_*` with defaults that work on a fresh machine."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ANCHORS_PATH = PROJECT_ROOT / "anchors" / "group_D_dim_anchors.jsonl"
DEFAULT_PROMPT_TEMPLATE = PROJECT_ROOT / "anchors" / "group_D_prompt.j2"


class Settings(BaseSettings):
    """Application settings: defaults, then `MIRA_<FIELD>` environment variables (empty ones are ignored).

    Created once at an edge (CLI entry, page run, worker start) and passed down; the core never reads the
    environment itself.
    """

    model_config = SettingsConfigDict(env_prefix="MIRA_", env_ignore_empty=True, extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'db' / 'mira.sqlite'}",
        description="SQLAlchemy URL; SQLite by default, PostgreSQL for teams.",
    )
    max_record_bytes: int = Field(
        default=32 * 1024 * 1024,
        description="An input record larger than this is rejected (bounded memory on import).",
    )
    anchors_path: Path = Field(default=DEFAULT_ANCHORS_PATH)
    calibration_path: Path = Field(default=PROJECT_ROOT / "anchors" / "group_D_calibration.jsonl")
    prompt_template: Path = Field(
        default=DEFAULT_PROMPT_TEMPLATE,
        description="Jinja2 template of the scorer's system and user messages (`MIRA_PROMPT_TEMPLATE`); an "
                    "environment setting only, not a per-job one: a path a curator could set would let a job "
                    "read any file on the worker's machine and send it to an endpoint of their choice.",
    )
    export_dir: Path = Field(default=PROJECT_ROOT / "exports")
    curator: str = Field(default_factory=lambda: os.environ.get("USER", "curator"))
    worker_autostart: bool = Field(
        default=True,
        description="`jobs`/`job` commands and the Scoring page start a scoring worker when a job is open and "
                    "none is alive (false when a service manager runs the workers).",
    )


def load_settings() -> Settings:
    """Settings from the environment (`MIRA_DATABASE_URL`, `MIRA_MAX_RECORD_BYTES`, ...)."""
    return Settings()
