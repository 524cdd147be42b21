"""The embedded default (SQLite and a broker folder, as ``make run`` serves it) answering its demo.

Migrates a fresh ``FLOWGATE_HOME``, loads the demo (``bootstrap_demo``), starts ``runflowgate``
(gunicorn and a Celery worker with beat) and times ``POST /api/v1/executions/?wait=10`` of the
4-task ``parallel-report`` workflow. Prints one JSON line: ``{"p50_ms", "p95_ms", "requests"}``.
``bench_engine.py`` runs it in a process of its own (the settings differ).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY_PATTERN = re.compile(r"fg_[0-9a-f]{8}_[A-Za-z0-9_-]+")
NOT_INHERITED = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "FLOWGATE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE",
                 "CELERY_TASK_DEFAULT_QUEUE", "CELERY_TASK_ALWAYS_EAGER", "FLOWGATE_TASK_TYPES"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def post_wait(port: int, key: str) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    began = time.perf_counter()
    conn.request("POST", "/api/v1/executions/?wait=10",
                 body=json.dumps({"workflow": "parallel-report", "input": {"name": "Ada"}}),
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - began) * 1000
    conn.close()
    if response.status != 200:
        raise SystemExit(f"?wait=10 answered {response.status}: {body[:300]!r}")
    return response.status, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="flowgate-bench-embedded-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update({"FLOWGATE_HOME": str(home), "PYTHONPATH": str(ROOT), "FLOWGATE_BASE_URL": f"http://127.0.0.1:{port}",
                "SECRET_KEY": "embedded-bench-key-0123456789abcdefghijklmnop", "DEBUG": "false",
                "ALLOWED_HOSTS": "127.0.0.1,localhost"})
    manage(env, "migrate", "--no-input")
    found = KEY_PATTERN.search(manage(env, "bootstrap_demo"))
    if found is None:
        raise SystemExit("bootstrap_demo printed no API key")
    key = found.group(0)
    log = open(home / "runflowgate.log", "w")
    server = subprocess.Popen([sys.executable, "manage.py", "runflowgate", "--port", str(port), "--loglevel",
                               "WARNING"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                post_wait(port, key)  # also the warm-up: the first run loads everything
                break
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"runflowgate did not answer:\n{(home / 'runflowgate.log').read_text()[-3000:]}") from None
                time.sleep(0.5)
        for _ in range(2):
            post_wait(port, key)
        times = [post_wait(port, key)[1] for _ in range(args.requests)]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
    ordered = sorted(times)
    print(json.dumps({"p50_ms": statistics.median(times),
                      "p95_ms": ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))],
                      "requests": len(times)}))


if __name__ == "__main__":
    main()
