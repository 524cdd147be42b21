"""Flowgate's reliability battery: real processes, real outages, one table of what was lost.

It starts everything it needs on loopback and stops it at the end: a PostgreSQL cluster of its own
(``initdb`` and ``pg_ctl`` into a temporary directory, so it can be restarted), a Redis server of its
own on a spare port (so it can be stopped), the web process (uvicorn through ``config.serve``, two
processes, connections from the pool, as deployed), a Celery worker and Celery beat. Then it:

* SIGKILLs a worker's pool processes and, separately, its main process (restarted as a supervisor
  would: ``Restart=on-failure``, ``runflowgate``), each while an execution runs, and counts the
  executions lost, stuck, the tasks run again and the time until each execution ended;
* stops Redis for 30 s under 10 POST/s and counts 5xx answers and accepted executions that never end;
* restarts PostgreSQL under the same load and counts 5xx other than 503, slow answers and lost rows;
  both outages are repeated ``--outage-rounds`` times (2; 1 with ``--quick``), each summed in one row;
* races approve against reject, cancel against completion, and requests with one Idempotency-Key;
* times ``/healthz`` while 50 synchronous waits are parked, sends hostile requests to every API
  surface (native, Refold, Port, FlowSynx, Flowdash, mindzie), and reads the worker's memory before
  and after.

    make reliability                                # the full battery (about 15 minutes on 2 cores)
    make reliability ARGS=--quick                   # a few of each (what the test suite runs)
    make reliability ARGS="--outage-rounds 5"       # the outages five times each

It exits with status 1 when any lost, stuck, 5xx, double-decision or duplicate count is not zero,
when ``/healthz`` p99 with the waits parked is 100 ms or more, when the worker or beat exited by
itself, or when a task was said to have lost its worker during the PostgreSQL restart.
"""

from __future__ import annotations

import argparse
import base64
import glob
import http.client
import json
import os
import platform
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_engine import Process, free_port, percentile, wait_http, web_command  # noqa: E402
from bench.procs import children_of  # noqa: E402


@dataclass
class Sizes:
    kills: int  # SIGKILLs of pool processes, and as many of the main process
    redis_outage: float  # seconds Redis stays down
    pg_outage: float  # seconds PostgreSQL stays down
    races: int  # approve/reject, cancel/complete and Idempotency-Key races, each
    parked: int  # synchronous waits parked while /healthz is timed
    park_wait: int  # their ?wait=
    healthz: int  # /healthz requests timed
    streams: int  # live streams (Server-Sent Events) held open while /healthz is timed


FULL = Sizes(kills=20, redis_outage=30, pg_outage=15, races=20, parked=50, park_wait=20, healthz=200, streams=200)
QUICK = Sizes(kills=3, redis_outage=6, pg_outage=5, races=3, parked=20, park_wait=5, healthz=40, streams=50)

POST_RATE = 10  # POSTs per second during the outages
ROUND_DEADLINE = 90.0  # seconds an execution may take to end after a kill before it counts as stuck
DRAIN_DEADLINE = 180.0  # seconds accepted executions may take to end after an outage
LEASE_SECONDS = 6  # short leases, so that a killed worker's task is taken back within seconds
SWEEP_SECONDS = 2
REDISPATCH_SECONDS = 5
TEST_KEY_ENV = "FLOWGATE_RELIABILITY_KEEP"
OVERSIZE_CAP = 64 * 1024 * 1024  # bytes: a size limit above this is not probed with a body over it


# -- servers of the battery's own ----------------------------------------------------------------------
def postgres_bin() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True) + [
            str(Path(p).parent) for p in [shutil.which("pg_ctl") or ""] if p]:
        if (Path(candidate) / "pg_ctl").exists() and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise SystemExit("The battery needs PostgreSQL's initdb and pg_ctl (e.g. /usr/lib/postgresql/15/bin).")


