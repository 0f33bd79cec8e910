"""Scoring commands: score, jobs, job (pause/resume/cancel/requeue/confirm-endpoint), worker, reparse, simulate-scorer.

`jobs` and `job` also start a worker when a job is open (queued, running, or paused for an outage) and none is
alive, so a worker that died never strands work past the next look.

Changes are made as the operator (`args.actor`: admin, named by `--as` or the local user).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from pydantic import ValidationError

from mira_core.cli.progress import ProgressBar
from mira_core.cli.store_cmds import open_engine
from mira_core.dimensions import slot_names
from mira_core.errors import ConfigError
from mira_core.query import RecordFilter
from mira_core.scoring import jobs
from mira_core.scoring.endpoints import EndpointStatus
from mira_core.scoring.ray_engine import RayOptions, RaySummary, check_ray_installed, run_stored_job_on_ray
from mira_core.scoring.settings import api_key_source, load_scorer_settings
from mira_core.settings import Settings
from mira_core.storage import Engine


def register(sub: argparse._SubParsersAction) -> None:
    """Add the scoring commands."""
    _register_score(sub)
    p = sub.add_parser("jobs", help="list scoring jobs with their progress")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("job", help="control a scoring job")
    p.add_argument("action", choices=["pause", "resume", "cancel", "requeue-failed", "requeue-partial",
                                      "confirm-endpoint", "show", "run-ray"],
                   help="requeue-partial: score again the items whose answer missed dimensions; "
                        "confirm-endpoint (admin): let the worker send the API key to this job's Base URL; "
                        "run-ray: run (or continue) a job started with --engine ray, here")
    p.add_argument("job_id")
    p.add_argument("--ray-address", default=None, help="run-ray: Ray cluster address (default: a local Ray)")
    p.add_argument("--ray-concurrency", type=_positive, default=2, help="run-ray: Ray request actors")
    _gpu_arguments(p)
    p.add_argument("--include-too-long", action="store_true", help="requeue-failed: also too_long items")
    p.set_defaults(func=cmd_job)

    p = sub.add_parser("worker", help="run the scoring worker (serves queued jobs until stopped)")
    p.add_argument("--idle-exit", type=float, default=None, help="exit after this many idle seconds")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between looks for work")
    p.add_argument("--nice", type=int, default=0, choices=range(20), metavar="0-19",
                   help="run below an app on this machine by this much niceness (the app's own worker: 10)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("reparse", help="re-apply the parser to every stored raw output (no model calls)")
    p.add_argument("--batch", type=int, default=500)
    p.set_defaults(func=cmd_reparse)

    p = sub.add_parser("simulate-scorer", help="serve a SIMULATED OpenAI-compatible scorer (no model)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--latency", type=float, default=0.5, help="seconds per completion")
    p.add_argument("--concurrency", type=int, default=64, help="completions served at once (more queue)")
    p.add_argument("--max-model-len", type=int, default=65536)
    p.add_argument("--reject-above", type=int, default=None, help="context-length 400 above this many tokens")
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds of a 429")
    p.add_argument("--rate-500", type=float, default=0.0)
    p.add_argument("--rate-drop", type=float, default=0.0, help="share of connections dropped unanswered")
    p.add_argument("--rate-truncated", type=float, default=0.0, help='share of answers cut with finish_reason "length"')
    p.add_argument("--rate-malformed", type=float, default=0.0, help="share of answers with a broken slot line")
    p.add_argument("--digit-tokens", action="store_true",
                   help="count every digit as one token (as Qwen's tokenizer), in /tokenize and the length check")
    p.add_argument("--no-tokenize", action="store_true", help="answer /tokenize with 404 (a server without it)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_simulate)


def _register_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="start a scoring job over a filter or record ids")
    sel = p.add_mutually_exclusive_group(required=True)
    sel.add_argument("--filter", help='RecordFilter JSON, e.g. \'{"sources": ["swe_qa"]}\' ({} = all records)')
    sel.add_argument("--ids", nargs="+", metavar="ID", help="record ids")
    p.add_argument("--label", default=None, help="a name for the job")
    p.add_argument("--job-id", default=None, help="make the call idempotent: the same id returns the same job")
    p.add_argument("--wait", action="store_true", help="wait for the job to finish (runs a worker if none is alive)")
    p.add_argument("--engine", choices=["worker", "ray"], default="worker",
                   help="ray: run the job here on a Ray cluster with Ray Data (needs the ray extra)")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--ray-concurrency", type=_positive, default=2, help="Ray request actors (requests in flight)")
    _gpu_arguments(p)
    p.set_defaults(func=cmd_score)


def _gpu_arguments(p: argparse.ArgumentParser) -> None:
    """The Ray options for hosting the model on the cluster's GPUs instead of calling the endpoint."""
    p.add_argument("--ray-gpu", action="store_true",
                   help="Ray: host the model on the cluster's GPUs (vLLMEngineProcessorConfig, needs ray[llm] there) "
                        "instead of calling the scorer endpoint; model id and max_model_len from the scorer settings")
    p.add_argument("--tensor-parallel-size", type=_positive, default=1, help="with --ray-gpu: GPUs per model replica")


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse names the option in its error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value



