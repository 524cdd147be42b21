"""The run command's processes, end to end on the embedded default (SQLite and a broker folder)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.procs import children_of
from tests.conftest import ROOT, free_port, wait_until

pytestmark = pytest.mark.e2e
KEY_PATTERN = re.compile(r"fg_[0-9a-f]{8}_[A-Za-z0-9_-]+")
# Variables that would point the processes away from the embedded default or at the tests' queue.
NOT_INHERITED = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "FLOWGATE_SQLITE_PATH", "FLOWGATE_SQLITE_TEST_PATH",
                 "CELERY_TASK_DEFAULT_QUEUE", "CELERY_TASK_ALWAYS_EAGER", "FLOWGATE_TASK_TYPES", "FLOWGATE_BASE_URL"}


def embedded_env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED and not k.endswith("_FILE")}
    env.update({"FLOWGATE_HOME": str(home), "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT),
                "FLOWGATE_BASE_URL": f"http://127.0.0.1:{port}", "FLOWGATE_SWEEP_INTERVAL_SECONDS": "2",
                "PYTHONUNBUFFERED": "1"})
    return env


def manage(env, *args) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def call(base: str, path: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def prepared_home(tmp_path_factory):
    """A FLOWGATE_HOME after ``migrate`` and ``bootstrap_demo``, as `make run` leaves it; copied per test."""
    home = tmp_path_factory.mktemp("prepared") / "home"
    env = embedded_env(home, 8000)
    manage(env, "migrate", "--noinput")
    demo = manage(env, "bootstrap_demo", "--skip-workflows")
    return home, KEY_PATTERN.search(demo).group(0), demo


@pytest.fixture
def served(prepared_home, tmp_path):
    """runflowgate on a fresh copy of the prepared FLOWGATE_HOME and a free port."""
    template, key, demo = prepared_home
    home, port = tmp_path / "home", free_port()
    home.mkdir()
    for database_file in template.glob("flowgate.sqlite3*"):
        shutil.copy(database_file, home / database_file.name)
    env = embedded_env(home, port)
    log_dir = Path(os.environ.get("FLOWGATE_TEST_OUTPUT", ROOT / "test-output"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"runflowgate-{port}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runflowgate", "--port", str(port), "--web-workers", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield {"base": f"http://127.0.0.1:{port}", "key": key, "demo": demo, "process": process,
                   "home": home, "log": log_path}
        finally:
            # runflowgate starts the web process and the worker in sessions of their own: stop those
            # groups too, or a SIGKILLed runflowgate leaves them serving after the test.
            groups = [process.pid, *children_of(process.pid)] if process.poll() is None else []
            for group in groups:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)
            if groups:
                process.wait(timeout=10)


def ready(base: str) -> bool:
    try:
        return call(base, "/readyz")[0] == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def test_it_serves_web_and_worker_on_the_embedded_default_and_stops_both_on_ctrl_c(served):
    base, key, process = served["base"], served["key"], served["process"]
    assert f'curl -H "Authorization: Bearer {key}" http://127.0.0.1:8000/api/v1/workflows/' in served["demo"]
    wait_until(lambda: ready(base) or process.poll() is not None, timeout=90)
    assert process.poll() is None, served["log"].read_text()[-3000:]
    status, body = call(base, "/readyz")
    assert (status, body["checks"]) == (200, {"database": "ok", "broker": "ok"})
    assert (served["home"] / "flowgate.sqlite3").is_file()
    assert (served["home"] / "broker" / "queue").is_dir()

    status, me = call(base, "/api/v1/me", key)
    assert (status, me["tenant"]["slug"], me["role"]) == (200, "demo", "admin")

    # A tiny workflow, run by the real worker through the broker folder.
    status, workflow = call(base, "/api/v1/workflows/", key, {"name": "smoke", "definition": {"tasks": [
        {"name": "greet", "type": "set", "config": {"values": {"text": "hello {{ input.who }}"}}},
        {"name": "answer", "type": "response", "config": {"value": "{{ tasks.greet.output.text }}"},
         "depends_on": ["greet"]},
    ]}})
    assert status == 201, workflow
    status, execution = call(base, "/api/v1/executions/", key, {"workflow": workflow["id"], "input": {"who": "run"}})
    assert status in (201, 202), execution

    def finished():
        found = call(base, f"/api/v1/executions/{execution['id']}/", key)[1]
        return found if found.get("status") in ("succeeded", "failed", "cancelled") else None

    done = wait_until(finished, timeout=90, interval=0.25)
    assert (done["status"], done["return_value"]) == ("succeeded", "hello run"), done

    # Ctrl-C: both children and everything they started are gone, and the command exits cleanly.
    children = children_of(process.pid)
    assert len(children) == 2, children
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, served["log"].read_text()[-3000:]
    wait_until(lambda: not any(alive(child) for child in children), timeout=30)
    assert "Flowgate stopped." in served["log"].read_text()


def test_it_stops_the_worker_when_the_web_process_dies(served):
    base, process = served["base"], served["process"]
    wait_until(lambda: ready(base) or process.poll() is not None, timeout=90)
    web, worker = sorted(children_of(process.pid), key=lambda pid: "config.serve" not in Path(
        f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
    os.killpg(web, signal.SIGKILL)
    assert process.wait(timeout=60) != 0
    wait_until(lambda: not alive(worker), timeout=30)
    log = served["log"].read_text()
    assert "The web process exited" in log


def test_mindzies_client_runs_the_demo_action_as_docs_mindzie_md_shows(served):
    """The first snippet of docs/mindzie.md, run as written with the settings `make run` printed."""
    base, key, demo, process = served["base"], served["key"], served["demo"], served["process"]
    # The demo was prepared for port 8000 (prepared_home); this server listens on another.
    assert 'export MINDZIE_API_URL=http://127.0.0.1:8000 MINDZIE_API_KEY="$FLOWGATE_KEY"' in demo
    settings = dict(re.findall(r"(MINDZIE_(?:TENANT|PROJECT|ACTION)_ID)=(\S+)", demo))
    assert len(settings) == 3
    snippet = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "mindzie.md").read_text(), re.S).group(1)
    wait_until(lambda: ready(base) or process.poll() is not None, timeout=90)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MINDZIE_")}, **settings,
           "MINDZIE_API_URL": base, "MINDZIE_API_KEY": key}
    result = subprocess.run([sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["Ping Successful", "Completed None", "True", "1",
                                          "{'rows': 42} {'rows': 42}", "Default"], result.stdout


def test_it_starts_the_worker_again_when_it_dies(served):
    base, key, process = served["base"], served["key"], served["process"]
    wait_until(lambda: ready(base) or process.poll() is not None, timeout=90)
    web, worker = sorted(children_of(process.pid), key=lambda pid: "config.serve" not in Path(
        f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
    os.killpg(worker, signal.SIGKILL)  # the worker and its pool processes, as the OOM killer might
    wait_until(lambda: "Started the worker again" in served["log"].read_text(), timeout=60)
    assert process.poll() is None and alive(web)
    # The new worker runs executions.
    status, workflow = call(base, "/api/v1/workflows/", key, {"name": "after-restart", "definition": {"tasks": [
        {"name": "answer", "type": "response", "config": {"value": "again"}}]}})
    assert status == 201, workflow
    status, execution = call(base, "/api/v1/executions/", key, {"workflow": workflow["id"]})
    assert status in (201, 202), execution
    done = wait_until(lambda: (found := call(base, f"/api/v1/executions/{execution['id']}/", key)[1])
                      .get("status") == "succeeded" and found, timeout=90, interval=0.25)
    assert done["return_value"] == "again"
    assert "The worker process exited with status" in served["log"].read_text()
