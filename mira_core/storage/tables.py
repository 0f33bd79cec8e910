"""SQLAlchemy table definitions. Row metadata and bodies live apart so listing never reads bodies.

Full-text search objects (SQLite FTS5 `records_fts`, PostgreSQL `record_search`) are dialect-specific
and created by the migrations themselves; they are not part of this metadata. An FTS5 row has the rowid of
its `records` row (migration 0007). Records are never deleted, so their rowids stay 1..N, which VACUUM
(free to renumber a table without an INTEGER PRIMARY KEY) leaves unchanged.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mira_core.dimensions import COLUMNS
from mira_core.storage.packed_slots import packed_default

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
    Column("overall_desc_key", Integer, nullable=False, server_default="-1",
           doc="Latest complete student overall, -1 without one (storage.overall_keys; migration 0016)."),
    Column("overall_asc_key", Integer, nullable=False, server_default="101",
           doc="Latest complete student overall, 101 without one (storage.overall_keys; migration 0016)."),
    Index(None, "source", "outcome"),
    Index(None, "instance_id"),
    Index(None, "token_estimate"),
    Index(None, "imported_at", "record_id"),
)

record_counts = Table(
    "record_counts",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("n", BigInteger, nullable=False, doc="Records of this source; kept by triggers on `records` (0020)."),
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

# ----------------------------------------------------------------------------- scoring (migration 0002)

"""One Float column per anchor slot (A1..A15), so aggregation reads numbers without parsing JSON."""

scores = Table(
    "scores",
    metadata,
    Column("score_id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(32), ForeignKey("records.record_id", ondelete="CASCADE"), nullable=False),
    Column("judge_kind", String(10), nullable=False, doc="'student' (scorer model) or 'teacher' (labels)."),
    Column("judge", String(300), nullable=False, doc="Model name as the endpoint reported it, or teacher name."),
    Column("job_id", String(32), doc="The scoring job that produced it (null for imported labels)."),
    Column("prompt_version", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("raw_output", Text, nullable=False, doc="Always stored, so `reparse` never calls the model again."),
    Column("complete", Boolean, nullable=False, doc="All 15 slots and the 4 summary fields valid."),
    Column("overall", Integer),
    Column("recommendation", String(20)),
    Column("domain_tag", Text),
    Column("brief", Text),
    Column("shortened", Boolean, nullable=False, doc="The record was shortened to fit the token budget."),
    Column("elided_tokens", Integer, nullable=False),
    Column("prompt_tokens", Integer, doc="Our count of the prompt (tokenizer near the budget, else estimate)."),
    Column("usage_prompt_tokens", Integer, doc="The endpoint's count (`usage.prompt_tokens`); null without usage."),
    Column("record_tokens", Integer,
           doc="The record's own tokens as the scorer measured them: usage minus the prompt's fixed part "
               "(system message, headers, answer template), plus what was elided; null without usage."),
    *[Column(col, Float) for col in COLUMNS],
    Column("slots_packed", LargeBinary, default=packed_default, doc="The 15 slots as big-endian float64s, NULL as "
           "NaN (storage.packed_slots), for whole-store loads; filled on INSERT, set by `with_packed` on UPDATE."),
    Column("parsed", Text, nullable=False, doc="JSON: rationales per slot and parse problems."),
    UniqueConstraint("job_id", "record_id"),
    Index(None, "record_id"),
    Index(None, "judge_kind", "record_id"),
)

score_jobs = Table(
    "score_jobs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False, doc="queued / running / paused / cancelled / done."),
    Column("pause_reason", String(40), doc="'user' or 'endpoint_down' (the worker resumes the latter itself)."),
    Column("resume_after", DateTime(timezone=True)),
    Column("label", Text, nullable=False),
    Column("filter_json", Text, nullable=False, doc="The RecordFilter at start (the selection is the items)."),
    Column("settings_json", Text, nullable=False, doc="ScorerSettings without the API key."),
    Column("total", Integer, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("last_event", Text, doc="Latest job-level note (endpoint down, resumed...)."),
    Column("runner", String(10), nullable=False, server_default="worker",
           doc="'worker' (the built-in workers run it) or 'ray' (`score --engine ray` runs it; workers leave it)."),
    Index(None, "status", "created_at"),
)

score_job_items = Table(
    "score_job_items",
    metadata,
    Column("job_id", String(32), ForeignKey("score_jobs.job_id", ondelete="CASCADE"), primary_key=True),
    Column("record_id", String(32), primary_key=True),
    Column("status", String(20), nullable=False, doc="pending/running/done/failed/too_long/incomplete."),
    Column("attempts", Integer, nullable=False),
    Column("claim_token", String(32), doc="Set when claimed; a result is stored only by its claimer."),
    Column("last_error", Text),
    Column("error_kind", String(40)),
    Column("last_output", Text, doc="Raw output of an incomplete answer, kept for inspection."),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "job_id", "status"),
    Index(None, "job_id", "updated_at"),
)

scoring_workers = Table(
    "scoring_workers",
    metadata,
    Column("name", String(40), primary_key=True, doc="'scoring': one live worker per database."),
    Column("token", String(32), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
    Column("endpoints_json", Text, nullable=True,
           doc="The worker's endpoints as it sees them (scoring.endpoints.EndpointStatus list; migration 0018)."),
)

# ----------------------------------------------------------------------------- reliability (migration 0003)

mask_versions = Table(
    "mask_versions",
    metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rules_json", Text, nullable=False, doc="MaskRules the rule cells came from ('{}' for an import)."),
    Column("note", Text, nullable=False),
    Column("active", Boolean, nullable=False, doc="Exactly one version is active once any exists."),
    Index(None, "active"),
)

mask_cells = Table(
    "mask_cells",
    metadata,
    Column("version_id", Integer, ForeignKey("mask_versions.version_id", ondelete="CASCADE"), primary_key=True),
    Column("source", String(100), primary_key=True, doc="A source name, or '*' for every source."),
    Column("slot", String(4), primary_key=True, doc="'A1'..'A15'."),
    Column("masked", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", String(10), nullable=False, doc="'rule', 'curator' or 'import'."),
)

spot_checks = Table(
    "spot_checks",
    metadata,
    Column("spot_check_id", String(32), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("slot", String(4), nullable=False),
    Column("size", Integer, nullable=False),
    Column("student_judge", String(300), doc="Student judge whose scores were shown (null: latest of any)."),
    Column("teacher", String(300), doc="Teacher whose labels were shown, if any."),
    Column("seed", Integer, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False, doc="'open' or 'done' (every item reviewed or skipped)."),
    Index(None, "source", "slot"),
)

spot_check_items = Table(
    "spot_check_items",
    metadata,
    Column("spot_check_id", String(32), ForeignKey("spot_checks.spot_check_id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("record_id", String(32), ForeignKey("records.record_id", ondelete="CASCADE"), nullable=False),
    Column("stratum", String(20), nullable=False, doc="'low'/'mid'/'high' student band, or 'gap'."),
    Column("student_score", Float, doc="Snapshot at sampling time, so agreement stays reproducible."),
    Column("teacher_score", Float),
    UniqueConstraint("spot_check_id", "record_id"),
    Index(None, "record_id"),
)

spot_check_answers = Table(
    "spot_check_answers",
    metadata,
    Column("answer_id", Integer, primary_key=True, autoincrement=True),
    Column("spot_check_id", String(32), nullable=False),
    Column("position", Integer, nullable=False),
    Column("reviewer", String(100), nullable=False),
    Column("revision", Integer, nullable=False, doc="1, 2, ... per reviewer and item: a changed answer is a new row."),
    Column("is_current", Boolean, nullable=False, doc="The reviewer's latest answer to the item (one per reviewer)."),
    Column("human_score", Integer, doc="0-10; null when skipped."),
    Column("skipped", Boolean, nullable=False),
    Column("note", Text, nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["spot_check_id", "position"],
                         ["spot_check_items.spot_check_id", "spot_check_items.position"], ondelete="CASCADE"),
    UniqueConstraint("spot_check_id", "position", "reviewer", "revision"),
    Index(None, "spot_check_id", "position", "is_current"),
    Index(None, "reviewer", "is_current"),
)

annotations_table = Table(
    "annotations",
    metadata,
    Column("record_id", String(32), ForeignKey("records.record_id", ondelete="CASCADE"), primary_key=True),
    Column("override", String(12), nullable=False, doc="'none', 'force_keep' or 'force_drop'."),
    Column("reason", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("version", Integer, nullable=False, doc="Optimistic lock: a save must name the version it read."),
    Column("updated_by", String(100), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "override"),
)

annotation_history = Table(
    "annotation_history",
    metadata,
    Column("history_id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(32), ForeignKey("records.record_id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", String(20), nullable=False, doc="'save', 'bulk_tag' or 'bulk_untag'."),
    Column("override", String(12), nullable=False),
    Column("reason", Text, nullable=False),
    Column("tags", Text, nullable=False, doc="JSON list: all tags after a save, the tag for bulk actions."),
    Column("note", Text, nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "record_id", "version"),
)

record_tags = Table(
    "record_tags",
    metadata,
    Column("record_id", String(32), ForeignKey("records.record_id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(100), primary_key=True),
    Index(None, "tag"),
)

# ----------------------------------------------------------------------------- selection (migration 0004)

policies = Table(
    "policies",
    metadata,
    Column("policy_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False),
    Column("mode", String(20), nullable=False, doc="'per_source' (one cut per source) or 'global' (MIRA-Global)."),
    Column("criterion", String(20), nullable=False, doc="mean / weighted / overall / recommendation."),
    Column("thresholds", Text, nullable=False, doc='JSON {"cuts": {source: {mode, value}}, "global_cut": ...}.'),
    Column("mask_version", Integer, doc="Mask version the cells were frozen from (informative)."),
    Column("mask_cells", Text, nullable=False, doc="JSON {source or '*': [slots]}: the frozen mask."),
    Column("scorer_rule", Text, nullable=False, doc="JSON ScorerRule: which student score counts."),
    Column("budget_tokens", BigInteger),
    Column("budget_rule", String(20)),
    Column("weights", Text, nullable=False, doc="JSON {downsample_weight, downsample_recommendations}."),
    Column("note", Text, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, doc="Last save; the export manifest's time."),
    UniqueConstraint("name"),
)

# ----------------------------------------------------------------------------- Browse indexes (migration 0005)

# Filtered + sorted Browse pages (source chosen, sorted by tokens or import time) read in index order.
Index("ix_records_source_token_estimate_record_id", records.c.source, records.c.token_estimate, records.c.record_id)
Index("ix_records_source_imported_at_record_id", records.c.source, records.c.imported_at, records.c.record_id)
# "The record's latest complete student score" is one index seek (Browse score filters and sort, selection).
Index("ix_scores_record_id_judge_kind_complete_created_at_score_id",
      scores.c.record_id, scores.c.judge_kind, scores.c.complete, scores.c.created_at, scores.c.score_id)

# The selection load from this index alone (migration 0021): the same key, then every column it reads, so
# it never visits the wide score rows (raw outputs, parsed JSON) one by one.
Index("ix_scores_chosen_covering", *[scores.c[c] for c in (
    "record_id", "judge_kind", "complete", "created_at", "score_id", "judge", "prompt_version", "overall",
    "recommendation", "record_tokens", "slots_packed")])

# The selection load reads records from this index alone, in record-id order (0022; not every wide row).
Index("ix_records_selection_covering",
      *[records.c[c] for c in ("record_id", "source", "outcome", "token_estimate", "instance_id")])

# The distinct student models, prompt versions and teachers (the pages' choices) from the index alone
# (migration 0019): without it each list scanned every score row.
Index("ix_scores_judge_kind_judge_prompt_version", scores.c.judge_kind, scores.c.judge, scores.c.prompt_version)

# Browse sorted or bounded by the latest student score (storage.overall_keys, migration 0016).
Index("ix_records_overall_desc_key_record_id", records.c.overall_desc_key, records.c.record_id)
Index("ix_records_overall_asc_key_record_id", records.c.overall_asc_key, records.c.record_id)
# A source + outcome filter with a score bound, counted and sorted by score within the index (1.4 s -> see
# docs/BENCHMARKS.md, "bench scale"): without it each of the source's resolved rows was read for its key.
Index("ix_records_source_outcome_overall_desc_key_record_id", records.c.source, records.c.outcome,
      records.c.overall_desc_key, records.c.record_id)

# ----------------------------------------------------------------------------- revisions (migration 0006)

# Counters bumped by changes made in place (e.g. `reparse` rewriting parsed score columns), which counts
# and max ids cannot see; pages key their cached arrays on them.
revisions = Table(
    "revisions",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(320), primary_key=True, doc="Verified email (lower case) or the provider's sub."),
    Column("role", String(10), nullable=False, doc="viewer / curator / admin."),
    Column("added_by", String(340), nullable=False, doc="Who added the person (an Actor label)."),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(340), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

activity = Table(
    "activity",
    metadata,
    Column("activity_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(320), nullable=False, doc="The person's id (users.user_id or the CLI operator)."),
    Column("via", String(10), nullable=False, doc="'web' (signed in) or 'cli' (the operator's command line)."),
    Column("kind", String(40), nullable=False, doc="What happened, e.g. user.add, annotation.save, mask.activate."),
    Column("target_kind", String(20), nullable=False, doc="record / user / mask / policy / job / settings / ..."),
    Column("target_id", String(200), doc="The changed thing's id, when it has one."),
    Column("record_id", String(64), doc="The record concerned, for per-record history."),
    Column("detail", Text, nullable=False, doc="JSON: what changed (old and new values where they fit)."),
    Index(None, "at"),
    Index(None, "actor", "at"),
    Index(None, "record_id", "at"),
    Index(None, "kind", "at"),
)

