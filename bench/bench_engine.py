"""Flowgate's engine against a bare Celery app on the same Redis, side by side in one run.

Both sides run the same step body (``bench.steps.body``) on a prefork worker with the same Celery
settings and process count; each measurement is repeated and the medians are printed in one
table with the ratio, the target and whether it is met. Flowgate's side also reports commits,
statements and new connections per task (from its own database's ``pg_stat_database``), a web
process's synchronous waits and reads (gunicorn, as ``docs/deployment.md`` runs it), and the
embedded default (SQLite and a broker folder) answering its demo. Talks only to 127.0.0.1.

    make bench                  # everything (a few minutes)
    make bench ARGS=--quick     # a smoke run of every measurement (what the test suite runs)

``scripts/bench.sh`` sets the environment: a throw-away PostgreSQL database whose name starts with
``flowgate_bench`` (dropped and created again), a Redis database, and
``DJANGO_SETTINGS_MODULE=bench.settings`` (Flowgate's settings plus the benchmark's task types).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from bench.procs import children_of  # noqa: E402

SLEEP = 0.01  # seconds per step of the chain workload


@dataclass
class Sizes:
    repeats: int
    chain_steps: int
    batch: int
    latency_runs: int
    http_requests: int
    read_seconds: float
    embedded_requests: int


FULL = Sizes(repeats=3, chain_steps=40, batch=300, latency_runs=25, http_requests=40, read_seconds=5,
             embedded_requests=30)
QUICK = Sizes(repeats=1, chain_steps=5, batch=20, latency_runs=3, http_requests=3, read_seconds=1,
              embedded_requests=3)


# -- processes -------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process in its own process group, logging to a file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, cmd: list[str], env: dict, log_dir: Path, ready: str | None = None) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if ready:
            self.wait_for(ready)

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited early:\n{self.log_path.read_text()[-3000:]}")
            if text in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise SystemExit(f"{self.name} not ready after {timeout} s:\n{self.log_path.read_text()[-3000:]}")

    def peak_rss_mib(self) -> float:
        """The largest VmHWM among the process and its children."""
        pids = [self.process.pid, *children_of(self.process.pid)]
        peak = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                continue
        return peak / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def web_command(server: str, port: int) -> list[str]:
    """The web process as docs/deployment.md runs it: uvicorn (ASGI), or gunicorn's gthread workers (WSGI)."""
    if server == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--worker-class", "gthread", "--workers", "2", "--threads", "8"]
    return [sys.executable, "-m", "config.serve", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "2", "--no-access-log"]


