"""What a claimed item becomes after its call, written in one transaction: the one rule for workers and Ray runs.

`score_rows.result_action` classifies the call's result (pure); this module applies it: a score (done, or
partial when dimensions are missing), a finished item keeping the raw output, a failure, or the item handed
back to pending. Only the claimer (`token`) may finish an item, so a run that lost its claim writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from mira_core.scoring.client import CallResult
from mira_core.scoring.prompt import Prompt
from mira_core.scoring.score_rows import ResultAction, new_score, partial_note, result_action
from mira_core.scoring.settings import ScorerSettings
from mira_core.storage import Connection, Engine, scores_repo, write_tx


def record_outcome(engine: Engine, *, job_id: str, token: str, record_id: str, attempt: int, prompt: Prompt,
                   result: CallResult, settings: ScorerSettings, names: Mapping[str, str],
                   endpoint_down: bool) -> ResultAction:
    """Store one call's outcome for a claimed item in a transaction of its own (see `apply_outcome`)."""
    with write_tx(engine) as conn:
        return apply_outcome(conn, job_id=job_id, token=token, record_id=record_id, attempt=attempt, prompt=prompt,
                             result=result, settings=settings, names=names, endpoint_down=endpoint_down)


def apply_outcome(conn: Connection, *, job_id: str, token: str, record_id: str, attempt: int, prompt: Prompt,
                  result: CallResult, settings: ScorerSettings, names: Mapping[str, str],
                  endpoint_down: bool) -> ResultAction:
    """Write one call's outcome for a claimed item on `conn`; returns what was done (`score_rows.ResultAction`)."""
    action = result_action(result, attempt=attempt, max_attempts=settings.max_item_attempts,
                           endpoint_down=endpoint_down)
    if action == "store":
        score = new_score(record_id, job_id, prompt, result, settings.model, names=names)
        partial = not score.complete  # stored, but counted apart: dimensions missing or invalid (re-queueable)
        scores_repo.finish_item(conn, job_id, record_id, token, status="partial" if partial else "done",
                                error_kind="partial" if partial else None,
                                last_error=partial_note(score) if partial else None, score=score)
    elif action in ("keep_output", "fail"):
        scores_repo.finish_item(conn, job_id, record_id, token,
                                status=result.status if action == "keep_output" else "failed",
                                error_kind=result.error_kind, last_error=result.error,
                                last_output=result.text if action == "keep_output" else None)
    else:  # back to pending: the endpoint is down, asked us to slow down, or for another attempt
        unsent = result.error_kind == "yielded"  # not an error: the slots went to another job
        scores_repo.release_item(conn, job_id, record_id, token,
                                 error_kind=None if unsent else result.error_kind,
                                 last_error=None if unsent else result.error, count_attempt=action == "retry")
    return action
