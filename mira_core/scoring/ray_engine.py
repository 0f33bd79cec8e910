"""Score a frozen job on a Ray cluster with Ray Data's LLM batch API, for corpora that outgrow one machine.

The driver (this process) does what needs the database: it claims items in chunks, builds the prompts with
the same `PromptBuilder` as the built-in worker (same prompt version), and stores each result with the same
storage call, idempotent by (job, record). Ray does the rest: `ray.data.llm.build_processor` with an
`HttpRequestProcessorConfig` per vLLM replica sends the requests from the cluster's workers (each chunk's rows
dealt round-robin over the replicas that answered `/v1/models` at the start; one that stops answering fails
its share, which goes back to pending), or a `vLLMEngineProcessorConfig` hosts the model on the cluster's
GPUs; the postprocess step turns
each response into the same `CallResult` the worker's client returns, parsed by the same parser.

A run that dies half-way leaves its claimed items running under its token; the next run of the job takes
them back first, and items already stored are never sent again. `ray` is an optional extra
(`pip install -e '.[ray]'`); it is imported only here, when a Ray run starts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.chat import ChatCompletion

from mira_core.errors import ConfigError, NotFoundError
from mira_core.identity import Actor, Role, require
from mira_core.scoring.client import _CONTEXT, CallResult, TokenCounter, call_result, probe_endpoints
from mira_core.scoring.endpoint_trust import keyed_settings
from mira_core.scoring.item_outcome import record_outcome
from mira_core.scoring.jobs import Job, job_settings
from mira_core.scoring.parse import parse_scorer_output
from mira_core.scoring.prompt import Prompt, PromptBuilder
from mira_core.scoring.prompt_template import load_template
from mira_core.scoring.request import chat_request
from mira_core.scoring.rubric import load_calibration, load_rubric
from mira_core.scoring.settings import ScorerSettings, load_scorer_settings
from mira_core.settings import Settings
from mira_core.storage import Engine, jobs_repo, read_conn, records_repo, scores_repo, write_tx
from mira_core.team import record_change

RESULT_FIELDS = ("status", "text", "finish_reason", "model", "error_kind", "error", "prompt_tokens")


@dataclass(frozen=True)
class RayOptions:
    """How a Ray run is shaped; the defaults suit one machine, a cluster raises `concurrency`."""

    address: str | None = None
    """`ray.init` address ('auto', 'ray://head:10001'); None starts a local instance."""
    concurrency: int = 2
    """Request actors: each sends its batch's requests one after another, so this is the requests in flight."""
    cpus_per_actor: float = 0.25
    """CPU Ray reserves per request actor: they mostly wait on the endpoint, so several share a core."""
    batch_size: int = 8
    """Rows per request batch."""
    chunk: int = 1000
    """Items claimed, prompted and stored per round: bounds the driver's memory (prompts are up to ~250 KB),
    and each round starts Ray's request actors anew, so rounds should be long."""
    gpu_engine: bool = False
    """Host the model on the cluster's GPUs (vLLMEngineProcessorConfig) instead of calling the endpoint."""
    tensor_parallel_size: int = 1


@dataclass
class RaySummary:
    """What one Ray run did."""

    job_id: str
    sent: int = 0
    stored: int = 0
    retried: int = 0
    failed: int = 0
    status: str = "running"


ProgressFn = Callable[[RaySummary], None]


def _payload(row: dict[str, Any], scorer: Mapping[str, Any]) -> dict[str, Any]:
    """Preprocess: the chat request body, exactly what the built-in worker's client sends."""
    return {**row, "payload": chat_request(ScorerSettings.model_validate(scorer), row["system"], row["user"])}


def result_from_body(body: Mapping[str, Any] | None) -> CallResult:
    """A response body (a completion, or an OpenAI-style error object) as the worker's `CallResult`."""
    if not body:
        return CallResult("failed", error_kind="empty", error="no response body")
    if body.get("choices") is not None:
        return call_result(ChatCompletion.model_validate(body), simulated=False, attempts=1)
    nested = body.get("error")
    inner: Mapping[str, Any] = nested if isinstance(nested, dict) else body
    message = str(inner.get("message") or body)
    raw_code = str(inner.get("code") or "0")
    code = int(raw_code) if raw_code.isdigit() else 0
    if code == 400 and _CONTEXT.search(message):
        return CallResult("too_long", attempts=1, error_kind="too_long", error=message)
    if code >= 500:
        return CallResult("failed", attempts=1, error_kind="http_5xx", error=f"HTTP {code}: {message}")
    return CallResult("failed", attempts=1, error_kind="bad_request" if code == 400 else f"http_{code}",
                      error=message)


