"""Settings come from the environment; a wrong production setting stops the process at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env
from tests.conftest import ROOT

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'host': db.get('HOST'), "
    "'conn_max_age': db.get('CONN_MAX_AGE'), 'options': {k: str(v) for k, v in db.get('OPTIONS', {}).items()}, "
    "'debug': s.DEBUG, 'broker': s.CELERY_BROKER_URL, 'cache': s.CACHES['default']['BACKEND'], "
    "'allowed_hosts': s.ALLOWED_HOSTS, 'secret_key': s.SECRET_KEY}))"
)
PRODUCTION = {
    "DATABASE_URL": "postgresql://flowgate:pw@db.internal:5432/flowgate",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "SECRET_KEY": "a-production-secret-key-0123456789abcdef",
    "ALLOWED_HOSTS": "flowgate.example.com",
}


def settings_process(tmp_path, probe: str = PROBE, **variables) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with only these variables (no server is contacted)."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "FLOWGATE_HOME": str(tmp_path / "home"),
        **{k: v for k, v in variables.items() if v is not None},
    }
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)


def loaded(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    result = settings_process(tmp_path, **{**PRODUCTION, "SECRET_KEY": None})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_a_short_secret_key(tmp_path):
    result = settings_process(tmp_path, **{**PRODUCTION, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 32 characters" in result.stderr


@pytest.mark.parametrize("missing", ["ALLOWED_HOSTS", "CELERY_BROKER_URL"])
def test_it_names_each_missing_production_setting(tmp_path, missing):
    result = settings_process(tmp_path, **{**PRODUCTION, missing: None})
    assert result.returncode != 0
    assert f"{missing} must" in result.stderr


def test_it_selects_postgresql_from_database_url(tmp_path):
    settings = loaded(settings_process(tmp_path, **PRODUCTION))
    assert settings["engine"] == "django.db.backends.postgresql"
    assert (settings["name"], settings["host"]) == ("flowgate", "db.internal")
    assert settings["conn_max_age"] == 60
    assert settings["debug"] is False
    assert settings["broker"] == "redis://redis.internal:6379/0"
    assert settings["cache"] == "config.cache.FailOpenRedisCache"
    assert settings["allowed_hosts"] == ["flowgate.example.com"]


def test_database_connections_time_out_and_probe_a_silent_peer(tmp_path):
    options = loaded(settings_process(tmp_path, **PRODUCTION))["options"]
    assert (options["connect_timeout"], options["keepalives"], options["keepalives_idle"]) == ("3", "1", "30")
    options = loaded(settings_process(tmp_path, **PRODUCTION, DATABASE_KEEPALIVE_IDLE="5"))["options"]
    assert options["keepalives_idle"] == "5"


def test_it_uses_a_connection_pool_when_asked(tmp_path):
    settings = loaded(settings_process(tmp_path, **PRODUCTION, DATABASE_POOL="true", DATABASE_POOL_MAX="20"))
    assert settings["conn_max_age"] == 0
    assert "'max_size': 20" in settings["options"]["pool"]


def test_the_asgi_application_takes_pooled_connections(tmp_path):
    # Under ASGI every request runs in a thread of its own: persistent connections would each stay
    # open after their request (one per request, until PostgreSQL refuses more clients).
    probe = "import config.asgi; " + PROBE.replace("import json, django; django.setup(); ", "import json; ")
    settings = loaded(settings_process(tmp_path, probe=probe, **PRODUCTION))
    assert settings["conn_max_age"] == 0
    assert "'max_size': 10" in settings["options"]["pool"]


def test_it_refuses_a_database_url_that_is_not_postgresql(tmp_path):
    result = settings_process(tmp_path, **{**PRODUCTION, "DATABASE_URL": "mysql://u:p@db/flowgate"})
    assert result.returncode != 0
    assert "DATABASE_URL must be a postgresql:// URL" in result.stderr


def test_it_fails_on_a_bad_boolean_naming_the_variable(tmp_path):
    result = settings_process(tmp_path, **PRODUCTION, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_it_reads_a_secret_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("a-secret-from-a-file-0123456789abcdefgh\n")
    settings = loaded(settings_process(tmp_path, **{**PRODUCTION, "SECRET_KEY": None},
                                       SECRET_KEY_FILE=str(secret_file)))
    assert settings["secret_key"] == "a-secret-from-a-file-0123456789abcdefgh"


def test_it_runs_the_embedded_default_without_database_url(tmp_path):
    settings = loaded(settings_process(tmp_path))
    assert settings["engine"] == "django.db.backends.sqlite3"
    assert settings["name"] == str(tmp_path / "home" / "flowgate.sqlite3")
    assert settings["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in settings["options"]["init_command"]
    assert settings["broker"] == "filesystem://"
    assert settings["debug"] is True
    assert (tmp_path / "home" / "broker" / "queue").is_dir()


@pytest.mark.parametrize("value, expected", [("true", True), ("1", True), ("off", False), ("FALSE", False)])
def test_it_parses_booleans_strictly(monkeypatch, value, expected):
    monkeypatch.setenv("FLOWGATE_SOME_FLAG", value)
    assert env.env_bool("FLOWGATE_SOME_FLAG", default=not expected) is expected


def test_it_names_the_variable_of_a_bad_number(monkeypatch):
    monkeypatch.setenv("FLOWGATE_MAX_TASKS", "lots")
    with pytest.raises(ImproperlyConfigured, match="FLOWGATE_MAX_TASKS must be a whole number"):
        env.env_int("FLOWGATE_MAX_TASKS", 200)
    monkeypatch.setenv("FLOWGATE_MAX_TASKS", "0")
    with pytest.raises(ImproperlyConfigured, match="FLOWGATE_MAX_TASKS must be at least 1"):
        env.env_int("FLOWGATE_MAX_TASKS", 200, minimum=1)


def test_the_api_settings_come_from_the_loaded_settings_module(tmp_path):
    """Reading the environment imports no DRF module: one read before the settings had loaded
    would keep DRF's defaults (no key authentication, no pagination) for the whole process."""
    probe = ("import django; django.setup(); from rest_framework.settings import api_settings as a; "
             "print(a.DEFAULT_PARSER_CLASSES[0].__module__, a.DEFAULT_PAGINATION_CLASS.__module__)")
    result = settings_process(tmp_path, probe=probe)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["config.parsers", "config.pagination"]