class Postgres:
    """A throw-away cluster on a spare loopback port; as the ``postgres`` user when run as root."""

    def __init__(self, root: Path) -> None:
        self.bin = postgres_bin()
        self.dir = root / "pg"
        self.dir.mkdir()
        self.port = free_port()
        self.log = self.dir / "server.log"
        self.user = None
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
            self.user = pwd.getpwnam("postgres")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._run(self.bin / "initdb", "-D", self.dir / "data", "-U", "postgres", "--auth=trust", "--no-sync",
                  "-E", "UTF8")
        self.start()
        self._psql_create()

    def _run(self, *cmd, check: bool = True) -> subprocess.CompletedProcess:
        args = [str(c) for c in cmd]
        if self.user is not None:
            args = ["runuser", "-u", "postgres", "--", *args]
        result = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(self.bin / "pg_ctl", "-D", self.dir / "data", "-l", self.log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w", "stop", check=False)

    def _psql_create(self) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute('CREATE DATABASE "flowgate_reliability"')

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/flowgate_reliability"


class Redis:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.root = root
        self.starts = 0
        self.process: Process | None = None
        self.start()

    def start(self) -> None:
        self.starts += 1
        self.process = Process(f"redis-{self.starts}", [
            shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no"], dict(os.environ), self.root,
            ready="Ready to accept connections")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


# -- processes ---------------------------------------------------------------------------------------------
def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Supervised:
    """A Celery process started again whenever it is found dead, as a supervisor would; its exits by
    itself are counted (it must ride every outage out). Subclasses name its command."""

    name = ""

    def __init__(self, env: dict, log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.starts = 0
        self.exits_by_itself = 0
        self.process: Process | None = None
        self.start()

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.starts += 1
        self.process = Process(f"{self.name}-{self.starts}", self.command(), self.env, self.log_dir)
        self.started_at = time.monotonic()

    def ensure_alive(self) -> None:
        """Start it again if it exited by itself (counted)."""
        if self.process.process.poll() is not None:
            self.exits_by_itself += 1
            _kill_group(self.process)
            self.start()

    def stop(self) -> None:
        self.process.stop()


class Worker(Supervised):
    """The Celery worker (two pool processes)."""

    name = "worker"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=2", "--without-gossip",
                "--without-mingle", "--loglevel=INFO", "-n", f"reliability-{self.starts}@%h"]

    @property
    def pid(self) -> int:
        return self.process.process.pid

    def pool(self) -> list[int]:
        return children_of(self.pid)

    def kill_main(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.process.process.wait(timeout=10)
        _kill_group(self.process)  # what a supervisor's restart clears away (systemd: its control group)
        self.start()


class Beat(Supervised):
    """Celery beat."""

    name = "beat"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                "--schedule", str(self.log_dir / "celerybeat-schedule")]


def _kill_group(process: Process) -> None:
    try:
        os.killpg(process.process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.log.close()
    except OSError:
        pass


# -- HTTP -------------------------------------------------------------------------------------------------
class Api:
    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key

    def call(self, method: str, path: str, body=None, key: str | None = None, headers: dict | None = None,
             raw: bytes | None = None, timeout: float = 60) -> tuple[int, dict, float]:
        """(status, JSON body or {}, seconds); status 0 when no answer came."""
        all_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key or self.key}",
                       **(headers or {})}
        began = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (json.dumps(body) if body is not None else None)
            conn.request(method, path, body=data, headers=all_headers)
            response = conn.getresponse()
            payload = response.read()
            try:
                parsed = json.loads(payload) if payload else {}
            except ValueError:
                parsed = {}
            return response.status, parsed if isinstance(parsed, dict) else {}, time.monotonic() - began
        except OSError:
            return 0, {}, time.monotonic() - began
        finally:
            conn.close()

    def start(self, workflow: str, **extra) -> tuple[int, dict, float]:
        return self.call("POST", "/api/v1/executions/", {"workflow": workflow, **extra})


class Load:
    """``POST_RATE`` starts per second, each on a thread of its own, until stopped; keeps every answer."""

    def __init__(self, api: Api, workflow: str) -> None:
        self.api, self.workflow = api, workflow
        self.answers: list[tuple[float, int, dict, float]] = []
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=64)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _one(self) -> None:
        sent = time.monotonic()
        status, body, seconds = self.api.start(self.workflow)
        self.answers.append((sent, status, body, seconds))

    def _run(self) -> None:
        began, index = time.monotonic(), 0
        while not self._stop.is_set():
            self._pool.submit(self._one)
            index += 1
            self._stop.wait(max(began + index / POST_RATE - time.monotonic(), 0))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    def accepted(self) -> list[str]:
        return [body["id"] for _, status, body, _ in self.answers if status in (200, 201, 202) and "id" in body]


# -- the database, read by the battery itself -----------------------------------------------------------
def orm():
    from django.db import close_old_connections

    close_old_connections()


def ended(ids: list[str]) -> set[str]:
    from executions.models import TERMINAL_STATUSES, Execution

    found = set()
    for start in range(0, len(ids), 500):
        found |= {str(pk) for pk in Execution.objects.filter(pk__in=ids[start:start + 500],
                                                            status__in=TERMINAL_STATUSES).values_list("pk", flat=True)}
    return found


def wait_ended(ids: list[str], deadline: float, worker: Worker | None = None) -> tuple[set[str], dict[str, float]]:
    """Wait until every execution has ended or the deadline passed: (ended ids, when each was seen ending)."""
    from django.db import DatabaseError, connections

    seen: dict[str, float] = {}
    until = time.monotonic() + deadline
    while time.monotonic() < until and len(seen) < len(ids):
        try:
            for pk in ended([i for i in ids if i not in seen]):
                seen[pk] = time.monotonic()
        except DatabaseError:
            connections.close_all()
        if worker is not None:
            worker.ensure_alive()
        time.sleep(0.1)
    return set(seen), seen


def reruns(ids: list[str]) -> int:
    from django.db.models import Sum

    from executions.models import TaskRun

    extra = TaskRun.objects.filter(execution_id__in=ids, attempts__gt=1).aggregate(n=Sum("attempts"))["n"] or 0
    runs = TaskRun.objects.filter(execution_id__in=ids, attempts__gt=1).count()
    return extra - runs


def duplicate_outputs(ids: list[str]) -> int:
    """Outcomes recorded more than once among the executions ``ids``: a task's success, or an
    execution's end, logged twice (each is written in the transaction that stores the output or
    the return value, so a second one means the output was written again)."""
    from django.db.models import Count, Q

    from executions.models import Log

    ends = Q(event__in=("execution.succeeded", "execution.failed", "execution.cancelled"))
    twice = (Log.objects.filter(Q(event="task.succeeded") | ends, execution_id__in=ids)
             .values("execution_id", "message").annotate(n=Count("pk")).filter(n__gt=1))
    return twice.count()


def statuses(ids: list[str]) -> dict[str, int]:
    from django.db.models import Count

    from executions.models import Execution

    return dict(Execution.objects.filter(pk__in=ids).values_list("status").annotate(n=Count("pk")))


def running_task(execution_id: str, timeout: float = 30) -> bool:
    from executions.models import TaskRun, TaskRunStatus

    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if TaskRun.objects.filter(execution_id=execution_id, status=TaskRunStatus.RUNNING).exists():
            return True
        time.sleep(0.05)
    return False


