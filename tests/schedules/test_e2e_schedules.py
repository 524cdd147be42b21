"""A schedule every minute through a real worker: once per minute under two beats, and after downtime.

The clock is moved with time-machine in this process, where the beats (sweeps) run; the worker
runs the executions they start.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from executions.services import sweep
from schedules import services
from schedules.models import ScheduleExecution
from tests.conftest import wait_until
from tests.workflows.factories import WorkflowFactory

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BASE = datetime(2031, 1, 6, 12, 0, 0, tzinfo=UTC)


def two_beats() -> None:
    """Two beats sweep at the same moment (each on a connection of its own)."""
    barrier = threading.Barrier(2)
    failures = []

    def beat() -> None:
        try:
            barrier.wait(timeout=10)
            sweep()
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []


def due_minutes(schedule) -> list[str]:
    return [due.strftime("%H:%M") for due in ScheduleExecution.objects.filter(schedule=schedule)
            .order_by("due_at").values_list("due_at", flat=True)]


def all_succeeded(schedule) -> bool:
    return all(status == "succeeded" for status in ScheduleExecution.objects.filter(schedule=schedule)
               .values_list("execution__status", flat=True))


@pytest.mark.parametrize(("policy", "expected"), [
    ("none", ["12:01", "12:02", "12:03", "12:20"]),
    ("latest", ["12:01", "12:02", "12:03", "12:19", "12:20"]),
])
def test_a_schedule_every_minute_fires_once_a_minute_under_two_beats_and_after_downtime(live_worker, project_a,
                                                                                        policy, expected):
    workflow = WorkflowFactory(project=project_a, tasks=[{"name": "tick", "type": "response", "config": {"value": "{{ input.n }}"}}])
    with time_machine.travel(BASE, tick=False) as clock:
        schedule = services.create_schedule(workflow=workflow, cron="* * * * *", input={"n": 1},
                                            catchup_policy=policy)
        for minute in (1, 2, 3):
            for second in (2, 20, 40):  # three sweeps a minute, each by two beats at once
                clock.move_to(BASE + timedelta(minutes=minute, seconds=second))
                two_beats()
            wait_until(lambda: all_succeeded(schedule), timeout=60)  # the worker ran it (no overlap skips)
        # Downtime: no sweep from 12:03:40 until 12:19:45; the 12:19 run is 45 s late (missed).
        clock.move_to(BASE + timedelta(minutes=19, seconds=45))
        two_beats()
        wait_until(lambda: all_succeeded(schedule), timeout=60)
        clock.move_to(BASE + timedelta(minutes=20, seconds=5))
        two_beats()
    assert due_minutes(schedule) == expected
    wait_until(lambda: all_succeeded(schedule), timeout=60)
