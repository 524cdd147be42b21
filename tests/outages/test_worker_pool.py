"""The worker's pool rides out a pool process killed while the worker starts (config/pool.py)."""

from __future__ import annotations

from types import SimpleNamespace

from config.pool import TaskPool


def pool_of(*exitcodes) -> TaskPool:
    pool = TaskPool.__new__(TaskPool)  # the check only reads the billiard pool's processes
    processes = [SimpleNamespace(_popen=object(), exitcode=code, pid=100 + i) for i, code in enumerate(exitcodes)]
    pool._pool = SimpleNamespace(_pool=processes)
    return pool


def test_a_pool_whose_processes_all_run_started_ok():
    assert pool_of(None, None).did_start_ok() is True


def test_one_process_killed_at_start_does_not_stop_the_worker(caplog):
    assert pool_of(None, -9).did_start_ok() is True
    assert "1 of 2 pool processes exited while the worker started" in caplog.text


def test_a_pool_whose_processes_all_exited_did_not_start():
    assert pool_of(1, 1).did_start_ok() is False


def test_the_workers_use_it(settings):
    assert settings.CELERY_WORKER_POOL == "config.pool:TaskPool"
