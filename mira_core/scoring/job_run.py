"""One job run's claimed items, from claim to stored result: build the prompt, call the scorer, record the outcome.

Each outcome is committed together with the item's final state, in a batch with the results that arrived
while the previous batch committed (`result_batches`); an item counts as finished only once that commit is
done, so a kill at any moment loses at most the calls in flight. `worker.Worker` decides how many items to
claim and when to stop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

from mira_core.errors import NotFoundError
from mira_core.records import Record
from mira_core.scoring.client import CallResult, ScorerClient
from mira_core.scoring.item_outcome import apply_outcome, record_outcome
from mira_core.scoring.jobs import Job
from mira_core.scoring.prompt import Prompt, PromptBuilder
from mira_core.scoring.result_batches import ResultBatches
from mira_core.scoring.score_rows import ResultAction
from mira_core.scoring.too_long_retry import retry_too_long
from mira_core.storage import Engine, read_conn, records_repo, scores_repo, write_tx

logger = logging.getLogger(__name__)


@dataclass
class JobRun:
    """One run of a job: what it scores with, and whether the endpoint went down meanwhile."""

    engine: Engine
    job: Job
    token: str
    """The worker's lock token: only the claimer of an item may finish it."""
    client: ScorerClient
    prompts: PromptBuilder
    read_lock: threading.Lock
    """records_repo shares one zstd decompressor, which is not thread-safe: one reader at a time."""
    note: str = ""
    """Appended to the job's events of this run (e.g. that the API key was withheld, and why)."""
    endpoint_down: bool = False
    errors: list[str] = field(default_factory=list)
    """Errors of this run, latest last (the last one is the reason an endpoint_down pause gives)."""
    results: ResultBatches[Outcome, ResultAction] = field(init=False)

    def __post_init__(self) -> None:
        self.results = ResultBatches(self._store_many, self._store_one)

    def claim(self, n: int) -> list[tuple[str, int]]:
        """Claim up to `n` pending items: (record_id, attempt)."""
        with write_tx(self.engine) as conn:
            return scores_repo.claim_items(conn, self.job.job_id, n, self.token)

    async def score(self, record_id: str, attempt: int) -> None:
        """Score one claimed item; an unexpected error leaves it claimed (pending again when the run ends)."""
        try:
            await self._score_one(record_id, attempt)
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            logger.warning("record %s: %s: %s", record_id, type(exc).__name__, exc)

    async def _score_one(self, record_id: str, attempt: int) -> None:
        try:
            prompt = await asyncio.to_thread(self._prepare, record_id)
        except NotFoundError as exc:
            await asyncio.to_thread(self._finish, record_id, "failed", "missing_record", str(exc))
            return
        except Exception as exc:
            await asyncio.to_thread(self._finish, record_id, "failed", "prompt_error",
                                    f"{type(exc).__name__}: {exc}")
            return
        result = await self.client.complete(prompt.system, prompt.user)
        prompt, result = await retry_too_long(self.client, self.prompts, prompt, result, lambda: self._read(record_id))
        action = await self.results.store(Outcome(record_id, attempt, prompt, result, self.client.down))
        if action == "endpoint_down":  # the job pauses after this run
            self.endpoint_down = True
            self.errors.append(f"{result.error_kind}: {result.error}")

    async def flush(self) -> None:
        """Wait until every result handed over is committed (before the run hands unfinished items back)."""
        await self.results.flush()

    def _prepare(self, record_id: str) -> Prompt:
        return self.prompts.build(self._read(record_id))

    def _read(self, record_id: str) -> Record:
        with self.read_lock, read_conn(self.engine) as conn:
            return records_repo.get_record(conn, record_id)

    def _finish(self, record_id: str, status: str, kind: str | None, error: str | None,
                output: str | None = None, score: scores_repo.NewScore | None = None) -> None:
        with write_tx(self.engine) as conn:
            scores_repo.finish_item(conn, self.job.job_id, record_id, self.token, status=status, error_kind=kind,
                                    last_error=error, last_output=output, score=score)

    def _store_many(self, outcomes: list[Outcome]) -> list[ResultAction]:
        with write_tx(self.engine) as conn:
            return [apply_outcome(conn, **self._outcome_args(o)) for o in outcomes]

    def _store_one(self, o: Outcome) -> ResultAction:
        return record_outcome(self.engine, **self._outcome_args(o))

    def _outcome_args(self, o: Outcome) -> dict:
        return {"job_id": self.job.job_id, "token": self.token, "record_id": o.record_id, "attempt": o.attempt,
                "prompt": o.prompt, "result": o.result, "settings": self.client.settings,
                "names": self.prompts.names, "endpoint_down": o.endpoint_down}


@dataclass(frozen=True)
class Outcome:
    """One call's result waiting to be stored."""

    record_id: str
    attempt: int
    prompt: Prompt
    result: CallResult
    endpoint_down: bool
    """The client's view when the result came back: transient errors then hand the item back unused."""
