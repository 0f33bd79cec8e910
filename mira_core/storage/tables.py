"""SQLAlchemy table definitions. Row metadata and bodies live apart so listing never reads bodies.

Full-text search objects (SQLite FTS5 `records_fts`, PostgreSQL `record_search`) are dialect-specific
and created by the migrations themselves; they are not part of this metadata.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

records = Table(
    "records",
    metadata,
    Column("record_id", String(32), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("format", String(40), nullable=False),
    Column("instance_id", String(300)),
    Column("run_id", String(300)),
    Column("repo", String(300)),
    Column("agent", String(200)),
    Column("model", String(300)),
    Column("outcome", String(20), nullable=False),
    Column("f2p_success", Integer),
    Column("f2p_failure", Integer),
    Column("p2p_success", Integer),
    Column("p2p_failure", Integer),
    Column("report_file", Text),
    Column("exit_status", Text),
    Column("n_steps", Integer, nullable=False),
    Column("n_errors", Integer, nullable=False),
    Column("token_estimate", Integer, nullable=False),
    Column("patch_files", Integer, nullable=False),
    Column("title", String(300), nullable=False, doc="First line of the issue, for tables."),
    Column("synthetic", Boolean, nullable=False),
    Column("altered_fields", Text, nullable=False, doc="JSON list; see mira_core.text_rules."),
    Column("origin", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Index(None, "source", "outcome"),
    Index(None, "instance_id"),
    Index(None, "token_estimate"),
    Index(None, "imported_at", "record_id"),
)

record_bodies = Table(
    "record_bodies",
    metadata,
    Column("record_id", String(32), ForeignKey("records.record_id", ondelete="CASCADE"), primary_key=True),
    Column("body", LargeBinary, nullable=False, doc="zstd-compressed JSON of the normalized record."),
    Column("raw", LargeBinary, nullable=False, doc="zstd-compressed raw original bytes (byte-exact)."),
    Column("raw_bytes", Integer, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
)

outcome_reports = Table(
    "outcome_reports",
    metadata,
    Column("instance_id", String(300), primary_key=True),
    Column("resolved", Boolean),
    Column("f2p_success", Integer),
    Column("f2p_failure", Integer),
    Column("p2p_success", Integer),
    Column("p2p_failure", Integer),
    Column("model", String(300)),
    Column("report_file", Text, nullable=False),
)