# -- the rows of the table ----------------------------------------------------------------------------------
HEALTHZ_P99_LIMIT = 0.1  # seconds: /healthz p99 with the synchronous waits parked must stay under it


@dataclass
class Row:
    check: str
    runs: int
    fivexx: int | None = None
    lost: int | None = None
    stuck: int | None = None
    reruns: int | None = None
    p95: float | None = None
    notes: str = ""
    dup: int | None = None  # outputs written more than once (duplicate_outputs)
    gate: bool = True  # its counts and limits below must hold for the battery to pass
    p_limit: float | None = None  # the p95 column (p99 where the check says so) must be under it, in seconds
    worker_exits: int | None = None  # times the worker exited by itself: must be 0
    beat_exits: int | None = None  # times beat exited by itself: must be 0
    lost_worker_logs: int | None = None  # "lost its worker" logged though no worker was lost: must be 0

    def reasons(self) -> list[str]:
        """Why the row fails the battery, one phrase each; empty when it passes."""
        if not self.gate:
            return []
        found = [f"{name} {value}" for name, value in (("5xx", self.fivexx), ("lost", self.lost),
                                                       ("stuck", self.stuck), ("dup", self.dup)) if value]
        if self.p_limit is not None:
            if self.p95 is None:
                found.append("no time measured")
            elif self.p95 >= self.p_limit:
                found.append(f"{self.p95 * 1000:.0f} ms is not under {self.p_limit * 1000:.0f} ms")
        if self.worker_exits:
            found.append(f"the worker exited by itself {self.worker_exits} times")
        if self.beat_exits:
            found.append(f"beat exited {self.beat_exits} times")
        if self.lost_worker_logs:
            found.append(f"'lost its worker' logged {self.lost_worker_logs} times")
        return found

    def failed(self) -> bool:
        return bool(self.reasons())

    def shown_notes(self) -> str:
        """The notes, and what failed first when anything did."""
        reasons = self.reasons()
        return f"FAILED: {', '.join(reasons)}; {self.notes}" if reasons else self.notes


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def print_table(rows: list[Row], title: str) -> None:
    print(title)
    header = (f"{'check':<52} {'runs':>5} {'5xx':>5} {'lost':>5} {'stuck':>6} {'dup':>4} {'re-runs':>8} {'p95 s':>7}"
              "  notes")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r.check:<52} {r.runs:>5} {fmt(r.fivexx):>5} {fmt(r.lost):>5} {fmt(r.stuck):>6} {fmt(r.dup):>4} "
              f"{fmt(r.reruns):>8} {fmt(r.p95):>7}  {r.shown_notes()}")
    sys.stdout.flush()


# -- scenarios --------------------------------------------------------------------------------------------
def at_once(calls: list) -> list:
    """Run each call on a thread of its own, all released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def kill_rounds(api: Api, worker: Worker, count: int, target: str) -> Row:
    """``count`` executions, each with its worker's pool processes (or main process) SIGKILLed mid-task."""
    ids, recoveries, lost, stuck, early_kills = [], [], 0, 0, 0
    exits_before = worker.exits_by_itself
    for _ in range(count):
        worker.ensure_alive()
        status, body, _ = api.start("kill")
        if status not in (201, 202):
            lost += 1
            continue
        execution_id = body["id"]
        ids.append(execution_id)
        if not running_task(execution_id):
            worker.ensure_alive()
        killed_at = time.monotonic()
        if target == "child":
            for pid in worker.pool():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        else:
            worker.kill_main()
            # A pool process killed as soon as it exists, before the worker has started consuming
            # (Celery's "Could not start worker processes"): the worker must ride it out.
            until = time.monotonic() + 30
            while not worker.pool() and time.monotonic() < until and worker.process.process.poll() is None:
                time.sleep(0.02)
            for pid in worker.pool()[:1]:
                early_kills += 1
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        done, seen = wait_ended([execution_id], ROUND_DEADLINE, worker)
        if execution_id in done:
            recoveries.append(seen[execution_id] - killed_at)
        else:
            stuck += 1
    orm()
    final = statuses(ids)
    lost += sum(n for s, n in final.items() if s != "succeeded" and s in ("failed", "cancelled")) + (
        len(ids) - sum(final.values()))
    exits = worker.exits_by_itself - exits_before
    what = "pool processes" if target == "child" else "main process"
    notes = f"worker exits by itself: {exits} (restarted)"
    if target == "main":
        notes += f"; and {early_kills} pool processes killed as the new worker started"
    return Row(f"worker SIGKILL ({what})", count, None, lost, stuck, reruns(ids),
               percentile(recoveries, 0.95) if recoveries else None, notes, dup=duplicate_outputs(ids),
               worker_exits=exits)


