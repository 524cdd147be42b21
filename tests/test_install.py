"""Installing and starting Flowgate as a new user does: `pip install .`, the flowgate command, beat, settings errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, redis_broker
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
    env = production_env(tmp_path, FLOWGATE_HOME=str(home), CELERY_BROKER_URL=redis_broker(),
                         CELERY_TASK_DEFAULT_QUEUE=queue)
    log = tmp_path / "beat.log"
    with open(log, "w") as out:
        beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "beat"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and beat.poll() is None:
            if list(home.glob("celerybeat-schedule*")) and "beat: Starting..." in log.read_text():
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
INSTALLED_PROBE = r"""
import json, django
django.setup()
import config
from django.conf import settings
from django import test as django_test  # the installed copy's own test client, outside this suite
from executions.models import Execution

Client = django_test.Client

key = __import__("sys").argv[1]
login = Client().get("/accounts/login/")
started = Client().post("/api/v1/executions/", {"workflow": "parallel-report", "input": {"name": "Ada"}},
                        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
execution = Execution.objects.get(pk=started.json()["id"])
from prometheus_client.parser import text_string_to_metric_families
scraped = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer probe-token").content.decode()
samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for family in text_string_to_metric_families(scraped) for s in family.samples}
print(json.dumps({
    "finished": samples.get(("flowgate_executions_finished_total",
                             (("status", "succeeded"), ("workflow", "Parallel report")))),
    "queue_depth": samples.get(("flowgate_queue_depth", (("queue", "flowgate"),))),
    "metrics_dir": __import__("os").environ["PROMETHEUS_MULTIPROC_DIR"],
    "config": config.__file__, "login": login.status_code, "login_form": b'name="password"' in login.content,
    "started": started.status_code, "status": execution.status, "return_value": execution.return_value,
    "static": Client().get("/static/flowgate.css").status_code,
}))
"""


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


@pytest.mark.e2e
def test_pip_install_gives_a_working_server_outside_the_source_tree(tmp_path):
    """A non-editable `pip install .` into a new virtualenv, used from another directory on SQLite.

    Flowgate itself is built and installed from a copy of the tree; its dependencies, to keep this
    test within a minute or two, are those of the running test environment (a path file adds its
    site-packages after the new environment's own, so the installed Flowgate is the one imported).
    """
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to know its files")
    source = _copy_tree(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python, flowgate = venv / "bin" / "python", venv / "bin" / "flowgate"
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q",
                              str(source)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    site_packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    Path(site_packages, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    # No FLOWGATE_HOME: an installed Flowgate keeps its data in the user's data folder, not in site-packages.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CELERY_TASK_ALWAYS_EAGER": "true"}
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

    probe = subprocess.run([str(python), "-c", INSTALLED_PROBE, exports["FLOWGATE_KEY"]], cwd=outside,
                           env={**env, "DJANGO_SETTINGS_MODULE": "config.settings",
                                "FLOWGATE_METRICS_TOKEN": "probe-token"},
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert Path(seen["config"]).is_relative_to(site_packages)
    assert (seen["login"], seen["login_form"], seen["static"]) == (200, True, 200)
    assert (seen["started"], seen["status"]) == (201, "succeeded"), seen
    home = tmp_path / ".local" / "share" / "flowgate"
    assert (home / "flowgate.sqlite3").is_file()
    # Metrics of the embedded default: the filesystem broker's queue, the counters in the home's folder.
    assert (seen["finished"], seen["queue_depth"]) == (1, 0), seen
    assert Path(seen["metrics_dir"]) == home / "metrics"
    assert not list(Path(site_packages).glob("var"))