def _filter(text: str) -> RecordFilter:
    try:
        return RecordFilter.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "filter"
        raise ConfigError(f"--filter: {where}: {first['msg']} (fields: {', '.join(RecordFilter.model_fields)})") from exc


def cmd_score(args: argparse.Namespace) -> int:
    """Start a job; without a live worker, start one (or run it here with --wait)."""
    from mira_core.scoring.worker import Worker, WorkerOptions
    from mira_core.scoring.worker_lock import worker_state
    from mira_core.scoring.worker_process import spawn_worker

    engine = open_engine(args.settings)
    settings = load_scorer_settings()
    f = _filter(args.filter) if args.filter is not None else None
    if args.engine == "ray":
        check_ray_installed()  # before a job exists that nothing would run
    job_id = jobs.start_job(engine, settings, actor=args.actor, record_filter=f, record_ids=args.ids,
                            label=args.label, job_id=args.job_id, runner=args.engine)
    prog = jobs.job_progress(engine, job_id)
    print(f"job {job_id}: {prog.total} records queued ({prog.label}) against {settings.base_url}")
    if args.engine == "ray":
        return _score_on_ray(engine, args, job_id)
    alive = worker_state(engine).alive
    if not args.wait:
        if not alive:
            pid = spawn_worker(args.settings.database_url)
            print(f"started a scoring worker (pid {pid})")
        print(f"follow it with `mira-curator jobs`; control it with `mira-curator job pause|resume|cancel {job_id}`")
        return 0
    if not alive:
        worker = Worker(engine, args.settings, WorkerOptions(idle_exit=0.0, poll=0.2, api_key=api_key_source()[0]))
        worker.run()
    else:
        while jobs.job_progress(engine, job_id).status in ("queued", "running", "preparing"):
            time.sleep(1.0)
    prog = jobs.job_progress(engine, job_id)
    print(_line(prog))
    return 0 if prog.status == "done" and prog.failed == 0 and prog.partial == 0 else 1


def _score_on_ray(engine: Engine, args: argparse.Namespace, job_id: str) -> int:
    """Run the job here on Ray with a progress bar; the same command re-runs it (`--job-id`) after a failure."""
    total = jobs.job_progress(engine, job_id).total
    bar = ProgressBar(f"Ray {job_id}")

    def show(s: RaySummary) -> None:
        bar.update(s.stored + s.failed, total, note=f"sent {s.sent}, retried {s.retried}")

    options = RayOptions(address=args.ray_address, concurrency=args.ray_concurrency, gpu_engine=args.ray_gpu,
                         tensor_parallel_size=args.tensor_parallel_size)
    try:
        summary = run_stored_job_on_ray(engine, args.settings, job_id, actor=args.actor,
                                        api_key=api_key_source()[0], options=options, progress=show)
    finally:
        bar.close()
    prog = jobs.job_progress(engine, job_id)
    print(_line(prog))
    print(f"Ray run: {summary.sent} sent, {summary.stored} stored, {summary.retried} back to pending, "
          f"{summary.failed} failed" + ("" if prog.status == "done" else
                                         f"; continue it with `mira-curator job run-ray {job_id}`"))
    return 0 if prog.status == "done" and prog.failed == 0 else 1


def _line(p: jobs.JobProgress, worker_alive: bool = True) -> str:
    eta = f" eta {p.eta_seconds:.0f}s" if p.eta_seconds is not None else ""
    errors = ", ".join(f"{e.error_kind}×{e.n}" for e in p.errors)
    return (f"{p.job_id}  {jobs.status_text(p, worker_alive=worker_alive)}  done {p.done}/{p.total}  partial {p.partial}  failed {p.failed}  "
            f"remaining {p.remaining}  "
            f"{p.throughput_per_s:.1f}/s{eta}  {p.label}" + (f"  errors: {errors}" if errors else ""))


