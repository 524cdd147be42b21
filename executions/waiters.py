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
from django.db import connection

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


def wait_until_ended(execution_id, timeout: float) -> None:
    """Return when the execution has ended or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + max(timeout, 0)
    status = Execution.objects.filter(pk=execution_id).values_list("status", flat=True)
    if not notifications_available():
        while status.get() not in TERMINAL_STATUSES and time.monotonic() < deadline:
            time.sleep(min(SQLITE_POLL_SECONDS, max(deadline - time.monotonic(), 0)))
        return
    # Subscribed before the first read: an end committed in between still wakes this wait.
    event = listener.subscribe(execution_id)
    try:
        if status.get() in TERMINAL_STATUSES:
            return
        while (remaining := deadline - time.monotonic()) > 0:
            if event.wait(min(remaining, settings.FLOWGATE_SYNC_POLL_SECONDS)):
                return  # told: it has ended
            if status.get() in TERMINAL_STATUSES:
                return  # ended, and the notification was missed (the listener was reconnecting)
    finally:
        listener.unsubscribe(execution_id, event)
