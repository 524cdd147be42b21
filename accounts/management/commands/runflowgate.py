"""``manage.py runflowgate``: the web process (uvicorn) and a Celery worker with beat, together.

Both run as child processes in their own process groups, so a Ctrl-C reaches this command only,
and it stops both in order: SIGTERM to each (uvicorn finishes its requests and
closes live streams, which their clients resume, Celery its tasks),
then SIGKILL to whatever is left in their process groups after the grace period. A worker that dies
(killed, out of memory, an unrecoverable error) is started again after a pause that doubles with each
death in quick succession, as ``Restart=on-failure`` does under systemd; when the web process dies,
the worker is stopped too and the command exits with an error.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# Seconds the children get to finish what they are doing before they are killed.
STOP_GRACE_SECONDS = 30
POLL_SECONDS = 0.2
# A worker that died is started again after this pause, doubled after each death that follows
# within RESTART_RESET_SECONDS of the previous start, up to the maximum.
RESTART_PAUSE_SECONDS, RESTART_MAX_PAUSE_SECONDS, RESTART_RESET_SECONDS = 1.0, 30.0, 60.0


class Command(BaseCommand):
    help = "Serve Flowgate: uvicorn (web) and a Celery worker with embedded beat. Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to bind (default 8000).")
        parser.add_argument("--web-workers", type=int, default=2, help="uvicorn worker processes (default 2).")
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes (default 2).")
        parser.add_argument("--loglevel", default="INFO", help="Celery log level (default INFO).")

    def handle(self, *args, host, port, web_workers, concurrency, loglevel, **options):
        # Each child reads the settings from the environment as this process did.
        env = dict(os.environ, DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"))
        # ASGI: live streams (async views) hold no thread; each other request runs on a thread of its own.
        web_cmd = [
            sys.executable, "-m", "config.serve", "config.asgi:application", "--host", host, "--port", str(port),
            "--workers", str(web_workers), "--timeout-graceful-shutdown", str(STOP_GRACE_SECONDS - 5),
            "--forwarded-allow-ips", "127.0.0.1", "--no-server-header",
        ]
        # Without gossip and mingle, which Flowgate does not use: fewer broker queues and
        # consumers to tear down and rebuild when the broker connection drops.
        worker_cmd = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-B", f"--concurrency={concurrency}",
            f"--loglevel={loglevel}", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME,
            "--without-gossip", "--without-mingle",
        ]
        children: dict[str, subprocess.Popen] = {}
        stopping = {"signal": None, "again": False}

        def request_stop(signum, frame):
            # A second Ctrl-C while stopping means: do not wait for running tasks.
            stopping["again"] = stopping["signal"] is not None
            stopping["signal"] = signum

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for name, cmd in (("web", web_cmd), ("worker", worker_cmd)):
                children[name] = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, start_new_session=True)
            self.stdout.write(self.style.SUCCESS(
                f"Flowgate is starting at http://{host}:{port}/ (web pid {children['web'].pid}, "
                f"worker pid {children['worker'].pid}); database {self._database()}, broker "
                f"{settings.CELERY_BROKER_URL.split('@')[-1]}. Press Ctrl-C to stop both (twice: at once)."
            ))
            self.stdout.flush()
            failed = self._watch(children, stopping, {"worker": (worker_cmd, env)})
        finally:
            self._stop(children, stopping)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failed:
            name, code = failed
            raise CommandError(f"The {name} process exited with status {code}; stopped the other one too.")
        self.stdout.write("Flowgate stopped.")

    def _watch(self, children, stopping, restartable) -> tuple[str, int] | None:
        """Wait until a stop is requested (None) or the web process dies (its name and status).

        A child named in ``restartable`` (the worker) that dies is started again, after a pause.
        """
        started = {name: time.monotonic() for name in children}
        pauses = {name: RESTART_PAUSE_SECONDS for name in restartable}
        restart_at: dict[str, float] = {}
        while stopping["signal"] is None:
            now = time.monotonic()
            for name, child in list(children.items()):
                if name in restart_at:
                    if now >= restart_at[name]:
                        del restart_at[name]
                        cmd, env = restartable[name]
                        children[name] = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, start_new_session=True)
                        started[name] = now
                        self.stdout.write(f"Started the {name} again (pid {children[name].pid}).")
                        self.stdout.flush()
                    continue
                code = child.poll()
                if code is None:
                    continue
                if name not in restartable:
                    return name, code
                _signal_group(child, signal.SIGKILL)  # what it left behind (pool processes)
                if now - started[name] > RESTART_RESET_SECONDS:
                    pauses[name] = RESTART_PAUSE_SECONDS
                restart_at[name] = now + pauses[name]
                self.stderr.write(f"The {name} process exited with status {code}; starting it again in "
                                  f"{pauses[name]:.0f} s.")
                self.stderr.flush()
                pauses[name] = min(pauses[name] * 2, RESTART_MAX_PAUSE_SECONDS)
            time.sleep(POLL_SECONDS)
        self.stdout.write(f"Stopping web and worker ({signal.Signals(stopping['signal']).name}); "
                          "Ctrl-C again to kill them at once...")
        self.stdout.flush()
        return None

    def _stop(self, children, stopping) -> None:
        """SIGTERM to each child, then SIGKILL after the grace period or at a second Ctrl-C."""
        for child in children.values():
            if child.poll() is None:
                # The group leader only: gunicorn's master and Celery's main process stop their own
                # workers gracefully, which a signal to every process at once would cut short.
                child.send_signal(signal.SIGTERM)
        first_signal = stopping["signal"]
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(child.poll() is None for child in children.values()):
            if time.monotonic() > deadline or stopping["signal"] is not first_signal or stopping["again"]:
                self.stdout.write("Killing web and worker now.")
                break
            time.sleep(POLL_SECONDS)
        for child in children.values():
            # Also reaps what the child left behind in its group (pool processes, web workers).
            _signal_group(child, signal.SIGKILL)
            if child.poll() is None:
                child.wait(timeout=10)

    @staticmethod
    def _database() -> str:
        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("sqlite3"):
            return f"SQLite at {db['NAME']}"
        return f"PostgreSQL {db.get('HOST') or 'localhost'}/{db['NAME']}"


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass

