"""Benchmark of scoring throughput against the SIMULATED scorer at a fixed latency and server concurrency.

- `throughput_rps`: our client (`ScorerClient`: AsyncOpenAI, adaptive limit, own retries) keeping
  `concurrency` requests in flight; `fraction_of_ideal` = throughput / `ideal_rps`;
- `ideal_rps` = concurrency / latency (every server slot busy all the time);
- `sequential_rps`: the model card's plain loop of `client.chat.completions.create`, measured in the same run;
- `client_cpu_ms_per_request`: CPU time of this (client) process per request;
- `job_rps`, `job_cpu_ms_per_record`: a whole job over `--job-records` demo records through the worker
  (record loading, prompt building, the call, parsing, one commit per result);
- `multi_throughput_rps` over `endpoints` simulator processes (`replicas`), against `multi_ideal_rps` = sum of
  the endpoints' concurrency ÷ latency (`multi_fraction_of_ideal`, goal ≥ 0.9), with the answers each
  endpoint got (`multi_answers_per_endpoint`: least-in-flight routing should spread them evenly);
- `priority_wait_ms`, `priority_wait_latencies`: a one-record job started while a bulk job of
  `--priority-bulk-records` keeps the worker busy, until it is done (goal ≤ 2 latencies);
- `ray_throughput_rps`, `ray_fraction_of_ideal`: the same kind of job over `--ray-records` records on a
  local Ray instance (`score --engine ray`, Ray start-up not counted), against `ray_ideal_rps` = request
  actors / latency (each actor keeps one request in flight); skipped without the ray extra;
- `overhead_ms_per_request`: mean time a request held a slot beyond the simulated latency (HTTP, JSON,
  waiting for a CPU); throughput ≈ concurrency / (latency + overhead);
- `simulator_cpu_ms_per_request`: the simulator process's CPU per request (start-up included), and the
  load average, because on a shared 2-core machine the two processes compete for the same cores.
The simulator runs in its own process, so the figures are the client's, not a shared GIL's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from mira_core.bench.registry import Benchmark, Figures
from mira_core.scoring.client import ScorerClient
from mira_core.scoring.settings import ScorerSettings
from mira_core.settings import Settings, load_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_simulator(latency: float, concurrency: int, nice: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    prefix = ["nice", "-n", str(nice)] if nice > 0 else []
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "mira_core.cli", "simulate-scorer", "--port", str(port),
         "--latency", str(latency), "--concurrency", str(concurrency)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(),
    )
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(300):
        try:
            with urllib.request.urlopen(base + "/models", timeout=1):
                return proc, base
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the simulator did not start within 15 s")


def _prompts(n: int, chars: int) -> list[str]:
    filler = ("def f(x):\n    return x + 1  # observation line of a trajectory\n" * (chars // 60 + 1))[:chars]
    return [f"record {i}\n{filler}" for i in range(n)]


async def _concurrent(settings: ScorerSettings, prompts: list[str],
                      shares: list[int] | None = None) -> tuple[float, float, int, float]:
    """(wall s, client CPU s, ok answers, mean seconds a request held a client slot).

    `shares`, when given, receives the answers each endpoint gave.
    """
    client = ScorerClient(settings)
    held: list[float] = []
    slot = asyncio.Semaphore(client.ceiling)

    async def one(p: str) -> bool:
        async with slot:  # same bound as the client's own, so the time measured is per request, not queueing
            t = time.perf_counter()
            r = await client.complete("system", p)
            held.append(time.perf_counter() - t)
        return r.status == "ok"

    try:
        await client.complete("warm-up", "warm-up")  # connection set-up is not throughput
        cpu, t = time.process_time(), time.perf_counter()
        ok = await asyncio.gather(*[one(p) for p in prompts])
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        if shares is not None:
            shares.extend(s.answered for s in client.pool.status())
        return wall, cpu, sum(ok), sum(held) / max(len(held), 1)
    finally:
        await client.aclose()


def _multi(args: argparse.Namespace) -> dict[str, float]:
    """`--requests` prompts over `--endpoints` simulator processes, `--multi-concurrency` in flight on each."""
    procs = [_start_simulator(args.latency, args.multi_concurrency) for _ in range(args.endpoints)]
    try:
        bases = [base for _, base in procs]
        settings = ScorerSettings(base_url=bases[0], replicas=bases[1:], concurrency=args.multi_concurrency,
                                  request_timeout=60)
        shares: list[int] = []
        wall, cpu, ok, _ = asyncio.run(_concurrent(settings, _prompts(args.requests, args.prompt_chars), shares))
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=10)
    ideal = args.endpoints * args.multi_concurrency / args.latency
    return {"endpoints": args.endpoints, "multi_concurrency_per_endpoint": args.multi_concurrency,
            "multi_throughput_rps": round(ok / wall, 2), "multi_ideal_rps": round(ideal, 2),
            "multi_fraction_of_ideal": round(ok / wall / ideal, 3),
            "multi_answers_per_endpoint": "/".join(map(str, shares)),
            "multi_client_cpu_ms_per_request": round(cpu / max(ok, 1) * 1000, 3)}


def _sequential(base_url: str, model: str, prompts: list[str]) -> float:
    from openai import OpenAI  # the model card's loop, verbatim apart from the prompts

    client = OpenAI(base_url=base_url, api_key="EMPTY")
    t = time.perf_counter()
    for p in prompts:
        resp = client.chat.completions.create(
            model=model, messages=[{"role": "system", "content": "system"}, {"role": "user", "content": p}],
            temperature=0.7, top_p=0.95, max_tokens=2048,
        )
        assert resp.choices[0].message.content
    elapsed = time.perf_counter() - t
    client.close()
    return elapsed


def _job(base_url: str, records: int, concurrency: int, app_settings: Settings) -> dict[str, float]:
    """A whole job over `records` demo records: prompt building, calls, parse and one commit per result."""
    import tempfile
    from pathlib import Path

    from mira_core.demo.load import load_demo
    from mira_core.query import RecordFilter
    from mira_core.scoring import jobs
    from mira_core.scoring.worker import Worker, WorkerOptions
    from mira_core.storage import migrate
    from mira_core.storage.engine import make_engine
    from mira_core.team import cli_operator

    with tempfile.TemporaryDirectory(prefix="mira-bench-scoring-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        migrate.upgrade(engine)
        load_demo(engine, records, seed=1)
        settings = ScorerSettings(base_url=base_url, concurrency=concurrency, request_timeout=60)
        operator = cli_operator(app_settings.curator)
        job_id = jobs.start_job(engine, settings, actor=operator, record_filter=RecordFilter())
        cpu, t = time.process_time(), time.perf_counter()
        Worker(engine, app_settings, WorkerOptions(idle_exit=0.0, poll=0.01)).run()
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        prog = jobs.job_progress(engine, job_id)
        engine.dispose()
    return {"job_records": prog.total, "job_done": prog.done, "job_rps": round(prog.done / wall, 2),
            "job_cpu_ms_per_record": round(cpu / max(prog.total, 1) * 1000, 2)}


def _priority_wait(base_url: str, bulk_records: int, concurrency: int, latency: float,
                   app_settings: Settings) -> dict[str, float]:
    """How long a one-record job takes while a bulk job keeps the worker busy (it should jump the queue)."""
    import tempfile
    import threading
    from pathlib import Path

    from mira_core.demo.load import load_demo
    from mira_core.query import RecordFilter
    from mira_core.scoring import jobs
    from mira_core.scoring.worker import Worker, WorkerOptions
    from mira_core.storage import migrate, read_conn
    from mira_core.storage.engine import make_engine
    from mira_core.team import cli_operator

    with tempfile.TemporaryDirectory(prefix="mira-bench-priority-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        migrate.upgrade(engine)
        load_demo(engine, bulk_records, seed=2)
        with read_conn(engine) as conn:
            one = str(conn.exec_driver_sql("SELECT record_id FROM records LIMIT 1").scalar_one())
        settings, operator = ScorerSettings(base_url=base_url, concurrency=concurrency, request_timeout=60), \
            cli_operator(app_settings.curator)
        bulk = jobs.start_job(engine, settings, actor=operator, record_filter=RecordFilter())
        worker = Worker(engine, app_settings, WorkerOptions(idle_exit=None, poll=0.01, control_every=0.05))
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        while jobs.job_progress(engine, bulk).done < concurrency:  # the bulk job is in full swing
            time.sleep(0.02)
        t = time.perf_counter()
        small = jobs.start_job(engine, settings, actor=operator, record_ids=[one], label="one record")
        while jobs.job_progress(engine, small).status != "done":
            time.sleep(0.01)
        wait = time.perf_counter() - t
        bulk_left = jobs.job_progress(engine, bulk).remaining
        if jobs.job_progress(engine, bulk).status not in ("done", "cancelled"):  # a small bulk job may be over
            jobs.cancel_job(engine, bulk, actor=operator)
        worker.stop()
        thread.join(timeout=30)
        engine.dispose()
    return {"priority_wait_ms": round(wait * 1000, 1), "priority_wait_latencies": round(wait / latency, 2),
            "priority_bulk_remaining": bulk_left}


def _ray_job(base_url: str, records: int, actors: int, app_settings: Settings) -> dict[str, float]:
    """The same kind of job run on a local Ray instance (`score --engine ray`); {} without the ray extra."""
    import tempfile
    from pathlib import Path

    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # else Ray swaps 127.0.0.1 for the host's IP
    try:
        import ray
    except ImportError:
        return {}
    from mira_core.demo.load import load_demo
    from mira_core.query import RecordFilter
    from mira_core.scoring import jobs
    from mira_core.scoring.ray_engine import RayOptions, run_stored_job_on_ray
    from mira_core.storage import migrate
    from mira_core.storage.engine import make_engine
    from mira_core.team import cli_operator

    with tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as tmp:
        ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, _node_ip_address="127.0.0.1",
                 _temp_dir=tmp, log_to_driver=False, configure_logging=False)
        try:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
            migrate.upgrade(engine)
            load_demo(engine, records, seed=1)
            operator = cli_operator(app_settings.curator)
            job_id = jobs.start_job(engine, ScorerSettings(base_url=base_url, request_timeout=60), actor=operator,
                                    record_filter=RecordFilter(), runner="ray")
            t = time.perf_counter()
            summary = run_stored_job_on_ray(engine, app_settings, job_id, actor=operator, api_key="",
                                            options=RayOptions(concurrency=actors, batch_size=8, chunk=records))
            wall = time.perf_counter() - t
            engine.dispose()
        finally:
            ray.shutdown()
    return {"ray_records": records, "ray_actors": actors, "ray_stored": summary.stored,
            "ray_throughput_rps": round(summary.stored / wall, 2)}


def run(args: argparse.Namespace) -> Figures:
    """Measure concurrent and sequential throughput against a simulator process."""
    children_cpu = _children_cpu()
    proc, base = _start_simulator(args.latency, args.server_concurrency)
    try:
        settings = ScorerSettings(base_url=base, concurrency=args.concurrency, request_timeout=60)
        prompts = _prompts(args.requests, args.prompt_chars)
        wall, cpu, ok, held = asyncio.run(_concurrent(settings, prompts))
        seq_wall = _sequential(base, settings.model, prompts[: args.sequential_requests])
        job = _job(base, args.job_records, args.concurrency, load_settings()) if args.job_records else {}
        ray_job = _ray_job(base, args.ray_records, args.ray_actors, load_settings()) if args.ray_records else {}
        multi = _multi(args) if args.endpoints else {}
        priority = (_priority_wait(base, args.priority_bulk_records, args.concurrency, args.latency, load_settings())
                    if args.priority_bulk_records else {})
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    server_cpu = _children_cpu() - children_cpu
    ideal = min(args.concurrency, args.server_concurrency) / args.latency
    throughput = ok / wall
    return {
        "requests": args.requests, "ok": ok, "prompt_chars": args.prompt_chars, "latency_s": args.latency,
        "concurrency": args.concurrency, "server_concurrency": args.server_concurrency,
        "throughput_rps": round(throughput, 2), "ideal_rps": round(ideal, 2),
        "fraction_of_ideal": round(throughput / ideal, 3),
        "sequential_rps": round(args.sequential_requests / seq_wall, 3),
        "speedup_vs_sequential": round(throughput / (args.sequential_requests / seq_wall), 1),
        "client_cpu_ms_per_request": round(cpu / args.requests * 1000, 3),
        "overhead_ms_per_request": round((held - args.latency) * 1000, 1),
        "simulator_cpu_ms_per_request": round(server_cpu / (args.requests + args.sequential_requests) * 1000, 3),
        **job, **({"job_fraction_of_ideal": round(job["job_rps"] / ideal, 3)} if job else {}),
        **multi, **priority, **ray_job, **({"ray_ideal_rps": round(args.ray_actors / args.latency, 2),
                       "ray_fraction_of_ideal": round(ray_job["ray_throughput_rps"] * args.latency / args.ray_actors, 3)}
                      if ray_job else {}),
        "cpu_count": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(usage.ru_utime + usage.ru_stime)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `mira-curator bench scoring`."""
    p.add_argument("--requests", type=int, default=640, help="concurrent-phase requests")
    p.add_argument("--sequential-requests", type=int, default=6, help="requests of the plain loop")
    p.add_argument("--latency", type=float, default=0.5, help="simulated seconds per completion")
    p.add_argument("--concurrency", type=int, default=64, help="client requests in flight")
    p.add_argument("--server-concurrency", type=int, default=64, help="simulator slots")
    p.add_argument("--prompt-chars", type=int, default=20_000, help="characters per user prompt (~4 per token)")
    p.add_argument("--job-records", type=int, default=1000,
                   help="also run a whole job over this many demo records (0: skip)")
    p.add_argument("--endpoints", type=int, default=4,
                   help="also score --requests prompts over this many simulator processes (0: skip)")
    p.add_argument("--multi-concurrency", type=int, default=16,
                   help="requests in flight per endpoint (and simulator slots) in the several-endpoint run")
    p.add_argument("--priority-bulk-records", type=int, default=600,
                   help="measure a one-record job's wait during a bulk job of this many records (0: skip)")
    p.add_argument("--ray-records", type=int, default=400,
                   help="also run a job of this many records on a local Ray instance (0 or no ray extra: skip)")
    p.add_argument("--ray-actors", type=int, default=16,
                   help="Ray request actors (each keeps one request in flight); ideal = actors / latency")


BENCHMARK = Benchmark(
    name="scoring",
    description="scoring throughput vs ideal (concurrency/latency) and vs the model card's sequential loop",
    add_arguments=add_arguments,
    run=run,
)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench scoring")
    add_arguments(parser)
    print(json.dumps(run(parser.parse_args())))