def result_from_inference_error(error: str) -> CallResult:
    """A request Ray gave up on after its retries, classified like the worker's client errors."""
    if "Timeout" in error:
        kind = "timeout"
    elif "429" in error or "Too Many Requests" in error:
        kind = "http_429"
    elif "Connect" in error or "Disconnect" in error or "Payload" in error:
        kind = "connection"
    else:
        kind = "http_5xx"
    return CallResult("failed", attempts=1, error_kind=kind, error=error.splitlines()[0][:500])


def _postprocess(row: dict[str, Any]) -> dict[str, Any]:
    """Postprocess: the call's result and whether the parser found every dimension (the worker's parser)."""
    result = result_from_body(row.get("http_response"))
    complete = result.status == "ok" and parse_scorer_output(result.text or "").complete
    return {"record_id": row["record_id"], "attempt": row["attempt"], "complete": complete,
            "result": json.dumps({f: getattr(result, f) for f in RESULT_FIELDS})}


class RayJobRun:
    """One Ray run of one job: claim, prompt, send through Ray Data, store; until nothing is pending."""

    def __init__(self, engine: Engine, job: Job, scorer: ScorerSettings, prompts: PromptBuilder,
                 options: RayOptions, progress: ProgressFn | None = None, *,
                 keys: Mapping[str, str] | None = None, urls: Sequence[str] | None = None):
        """`urls`: the endpoints to send to (default: all of the job's).

        `keys`: the API key per Base URL (None: `scorer.api_key` to every one).
        """
        self.engine, self.job, self.scorer, self.prompts = engine, job, scorer, prompts
        self.options, self.progress = options, progress or (lambda s: None)
        self.urls = list(urls or scorer.endpoints)
        self.keys = {u: scorer.api_key if keys is None else keys.get(u, "") for u in self.urls}
        self.token = f"ray-{uuid.uuid4().hex[:27]}"
        self.summary = RaySummary(job.job_id)

    def run(self) -> RaySummary:
        """Score every pending item; a paused or cancelled job stops the run after the current chunk."""
        with write_tx(self.engine) as conn:
            scores_repo.reset_running(conn, job_id=self.job.job_id)  # a dead earlier run's claims
            jobs_repo.set_job_status(conn, self.job.job_id, "running", from_statuses=("queued", "running", "paused"),
                                       event=f"running on Ray against {', '.join(self.urls)}")
        processors = self._processors()
        while self._status() == "running":
            claimed = self._claim()
            if not claimed:
                break
            rows = list(self._rows(claimed))
            self.summary.sent += len(rows)
            if rows:
                self._store_all(processors, rows)
            self.progress(self.summary)
        self.summary.status = self._finish()
        return self.summary

    def _status(self) -> str:
        with read_conn(self.engine) as conn:
            row = jobs_repo.get_job(conn, self.job.job_id)
        return "cancelled" if row is None else str(row["status"])

    def _claim(self) -> list[tuple[str, int]]:
        with write_tx(self.engine) as conn:
            return scores_repo.claim_items(conn, self.job.job_id, self.options.chunk, self.token)

    def _rows(self, claimed: list[tuple[str, int]]) -> Iterator[dict[str, Any]]:
        """Prompt rows for Ray; a record that is gone or cannot be prompted is finished as failed here."""
        self._prompts: dict[str, Prompt] = {}
        for record_id, attempt in claimed:
            try:
                with read_conn(self.engine) as conn:
                    record = records_repo.get_record(conn, record_id)
                prompt = self.prompts.build(record)
            except NotFoundError as exc:
                self._fail_unprompted(record_id, "missing_record", str(exc))
                continue
            except Exception as exc:
                self._fail_unprompted(record_id, "prompt_error", f"{type(exc).__name__}: {exc}")
                continue
            self._prompts[record_id] = prompt
            yield {"record_id": record_id, "attempt": attempt, "system": prompt.system, "user": prompt.user}

    def _processors(self) -> Sequence[Callable[[Any], Any]]:
        """One request processor per endpoint (each with its own actors and key), or the GPU engine."""
        from ray.data.llm import HttpRequestProcessorConfig, build_processor

        o, s = self.options, self.scorer
        if o.gpu_engine:
            return [_gpu_processor(s, o)]
        scorer = s.model_dump(mode="json")  # api_key is excluded: it travels in the headers only
        out = []
        for url in self.urls:
            key = self.keys[url]
            config = HttpRequestProcessorConfig(
                url=url.rstrip("/") + "/chat/completions", headers={"Authorization": f"Bearer {key}"} if key else None,
                batch_size=o.batch_size, concurrency=o.concurrency, max_retries=s.max_retries,
                base_retry_wait_time_in_s=s.backoff_base, http_request_stage={"num_cpus": o.cpus_per_actor})
            out.append(build_processor(config, preprocess=lambda row: _payload(row, scorer), postprocess=_postprocess))
        return out

    def _dataset(self, processors: Sequence[Callable[[Any], Any]], rows: list[dict[str, Any]]) -> Any:
        """The chunk's rows dealt round-robin over the endpoints' processors, as one dataset of results.

        Each share is split into blocks of about one batch, so every request actor gets work (one block goes
        to one actor).
        """
        import ray.data

        parts = []
        for i, processor in enumerate(processors):
            share = rows[i::len(processors)]
            if share:
                blocks = max(1, min(-(-len(share) // self.options.batch_size), self.options.concurrency * 4))
                parts.append(processor(ray.data.from_items(share, override_num_blocks=blocks)))
        return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]

    def _store_all(self, processors: Sequence[Callable[[Any], Any]], rows: list[dict[str, Any]]) -> None:
        """Send one chunk through Ray and store each result as it arrives.

        Ray gives up on a whole chunk when one request fails past its retries (connection refused, 429s): the
        results already received are kept, and the rest go back to pending with the error, one attempt used.
        """
        seen: set[str] = set()
        failure: CallResult | None = None
        try:
            for row in self._dataset(processors, rows).iter_rows():
                record_id = str(row["record_id"])
                seen.add(record_id)
                error = row.get("__inference_error__") or ""
                result = (result_from_inference_error(str(error)) if error
                          else CallResult(**json.loads(str(row["result"])), attempts=1))
                self._store(record_id, int(row["attempt"]), result)
        except Exception as exc:  # Ray wraps the request stage's RuntimeError in its own error types
            failure = result_from_inference_error(f"{type(exc).__name__}: {exc}")
        for row in rows:
            if row["record_id"] not in seen:
                self._store(row["record_id"], int(row["attempt"]), failure or CallResult(
                    "failed", error_kind="connection", error="Ray returned no result for this record"))

    def _store(self, record_id: str, attempt: int, result: CallResult) -> None:
        action = record_outcome(self.engine, job_id=self.job.job_id, token=self.token, record_id=record_id,
                                attempt=attempt, prompt=self._prompts[record_id], result=result,
                                settings=self.scorer, names=self.prompts.names, endpoint_down=False)
        if action == "store":
            self.summary.stored += 1
        elif action == "fail":
            self.summary.failed += 1
        elif action != "keep_output":
            self.summary.retried += 1

    def _fail_unprompted(self, record_id: str, kind: str, error: str) -> None:
        """An item that never got a prompt (record gone, prompt error) ends failed with the reason."""
        with write_tx(self.engine) as conn:
            scores_repo.finish_item(conn, self.job.job_id, record_id, self.token, status="failed",
                                    error_kind=kind, last_error=error)
        self.summary.failed += 1

    def _finish(self) -> str:
        """Hand back what is still claimed; mark the job done when every item has a final state."""
        with write_tx(self.engine) as conn:
            scores_repo.reset_running(conn, token=self.token)
            counts = scores_repo.item_counts(conn, self.job.job_id)
            status = str((jobs_repo.get_job(conn, self.job.job_id) or {"status": "cancelled"})["status"])
            if status == "running" and counts["pending"] == 0 and counts["running"] == 0:
                jobs_repo.set_job_status(conn, self.job.job_id, "done", from_statuses=("running",),
                                           event=f"done on Ray: {self.summary.stored} stored, "
                                                 f"{self.summary.failed} failed")
                status = "done"
        return status


def _gpu_processor(s: ScorerSettings, o: RayOptions) -> Callable[[Any], Any]:
    """A processor that hosts the student model on the cluster's GPUs with vLLM (needs `ray[llm]` there)."""
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    config = vLLMEngineProcessorConfig(
        model_source=s.model, batch_size=o.batch_size, concurrency=o.concurrency,
        engine_kwargs={"max_model_len": s.max_model_len, "tensor_parallel_size": o.tensor_parallel_size})
    sampling = {"temperature": s.temperature, "top_p": s.top_p, "max_tokens": s.max_tokens}

    def pre(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "messages": [{"role": "system", "content": row["system"]},
                                    {"role": "user", "content": row["user"]}], "sampling_params": sampling}

    def post(row: dict[str, Any]) -> dict[str, Any]:
        body = {"id": "ray-vllm", "object": "chat.completion", "created": 0, "model": s.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": row.get("generated_text", "")},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": int(row.get("num_input_tokens") or 0), "completion_tokens": 0,
                          "total_tokens": int(row.get("num_input_tokens") or 0)}}
        return _postprocess({**row, "http_response": body})

    return build_processor(config, preprocess=pre, postprocess=post)


def check_ray_installed() -> None:
    """Raise a ConfigError saying how to install the extra when `ray` is missing."""
    try:
        import ray.data.llm  # noqa: F401
    except ImportError as exc:
        raise ConfigError("--engine ray needs the ray extra: pip install -e '.[ray]' "
                          f"(ray[data] with aiohttp); {exc}") from exc


def run_job_on_ray(engine: Engine, job: Job, scorer: ScorerSettings, prompts: PromptBuilder, *,
                   options: RayOptions | None = None, progress: ProgressFn | None = None,
                   keys: Mapping[str, str] | None = None, urls: Sequence[str] | None = None) -> RaySummary:
    """Run `job` on Ray (connecting to `options.address`, or a local instance when Ray is not started yet).

    `scorer` is the job's frozen settings; `keys` the API key the caller decided to send to each Base URL
    (None: `scorer.api_key` to all), `urls` the endpoints that answered (None: all of the job's).
    """
    check_ray_installed()
    import ray

    options = options or RayOptions()
    if not ray.is_initialized():
        ray.init(address=options.address, include_dashboard=False, log_to_driver=False)
    return RayJobRun(engine, job, scorer, prompts, options, progress, keys=keys, urls=urls).run()


def run_stored_job_on_ray(engine: Engine, settings: Settings, job_id: str, *, actor: Actor, api_key: str,
                          options: RayOptions | None = None, progress: ProgressFn | None = None) -> RaySummary:
    """Run a stored Ray job: its frozen settings, the key only for a trusted Base URL, prompts as the worker's.

    Needs the curator role (running a job, like resuming one; logged as `job.run_ray`). Raises NotFoundError
    for an unknown job, ConfigError for a job the built-in workers run or an endpoint that does not answer
    `/v1/models` (nothing is claimed then).
    """
    require(actor, Role.curator, "running scoring jobs")
    with read_conn(engine) as conn:
        row = jobs_repo.get_job(conn, job_id)
    if row is None:
        raise NotFoundError(f"job {job_id} not found: `mira-curator jobs` lists them")
    job = Job.from_row(row)
    if job.runner != "ray":
        raise ConfigError(f"job {job_id} is run by the built-in workers; start a new job with --engine ray")
    scorer, keys, _ = keyed_settings(job_settings(job, ""), job.settings_json, load_scorer_settings().endpoints,
                                     api_key)
    infos = probe_endpoints(scorer, timeout=10.0, keys=keys)
    answering = [url for url, i in infos.items() if i is not None]
    if not answering:
        raise ConfigError(f"no scorer endpoint ({', '.join(infos)}) answered /v1/models; job {job_id} stays "
                          "queued — start an endpoint, then run the same command again")
    info = infos[answering[0]]
    assert info is not None
    mml = min(scorer.max_model_len, info.max_model_len or scorer.max_model_len)
    prompts = PromptBuilder(load_rubric(settings.anchors_path), load_calibration(settings.calibration_path),
                            max_model_len=mml, max_tokens=scorer.max_tokens, count_tokens=TokenCounter(scorer),
                            template=load_template(settings.prompt_template))
    with write_tx(engine) as conn:
        record_change(conn, actor, "job.run_ray", target_kind="job", target_id=job_id,
                      address=(options.address if options else None) or "local")
    return run_job_on_ray(engine, job, scorer, prompts, options=options, progress=progress, keys=keys, urls=answering)
