"""`mira-curator bench load`: several curators at once on one store while a scoring job writes.

The app (`streamlit run`, sign-in through a local OIDC provider, one curator per session) is served on
PostgreSQL 15 (a server started for the run; `--backend sqlite` for a file) holding the demo corpus with
SIMULATED scores (`browser_corpus`). A SIMULATED scorer and a worker process keep a scoring job running
(`load_scoring`). For each session count, that many chromium sessions (each its own browser and context,
each a different curator) sign in, start together and run `--loops` passes of `load_session.run_loop`.
Per session count: p50/p95 per action, errors, the server's peak RSS and threads, the CPU of server,
database, worker, simulator and browsers, and the scoring rate vs idle (measured before and after the runs).
Afterwards every tag and spot-check answer a page confirmed is looked up in the database (lost writes).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from mira_core.bench.browser_corpus import BENCH_ACTOR, fill_store, new_spot_check
from mira_core.bench.browser_corpus import log as corpus_log
from mira_core.bench.load_figures import lost_writes, run_figures, summary
from mira_core.bench.load_scoring import ScoringLoad
from mira_core.bench.load_session import SessionPlan, SessionResult, new_page, run_loop, set_out, sign_in
from mira_core.bench.pg_server import postgres_server
from mira_core.bench.proc_stats import PeakWatch, split_cpu
from mira_core.bench.processes import CHROMIUM, CHROMIUM_ARGS, Served, free_port, niced_chromium, serve
from mira_core.bench.registry import CORPUS, Benchmark, Figures
from mira_core.errors import MiraError
from mira_core.identity import Role
from mira_core.query import RecordFilter
from mira_core.settings import PROJECT_ROOT
from mira_core.storage import Engine, read_conn, records_repo, write_tx
from mira_core.storage.engine import make_engine
from mira_core.team import add_user


def log(msg: str) -> None:
    """A progress line on stderr."""
    corpus_log(msg, bench="load")


@dataclass
class Stage:
    """What a run needs: the served app, the store, the scoring job and the processes to account CPU to."""

    app: Served
    engine: Engine
    scoring: ScoringLoad
    pg_pid: int | None
    work: Path
    chromium: str = CHROMIUM
    """The browser to launch: Debian's chromium, or a wrapper that starts it at a lower priority."""
    think_s: float = 0.0
    sidebar: bool = False
    stagger_s: float = 0.0


def curator(i: int) -> str:
    """The sign-in id of session `i` (1-based)."""
    return f"curator{i:02d}@bench.example"


def _store(args: argparse.Namespace, stack: ExitStack, work: Path) -> tuple[str, int | None]:
    """(database URL, postmaster pid or None) of a filled store: PostgreSQL in the work folder, or SQLite."""
    if args.database_url:
        url, pid = args.database_url, None
    elif args.backend == "postgres":
        pg = stack.enter_context(postgres_server(work / f"pg-{args.records}"))
        url, pid = pg.url, pg.pid
    else:
        url, pid = f"sqlite:///{work / f'demo-{args.records}.sqlite'}", None
    engine = make_engine(url)
    try:
        fill_store(engine, args.records, where=url.split("@")[-1])
        with write_tx(engine) as conn:
            for i in range(1, max(args.sessions) + 1):
                add_user(conn, BENCH_ACTOR, curator(i), Role.curator)
    finally:
        engine.dispose()
    return url, pid


@contextmanager
def _app(url: str, work: Path, *, profile: bool = False) -> Iterator[Served]:
    """The app with sign-in through a local OIDC provider that knows every bench curator."""
    import oidc_provider_mock  # the test extra; sign-in is what separates one curator's writes from another's

    people = [oidc_provider_mock.User(sub=curator(i), claims={"email": curator(i), "email_verified": True})
              for i in range(1, 21)]
    with oidc_provider_mock.run_server_in_thread(user_claims=people) as oidc:
        port = free_port()
        secrets_file = work / "secrets.toml"
        secrets_file.write_text(
            f'[auth]\nredirect_uri = "http://localhost:{port}/oauth2callback"\ncookie_secret = "{secrets.token_hex(16)}"\n'
            'client_id = "mira-bench"\nclient_secret = "mira-bench-secret"\n'
            f'server_metadata_url = "http://127.0.0.1:{oidc.server_port}/.well-known/openid-configuration"\n')
        env = {"MIRA_DATABASE_URL": url, "MIRA_EXPORT_DIR": str(work / "exports"), "MIRA_WORKER_AUTOSTART": "0"}
        with serve("app/main.py", env, work / "app.log", port=port, host="localhost",
                   extra_args=["--secrets.files", str(secrets_file), "--server.fileWatcherType", "none"],
                   profile=work / "server-profile.json" if profile else None) as app:
            yield app