def redis_outage(api: Api, redis: Redis, worker: Worker, beat: Beat, seconds: float, rounds: int) -> Row:
    """``rounds`` times: Redis stopped for ``seconds`` under load and started again, empty; one row of their sums."""
    answers: list[tuple[float, int, dict, float]] = []
    accepted: list[str] = []
    never = 0
    exits_before, beat_before = worker.exits_by_itself, beat.exits_by_itself
    for _ in range(rounds):
        load = Load(api, "quick")
        time.sleep(3)
        redis.stop()
        time.sleep(seconds)
        redis.start()
        time.sleep(3)
        load.stop()
        these = load.accepted()
        done, _ = wait_ended(these, DRAIN_DEADLINE, worker)
        beat.ensure_alive()
        answers += load.answers
        accepted += these
        never += len(these) - len(done)
    orm()
    fivexx = sum(1 for _, s, _, _ in answers if s >= 500 or s == 0)
    slowest = max((sec for _, _, _, sec in answers), default=0)
    exits, beat_exits = worker.exits_by_itself - exits_before, beat.exits_by_itself - beat_before
    return Row(f"Redis down {seconds:.0f} s under {POST_RATE} POST/s", len(answers), fivexx, None, never, None,
               None, f"rounds {rounds}; accepted {len(accepted)}/{len(answers)}, never finished {never}; slowest "
                     f"answer {slowest:.1f} s; worker exits {exits}; beat {'DIED' if beat_exits else 'up'}",
               dup=duplicate_outputs(accepted), worker_exits=exits, beat_exits=beat_exits)


def postgres_restart(api: Api, pg: Postgres, worker: Worker, beat: Beat, seconds: float,
                     rounds: int) -> tuple[Row, Row]:
    """``rounds`` times: PostgreSQL stopped for ``seconds`` under load and started again; the load's row
    and /healthz's row, each the sum of the rounds."""
    from django.db import connections

    from executions.models import Execution, Log

    probe: list[tuple[float, int, float]] = []
    ready: list[dict] = []
    answers: list[tuple[float, int, dict, float]] = []
    accepted: list[str] = []
    lost = never = false_lost = 0
    slowest = 0.0
    exits_before, beat_before = worker.exits_by_itself, beat.exits_by_itself
    for _ in range(rounds):
        stop = threading.Event()

        def healthz(stop: threading.Event = stop) -> None:
            while not stop.is_set():
                status, _, sec = api.call("GET", "/healthz", timeout=30)
                probe.append((time.monotonic(), status, sec))
                stop.wait(0.2)

        orm()
        before = Log.objects.filter(message__contains="lost its worker").count()
        prober = threading.Thread(target=healthz, daemon=True)
        prober.start()
        load = Load(api, "quick")
        time.sleep(3)
        connections.close_all()
        pg.stop()
        down_at = time.monotonic()
        time.sleep(seconds / 2)
        status, body, _ = api.call("GET", "/readyz", timeout=30)
        ready.append({"status": status, **body})
        time.sleep(seconds / 2)
        pg.start()
        up_at = time.monotonic()
        time.sleep(5)
        load.stop()
        stop.set()
        prober.join()
        these = load.accepted()
        slowest = max([slowest, *(sec for sent, _, _, sec in load.answers if down_at <= sent <= up_at)])
        done, _ = wait_ended(these, DRAIN_DEADLINE, worker)
        beat.ensure_alive()
        orm()
        rows = {str(pk) for pk in Execution.objects.filter(pk__in=these).values_list("pk", flat=True)}
        lost += len(set(these) - rows)
        never += len(rows) - len(done & rows)
        false_lost += Log.objects.filter(message__contains="lost its worker").count() - before
        answers += load.answers
        accepted += these
    other_5xx = sum(1 for _, s, _, _ in answers if (s >= 500 and s != 503) or s == 0)
    unavailable = sum(1 for _, s, _, _ in answers if s == 503)
    health_5xx = sum(1 for _, s, _ in probe if s != 200)
    health_max = max((sec for _, _, sec in probe), default=0)
    readyz = "; ".join(sorted({f"{r.get('status')} {r.get('checks')}" for r in ready}))
    exits, beat_exits = worker.exits_by_itself - exits_before, beat.exits_by_itself - beat_before
    load_row = Row(f"PostgreSQL down {seconds:.0f} s and restarted, {POST_RATE} POST/s", len(answers), other_5xx,
                   lost, never, None, None,
                   f"rounds {rounds}; 5xx other than 503; 503 answered {unavailable}, slowest answer while down "
                   f"{slowest:.1f} s; 'lost its worker' logged {false_lost}; /readyz while down: {readyz}; "
                   f"worker exits {exits}; beat {'DIED' if beat_exits else 'up'}",
                   dup=duplicate_outputs(accepted), worker_exits=exits, beat_exits=beat_exits,
                   lost_worker_logs=false_lost)
    health_row = Row("/healthz during the PostgreSQL restart", len(probe), health_5xx, None, None, None,
                     percentile([sec for _, _, sec in probe], 0.95) if probe else None,
                     f"rounds {rounds}; slowest {health_max * 1000:.0f} ms (5xx column: any answer but 200)")
    return load_row, health_row


def approval_races(api: Api, approvers: list[str], count: int) -> Row:
    from approvals.models import Approval

    ids, approvals = [], []
    for _ in range(count):
        status, body, _ = api.start("approve")
        ids.append(body.get("id"))
    until = time.monotonic() + 60
    while time.monotonic() < until:
        orm()
        approvals = list(Approval.objects.filter(execution_id__in=ids, status="pending").values_list("pk", "execution_id"))
        if len(approvals) == count:
            break
        time.sleep(0.2)
    fivexx, doubles, answers = 0, 0, []
    for approval_id, _ in approvals:
        calls = {verb: (lambda verb=verb, key=key, approval_id=approval_id: api.call(
            "POST", f"/api/v1/approvals/{approval_id}/{verb}/", {"comment": "race"}, key=key)[0])
            for verb, key in (("approve", approvers[0]), ("reject", approvers[1]))}
        results = dict(zip(calls, at_once(list(calls.values())), strict=True))
        answers.append(results)
        fivexx += sum(1 for s in results.values() if s >= 500 or s == 0)
        doubles += sum(1 for s in results.values() if s == 200) > 1
    done, _ = wait_ended([str(i) for i in ids], 60)
    orm()
    decided = Approval.objects.filter(execution_id__in=ids).exclude(status="pending").count()
    codes = sorted({f"{a.get('approve')}/{a.get('reject')}" for a in answers})
    return Row("approve vs reject, at once (two approvers)", len(approvals), fivexx, doubles, count - len(done), None,
               None, f"lost column: both decisions accepted; decided {decided}/{count}; answers approve/reject: "
                     f"{', '.join(codes)}")


