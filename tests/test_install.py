"""Installing and starting Flowgate as a new user does: `pip install .`, the flowgate command, beat, settings errors."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from bench.procs import children_of
from tests.conftest import ROOT, free_port, redis_broker, services_required, wait_until
from tests.test_settings import PRODUCTION, loaded, settings_process

MISSING_KEY = "error: SECRET_KEY must be set in the environment (or SECRET_KEY_FILE must name a file holding it)."


def production_env(tmp_path, **variables) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "FLOWGATE_HOME": str(tmp_path / "home"),
           **PRODUCTION, **variables}
    return {k: v for k, v in env.items() if v is not None}


@pytest.mark.parametrize("command", [
    [sys.executable, "manage.py", "check"],
    [sys.executable, "-c", "import config.wsgi"],
    [sys.executable, "-c", "import config.asgi"],
    [sys.executable, "-m", "celery", "-A", "config", "beat"],
], ids=["manage.py", "wsgi", "asgi", "celery"])
def test_a_configuration_error_is_one_line_naming_the_variable(tmp_path, command):
    result = subprocess.run(command, cwd=ROOT, env=production_env(tmp_path, SECRET_KEY=None), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == MISSING_KEY
    assert "Traceback" not in result.stdout + result.stderr


# What every entry point (manage.py, flowgate, WSGI, ASGI, Celery) does before anything else.
ENTRY_POINT_START = "from config.cli import load_settings; load_settings()"


def test_a_metrics_network_that_is_not_one_is_refused_at_start(tmp_path):
    result = settings_process(tmp_path, probe=ENTRY_POINT_START, **PRODUCTION,
                              FLOWGATE_METRICS_ALLOWED_NETWORKS="10.0.0.0/8, intranet")
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: FLOWGATE_METRICS_ALLOWED_NETWORKS: 'intranet' is not a network; write an "
                                     "address or a network, for example 10.0.0.0/8 or 192.0.2.7.")


def test_mail_goes_to_the_console_without_an_smtp_host_and_says_so_once(tmp_path):
    probe = "import django; django.setup(); from django.conf import settings; print(json.dumps(settings.EMAIL_BACKEND))"
    result = settings_process(tmp_path, probe=f"import json; {probe}", **PRODUCTION)
    assert loaded(result) == "django.core.mail.backends.console.EmailBackend"
    assert result.stderr.count("EMAIL_HOST is not set") == 1
    with_host = settings_process(tmp_path, probe=f"import json; {probe}", **PRODUCTION, EMAIL_HOST="smtp.example.com")
    assert loaded(with_host) == "django.core.mail.backends.smtp.EmailBackend"
    assert "EMAIL_HOST" not in with_host.stderr


def test_the_log_format_is_plain_or_json(tmp_path):
    probe = "import json, django; django.setup(); from django.conf import settings; print(json.dumps(settings.LOGGING['handlers']['console']['formatter']))"
    assert loaded(settings_process(tmp_path, probe=probe, FLOWGATE_LOG_FORMAT="json")) == "json"
    assert loaded(settings_process(tmp_path, probe=probe)) == "plain"
    wrong = settings_process(tmp_path, probe=ENTRY_POINT_START, FLOWGATE_LOG_FORMAT="xml")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == "error: FLOWGATE_LOG_FORMAT must be plain or json, not 'xml'."


@pytest.mark.redis
def test_beat_starts_with_a_fresh_flowgate_home_and_says_nothing_alarming(tmp_path):
    """Production settings, a FLOWGATE_HOME that does not exist yet: beat creates it and writes its schedule."""
    home = tmp_path / "not" / "there" / "yet"
    queue = f"flowgate-beat-test-{uuid.uuid4().hex[:8]}"
    # A sweep every second: beat sends its first one as soon as its schedule is set up, and is only
    # stopped after that (stopped half way through setting it up, Celery warns "DB Reset" on the way out).
    env = production_env(tmp_path, FLOWGATE_HOME=str(home), CELERY_BROKER_URL=redis_broker(),
                         CELERY_TASK_DEFAULT_QUEUE=queue, FLOWGATE_SWEEP_INTERVAL_SECONDS="1")
    log = tmp_path / "beat.log"
    with open(log, "w") as out:
        beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "beat"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and beat.poll() is None:
            if list(home.glob("celerybeat-schedule*")) and "Sending due task" in log.read_text():
                break
            time.sleep(0.2)
        assert beat.poll() is None, log.read_text()[-3000:]
        assert list(home.glob("celerybeat-schedule*")), log.read_text()[-3000:]
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(timeout=30)
        _drop_queue(queue)
    output = log.read_text()
    assert "Traceback" not in output and "celery.redirected" not in output
    warnings = [line for line in output.splitlines() if " WARNING " in line or " ERROR " in line]
    # The one notice of this configuration: no SMTP host, so mail is written to the console.
    assert len(warnings) == 1 and "EMAIL_HOST is not set" in warnings[0], warnings


def _drop_queue(queue: str) -> None:
    client = redis.Redis.from_url(redis_broker())
    client.delete(queue, *[f"{queue}\x06\x16{step}" for step in (3, 6, 9)])
    client.close()


# -- pip install . ---------------------------------------------------------------------------------------
def _copy_tree(target: Path) -> Path:
    """The checkout's files (tracked and new, not ignored): what `pip install .` of a clone would read."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _package_index_reachable() -> bool:
    """Whether pip's package index answers: `pip install` downloads Flowgate's dependencies from it."""
    index = (os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/").rstrip("/")
    try:
        with urllib.request.urlopen(f"{index}/django/", timeout=15) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _http(base: str, path: str, *, key: str | None = None, body: dict | None = None,
          timeout: float = 10) -> tuple[int, bytes]:
    request = urllib.request.Request(base + path, method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _serving(base: str) -> bool:
    try:
        return _http(base, "/readyz")[0] == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _linked_static(page: bytes) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', page.decode())


@pytest.mark.e2e
def test_pip_install_gives_a_working_server_outside_the_source_tree(tmp_path):
    """`pip install -c constraints.txt .` into a new virtualenv, then the README's commands from another folder.

    The dependencies come from the package index, pinned by constraints.txt; `flowgate runflowgate`
    serves on the embedded default (SQLite and the filesystem broker in the user's data folder), and
    its own Celery worker runs the execution started over HTTP.
    """
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to know its files")
    if not _package_index_reachable():
        reason = "needs the package index (PyPI) to install Flowgate's dependencies"
        if services_required():
            pytest.fail(f"FLOWGATE_REQUIRE_SERVICES is set but this test {reason}", pytrace=False)
        pytest.skip(reason)
    source = _copy_tree(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python, flowgate = venv / "bin" / "python", venv / "bin" / "flowgate"
    install = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                              "-c", str(source / "constraints.txt"), str(source)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    site_packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip()

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Only what a user's shell would have: no FLOWGATE_HOME, so an installed Flowgate keeps its data in
    # the user's data folder (under this HOME), not in site-packages.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "FLOWGATE_METRICS_TOKEN": "probe-token",
           "FLOWGATE_BASE_URL": base, "PYTHONUNBUFFERED": "1"}
    imported = subprocess.run([str(python), "-c", "import config; print(config.__file__)"], cwd=outside, env=env,
                              capture_output=True, text=True, timeout=60)
    assert Path(imported.stdout.strip()).is_relative_to(site_packages), imported
    migrate = subprocess.run([str(flowgate), "migrate", "--noinput", "-v", "0"], cwd=outside, env=env,
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    demo = subprocess.run([str(flowgate), "bootstrap_demo"], cwd=outside, env=env, capture_output=True, text=True,
                          timeout=120)
    assert demo.returncode == 0, demo.stderr[-3000:]
    exports = dict(line.strip().removeprefix("export ").split("=", 1) for line in demo.stdout.splitlines()
                   if line.strip().startswith("export ") and "MINDZIE" not in line)
    assert set(exports) == {"FLOWGATE_KEY", "ADMIN_PASSWORD", "APPROVER_PASSWORD"}
    assert "created 'Parallel report'" in demo.stdout  # the examples were installed too

    log_path = tmp_path / "runflowgate.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([str(flowgate), "runflowgate", "--port", str(port), "--web-workers", "1",
                                   "--concurrency", "1"], cwd=outside, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: _serving(base) or server.poll() is not None, timeout=120)
        assert server.poll() is None, log_path.read_text()[-3000:]

        # The sign-in pages and the static files they link: templates and static files were installed.
        for login_path in ("/admin/login/", "/accounts/login/"):
            status, page = _http(base, login_path)
            assert status == 200 and b'name="password"' in page, (login_path, status)
            linked = _linked_static(page)
            assert linked, login_path
            for static in linked:
                assert _http(base, static)[0] == 200, static
        assert "/static/flowgate.css" in _linked_static(_http(base, "/accounts/login/")[1])

        # An example workflow, run by runflowgate's worker (no eager mode here) while the request waits.
        status, answer = _http(base, "/api/v1/executions/?wait=30", key=exports["FLOWGATE_KEY"],
                               body={"workflow": "parallel-report", "input": {"name": "Ada"}}, timeout=60)
        execution = json.loads(answer)
        assert status == 200, execution
        assert (execution["status"], execution["return_value"]) == (
            "succeeded", {"greeting": "Hello, Ada!", "total": 6}), execution

        # Metrics of the embedded default: the worker's counter, the filesystem broker's queue.
        status, scraped = _http(base, "/metrics", key="probe-token")
        assert status == 200
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for family in text_string_to_metric_families(scraped.decode()) for s in family.samples}
        assert samples.get(("flowgate_executions_finished_total",
                            (("status", "succeeded"), ("workflow", "Parallel report")))) == 1
        assert samples.get(("flowgate_queue_depth", (("queue", "flowgate"),))) == 0
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        # What a stop that did not finish left behind: runflowgate and the process groups it started.
        for group in [server.pid, *children_of(server.pid)] if server.poll() is None else []:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        if server.poll() is None:
            server.wait(timeout=10)
    output = log_path.read_text()
    assert server.returncode == 0 and "Flowgate stopped." in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]

    home = tmp_path / ".local" / "share" / "flowgate"
    assert (home / "flowgate.sqlite3").is_file()
    assert (home / "broker").is_dir() and list((home / "metrics").glob("*.db"))
    assert not list(Path(site_packages).glob("var"))
