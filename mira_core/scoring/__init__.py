"""Scoring against the MIRA-Agent-Group4 scorer.

Rubric, prompt, token budget and output parser (the pure core), and around them the client, jobs and worker.
This face also holds what pages use to drive scoring: settings (the admin's checked save, which fields the
environment overrides), the endpoint probe, where the API key may go (`endpoint_trust`), job control (each
write takes the acting person) and the worker. Importing it loads the client and worker modules; the spawned
worker (`worker_main`) loads them anyway, and `worker_main` itself is left out so
`python -m mira_core.scoring.worker_main` runs it fresh.
"""

from mira_core.scoring.budget import estimate_tokens, shorten_record_text
from mira_core.scoring.client import ModelInfo, probe_endpoint, probe_endpoints
from mira_core.scoring.endpoint_trust import (
    ConnectionCheck,
    check_connection,
    confirm_job_endpoint,
    same_endpoint,
)
from mira_core.scoring.jobs import (
    JobError,
    JobProgress,
    cancel_job,
    new_job_id,
    pause_job,
    requeue_failed,
    requeue_partial,
    resume_job,
    start_job,
)
from mira_core.scoring.parse import DimScore, ParsedScore, Problem, parse_scorer_output, render_scorer_output
from mira_core.scoring.prompt import Prompt, build_prompt, prompt_version
from mira_core.scoring.rubric import CalibrationRef, Rubric, load_calibration, load_rubric
from mira_core.scoring.settings import (
    ScorerSettings,
    api_key_source,
    checked_settings,
    config_path,
    env_overrides,
    load_scorer_settings,
)
from mira_core.scoring.settings_save import SavedSettings, save_scorer_settings
from mira_core.scoring.worker_lock import WorkerState
from mira_core.scoring.worker_process import ensure_worker, worker_for_open_jobs, worker_log_path

__all__ = [
    "CalibrationRef",
    "ConnectionCheck",
    "DimScore",
    "JobError",
    "JobProgress",
    "ModelInfo",
    "ParsedScore",
    "Problem",
    "Prompt",
    "Rubric",
    "SavedSettings",
    "ScorerSettings",
    "WorkerState",
    "api_key_source",
    "build_prompt",
    "cancel_job",
    "check_connection",
    "checked_settings",
    "config_path",
    "confirm_job_endpoint",
    "ensure_worker",
    "env_overrides",
    "estimate_tokens",
    "load_calibration",
    "load_rubric",
    "load_scorer_settings",
    "new_job_id",
    "parse_scorer_output",
    "pause_job",
    "probe_endpoint",
    "probe_endpoints",
    "prompt_version",
    "render_scorer_output",
    "requeue_failed",
    "requeue_partial",
    "resume_job",
    "same_endpoint",
    "save_scorer_settings",
    "shorten_record_text",
    "start_job",
    "worker_for_open_jobs",
    "worker_log_path",
]