def cancel_races(api: Api, count: int) -> Row:
    ids, fivexx, codes = [], 0, set()
    for index in range(count):
        status, body, _ = api.start("short")
        execution_id = body["id"]
        ids.append(execution_id)
        running_task(execution_id, timeout=30)
        time.sleep(0.06 * (index % 8))  # from at once to about when its 0.3 s task completes
        status, _, _ = api.call("POST", f"/api/v1/executions/{execution_id}/cancel/", {})
        codes.add(status)
        fivexx += status >= 500 or status == 0
    done, _ = wait_ended(ids, 60)
    orm()
    final = statuses(ids)
    return Row("cancel vs completion", count, fivexx, None, count - len(done), None, None,
               f"ended: {', '.join(f'{s} {n}' for s, n in sorted(final.items()))}; cancel answered "
               f"{', '.join(map(str, sorted(codes)))}")


def idempotency_races(api: Api, count: int, clients: int = 8) -> Row:
    fivexx, duplicates, codes = 0, 0, set()
    for _ in range(count):
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        answers = at_once([lambda headers=headers: api.call("POST", "/api/v1/executions/", {"workflow": "quick"},
                                                            headers=headers)] * clients)
        codes |= {s for s, _, _ in answers}
        fivexx += sum(1 for s, _, _ in answers if s >= 500 or s == 0)
        duplicates += len({b.get("id") for s, b, _ in answers if s in (200, 201, 202)}) > 1
    return Row(f"Idempotency-Key, {clients} requests at once", count, fivexx, duplicates, None, None, None,
               f"lost column: keys that started more than one execution; answers {', '.join(map(str, sorted(codes)))}")


def parked_healthz(api: Api, parked: int, wait: int, probes: int) -> Row:
    answers: list[tuple[int, float]] = []

    def park() -> None:
        status, _, sec = api.call("POST", f"/api/v1/executions/?wait={wait}", {"workflow": "park"}, timeout=wait + 30)
        answers.append((status, sec))

    threads = [threading.Thread(target=park) for _ in range(parked)]
    for t in threads:
        t.start()
    # Time /healthz once the burst has been taken in: the waits past the slots have had their 202
    # (no answer for a second), and the rest are parked.
    time.sleep(1.5)
    settle_until, seen, quiet_since = time.monotonic() + min(8, wait / 2), -1, time.monotonic()
    while time.monotonic() < settle_until and time.monotonic() - quiet_since < 1.0:
        if len(answers) != seen:
            seen, quiet_since = len(answers), time.monotonic()
        time.sleep(0.05)
    latencies, fivexx = [], 0
    for _ in range(probes):
        status, _, sec = api.call("GET", "/healthz", timeout=30)
        latencies.append(sec)
        fivexx += status != 200
    for t in threads:
        t.join()
    early = sorted(sec for s, sec in answers if s == 202 and sec < wait - 1)
    waited = sum(1 for s, sec in answers if s == 202 and sec >= wait - 1)
    bad = sum(1 for s, _ in answers if s >= 500 or s == 0)
    return Row(f"/healthz with {parked} sync waits parked (p99 s)", probes, fivexx + bad, None, None, None,
               percentile(latencies, 0.99),
               f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max "
               f"{max(latencies) * 1000:.0f} ms; waits: "
               f"{len(early)} answered 202 without waiting (slots full; slowest in {max(early, default=0):.1f} s "
               f"under the load of {parked} at once), {waited} waited their {wait} s; p99 must be under "
               f"{HEALTHZ_P99_LIMIT * 1000:.0f} ms", p_limit=HEALTHZ_P99_LIMIT)


def streams_healthz(api: Api, streams: int, probes: int) -> Row:
    """/healthz timed while ``streams`` live streams of a waiting execution are open (each answered 200)."""
    status, body, _ = api.start("park")
    if status != 201:
        return Row(f"/healthz with {streams} live streams open (p99 s)", 0, 1, notes=f"could not start: {status}")
    request = (f"GET /api/v1/executions/{body['id']}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {api.key}\r\nAccept: text/event-stream\r\n\r\n").encode()
    sockets, opened, refused = [], 0, 0
    try:
        for _ in range(streams):
            sock = socket.create_connection(("127.0.0.1", api.port), timeout=30)
            sock.sendall(request)
            sockets.append(sock)
        for sock in sockets:  # each stream answered its headers: it is open and held by the server
            head = sock.recv(4096)
            opened += head.startswith(b"HTTP/1.1 200")
            refused += not head.startswith(b"HTTP/1.1 200")
        # Timed once the burst has been taken in (as with the parked waits): each new stream first
        # sends the execution's history, then only waits.
        time.sleep(1.5)
        latencies, fivexx = [], 0
        for _ in range(probes):
            answer, _, sec = api.call("GET", "/healthz", timeout=30)
            latencies.append(sec)
            fivexx += answer != 200
    finally:
        for sock in sockets:
            sock.close()
    api.call("POST", f"/api/v1/executions/{body['id']}/cancel/")
    return Row(f"/healthz with {streams} live streams open (p99 s)", probes, fivexx + refused, None, None, None,
               percentile(latencies, 0.99),
               f"streams open {opened}/{streams}; p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 "
               f"{percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; p99 must be under "
               f"{HEALTHZ_P99_LIMIT * 1000:.0f} ms", p_limit=HEALTHZ_P99_LIMIT)


