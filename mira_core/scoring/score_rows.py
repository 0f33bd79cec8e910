"""What the worker does with one call's result: which errors are worth another attempt, and the score row.

Pure functions over the call result and the prompt; the worker does the writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from mira_core.dimensions import COLUMNS, SLOTS
from mira_core.scoring.client import CallResult
from mira_core.scoring.parse import parse_scorer_output
from mira_core.scoring.prompt import Prompt
from mira_core.scoring.results import parsed_columns
from mira_core.scoring.simulator import SIMULATED_SUFFIX
from mira_core.storage import scores_repo

TRANSIENT = ("http_5xx", "timeout", "connection")
"""Error kinds that another attempt may cure (the client has already retried them)."""

ResultAction = Literal["store", "keep_output", "endpoint_down", "wait", "retry", "fail"]
"""What happens to an item after its call: store the score; finish it as `incomplete`/`too_long` keeping the
raw output; hand it back and pause the job (the endpoint is down); hand it back without using an attempt (the
endpoint asked us to slow down); hand it back for another attempt; finish it as `failed`."""


def result_action(result: CallResult, *, attempt: int, max_attempts: int, endpoint_down: bool) -> ResultAction:
    """Classify a call's result; `endpoint_down` is the client's view that the endpoint stopped answering.

    A transient error while the endpoint is down does not count as an attempt (the item waits with the job),
    and neither do 429s: an endpoint that keeps asking for patience slows the job down, it never fails items.
    """
    if result.status == "ok":
        return "store"
    if result.status in ("incomplete", "too_long"):
        return "keep_output"
    if result.status == "endpoint_down" or (result.error_kind in TRANSIENT and endpoint_down):
        return "endpoint_down"
    if result.error_kind in ("http_429", "yielded"):
        return "wait"
    if result.error_kind in TRANSIENT and attempt < max_attempts:
        return "retry"
    return "fail"


def new_score(record_id: str, job_id: str, prompt: Prompt, result: CallResult,
              fallback_model: str, names: Mapping[str, str] | None = None) -> scores_repo.NewScore:
    """The score row for a successful call: parse the output, keep the raw text, label simulated judges.

    `names` ({slot: name}, the prompt's) are what the parser checks each slot line's name against.
    """
    text = result.text or ""
    cols = parsed_columns(parse_scorer_output(text, names=names))
    judge = result.model or fallback_model
    if result.simulated and not judge.endswith(SIMULATED_SUFFIX):
        judge += SIMULATED_SUFFIX
    slots = {slot: cols.pop(col) for slot, col in zip(SLOTS, COLUMNS, strict=True)}
    return scores_repo.NewScore(
        record_id=record_id, judge_kind="student", judge=judge, job_id=job_id,
        prompt_version=prompt.prompt_version, raw_output=text, complete=cols["complete"],
        overall=cols["overall"], recommendation=cols["recommendation"], domain_tag=cols["domain_tag"],
        brief=cols["brief"], shortened=prompt.shortened, elided_tokens=prompt.elided_tokens,
        prompt_tokens=prompt.prompt_tokens, usage_prompt_tokens=result.prompt_tokens,
        record_tokens=prompt.record_tokens(result.prompt_tokens), parsed_json=cols["parsed"], slots=slots,
    )


def partial_note(score: scores_repo.NewScore) -> str:
    """What a partial score lacks, for the item's last error: the slots without a valid number, and the rest."""
    missing = [slot for slot, value in score.slots.items() if value is None]
    summary = [name for name, value in (("overall", score.overall), ("recommendation", score.recommendation))
               if value is None]
    parts = ([f"{len(missing)} dimensions missing or invalid ({', '.join(missing)})"] if missing else []) + [
        f"{name} missing or invalid" for name in summary]
    return "; ".join(parts) or "parse problems (see the score's problems)"
