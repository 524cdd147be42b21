"""Leases and time-outs of the tasks a worker process runs.

* ``LeaseKeeper``: one thread per worker process renews the leases of every task the process is
  running, with one UPDATE per beat (``FLOWGATE_TASK_LEASE_SECONDS / 3``). A task shorter than a
  beat costs nothing; a lease that stops being renewed (the process died) lets the sweeper take
  the task back.
* ``time_limit(seconds)``: a task's own time-out, raised as ``TaskTimedOut`` inside the task by a
  timer signal. It needs the process's main thread, where the prefork and solo pools run tasks;
  elsewhere (eager tests, a thread pool) it does nothing, and the message's hard time limit, set
  when the task is dispatched, remains.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from executions.models import TaskRun, TaskRunStatus

logger = logging.getLogger("flowgate.engine")


# A renewal that failed (database unreachable) is tried again this soon, not at the next beat.
RETRY_RENEWAL_SECONDS = 1.0


class TaskTimedOut(Exception):
    """A task ran past its time-out."""


class LeaseKeeper:
    """Renews the leases of the tasks this process holds, from one thread of its own."""

    def __init__(self) -> None:
        self._held: dict = {}  # task run id -> attempt
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._stopping = False

    def hold(self, task_run_id, attempt: int) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return  # tasks run inside a test's own process and transaction: there is no worker to lose
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread did not come along
                self._held, self._thread, self._pid = {}, None, os.getpid()
            self._held[task_run_id] = attempt
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()

    def release(self, task_run_id) -> None:
        with self._lock:
            self._held.pop(task_run_id, None)

    def held(self) -> dict:
        with self._lock:
            return dict(self._held)

    def stop(self) -> None:
        """End the thread and close its connection (a test database about to be dropped)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread, self._stopping = None, False

    def _run(self) -> None:
        beat = settings.FLOWGATE_TASK_LEASE_SECONDS / 3
        pause = beat
        try:
            while True:
                self._wake.wait(pause)
                self._wake.clear()
                if self._stopping:
                    return
                # After a failed renewal (the database was unreachable) try again soon, so that the
                # leases are renewed within seconds of the database answering again.
                pause = beat if self.renew() is not None else min(RETRY_RENEWAL_SECONDS, beat)
        finally:
            connection.close()

    def renew(self) -> int | None:
        """Extend every held lease once; a failed write is logged, answers None, and is tried again soon."""
        held = self.held()
        if not held:
            return 0
        guard = Q()
        for task_run_id, attempt in held.items():
            guard |= Q(pk=task_run_id, attempts=attempt)
        try:
            return TaskRun.objects.filter(guard, status=TaskRunStatus.RUNNING).update(
                lease_expires_at=timezone.now() + timedelta(seconds=settings.FLOWGATE_TASK_LEASE_SECONDS))
        except Exception as exc:
            database_reach.failed()
            logger.warning("renewing the leases of %d task run(s) failed (%s: %s); trying again in %.0f s",
                           len(held), exc.__class__.__name__, str(exc).strip().splitlines()[0] if str(exc).strip()
                           else "", RETRY_RENEWAL_SECONDS)
            # A broken connection stays broken: the next try opens a new one.
            connection.close()
            return None


lease_keeper = LeaseKeeper()


class DatabaseReach:
    """When this process last found the database unreachable, for the sweeper's grace after an outage.

    A lease that expired while the database was down (or restarting) says nothing about its worker:
    no worker could renew it. The sweeper takes a task back only once the database has answered for
    a whole lease period since the later of this process's last failure to reach it and a restart of
    PostgreSQL seen while this process ran (``pg_postmaster_start_time()`` changed). Live workers
    renew their leases within that period (a failed renewal is retried within seconds), so what is
    left expired belongs to an attempt that is really gone.
    """

    def __init__(self) -> None:
        self.last_failure = None
        self._postmaster_started = None
        self._restarted = False

    def failed(self) -> None:
        self.last_failure = timezone.now()

    def leases_are_evidence(self, now) -> tuple[bool, float | None]:
        """Whether expired leases mean lost attempts at ``now``, and for how many seconds the database has
        answered since the last outage this process knows of (None: none known)."""
        answering = None if self.last_failure is None else (now - self.last_failure).total_seconds()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # PostgreSQL's own clock on both sides of the uptime.
                cursor.execute("SELECT pg_postmaster_start_time(), "
                               "EXTRACT(EPOCH FROM now() - pg_postmaster_start_time())")
                started, uptime = cursor.fetchone()
            if self._postmaster_started is None:
                self._postmaster_started = started
            elif started != self._postmaster_started:
                self._postmaster_started, self._restarted = started, True
            if self._restarted:
                answering = float(uptime) if answering is None else min(answering, float(uptime))
        if answering is None:
            return True, None
        return answering >= settings.FLOWGATE_TASK_LEASE_SECONDS, answering


database_reach = DatabaseReach()


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``TaskTimedOut`` in this thread after ``seconds`` (main thread of a worker only)."""
    if not seconds or settings.CELERY_TASK_ALWAYS_EAGER or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise TaskTimedOut()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