@dataclass
class Targets:
    """Ids the hostile requests put in their paths: objects of the battery's own tenant."""

    tenant: str
    project: str
    workflow: str  # the "quick" workflow's id
    execution: str  # an execution of it
    action: str  # an action (of the project) whose steps run a no-op


@dataclass
class Surface:
    """One API Flowgate serves, and where each kind of hostile request goes on it."""

    name: str
    bodies: list[tuple[str, str]]  # (method, path) of requests that take a JSON body
    lists: list[str]  # paths read by GET, which get the hostile query strings
    nul_paths: list[tuple[str, str]]  # (method, path) with a NUL (%00) in a path segment
    keyed: list[tuple[str, str, bytes | None]]  # (method, path, body) of a start, sent with an Idempotency-Key
    status: tuple[str, str]  # a filter and a value it does not know
    date: str  # a date filter (a surface without one gets the native name, which it ignores)
    cursor: str  # its cursor; "page" where pages are numbered (then 8 KB of digits)


def surfaces(t: Targets) -> list[Surface]:
    native_body = b'{"workflow": "quick"}'
    mindzie = f"/api/{t.tenant}/{t.project}"
    return [
        Surface("native", [("POST", "/api/v1/executions/"), ("POST", "/api/v1/workflows/"),
                           ("POST", "/api/v1/schedules/"), ("PATCH", f"/api/v1/workflows/{t.workflow}/")],
                ["/api/v1/executions/", "/api/v1/workflows/", f"/api/v1/executions/{t.execution}/logs/",
                 "/api/v1/approvals/"],
                [("GET", "/api/v1/executions/%00/"), ("POST", "/api/v1/workflows/%00/run/"),
                 ("GET", "/api/v1/projects/%00/")],
                [("POST", "/api/v1/executions/", native_body)], ("status", "bogus"), "created_after", "cursor"),
        Surface("Refold", [("POST", "/api/v1/workflow/quick/execute"),
                           ("POST", f"/api/v1/workflow/{t.workflow}/execute")],
                [f"/api/v1/execution/{t.execution}/response"],
                [("POST", "/api/v1/workflow/%00/execute"), ("GET", "/api/v1/execution/%00/response")],
                [("POST", "/api/v1/workflow/quick/execute", b"{}")], ("status", "bogus"), "created_after", "cursor"),
        Surface("Port", [("POST", "/api/v1/flow-runs")], ["/api/v1/flow-runs"],
                [("GET", "/api/v1/flow-runs/%00"), ("PATCH", "/api/v1/flow-runs/run%00id")],
                [("POST", "/api/v1/flow-runs", b'{"flowId": "hostile"}')],
                ("phase", "bogus"), "createdAfter", "cursor"),
        Surface("FlowSynx", [("POST", f"/workflows/{t.workflow}/executions"),
                             ("POST", f"/workflows/{t.workflow}/executions/{t.execution}/cancel")],
                [f"/workflows/{t.workflow}/executions", f"/workflows/{t.workflow}/executions/{t.execution}/logs"],
                [("GET", "/workflows/%00/executions"), ("GET", f"/workflows/{t.workflow}/executions/%00/tasks")],
                [("POST", f"/workflows/{t.workflow}/executions", f'{{"workflowId": "{t.workflow}"}}'.encode())],
                ("pageSize", "bogus"), "created_after", "page"),
        Surface("Flowdash", [("POST", f"/api/v1/workflows/{t.workflow}/executions"),
                             ("POST", f"/api/v1/workflows/{t.workflow}/tasks/")],
                [f"/api/v1/workflows/{t.workflow}/tasks/", f"/api/v1/workflows/{t.workflow}/executions/{t.execution}",
                 "/api/v1/actions/"],
                [("GET", f"/api/v1/workflows/{t.workflow}/executions/%00"),
                 ("GET", f"/api/v1/workflows/{t.workflow}/tasks/%00/history")],
                [("POST", f"/api/v1/workflows/{t.workflow}/executions", b"{}")], ("assigned", "bogus"),
                "created_after", "cursor"),
        # mindzie's pings with a body are GETs with a JSON body, as its client sends them.
        Surface("mindzie", [("GET", "/api/ping/pingwithbodyparam"), ("GET", "/api/ping/pingwithpathandbodyparam/1"),
                            ("POST", "/api/ping/pingwithfileparam")],
                [f"{mindzie}/actionexecution/action/{t.action}", f"{mindzie}/actionexecution/lastaction/{t.action}",
                 f"{mindzie}/action/{t.action}", f"/api/{t.tenant}/project"],
                [("GET", f"{mindzie}/action/execute/%00"), ("GET", f"{mindzie}/actionexecution/%00"),
                 ("GET", f"/api/%00/{t.project}/action/{t.action}")],
                [("GET", f"{mindzie}/action/execute/{t.action}", None)], ("pageSize", "bogus"), "created_after",
                "page"),
    ]


