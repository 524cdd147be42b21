"""docker-compose.yml, the Dockerfile and .env.example name real entry points and real settings."""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
import sys

import pytest
import yaml
from django.core.management import get_commands

from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {"web", "worker", "beat", "flower", "migrate"}
REQUIRED_PRODUCTION_SETTINGS = {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}


def read_env_file(path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def command_of(service: dict) -> list[str]:
    command = service.get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def env_files_of(service: dict) -> list[str]:
    files = service.get("env_file") or []
    files = [files] if isinstance(files, str | dict) else files
    return [entry["path"] if isinstance(entry, dict) else entry for entry in files]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    lines, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        current += stripped[:-1] + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            word, _, rest = current.partition(" ")
            lines.append((word.upper(), rest.strip()))
            current = ""
    return lines


def exec_form(arguments: str) -> list[str]:
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def assert_entry_point(argv: list[str]) -> None:
    """The command starts something this project really provides."""
    program, args = argv[0], argv[1:]
    if program == "python" and args[:2] == ["-m", "config.serve"]:  # uvicorn, its socket bound as TCP
        importlib.import_module("config.serve")
        program, args = "uvicorn", args[2:]
    if program == "uvicorn":
        target = args[0]
        module, _, attribute = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), target
        assert module == "config.asgi", "live streams need the ASGI application"
    elif program == "gunicorn":
        target = next(a for a in args if ":" in a and not a.startswith("-") and "." in a.split(":")[0])
        module, _, attribute = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute)), target
        assert args[args.index("--worker-class") + 1] == "gthread", "synchronous runs wait in the request"
    elif program == "celery":
        assert args[:2] == ["-A", "config"], argv
        from config.celery import app

        assert app.main == "flowgate"
        subcommand = args[2]
        assert subcommand in {"worker", "beat", "flower"}, argv
        if subcommand == "flower":
            importlib.import_module("flower")
    elif program == "python" and args[:1] == ["manage.py"]:
        assert args[1] in get_commands(), f"manage.py has no {args[1]} command"
    elif program == "python" and args[:1] == ["scripts/healthcheck.py"]:
        assert (ROOT / args[0]).is_file()
        from scripts_healthcheck import CHECKS

        assert args[1] in CHECKS, argv
    else:
        pytest.fail(f"unknown entry point {argv}")


@pytest.fixture(autouse=True, scope="module")
def _healthcheck_module():
    sys.path.insert(0, str(ROOT / "scripts"))
    sys.modules["scripts_healthcheck"] = importlib.import_module("healthcheck")
    yield
    sys.modules.pop("scripts_healthcheck", None)
    sys.path.remove(str(ROOT / "scripts"))


def test_it_runs_every_production_process():
    assert {"postgres", "redis", "web", "worker", "beat", "flower"} <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_it_starts_each_app_service_with_a_real_entry_point(name):
    assert_entry_point(command_of(SERVICES[name]))
    assert SERVICES[name]["build"] == "."


def test_it_serves_the_web_with_uvicorn_on_the_asgi_application():
    argv = command_of(SERVICES["web"])
    assert argv[:4] == ["python", "-m", "config.serve", "config.asgi:application"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0" and argv[argv.index("--port") + 1] == "8000"
    # Under ASGI a connection cannot outlive its request's thread: a pool hands them out instead.
    assert SERVICES["web"]["environment"]["DATABASE_CONN_MAX_AGE"] == "0"


def test_it_migrates_before_the_app_starts():
    assert command_of(SERVICES["migrate"]) == ["python", "manage.py", "migrate", "--noinput"]
    for name in ("web", "worker", "beat"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["postgres", "redis", "web", "worker", "beat", "flower"])
def test_it_gives_each_long_running_service_a_healthcheck(name):
    check = SERVICES[name]["healthcheck"]
    test = check["test"]
    assert test[0] in {"CMD", "CMD-SHELL"}
    if name in APP_SERVICES:
        assert_entry_point(test[1:])


def test_it_keeps_postgres_data_in_a_named_volume():
    mounts = SERVICES["postgres"]["volumes"]
    named = [m.split(":")[0] for m in mounts if m.endswith(":/var/lib/postgresql/data")]
    assert named and named[0] in COMPOSE["volumes"]


def test_it_reads_the_settings_from_env_example():
    example = read_env_file(ROOT / ".env.example")
    assert REQUIRED_PRODUCTION_SETTINGS <= set(example)
    for name in APP_SERVICES | {"postgres"}:
        assert ".env.example" in env_files_of(SERVICES[name]), name
    assert example["DATABASE_URL"].startswith("postgresql://")
    assert example["CELERY_BROKER_URL"].startswith("redis://")
    postgres = f"{example['POSTGRES_USER']}:{example['POSTGRES_PASSWORD']}@postgres:5432/{example['POSTGRES_DB']}"
    assert postgres in example["DATABASE_URL"]


def test_it_documents_every_variable_of_env_example():
    documented = (ROOT / "docs" / "configuration.md").read_text()
    for name in read_env_file(ROOT / ".env.example"):
        assert f"`{name}`" in documented, f"{name} is not in docs/configuration.md"


def test_it_documents_every_setting_read_from_the_environment():
    settings_source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|list|required)\(\s*"([A-Z0-9_]+)"', settings_source))
    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert read, "no settings found; has config/settings.py moved?"
    assert sorted(name for name in read if f"`{name}`" not in documented) == []


def test_it_starts_with_the_settings_of_env_example(tmp_path):
    """The production settings accept .env.example as it is (no server is contacted)."""
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "FLOWGATE_HOME": str(tmp_path),
                   "DJANGO_SETTINGS_MODULE": "config.settings", **read_env_file(ROOT / ".env.example")}
    probe = ("import django; django.setup(); from django.conf import settings as s; "
             "print(s.DATABASES['default']['ENGINE'], s.DEBUG)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["django.db.backends.postgresql", "False"]


def test_it_builds_an_image_that_serves_the_web_by_default():
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM" and instructions[0][1].startswith("python:3.11")
    runs = " ".join(args for word, args in instructions if word == "RUN")
    assert "pip install" in runs and "collectstatic" in runs
    commands = [exec_form(args) for word, args in instructions if word == "CMD"]
    assert len(commands) == 1
    assert_entry_point(commands[0])
    assert commands[0][:4] == ["python", "-m", "config.serve", "config.asgi:application"]
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1] != "root"
    healthchecks = [args for word, args in instructions if word == "HEALTHCHECK"]
    assert healthchecks
    assert_entry_point(exec_form(healthchecks[0].split(" CMD ", 1)[1]))


def test_it_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "var/", "test-output/"} <= ignored