def wait_http(process: Process, port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise SystemExit(f"{process.name} exited early:\n{process.log_path.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{process.name} did not answer /healthz:\n{process.log_path.read_text()[-3000:]}")


def celery_worker(name: str, app: str, concurrency: int, queue: str, log_dir: Path, **env) -> Process:
    environment = dict(os.environ, CELERY_TASK_DEFAULT_QUEUE=queue, BARE_QUEUE=queue, PYTHONPATH=str(ROOT), **env)
    return Process(name, [sys.executable, "-m", "celery", "-A", app, "worker", "--pool=prefork",
                          f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
                          "--without-heartbeat", "--loglevel=WARNING", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
                          "-Q", queue],
                   environment, log_dir, ready=None)


def wait_worker_ready(worker: Process, ping) -> None:
    """Until the worker has run one message of the given kind (``ping`` sends one and waits for it)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise SystemExit(f"{worker.name} exited:\n{worker.log_path.read_text()[-3000:]}")
        if ping(timeout=2):
            return
    raise SystemExit(f"{worker.name} never answered:\n{worker.log_path.read_text()[-3000:]}")


# -- the two sides ----------------------------------------------------------------------------------------
def timestamp(moment: datetime) -> float:
    return moment.timestamp()


class Bare:
    """Bare Celery chains of ``bare.step``; the last step pushes its end time onto a Redis list."""

    def __init__(self, queue: str) -> None:
        from bench import bare

        bare.app.conf.task_default_queue = queue
        self.bare = bare
        self.redis = bare.redis_client()

    def submit(self, steps: int, seconds: float) -> str:
        from celery import chain

        key = f"bench:done:{uuid.uuid4().hex}"
        signatures = [self.bare.step.si(seconds) for _ in range(steps - 1)] + [self.bare.step.si(seconds, key)]
        chain(*signatures).apply_async()
        return key

    def wait(self, key: str, timeout: float = 120) -> float | None:
        found = self.redis.blpop([key], timeout=timeout)
        return float(found[1]) if found else None

    def ping(self, timeout: float) -> bool:
        return self.wait(self.submit(1, 0), timeout) is not None

    def run_one(self, steps: int, seconds: float) -> float:
        """Seconds from submitting a chain to the end of its last step."""
        started = time.time()
        ended = self.wait(self.submit(steps, seconds))
        if ended is None:
            raise SystemExit("a bare chain did not finish within 120 s")
        return ended - started

    def run_batch(self, count: int, steps: int) -> float:
        """Chains per second, submitted all at once, until the last one ended."""
        started = time.time()
        keys = [self.submit(steps, 0) for _ in range(count)]
        ends = [self.wait(key) for key in keys]
        if None in ends:
            raise SystemExit("bare chains did not finish within 120 s")
        return count / (max(ends) - started)


class Flowgate:
    """Executions started in this process, as the API starts them; ends read from the rows."""

    def __init__(self, queue: str, workflows: dict) -> None:
        from config.celery import app

        app.conf.task_default_queue = queue
        self.workflows = workflows

    def submit(self, name: str):
        from executions.services import start_execution

        return start_execution(caller=None, workflow=self.workflows[name])[0].id

    def ended_at(self, execution_id, timeout: float = 120) -> float:
        from executions.models import Execution
        from executions.waiters import wait_until_ended

        wait_until_ended(execution_id, timeout)
        execution = Execution.objects.get(pk=execution_id)
        if execution.status != "succeeded":
            raise SystemExit(f"execution {execution_id} ended {execution.status}: {execution.errors}")
        return timestamp(execution.ended_at)

    def ping(self, timeout: float) -> bool:
        from executions.models import Execution
        from executions.waiters import wait_until_ended

        execution_id = self.submit("noop1")
        wait_until_ended(execution_id, timeout)
        return Execution.objects.get(pk=execution_id).is_terminal

    def run_one(self, name: str) -> float:
        started = time.time()
        return self.ended_at(self.submit(name)) - started

    def run_batch(self, count: int, name: str, deadline: float = 180) -> tuple[float, list]:
        """Executions per second, handed to the broker all at once, until the last one ended.

        The rows are written first, in one transaction, and the clock starts as it commits and its
        messages go out together: bare Celery's chains have no rows to write.
        """
        from django.db import transaction
        from django.db.models import Max

        from executions.models import Execution

        with transaction.atomic():
            ids = [self.submit(name) for _ in range(count)]
            started = time.time()
        limit = time.monotonic() + deadline
        rows = Execution.objects.filter(id__in=ids)
        while rows.filter(status__in=["queued", "running", "waiting"]).exists():
            if time.monotonic() > limit:
                raise SystemExit(f"executions did not finish within {deadline} s")
            time.sleep(0.25)  # seldom: these reads are commits on the database being measured
        if rows.exclude(status="succeeded").exists():
            raise SystemExit("an execution of the batch did not succeed")
        return count / (timestamp(rows.aggregate(end=Max("ended_at"))["end"]) - started), ids


# -- database counters -----------------------------------------------------------------------------------
def pg_counters() -> dict:
    """Commits and sessions of the benchmark's database (after the backends have flushed their statistics)."""
    from django.db import connection

    time.sleep(1.2)  # idle backends report their statistics about once a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT xact_commit, sessions FROM pg_stat_database WHERE datname = current_database()")
        commits, sessions = cursor.fetchone()
    return {"commits": commits, "sessions": sessions}


# -- HTTP ------------------------------------------------------------------------------------------------
def request(conn: http.client.HTTPConnection, method: str, path: str, key: str | None = None, body=None,
            headers: dict | None = None) -> tuple[int, bytes]:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if key:
        all_headers["Authorization"] = f"Bearer {key}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=all_headers)
    response = conn.getresponse()
    return response.status, response.read()


def read_rate(port: int, path: str, key: str | None, seconds: float, threads: int = 8) -> tuple[float, float]:
    """Requests per second and p50 ms of ``GET path`` from ``threads`` keep-alive clients."""
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            status, body = request(conn, "GET", path, key)
            mine.append(time.perf_counter() - began)
            if status != 200:
                errors.append(f"{status} {body[:200]!r}")
                break
        latencies.extend(mine)
        conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise SystemExit(f"GET {path} failed: {errors[0]}")
    return len(latencies) / (time.monotonic() - began), statistics.median(latencies) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# -- the run -----------------------------------------------------------------------------------------------
@dataclass
class Results:
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def median(self, name: str) -> float | None:
        found = self.values.get(name)
        return statistics.median(found) if found else None


def drop_database(create_again: bool = False) -> None:
    """Drop the database DATABASE_URL names (only a throw-away ``flowgate_bench...`` one), and create it again."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    server, name = url.rsplit("/", 1)
    if not name.startswith("flowgate_bench"):
        raise SystemExit("Refusing to drop a database whose name does not start with flowgate_bench.")
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create_again:
            conn.execute(f'CREATE DATABASE "{name}"')


def recreate_database() -> None:
    drop_database(create_again=True)


def setup_database():
    import django

    recreate_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_fixtures(sizes: Sizes) -> tuple[dict, str]:
    from accounts.models import Role
    from accounts.services import create_api_key, create_project, create_tenant
    from workflows.services import create_workflow

    tenant = create_tenant("Bench", "bench")
    project = create_project(tenant, "Bench", "bench")

    def line(name: str, steps: int, kind: str, seconds: float | None = None, **extra):
        tasks = []
        for index in range(steps):
            task = {"name": f"s{index}", "type": kind, "config": {"seconds": seconds} if seconds is not None else {}}
            if index:
                task["depends_on"] = [f"s{index - 1}"]
            tasks.append(task)
        return create_workflow(project=project, name=name, definition={"tasks": tasks}, **extra)

    workflows = {
        "chain": line("chain", sizes.chain_steps, "bench_sleep", SLEEP),
        "noop3": line("noop3", 3, "bench_noop", alias="noop3", integration_slug="bench"),
        "noop1": line("noop1", 1, "bench_noop"),
    }
    _, key = create_api_key(tenant, "bench", Role.WORKFLOW)
    return workflows, key


def measure_engine(sizes: Sizes, results: Results, flowgate: Flowgate, bare: Bare) -> None:
    """Chain and no-op workloads, alternating sides in every repeat."""
    for repeat in range(sizes.repeats):
        for side in (("bare", bare), ("flowgate", flowgate)):
            name, runner = side
            if name == "bare":
                walls = [runner.run_one(sizes.chain_steps, SLEEP) for _ in range(2)]
                latencies = [runner.run_one(3, 0) for _ in range(sizes.latency_runs)]
                throughput = runner.run_batch(sizes.batch, 3)
            else:
                walls = [runner.run_one("chain") for _ in range(2)]
                latencies = [runner.run_one("noop3") for _ in range(sizes.latency_runs)]
                before = pg_counters()
                throughput, _ = runner.run_batch(sizes.batch, "noop3")
                after = pg_counters()
                tasks = sizes.batch * 3
                # The batch wrote its rows in one transaction; through the API each start is one of
                # its own: counted as such.
                commits = after["commits"] - before["commits"] + sizes.batch - 1
                results.add("commits_per_task", commits / tasks)
                results.add("sessions_per_task", (after["sessions"] - before["sessions"]) / tasks)
            wall = statistics.median(walls)
            results.add(f"{name}.chain_wall_ms", wall * 1000)
            results.add(f"{name}.chain_overhead_ms", (wall - sizes.chain_steps * SLEEP) / sizes.chain_steps * 1000)
            results.add(f"{name}.latency_ms", statistics.median(latencies) * 1000)
            results.add(f"{name}.throughput", throughput)
            print(f"  repeat {repeat + 1} {name:8} chain {wall * 1000:7.0f} ms, 3 no-op p50 "
                  f"{statistics.median(latencies) * 1000:6.1f} ms, {throughput:6.1f} executions/s", flush=True)


class EndWatcher:
    """Notes when each execution's end becomes visible: the engine's NOTIFY, delivered at the commit
    that ends it, received by a connection of this process's own."""

    def __init__(self) -> None:
        import psycopg
        from django.db import connection

        from executions.waiters import CHANNEL

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("pool", None)
        self.seen: dict[str, float] = {}
        self.conn = psycopg.connect(**params, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.stop = threading.Event()
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for notify in self.conn.notifies(timeout=0.5):
                self.seen.setdefault(notify.payload, time.time())

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.conn.close()


def measure_web(sizes: Sizes, results: Results, port: int, key: str, flowgate: Flowgate) -> None:
    """Synchronous runs (native ?wait and Refold sync_execution) and single-execution reads.

    "Answered after the end" is the time from the commit that ended the execution (when the end
    became visible to anyone) to the answer's arrival.
    """
    watcher = EndWatcher()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for label, method, path, body, headers in (
            ("wait", "POST", "/api/v1/executions/?wait=10", {"workflow": "noop3", "input": {}}, {}),
            ("refold", "POST", "/api/v1/workflow/noop3/execute", {}, {"slug": "bench", "sync_execution": "true"})):
        totals, after_end = [], []
        for _ in range(sizes.http_requests):
            began = time.time()
            status, raw = request(conn, method, path, key, body, headers)
            answered = time.time()
            if status != 200:
                raise SystemExit(f"{method} {path} answered {status}: {raw[:300]!r}")
            execution_id = json.loads(raw).get("id") or json.loads(raw)["execution_id"]
            deadline = time.monotonic() + 5
            while execution_id not in watcher.seen and time.monotonic() < deadline:
                time.sleep(0.001)
            if execution_id not in watcher.seen:
                raise SystemExit(f"no end was announced for execution {execution_id}")
            totals.append((answered - began) * 1000)
            after_end.append((answered - watcher.seen[execution_id]) * 1000)
        results.add(f"{label}.p50_ms", statistics.median(totals))
        results.add(f"{label}.p95_ms", percentile(totals, 0.95))
        results.add(f"{label}.after_end_ms", statistics.median(after_end))
    conn.close()
    watcher.close()
    target = flowgate.submit("noop1")
    flowgate.ended_at(target)
    for _ in range(max(1, sizes.repeats)):
        trivial_rate, trivial_p50 = read_rate(port, f"/bench/row/{target}", None, sizes.read_seconds)
        api_rate, api_p50 = read_rate(port, f"/api/v1/executions/{target}/", key, sizes.read_seconds)
        results.add("trivial.rps", trivial_rate)
        results.add("trivial.p50_ms", trivial_p50)
        results.add("read.rps", api_rate)
        results.add("read.p50_ms", api_p50)


def measure_statements(sizes: Sizes, results: Results, queue: str, log_dir: Path) -> None:
    """SQL statements per executed task, counted by an instrumented worker (an untimed pass)."""
    from bench.bare import redis_client

    key = f"bench:statements:{uuid.uuid4().hex}"
    worker = celery_worker("flowgate-instrumented", "bench.instrument", 2, queue, log_dir, BENCH_STATEMENTS_KEY=key)
    try:
        flowgate = Flowgate(queue, WORKFLOWS)
        wait_worker_ready(worker, flowgate.ping)
        redis_client().delete(key)
        count = max(10, sizes.batch // 6)
        flowgate.run_batch(count, "noop3")
        results.add("statements_per_task", int(redis_client().get(key) or 0) / (count * 3))
    finally:
        worker.stop()


def measure_scaling(sizes: Sizes, results: Results, log_dir: Path) -> None:
    """Throughput on one worker process against two, each side, measured back to back in each repeat."""
    for repeat in range(sizes.repeats):
        for processes in (1, 2):
            queue = f"bench-{processes}proc-{uuid.uuid4().hex[:6]}"
            fg_worker = celery_worker(f"flowgate-{processes}proc", "config", processes, queue, log_dir)
            bare_worker = celery_worker(f"bare-{processes}proc", "bench.bare", processes, f"{queue}-bare", log_dir)
            try:
                flowgate, bare = Flowgate(queue, WORKFLOWS), Bare(f"{queue}-bare")
                wait_worker_ready(fg_worker, flowgate.ping)
                wait_worker_ready(bare_worker, bare.ping)
                bare_rate = bare.run_batch(sizes.batch, 3)
                flowgate_rate = flowgate.run_batch(sizes.batch, "noop3")[0]
            finally:
                fg_worker.stop()
                bare_worker.stop()
            results.add(f"bare.throughput_{processes}proc", bare_rate)
            results.add(f"flowgate.throughput_{processes}proc", flowgate_rate)
            print(f"  repeat {repeat + 1}, {processes} process(es): Flowgate {flowgate_rate:.1f}, "
                  f"bare {bare_rate:.1f} executions/s", flush=True)


def measure_embedded(sizes: Sizes, results: Results) -> None:
    output = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_embedded.py"),
                             "--requests", str(sizes.embedded_requests)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={k: v for k, v in os.environ.items()
                                 if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL",
                                              "DJANGO_SETTINGS_MODULE", "CELERY_TASK_DEFAULT_QUEUE")})
    if output.returncode != 0:
        raise SystemExit(f"bench_embedded.py failed:\n{output.stdout[-2000:]}\n{output.stderr[-3000:]}")
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    results.add("embedded.p50_ms", figures["p50_ms"])
    results.add("embedded.p95_ms", figures["p95_ms"])


WORKFLOWS: dict = {}


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: Results, sizes: Sizes, concurrency: int) -> tuple[str, bool]:
    m = results.median
    rows = []

    def row(metric, flowgate, baseline, target_text, met, digits=1, ratio=True):
        value_ratio = flowgate / baseline if ratio and flowgate is not None and baseline else None
        rows.append((metric, fmt(flowgate, digits), fmt(baseline, digits),
                     f"{value_ratio:.2f}x" if value_ratio is not None else "", target_text,
                     "-" if met is None else ("met" if met else "NOT MET")))

    chain, bare_chain = m("flowgate.chain_wall_ms"), m("bare.chain_wall_ms")
    over, bare_over = m("flowgate.chain_overhead_ms"), m("bare.chain_overhead_ms")
    thr, bare_thr = m("flowgate.throughput"), m("bare.throughput")
    lat, bare_lat = m("flowgate.latency_ms"), m("bare.latency_ms")
    row(f"{sizes.chain_steps} x {SLEEP * 1000:.0f} ms chain: wall ms", chain, bare_chain, "<= 1.5x",
        chain <= 1.5 * bare_chain, 0)
    row("  overhead per step ms", over, bare_over, "<= 2x", over <= 2 * max(bare_over, 0.5), 2)
    row(f"3 no-op steps, {sizes.batch} at once: executions/s", thr, bare_thr, ">= 0.5x", thr >= 0.5 * bare_thr)
    row("3 no-op steps, one at a time: p50 ms", lat, bare_lat, "<= 3x", lat <= 3 * bare_lat, 2)
    row("POST /executions/?wait=10 p50 ms", m("wait.p50_ms"), None, "", None)
    row("  p95 ms", m("wait.p95_ms"), None, "", None)
    row("  answered after the end (its commit), p50 ms", m("wait.after_end_ms"), None, "<= 10",
        m("wait.after_end_ms") <= 10)
    row("Refold sync_execution p50 ms", m("refold.p50_ms"), None, "", None)
    row("  p95 ms", m("refold.p95_ms"), None, "", None)
    row("  answered after the end (its commit), p50 ms", m("refold.after_end_ms"), None, "<= 10",
        m("refold.after_end_ms") <= 10)
    row("GET /executions/{id}/ req/s, 8 clients (vs a trivial view)", m("read.rps"), m("trivial.rps"), ">= 0.6x",
        m("read.rps") >= 0.6 * m("trivial.rps"), 0)
    row("  p50 ms", m("read.p50_ms"), m("trivial.p50_ms"), "", None)
    row("commits per executed task", m("commits_per_task"), None, "<= 2", m("commits_per_task") <= 2, 2, False)
    row("statements per executed task", m("statements_per_task"), None, "", None, 2, False)
    row("new database connections per task", m("sessions_per_task"), None, "0", m("sessions_per_task") < 0.01, 3,
        False)
    one, two = m("flowgate.throughput_1proc"), m("flowgate.throughput_2proc")
    bare_one, bare_two = m("bare.throughput_1proc"), m("bare.throughput_2proc")
    rows.append(("2 worker processes vs 1: throughput ratio", fmt(two / one if one else None, 2),
                 fmt(bare_two / bare_one if bare_one else None, 2), "", ">= 1.5x",
                 "met" if one and two >= 1.5 * one else "NOT MET"))
    row("  1 worker process: executions/s", one, bare_one, "", None)
    row("  2 worker processes: executions/s", two, bare_two, "", None)
    row("worker peak RSS MiB", m("flowgate.rss_mib"), m("bare.rss_mib"), "", None, 0)
    row("embedded: parallel-report ?wait=10 p50 ms", m("embedded.p50_ms"), None, "<= 150",
        m("embedded.p50_ms") <= 150 if m("embedded.p50_ms") is not None else None, 0)
    row("  p95 ms", m("embedded.p95_ms"), None, "", None, 0)

    headers = ("metric", "Flowgate", "bare Celery", "ratio", "target", "")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(6)]
    lines = ["  ".join(str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i])
                       for i, cell in enumerate(line)) for line in [headers, *rows]]
    all_met = all(r[5] != "NOT MET" for r in rows)
    return "\n".join(lines), all_met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run of every measurement (a smoke test)")
    parser.add_argument("--repeats", type=int, help="repeats of each measurement (default 3)")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--web", choices=("uvicorn", "gunicorn"), default="uvicorn",
                        help="the web server of the web measurements (default: uvicorn, as deployed)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.repeats:
        sizes.repeats = args.repeats
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis") or "DATABASE_URL" not in os.environ:
        raise SystemExit("Run through `make bench` (scripts/bench.sh sets DATABASE_URL and CELERY_BROKER_URL).")
    concurrency = 2
    log_dir = Path(tempfile.mkdtemp(prefix="flowgate-bench-"))
    print(f"==> Logs in {log_dir}", flush=True)
    setup_database()
    workflows, key = create_fixtures(sizes)
    WORKFLOWS.update(workflows)
    results = Results()

    fg_queue, bare_queue = f"bench-fg-{uuid.uuid4().hex[:6]}", f"bench-bare-{uuid.uuid4().hex[:6]}"
    web_port = free_port()
    web = Process("web", web_command(args.web, web_port),
                  dict(os.environ, CELERY_TASK_DEFAULT_QUEUE=fg_queue, PYTHONPATH=str(ROOT)), log_dir)
    wait_http(web, web_port)
    fg_worker = celery_worker("flowgate", "config", concurrency, fg_queue, log_dir)
    bare_worker = celery_worker("bare", "bench.bare", concurrency, bare_queue, log_dir)
    try:
        flowgate, bare = Flowgate(fg_queue, workflows), Bare(bare_queue)
        wait_worker_ready(fg_worker, flowgate.ping)
        wait_worker_ready(bare_worker, bare.ping)
        for _ in range(3):  # warm up both sides
            flowgate.run_one("noop3")
            bare.run_one(3, 0)
        print("==> Engine: chain, latency and throughput, alternating sides", flush=True)
        measure_engine(sizes, results, flowgate, bare)
        results.add("flowgate.rss_mib", fg_worker.peak_rss_mib())
        results.add("bare.rss_mib", bare_worker.peak_rss_mib())
        print("==> Web: synchronous runs and reads", flush=True)
        measure_web(sizes, results, web_port, key, flowgate)
    finally:
        for process in (fg_worker, bare_worker, web):
            process.stop()
    print("==> Statements per task (instrumented worker)", flush=True)
    measure_statements(sizes, results, fg_queue, log_dir)
    print("==> One worker process against two, back to back", flush=True)
    measure_scaling(sizes, results, log_dir)
    if not args.skip_embedded:
        print("==> Embedded default (SQLite and a broker folder)", flush=True)
        measure_embedded(sizes, results)

    text, all_met = table(results, sizes, concurrency)
    print()
    print(f"Flowgate against bare Celery, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, "
          f"PostgreSQL and Redis on 127.0.0.1, {concurrency} prefork worker processes each, web: {args.web}, "
          f"medians of {sizes.repeats} repeat(s){' (quick)' if args.quick else ''}; the synchronous waits "
          f"and the embedded default: p50/p95 of {sizes.http_requests} and {sizes.embedded_requests} requests; "
          f"statements per task: one instrumented run")
    print(text)
    print()
    print("every target met" if all_met else "some targets NOT MET")


if __name__ == "__main__":
    main()