def oversized_cursor() -> str:
    """A cursor in the shape Flowgate's are (base64 of JSON), over 8 KB."""
    payload = json.dumps({"m": "after", "v": ["x" * 6400, str(uuid.UUID(int=0))]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def hostile_requests(t: Targets, limit: int | None) -> list[tuple[str, str, str, str, bytes | None, dict]]:
    """(surface, kind, method, path, body, headers) of every hostile request, on every surface."""
    bodies = [
        ("unterminated JSON", b'{"workflow": "quick",'),
        ("5,000 nested arrays", b"[" * 5000 + b"]" * 5000),
        ("a number too large for a float", b'{"workflow": "quick", "input": {"n": 1e999999}}'),
        ("an integer of 5,000 digits", b'{"workflow": "quick", "input": {"n": ' + b"9" * 5000 + b"}}"),
        ("bytes that are not UTF-8", b"\xff\xfe\x00garbage"),
        ("a lone surrogate in a string", rb'{"workflow": "quick", "input": {"s": "\ud800"}}'),
    ]
    if limit is not None and limit <= OVERSIZE_CAP:
        bodies.append(("a body over the size limit", b'{"input": {"s": "' + b"x" * (limit + 1) + b'"}}'))
    cursor = oversized_cursor()
    found = []
    for surface in surfaces(t):
        for method, path in surface.bodies:
            found += [(surface.name, kind, method, path, body, {}) for kind, body in bodies]
        for path in surface.lists:
            status, bogus = surface.status
            page = surface.cursor == "page"
            queries = [
                ("NUL in the query", f"{status}=%00"),
                ("an unknown filter value", f"{status}={bogus}"),
                ("a time-zone offset out of range", f"{surface.date}=2026-01-01T00:00:00%2B25:00"),
                ("an offset past PostgreSQL's +-15:59", f"{surface.date}=2026-01-01T00:00:00%2B23:59"),
                ("a cursor over 8 KB", f"{surface.cursor}={'9' * 8300 if page else cursor}"),
            ]
            found += [(surface.name, kind, "GET", f"{path}?{query}", None, {}) for kind, query in queries]
        found += [(surface.name, "NUL in the path", method, path, b"{}" if method != "GET" else None, {})
                  for method, path in surface.nul_paths]
        # Three control characters a header value can carry: a tab, NEL (U+0085, sent as Latin-1) and \x01.
        found += [(surface.name, "an Idempotency-Key with a control character", method, path, body,
                   {"Idempotency-Key": f"key-{uuid.uuid4().hex[:8]}{control}end"})
                  for method, path, body in surface.keyed for control in ("\t", "\x85", "\x01")]
    return found


def hostile(api: Api, targets: Targets, log: Path) -> Row:
    """Every hostile request on every surface; each answer is written to ``log`` (one line a request)."""
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    answers = []
    with log.open("w") as lines:
        for name, kind, method, path, body, headers in hostile_requests(targets, limit):
            code = api.call(method, path, raw=body, headers=headers)[0]
            answers.append((name, kind, code))
            shown = path if len(path) <= 120 else f"{path[:117]}..."
            lines.write(f"{code}\t{name}\t{kind}\t{method} {shown}\n")
    bad = [(name, kind, code) for name, kind, code in answers if code >= 500 or code == 0]
    counts = Counter(code for _, _, code in answers)
    oversized = [code for _, kind, code in answers if kind == "a body over the size limit"]
    notes = f"answers {', '.join(f'{code} x{n}' for code, n in sorted(counts.items()))}"
    notes += (f"; bodies over the {limit:,}-byte limit: {oversized.count(413)}/{len(oversized)} answered 413"
              if oversized else f"; no body over the limit sent (DATA_UPLOAD_MAX_MEMORY_SIZE {limit})")
    if bad:
        notes += "; 5xx or none: " + ", ".join(f"{name} {kind} ({code})" for name, kind, code in bad[:8])
    kinds = len({kind for _, kind, _ in answers})
    for name in dict.fromkeys(n for n, _, _ in answers):
        by_code = Counter(code for n, _, code in answers if n == name)
        print(f"    {name}: {', '.join(f'{code} x{n}' for code, n in sorted(by_code.items()))}")
    return Row(f"hostile requests ({len(surfaces(targets))} surfaces, {kinds} kinds)", len(answers), len(bad),
               None, None, None, None, notes)


# -- the run ------------------------------------------------------------------------------------------------
def fixtures() -> tuple[str, list[str], Targets]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import Role
    from accounts.services import create_api_key, create_project, create_tenant
    from records.actions import create_action
    from workflows.services import create_workflow

    tenant = create_tenant("Reliability", "reliability")
    project = create_project(tenant, "Reliability", "reliability")

    def chain(name: str, steps: int, seconds: float) -> None:
        tasks = [{"name": f"s{i}", "type": "bench_sleep", "config": {"seconds": seconds},
                  **({"depends_on": [f"s{i - 1}"]} if i else {})} for i in range(steps)]
        create_workflow(project=project, name=name, alias=name, definition={"tasks": tasks})

    chain("kill", 3, 0.7)
    chain("short", 1, 0.3)
    noop = {"tasks": [{"name": "only", "type": "bench_noop", "config": {}}]}
    quick = create_workflow(project=project, name="quick", alias="quick", definition=noop)
    action = create_action(project=project, name="hostile", steps=noop)
    create_workflow(project=project, name="park", alias="park",
                    definition={"tasks": [{"name": "later", "type": "delay", "config": {"seconds": 3600}}]})
    create_workflow(project=project, name="approve", alias="approve", definition={"tasks": [
        {"name": "ask", "type": "approval", "config": {"title": "race", "approvers": {"roles": ["approver"]}}},
        {"name": "answer", "type": "response", "config": {"value": "decided"}, "depends_on": ["ask"]}]})
    _, key = create_api_key(tenant, "battery", Role.WORKFLOW)
    approvers = [create_api_key(tenant, f"approver {i}", Role.APPROVER)[1] for i in range(2)]
    return key, approvers, Targets(tenant=str(tenant.id), project=str(project.id), workflow=str(quick.id),
                                   execution="", action=str(action.id))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few of each (the test suite's run)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, the cluster)")
    parser.add_argument("--outage-rounds", type=int, default=None, metavar="N",
                        help="how many times Redis is stopped and PostgreSQL restarted (default 2; 1 with --quick)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    rounds = args.outage_rounds if args.outage_rounds is not None else (1 if args.quick else 2)
    if rounds < 1:
        parser.error("--outage-rounds must be 1 or more")
    began = datetime.now(UTC)
    root = Path(tempfile.mkdtemp(prefix="flowgate-reliability-"))
    os.chmod(root, 0o755)
    pg = redis = worker = beat = web = None
    rows: list[Row] = []
    try:
        pg = Postgres(root)
        redis = Redis(root)
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_TASK_ALWAYS_EAGER")}
        env.update({
            "DATABASE_URL": pg.url, "CELERY_BROKER_URL": redis.url, "DJANGO_SETTINGS_MODULE": "bench.settings",
            "SECRET_KEY": "reliability-secret-key-0123456789abcdefghij", "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "FLOWGATE_HOME": str(root / "home"), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "FLOWGATE_THROTTLE_CALLER": "1000000/min", "FLOWGATE_THROTTLE_ANON": "1000000/min",
            "FLOWGATE_TASK_LEASE_SECONDS": str(LEASE_SECONDS), "FLOWGATE_SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
            "FLOWGATE_REDISPATCH_AFTER_SECONDS": str(REDISPATCH_SECONDS), "CELERY_TASK_DEFAULT_QUEUE": "reliability",
            "DATABASE_POOL_MAX": "20",
        })
        os.environ.update(env)
        key, approvers, targets = fixtures()
        port = free_port()
        web = Process("web", web_command("uvicorn", port), env, root)
        wait_http(web, port)
        worker = Worker(env, root)
        beat = Beat(env, root)
        api = Api(port, key)
        status, body, _ = api.call("POST", "/api/v1/executions/?wait=60", {"workflow": "quick"})
        if status != 200:
            raise SystemExit(f"the warm-up execution did not run ({status} {body}); see the logs in {root}")
        targets.execution = body["id"]

        def add(row: Row) -> None:
            rows.append(row)
            print(f"  {row.check}: 5xx {fmt(row.fivexx)}, lost {fmt(row.lost)}, stuck {fmt(row.stuck)}, "
                  f"dup {fmt(row.dup)}; {row.shown_notes()}")
            sys.stdout.flush()

        print(f"Reliability battery ({'quick' if args.quick else 'full'}, outage rounds {rounds}); logs in {root}")
        add(kill_rounds(api, worker, sizes.kills, "child"))
        add(kill_rounds(api, worker, sizes.kills, "main"))
        worker.ensure_alive()
        time.sleep(2)
        memory_start = rss_mib([worker.pid, *worker.pool()])
        memory_pid = worker.pid
        add(redis_outage(api, redis, worker, beat, sizes.redis_outage, rounds))
        for row in postgres_restart(api, pg, worker, beat, sizes.pg_outage, rounds):
            add(row)
        add(approval_races(api, approvers, sizes.races))
        add(cancel_races(api, sizes.races))
        add(idempotency_races(api, sizes.races))
        add(parked_healthz(api, sizes.parked, sizes.park_wait, sizes.healthz))
        add(streams_healthz(api, sizes.streams, sizes.healthz))
        add(hostile(api, targets, root / "hostile.log"))
        worker.ensure_alive()
        memory_end = rss_mib([worker.pid, *worker.pool()])
        same = worker.pid == memory_pid
        rows.append(Row("worker memory (main + pool, RSS MiB)", 1, None, None, None, None, None,
                        f"{memory_start:.0f} -> {memory_end:.0f} MiB ({memory_end - memory_start:+.0f}) from the "
                        f"outages to the end" + ("" if same else " (the worker was restarted in between)"),
                        gate=False))
    finally:
        for process in (beat, worker, web):
            if process is not None:
                try:
                    process.stop()
                except Exception:  # noqa: BLE001 (stop what can be stopped)
                    pass
        if redis is not None:
            redis.stop()
        if pg is not None:
            from django.db import connections

            try:
                connections.close_all()
            except Exception:  # noqa: BLE001
                pass
            pg.stop()
        if not args.keep and not os.environ.get(TEST_KEY_ENV):
            shutil.rmtree(root, ignore_errors=True)
    cores = os.cpu_count()
    title = (f"Flowgate reliability battery ({'quick' if args.quick else 'full'}), outage rounds {rounds}, "
             f"{began:%Y-%m-%d %H:%M} UTC, "
             f"{cores} cores, {platform.system()} {platform.release()}, {int(time.time() - began.timestamp())} s")
    print()
    print_table(rows, title)
    failed = [f"{r.check} ({', '.join(r.reasons())})" for r in rows if r.failed()]
    if failed:
        print(f"\nFAILED: {'; '.join(failed)}")
        return 1
    print(f"\nEvery 5xx, lost, stuck and dup count is zero; /healthz p99 with the waits parked and with the "
          f"streams open is under "
          f"{HEALTHZ_P99_LIMIT * 1000:.0f} ms; the worker and beat never exited by themselves; no task was said to "
          "have lost its worker.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
