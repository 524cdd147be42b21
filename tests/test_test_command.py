"""The test command's handling of missing PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = '''
import pytest


@pytest.mark.postgres
def test_needs_postgres():
    pass


@pytest.mark.redis
def test_needs_redis():
    pass


def test_mentions_postgres_in_its_name_only():
    pass
'''


def run_probe(tmp_path, **variables) -> subprocess.CompletedProcess:
    """pytest on the probe file with tests/conftest.py, on the embedded default (no servers)."""
    (tmp_path / "test_probe.py").write_text(PROBE)
    # The project's conftest, hooks and fixtures, for a test file outside tests/.
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "FLOWGATE_REQUIRE_SERVICES"}}
    env.update({"FLOWGATE_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT), **variables})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
         "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), str(tmp_path / "test_probe.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_it_skips_tests_whose_server_is_missing_and_runs_the_rest(tmp_path):
    result = run_probe(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed, 2 skipped" in result.stdout
    assert "needs Postgres" in result.stdout and "needs Redis" in result.stdout


def test_it_fails_tests_whose_server_is_missing_when_services_are_required(tmp_path):
    result = run_probe(tmp_path, FLOWGATE_REQUIRE_SERVICES="1")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 passed, 2 errors" in result.stdout
    assert "FLOWGATE_REQUIRE_SERVICES is set but this test needs Postgres" in result.stdout


def test_it_lists_the_tests_skipped_for_want_of_a_server(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.a" name="test_one"><skipped message="needs Postgres (run `make test`)"/></testcase>'
        '<testcase classname="tests.b" name="test_two"><skipped message="needs Redis (run `make test`)"/></testcase>'
        '<testcase classname="tests.c" name="test_three"><skipped message="the executions endpoint"/></testcase>'
        '<testcase classname="tests.d" name="test_four"/>'
        '</testsuite></testsuites>'
    )
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "skipped_for_services.py"), str(report)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "Skipped for want of PostgreSQL or Redis (2):" in result.stdout
    assert "tests.a::test_one" in result.stdout and "tests.b::test_two" in result.stdout
    assert "test_three" not in result.stdout


@pytest.mark.parametrize("script", [".ci/run", "scripts/test.sh", "scripts/run.sh", "scripts/bench.sh",
                                    "scripts/services.sh"])
def test_it_ships_valid_shell_scripts(script):
    result = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_it_makes_ci_require_the_services():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "export FLOWGATE_REQUIRE_SERVICES=1" in ci
    assert "scripts/test.sh" in ci
