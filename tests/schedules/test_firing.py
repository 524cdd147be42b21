"""The sweeper starts due schedules: once per due time, by their catch-up and overlap policies."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from executions.models import Execution
from executions.services import sweep
from schedules import services
from schedules.models import Schedule, ScheduleExecution
from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db

START = datetime(2030, 6, 3, 9, 0, 10, tzinfo=UTC)  # ten seconds past a whole minute


def quick(project):
    return WorkflowFactory(project=project, tasks=[{"name": "answer", "type": "response", "config": {"value": "{{ input.n }}"}}])


def waiting(project):
    return WorkflowFactory(project=project, tasks=[{"name": "pause", "type": "delay", "config": {"seconds": 3600}}])


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def every_minute(workflow, **kwargs) -> Schedule:
    return services.create_schedule(workflow=workflow, cron="* * * * *", input={"n": 7}, **kwargs)


def runs(schedule) -> list[datetime]:
    return list(ScheduleExecution.objects.filter(schedule=schedule).order_by("due_at").values_list("due_at", flat=True))


def test_a_new_schedule_is_first_due_at_its_next_time(project_a, clock):
    schedule = every_minute(quick(project_a))
    assert schedule.next_run_at == datetime(2030, 6, 3, 9, 1, tzinfo=UTC)


def test_it_starts_a_due_run_once_with_the_schedule_s_input(project_a, clock, django_capture_on_commit_callbacks):
    schedule = every_minute(quick(project_a))
    clock.move_to(START + timedelta(seconds=55))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep()["schedules"] == 1
        assert sweep()["schedules"] == 0  # the next beat: nothing is due any more
    link = ScheduleExecution.objects.select_related("execution").get(schedule=schedule)
    assert link.due_at == datetime(2030, 6, 3, 9, 1, tzinfo=UTC)
    assert (link.execution.status, link.execution.return_value) == ("succeeded", 7)
    assert link.execution.idempotency_key == f"schedule:{schedule.id}:2030-06-03T09:01:00+00:00"
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2030, 6, 3, 9, 2, tzinfo=UTC)
    assert "started execution" in schedule.last_outcome


def test_a_retried_pass_starts_nothing_twice(project_a, clock, django_capture_on_commit_callbacks):
    schedule = every_minute(quick(project_a))
    clock.move_to(START + timedelta(seconds=55))
    services.fire_schedule(schedule.id)
    # The pass ran again as if its first commit had been lost: the idempotency key holds.
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=datetime(2030, 6, 3, 9, 1, tzinfo=UTC))
    assert services.fire_schedule(schedule.id) == 0
    assert Execution.objects.filter(schedule_link__schedule=schedule).count() == 1


@pytest.mark.parametrize(("policy", "expected"), [
    ("none", ["09:01"]),
    ("latest", ["09:01", "09:30"]),
])
def test_after_downtime_it_follows_the_catch_up_policy(project_a, clock, policy, expected):
    schedule = every_minute(quick(project_a), catchup_policy=policy, overlap_policy="allow")
    clock.move_to(START + timedelta(seconds=55))
    services.fire_due_schedules(timezone.now())
    clock.move_to(datetime(2030, 6, 3, 9, 30, 45, tzinfo=UTC))  # the sweeper was down for half an hour
    services.fire_due_schedules(timezone.now())
    assert [due.strftime("%H:%M") for due in runs(schedule)] == expected
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2030, 6, 3, 9, 31, tzinfo=UTC)
    if policy == "none":
        assert "not started (catch-up: none)" in schedule.last_outcome


def test_a_run_that_comes_late_but_within_the_grace_is_on_time(project_a, clock, settings):
    settings.FLOWGATE_SCHEDULE_GRACE_SECONDS = 30
    schedule = every_minute(quick(project_a))
    clock.move_to(datetime(2030, 6, 3, 9, 1, 25, tzinfo=UTC))
    services.fire_due_schedules(timezone.now())
    assert len(runs(schedule)) == 1


@pytest.mark.parametrize(("policy", "started", "cancelled"), [("skip", 1, 0), ("allow", 2, 0), ("cancel", 2, 1)])
def test_the_overlap_policy_decides_while_a_run_is_unfinished(project_a, clock, django_capture_on_commit_callbacks,
                                                              policy, started, cancelled):
    schedule = every_minute(waiting(project_a), overlap_policy=policy)
    for minute in (1, 2):
        clock.move_to(datetime(2030, 6, 3, 9, minute, 5, tzinfo=UTC))
        with django_capture_on_commit_callbacks(execute=True):
            services.fire_due_schedules(timezone.now())
    executions = Execution.objects.filter(schedule_link__schedule=schedule)
    assert executions.count() == started
    assert executions.filter(status="cancelled").count() == cancelled
    schedule.refresh_from_db()
    if policy == "skip":
        assert "skipped" in schedule.last_outcome


def test_a_disabled_schedule_starts_nothing_and_enabling_it_catches_nothing_up(project_a, clock):
    schedule = every_minute(quick(project_a), enabled=False)
    assert schedule.next_run_at is None
    clock.move_to(datetime(2030, 6, 3, 10, 0, 30, tzinfo=UTC))
    services.fire_due_schedules(timezone.now())
    services.update_schedule(schedule, enabled=True)
    assert schedule.next_run_at == datetime(2030, 6, 3, 10, 1, tzinfo=UTC)
    assert runs(schedule) == []


def test_a_disabled_workflow_is_reported_not_started(project_a, clock):
    workflow = quick(project_a)
    schedule = every_minute(workflow)
    workflow.enabled = False
    workflow.save(update_fields=["enabled"])
    clock.move_to(START + timedelta(seconds=55))
    assert services.fire_due_schedules(timezone.now()) == 0
    schedule.refresh_from_db()
    assert "not started" in schedule.last_outcome and "disabled" in schedule.last_outcome
    assert schedule.next_run_at == datetime(2030, 6, 3, 9, 2, tzinfo=UTC)


def test_a_daylight_saving_night_runs_the_daily_schedule_once(project_a, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2030, 10, 26, 12, tzinfo=UTC), tick=False) as traveller:
        schedule = services.create_schedule(workflow=quick(project_a), cron="30 2 * * *", timezone_name="Europe/Berlin")
        moment = datetime(2030, 10, 26, 12, tzinfo=UTC)
        while moment < datetime(2030, 10, 27, 12, tzinfo=UTC):  # every sweep of the night, 15 s apart
            moment += timedelta(minutes=5)
            traveller.move_to(moment)
            services.fire_due_schedules(moment)
    assert runs(schedule) == [datetime(2030, 10, 27, 0, 30, tzinfo=UTC)]