def _token_plan(engine: Engine, needed: int) -> list[int]:
    """`needed` distinct token counts spread over the store.

    As a Browse "Min tokens" sorted by tokens, each opens a different record first, so no two sessions edit
    one record at once.
    """
    with read_conn(engine) as conn:
        values = sorted({int(m["token_estimate"]) for m in records_repo.iter_record_metadata(conn, RecordFilter())})
    values = values[1:] or values  # above the smallest, so every filter changes the count
    step = max(len(values) // (needed + 1), 1)
    return [values[(k * step + step // 2) % len(values)] for k in range(needed)]


def _session(plan: SessionPlan, loops: int, gates: list[threading.Barrier], out: SessionResult,
             chromium: str = CHROMIUM) -> None:
    """One browser: sign in, wait for the others, loop, wait until CPU is read, close."""
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = new_page(browser)
            try:
                sign_in(page, plan.base, plan.curator)
                set_out(page, plan)
            except Exception as e:
                out.errors.append(f"{plan.curator} sign-in or set-out: {str(e).splitlines()[0][:300]}")
                loops = 0
            gates[0].wait()
            time.sleep(plan.start_delay_s)
            for loop in range(loops):
                run_loop(page, plan, loop, out)
            gates[1].wait()
            gates[2].wait()
            browser.close()
    except threading.BrokenBarrierError:
        out.errors.append(f"{plan.curator}: another session broke off")
    except Exception as e:
        out.errors.append(f"{plan.curator}: {str(e).splitlines()[0][:300]}")
        for gate in gates:
            gate.abort()


def _cpu(stage: Stage) -> dict[str, float]:
    roots = {"server": stage.app.pid, "worker": stage.scoring.worker.pid, "simulator": stage.scoring.simulator.pid}
    out = split_cpu(roots)
    out["postgres"] = split_cpu({"postgres": stage.pg_pid})["postgres"] if stage.pg_pid else 0.0
    out["bench_driver"] = sum(os.times()[:2])
    return out


def run_sessions(stage: Stage, n: int, loops: int, tokens: list[int], tag_run: str) -> tuple[Figures, list]:
    """`n` sessions at once for `loops` passes; (figures of this run, [(spot-check id, plan, result)])."""
    spot = new_spot_check(stage.engine, size=max(30, loops))
    plans = [SessionPlan(stage.app.url, curator(i + 1), tokens[i * loops:(i + 1) * loops], spot, f"{tag_run}-n{n:02d}-s{i + 1:02d}",
                         stage.work, sidebar=stage.sidebar, think_s=stage.think_s,
                         start_delay_s=random.Random(f"{curator(i + 1)}/start").uniform(0, stage.stagger_s))
             for i in range(n)]
    results = [SessionResult() for _ in plans]
    gates = [threading.Barrier(n + 1, timeout=3600) for _ in range(3)]
    threads = [threading.Thread(target=_session, args=(p, loops, gates, r, stage.chromium), daemon=True)
               for p, r in zip(plans, results, strict=True)]
    for t in threads:
        t.start()
    log(f"{n} session(s): signing in")
    gates[0].wait()
    t0, cpu0 = time.monotonic(), _cpu(stage)
    log(f"{n} session(s): {loops} loop(s) each")
    with PeakWatch(stage.app.pid) as peak:
        gates[1].wait()
    t1, cpu1 = time.monotonic(), _cpu(stage)
    gates[2].wait()
    for t in threads:
        t.join(timeout=60)
    cpu = {k: round(cpu1[k] - cpu0[k], 1) for k in cpu0}
    figures = run_figures(n, results, wall=t1 - t0, cpu=cpu, peak=(peak.rss_mb, peak.threads),
                          scoring=(stage.scoring.rate(t0, t1), stage.scoring.slowest(t0, t1)))
    return figures, [(spot, p, r) for p, r in zip(plans, results, strict=True)]


def _idle_rate(scoring: ScoringLoad, seconds: float) -> float:
    t0 = time.monotonic()
    time.sleep(seconds)
    return scoring.rate(t0, time.monotonic())


def run(args: argparse.Namespace) -> Figures:
    """Store, app, scoring job; idle scoring rate; each session count; idle again; lost-write check."""
    work = args.work_dir or Path(tempfile.gettempdir()) / "mira-bench-load"
    work.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise MiraError(f"{CHROMIUM} not found: install Debian's chromium (`make chromium`)")
    uptime_before = os.getloadavg()
    with ExitStack() as stack:
        url, pg_pid = _store(args, stack, work)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        tokens = _token_plan(engine, sum(args.sessions) * args.loops)
        scoring = ScoringLoad(engine, url, work / "worker.log", latency=args.scorer_latency,
                              concurrency=args.scorer_concurrency, worker_nice=args.worker_nice,
                              simulator_nice=args.simulator_nice)
        stack.callback(scoring.close)
        app = stack.enter_context(_app(url, work, profile=args.profile))
        stage = Stage(app, engine, scoring, pg_pid, work, niced_chromium(work, args.browser_nice), args.think_s,
                      args.navigate == "sidebar", args.stagger_s)
        scoring.wait_running()
        log(f"scoring alone for {args.idle_s:g} s")
        idle = [_idle_rate(scoring, args.idle_s)]
        runs, writes, used = [], [], 0
        tag_run = f"load{int(time.time())}"
        for n in args.sessions:
            fig, done = run_sessions(stage, n, args.loops, tokens[used:], tag_run)
            used += n * args.loops
            runs.append(fig)
            writes.extend(done)
        idle.append(_idle_rate(scoring, args.idle_s))
        lost = lost_writes(engine, writes)
    return summary(args, runs, idle, lost, commit=_commit(), load_before=uptime_before, load_after=os.getloadavg())


def _commit() -> str:
    got = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=False)
    return got.stdout.strip() or "unknown"


def _sessions(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--records", type=int, default=3000, help=f"demo corpus size (full run: {CORPUS})")
    p.add_argument("--sessions", type=_sessions, default=[1, 3], help="session counts, comma-separated (full: 1,5,10)")
    p.add_argument("--loops", type=int, default=2, help="passes through the pages per session")
    p.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    p.add_argument("--database-url", default=None, help="use this database instead (filled when empty)")
    p.add_argument("--work-dir", type=Path, default=None, help="where stores are kept between runs")
    p.add_argument("--idle-s", type=float, default=15.0, help="seconds of scoring alone, before and after")
    p.add_argument("--scorer-latency", type=float, default=1.0, help="SIMULATED seconds per completion")
    p.add_argument("--profile", action="store_true",
                   help="sample the server's stacks (work dir/server-profile.json; costs the server some CPU)")
    p.add_argument("--scorer-concurrency", type=int, default=32, help="requests in flight (ideal rate = this/latency)")
    p.add_argument("--think-s", type=float, default=0.0,
                   help="mean pause after each action (0: act as fast as the pages answer)")
    p.add_argument("--navigate", choices=("url", "sidebar"), default="url",
                   help="open Browse, Retention and the spot-check by URL (a page load each) or through the sidebar")
    p.add_argument("--stagger-s", type=float, default=0.0,
                   help="each session starts at a random moment (seeded) within this many seconds after all are "
                        "signed in, as a team's curators do not all click at once (0: all start together)")
    p.add_argument("--browser-nice", type=int, default=0, choices=range(20), metavar="0-19",
                   help="run the chromiums at this niceness (browsers on other machines, roughly: their CPU "
                        "yields to the server's)")
    p.add_argument("--worker-nice", type=int, default=0, choices=range(20), metavar="0-19",
                   help="run the scoring worker at this niceness (`worker --nice`; the app's own worker runs at 10)")
    p.add_argument("--simulator-nice", type=int, default=0, choices=range(20), metavar="0-19",
                   help="run the SIMULATED scorer at this niceness (it stands for GPU machines elsewhere)")


BENCHMARK = Benchmark("load", "curators at once (1..N chromium sessions signed in, Browse/Record/tag/Retention/"
                      "spot-check loop) on PostgreSQL while a scoring job runs", _add_arguments, run)
