"""Engine throughput and latency through real Celery workers, side by side with a baseline.

Runs the same batch of executions twice in one run: first with one worker process (the
baseline), then with the candidate concurrency (default 2), and prints medians and ratios.
Also reports the worker processes' peak memory (VmHWM). Talks only to 127.0.0.1.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/flowgate_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 SECRET_KEY=bench-secret-key-0123456789abcdefghijklmnop \\
    ALLOWED_HOSTS=127.0.0.1 .venv/bin/python bench/bench_engine.py --executions 60 --concurrency 2

The database named in DATABASE_URL is dropped and created again: never point it at real data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Five tasks, two of them parallel: a typical small workflow.
DEFINITION = {"tasks": [
    {"name": "prepare", "type": "set", "config": {"values": {"n": "{{ input.n }}"}}},
    {"name": "left", "type": "set", "config": {"values": {"v": "{{ tasks.prepare.output.n * 2 }}"}}, "depends_on": ["prepare"]},
    {"name": "right", "type": "log", "config": {"message": "n={{ tasks.prepare.output.n }}"}, "depends_on": ["prepare"]},
    {"name": "join", "type": "set", "config": {"values": {"done": True}}, "depends_on": ["left", "right"]},
    {"name": "answer", "type": "response", "config": {"value": "{{ tasks.left.output.v }}"}, "depends_on": ["join"]},
]}


def recreate_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    if not name.startswith(("flowgate_bench", "bench")):
        sys.exit("Refusing to drop a database whose name does not start with flowgate_bench or bench.")
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def peak_rss_kib(pid: int) -> int:
    """The largest VmHWM among the worker's process tree."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except FileNotFoundError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total = max(total, int(line.split()[1]))
        except OSError:
            continue
    return total


def run_batch(workflow, count: int, concurrency: int, queue: str) -> dict:
    from executions.models import Execution
    from executions.services import start_execution

    env = dict(os.environ, CELERY_TASK_DEFAULT_QUEUE=queue, PYTHONPATH=str(ROOT))
    log = open(f"/tmp/flowgate-bench-worker-{concurrency}.log", "w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", f"--concurrency={concurrency}",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
         "-n", f"bench-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(4)  # worker start-up is not what is measured
        from config.celery import app

        app.conf.task_default_queue = queue
        started = time.monotonic()
        ids = [start_execution(caller=None, workflow=workflow, input={"n": i})[0].id for i in range(count)]
        deadline = started + 300
        while time.monotonic() < deadline:
            if Execution.objects.filter(id__in=ids, status="succeeded").count() == count:
                break
            if Execution.objects.filter(id__in=ids, status__in=["failed", "cancelled"]).exists():
                raise SystemExit("an execution failed; see the worker log in /tmp")
            time.sleep(0.05)
        else:
            raise SystemExit("executions did not finish within 300 s")
        wall = time.monotonic() - started
        rows = Execution.objects.filter(id__in=ids).values_list("created_at", "ended_at")
        latencies = sorted((ended - created).total_seconds() for created, ended in rows)
        rss = peak_rss_kib(worker.pid)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        log.close()
    return {
        "throughput": count / wall,
        "p50": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95) - 1],
        "rss_mib": rss / 1024,
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="alternate baseline and candidate this many times")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        sys.exit("Set DATABASE_URL (PostgreSQL, a throw-away database) and CELERY_BROKER_URL (Redis).")
    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.services import create_project, create_tenant
    from workflows.services import create_workflow

    project = create_project(create_tenant("Bench", "bench"), "Bench", "bench")
    workflow = create_workflow(project=project, name="bench", definition=DEFINITION)

    results: dict[str, list[dict]] = {"baseline": [], "candidate": []}
    for round_number in range(args.rounds):
        for label, concurrency in (("baseline", 1), ("candidate", args.concurrency)):
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            result = run_batch(workflow, args.executions, concurrency, queue)
            results[label].append(result)
            print(f"round {round_number + 1} {label:9} concurrency={concurrency}: "
                  f"{result['throughput']:.1f} exec/s, p50 {result['p50'] * 1000:.0f} ms", flush=True)

    def med(label, key):
        return statistics.median(r[key] for r in results[label])

    print()
    print(f"{args.executions} executions x {args.rounds} rounds, 5-task workflow (2 parallel branches)")
    print(f"{'metric':<28}{'baseline (1 proc)':>20}{f'candidate ({args.concurrency} procs)':>24}{'ratio':>10}")
    for key, name, scale, fmt in (("throughput", "executions/s (median)", 1, "{:.1f}"),
                                  ("p50", "latency p50 ms (median)", 1000, "{:.0f}"),
                                  ("p95", "latency p95 ms (median)", 1000, "{:.0f}"),
                                  ("rss_mib", "worker peak RSS MiB", 1, "{:.0f}")):
        base, cand = med("baseline", key) * scale, med("candidate", key) * scale
        print(f"{name:<28}{fmt.format(base):>20}{fmt.format(cand):>24}{cand / base if base else 0:>10.2f}")


if __name__ == "__main__":
    main()
