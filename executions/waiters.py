"""Waiting for an execution to end: the waiting request is told, not polling.

The engine announces an execution's end inside the transaction that ends it (``announce_end``):
on PostgreSQL with ``NOTIFY flowgate_execution_ended, '<id>'``, which PostgreSQL delivers when
that transaction commits (never for one that rolls back). Each web process keeps one listening
connection, in a thread started by its first wait, and wakes the requests waiting for that id.
Reading the status again stays as the fallback: every ``FLOWGATE_SYNC_POLL_SECONDS`` on
PostgreSQL (the listener may be reconnecting), every 20 ms on the embedded SQLite, which has no
notifications.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection

from executions.models import TERMINAL_STATUSES, Execution

logger = logging.getLogger("flowgate.executions")

CHANNEL = "flowgate_execution_ended"
# The embedded SQLite cannot notify: a local read this often costs little.
SQLITE_POLL_SECONDS = 0.02
# A listener that lost its connection tries again after this long, doubling up to the maximum.
RECONNECT_SECONDS, RECONNECT_MAX_SECONDS = 0.5, 10.0


def notifications_available() -> bool:
    return connection.vendor == "postgresql"


def announce_end(execution_id) -> None:
    """Tell the processes waiting for this execution that it has ended (inside the ending transaction)."""
    if notifications_available():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(execution_id)])


class Listener:
    """One PostgreSQL connection per process that LISTENs and wakes the waiters of each id."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[threading.Event]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._stopping = threading.Event()
        self._connection = None
        self.connected = threading.Event()

    def subscribe(self, execution_id) -> threading.Event:
        event = threading.Event()
        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's thread did not come along
                self._waiters, self._thread, self._pid = {}, None, os.getpid()
                self.connected = threading.Event()
            self._waiters.setdefault(str(execution_id), set()).add(event)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="execution-listener", daemon=True)
                self._thread.start()
        return event

    def unsubscribe(self, execution_id, event: threading.Event) -> None:
        with self._lock:
            events = self._waiters.get(str(execution_id))
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[str(execution_id)]

    def wake(self, execution_id: str) -> None:
        with self._lock:
            events = list(self._waiters.get(execution_id, ()))
        for event in events:
            event.set()

    def stop(self) -> None:
        """Close the listening connection and end the thread (a test database about to be dropped)."""
        self._stopping.set()
        conn = self._connection
        if conn is not None:
            conn.cancel_safe()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread, self._connection = None, None
        self._stopping.clear()

    def _run(self) -> None:
        pause = RECONNECT_SECONDS
        while not self._stopping.is_set():
            try:
                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                with psycopg.connect(**params, autocommit=True) as conn:
                    self._connection = conn
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    pause = RECONNECT_SECONDS
                    while not self._stopping.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            self.wake(notify.payload)
            except Exception:
                self.connected.clear()
                if self._stopping.is_set():
                    break
                logger.warning("execution listener lost its database connection; reconnecting in %.1f s", pause,
                               exc_info=True)
                self._stopping.wait(pause)
                pause = min(pause * 2, RECONNECT_MAX_SECONDS)
        self.connected.clear()
        self._connection = None


listener = Listener()


class _Slots:
    """How many requests of this process may wait at once (``FLOWGATE_SYNC_WAIT_SLOTS``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._semaphore: threading.BoundedSemaphore | None = None
        self._size = 0

    def take(self) -> threading.BoundedSemaphore | None:
        """A slot (release it when done), or None when all are taken."""
        with self._lock:
            if self._semaphore is None or self._size != settings.FLOWGATE_SYNC_WAIT_SLOTS:
                self._size = settings.FLOWGATE_SYNC_WAIT_SLOTS
                self._semaphore = threading.BoundedSemaphore(self._size)
            semaphore = self._semaphore
        return semaphore if semaphore.acquire(blocking=False) else None


slots = _Slots()


def wait_until_ended(execution_id, timeout: float) -> bool:
    """Wait until the execution has ended (True) or ``timeout`` seconds have passed (False).

    A synchronous wait holds one of the web process's threads: past ``FLOWGATE_SYNC_WAIT_SLOTS``
    waits at once, a request does not wait at all, so health checks and ordinary requests always
    find a thread; the caller answers as if its wait had run out. A database that stops answering
    ends the wait the same way (False): the execution was committed, and its id is the answer.
    """
    semaphore = slots.take()
    if semaphore is None:
        logger.info("no synchronous-wait slot free (FLOWGATE_SYNC_WAIT_SLOTS=%s); answering at once",
                    settings.FLOWGATE_SYNC_WAIT_SLOTS)
        return False
    try:
        return _wait(execution_id, time.monotonic() + max(timeout, 0))
    except DatabaseError as exc:
        logger.warning("database unreachable while waiting for execution %s (%s); answering with its id",
                       execution_id, exc.__class__.__name__)
        return False
    finally:
        semaphore.release()


def _wait(execution_id, deadline: float) -> bool:
    status = Execution.objects.filter(pk=execution_id).values_list("status", flat=True)
    if not notifications_available():
        while (ended := status.get() in TERMINAL_STATUSES) is False and time.monotonic() < deadline:
            time.sleep(min(SQLITE_POLL_SECONDS, max(deadline - time.monotonic(), 0)))
        return ended
    # Subscribed before the first read: an end committed in between still wakes this wait.
    event = listener.subscribe(execution_id)
    try:
        if status.get() in TERMINAL_STATUSES:
            return True
        while (remaining := deadline - time.monotonic()) > 0:
            if event.wait(min(remaining, settings.FLOWGATE_SYNC_POLL_SECONDS)):
                return True  # told: it has ended
            if status.get() in TERMINAL_STATUSES:
                return True  # ended, and the notification was missed (the listener was reconnecting)
        return False
    finally:
        listener.unsubscribe(execution_id, event)