def _endpoint_line(s: EndpointStatus) -> str:
    probe = f"  next probe in {s.retry_in:.0f}s" if s.retry_in is not None else ""
    error = f"  last error: {s.last_error}" if s.last_error and s.state != "up" else ""
    return (f"endpoint {s.url}  {s.state}  in flight {s.in_flight}/{s.limit}  {s.rate:.1f}/s  "
            f"answered {s.answered}  errors {s.errors}{probe}{error}")


def cmd_jobs(args: argparse.Namespace) -> int:
    """Print recent jobs, then the endpoints as the live workers see them."""
    from mira_core.scoring.worker_lock import worker_state

    engine = open_engine(args.settings)
    worker = worker_state(engine)
    for p in jobs.list_progress(engine, limit=args.limit):
        print(p.model_dump_json() if args.json else _line(p, worker.alive))
    if not args.json:
        for status in worker.endpoints:
            print(_endpoint_line(status))
    _worker_if_needed(engine, args.settings)
    return 0


def _worker_if_needed(engine: Engine, settings: Settings) -> None:
    from mira_core.scoring.worker_process import worker_for_open_jobs

    if not settings.worker_autostart:
        return
    pid = worker_for_open_jobs(engine, settings.database_url)
    if pid:
        print(f"started a scoring worker for the open jobs (pid {pid})", file=sys.stderr)


def cmd_job(args: argparse.Namespace) -> int:
    """Pause, resume, cancel, requeue failed items of, show, or run on Ray one job."""
    engine = open_engine(args.settings)
    if args.action == "run-ray":
        return _score_on_ray(engine, args, args.job_id)
    if args.action == "pause":
        jobs.pause_job(engine, args.job_id, actor=args.actor)
    elif args.action == "resume":
        jobs.resume_job(engine, args.job_id, actor=args.actor)
    elif args.action == "cancel":
        jobs.cancel_job(engine, args.job_id, actor=args.actor)
    elif args.action == "requeue-failed":
        n = jobs.requeue_failed(engine, args.job_id, actor=args.actor, include_too_long=args.include_too_long)
        print(f"{n} items re-queued")
    elif args.action == "requeue-partial":
        print(f"{jobs.requeue_partial(engine, args.job_id, actor=args.actor)} partial items re-queued")
    elif args.action == "confirm-endpoint":
        from mira_core.scoring.endpoint_trust import confirm_job_endpoint

        done = confirm_job_endpoint(engine, args.job_id, actor=args.actor)
        print("endpoint confirmed: the worker sends the API key to it" if done else "endpoint was already confirmed")
    from mira_core.scoring.worker_lock import worker_state

    print(_line(jobs.job_progress(engine, args.job_id), worker_state(engine).alive))
    _worker_if_needed(engine, args.settings)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the worker in the foreground (Ctrl-C / SIGTERM finishes in-flight calls, then exits)."""
    from mira_core.scoring.worker import WorkerOptions
    from mira_core.scoring.worker_process import lower_priority, run_worker

    niceness = lower_priority(args.nice)
    engine = open_engine(args.settings)
    print(f"scoring worker serving {args.settings.database_url} (niceness {niceness})", flush=True)
    runs = run_worker(engine, args.settings, WorkerOptions(idle_exit=args.idle_exit, poll=args.poll,
                                                         api_key=api_key_source()[0]))
    print(f"scoring worker stopped after {runs} job runs", flush=True)
    return 0


def cmd_reparse(args: argparse.Namespace) -> int:
    """Re-parse stored outputs."""
    engine = open_engine(args.settings)
    s = jobs.reparse_scores(engine, actor=args.actor, batch=args.batch, names=slot_names(args.settings.anchors_path))
    print(json.dumps({"scores": s.scores, "complete_before": s.complete_before, "complete_after": s.complete_after}))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Serve the simulator until interrupted."""
    from mira_core.scoring.simulator import SimulatorConfig, SimulatorServer

    cfg = SimulatorConfig(
        latency=args.latency, concurrency=args.concurrency, max_model_len=args.max_model_len,
        reject_above=args.reject_above, rate_429=args.rate_429, retry_after=args.retry_after, rate_500=args.rate_500,
        rate_drop=args.rate_drop, rate_truncated=args.rate_truncated, rate_malformed=args.rate_malformed,
        digit_tokens=args.digit_tokens, tokenize=not args.no_tokenize, seed=args.seed,
    )
    server = SimulatorServer(args.host, args.port, cfg)
    print(f"SIMULATED scorer (no model) serving {server.model_id} on http://{args.host}:{server.port}/v1",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0
