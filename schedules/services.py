"""Creating, changing and firing schedules; the only functions that write them.

The sweeper (``executions.services.sweep``) calls ``fire_due_schedules`` on every pass: due
schedules are read from the database and each is locked while it fires, and every run starts
with the Idempotency-Key ``schedule:<id>:<due time>``, so two beats, or a pass retried after a
crash, never start the same run twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import APIException, ValidationError

from accounts.caller import Caller
from accounts.scoping import get_for_caller
from executions.models import TERMINAL_STATUSES, Execution
from executions.services import cancel_execution, start_execution
from schedules.cron import Cron, CronError
from schedules.models import CatchupPolicy, OverlapPolicy, Schedule, ScheduleExecution
from workflows.models import Workflow

logger = logging.getLogger("flowgate.schedules")

SCHEDULE_NOT_FOUND = "Schedule not found."
# Schedules fired per sweep; the next sweep (seconds later) takes the rest.
FIRE_BATCH = 100
# Runs one schedule may start in one pass when several due times are on time (a sweep that came
# late to a schedule that runs every minute); more would be a burst, not a schedule.
MAX_RUNS_PER_PASS = 5


def get_schedule_for(caller: Caller | None, schedule_id, queryset=None) -> Schedule:
    """The caller's schedule, or NotFound (also for another tenant's and for malformed ids)."""
    queryset = queryset if queryset is not None else Schedule.objects.all()
    return get_for_caller(queryset, caller, SCHEDULE_NOT_FOUND, pk=schedule_id)


def cron_for(expression: str, time_zone: str) -> Cron:
    """The checked expression in its zone; ValidationError naming the field at fault."""
    try:
        cron = Cron(expression, time_zone)
        cron.next_after(timezone.now())
    except CronError as exc:
        field = "timezone" if "time zone" in str(exc) else "cron"
        raise ValidationError({field: [str(exc)]}) from None
    return cron


def _next_run(schedule: Schedule, after: datetime) -> datetime | None:
    return Cron(schedule.cron, schedule.timezone).next_after(after) if schedule.enabled else None


def create_schedule(*, workflow: Workflow, cron: str, timezone_name: str = "UTC", input: dict | None = None,
                    enabled: bool = True, overlap_policy: str = OverlapPolicy.SKIP,
                    catchup_policy: str = CatchupPolicy.NONE, name: str = "", caller: Caller | None = None) -> Schedule:
    """A schedule of ``workflow``; its first run is the first due time after now."""
    checked = cron_for(cron, timezone_name)
    now = timezone.now()
    schedule = Schedule(
        tenant_id=workflow.tenant_id, project_id=workflow.project_id, workflow=workflow, name=name,
        cron=checked.expression, timezone=timezone_name, input=input or {}, enabled=enabled,
        overlap_policy=overlap_policy, catchup_policy=catchup_policy, created_at=now, updated_at=now,
        created_by_label=caller.label if caller is not None else "system",
    )
    schedule.next_run_at = _next_run(schedule, now)
    schedule.save(force_insert=True)
    return schedule


# What a change re-plans: a new expression, zone or an enabling starts counting from now (the
# time a schedule was disabled is not downtime, so nothing of it is caught up).
_REPLANNED = {"cron", "timezone", "enabled"}
CHANGEABLE = {"name", "cron", "timezone", "input", "enabled", "overlap_policy", "catchup_policy"}


def update_schedule(schedule: Schedule, **changes: Any) -> Schedule:
    """Change a schedule's fields (``CHANGEABLE``); its next run is planned again when its timing changed."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a schedule.")
    if "cron" in changes or "timezone" in changes:
        changes["cron"] = cron_for(changes.get("cron", schedule.cron), changes.get("timezone", schedule.timezone)).expression
    with transaction.atomic():
        locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
        replan = any(getattr(locked, name) != value for name, value in changes.items() if name in _REPLANNED)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.updated_at = timezone.now()
        fields = [*changes, "updated_at"]
        if replan or (locked.enabled and locked.next_run_at is None):
            locked.next_run_at = _next_run(locked, locked.updated_at)
            fields.append("next_run_at")
        locked.save(update_fields=fields)
    for field in Schedule._meta.concrete_fields:
        setattr(schedule, field.attname, getattr(locked, field.attname))
    return schedule


def delete_schedule(schedule: Schedule) -> None:
    """Delete a schedule; the executions it started stay (without their link to it)."""
    schedule.delete()


def link_schedule(execution: Execution, value: dict, caller: Caller | None) -> ScheduleExecution:
    """The ``schedule`` start option: the execution shows which schedule started it, for which due time,
    and names the schedule as its origin (the lists of a schedule's executions read that, through an index)."""
    execution.origin_id = value["schedule"].pk
    Execution.objects.filter(pk=execution.pk).update(origin_id=execution.origin_id)
    return ScheduleExecution.objects.create(execution=execution, schedule=value["schedule"], due_at=value["due_at"])


# -- firing ---------------------------------------------------------------------------------------------
@dataclass
class Plan:
    """What one pass does with a due schedule: the due times to start, and the ones it lets go."""

    runs: list[datetime]
    missed: int
    next_run_at: datetime


def plan_runs(schedule: Schedule, now: datetime) -> Plan:
    """The runs due by ``now``: those on time (within FLOWGATE_SCHEDULE_GRACE_SECONDS), and by the
    catch-up policy the latest one that was missed (the sweeper was down when it came due)."""
    cron = Cron(schedule.cron, schedule.timezone)
    cutoff = now - timedelta(seconds=settings.FLOWGATE_SCHEDULE_GRACE_SECONDS)
    runs = cron.between(max(schedule.next_run_at, cutoff), now, MAX_RUNS_PER_PASS)
    missed = 0
    if schedule.next_run_at < cutoff:
        latest_missed = cron.latest_before(cutoff)
        missed = 1 if latest_missed >= schedule.next_run_at else 0
        if schedule.catchup_policy == CatchupPolicy.LATEST and missed and not runs:
            runs, missed = [latest_missed], 0
    return Plan(runs=runs, missed=missed, next_run_at=cron.next_after(now))


def fire_due_schedules(now: datetime) -> int:
    """The sweeper's pass: start what is due on every enabled schedule; answers how many runs started."""
    due = list(Schedule.objects.filter(enabled=True, next_run_at__lte=now).order_by("next_run_at")
               .values_list("id", flat=True)[:FIRE_BATCH])
    started = 0
    for schedule_id in due:
        try:
            started += fire_schedule(schedule_id, now)
        except Exception:
            # One broken schedule must not keep the others from running.
            logger.exception("schedule %s could not fire; the next sweep tries again", schedule_id)
    return started


def fire_schedule(schedule_id, now: datetime | None = None) -> int:
    """Start a due schedule's runs and plan its next one, with the schedule locked; answers runs started.

    A schedule another sweeper holds is skipped (``skip_locked``): that sweeper fires it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        schedule = (Schedule.objects.select_for_update(skip_locked=True, of=("self",)).select_related("workflow")
                    .filter(pk=schedule_id, enabled=True, next_run_at__lte=now).first())
        if schedule is None:
            return 0
        plan = plan_runs(schedule, now)
        outcomes = [f"runs missed since {schedule.next_run_at.isoformat()} not started "
                    f"(catch-up: {schedule.catchup_policy})"] if plan.missed else []
        started = 0
        for due in plan.runs:
            outcome, ok = _start_run(schedule, due)
            outcomes.append(outcome)
            started += ok
        schedule.next_run_at = plan.next_run_at
        schedule.last_due_at = plan.runs[-1] if plan.runs else schedule.last_due_at
        schedule.last_outcome = "; ".join(outcomes)[:500]
        schedule.save(update_fields=["next_run_at", "last_due_at", "last_outcome"])
    return started


def _unfinished_runs(schedule: Schedule) -> list[Execution]:
    return list(Execution.objects.filter(tenant_id=schedule.tenant_id, origin_id=schedule.pk).exclude(status__in=TERMINAL_STATUSES)
                .order_by("created_at"))


def _start_run(schedule: Schedule, due: datetime) -> tuple[str, bool]:
    """Start one run by the overlap policy; answers what happened and whether a run started."""
    when = due.isoformat()
    if schedule.overlap_policy != OverlapPolicy.ALLOW:
        unfinished = _unfinished_runs(schedule)
        if unfinished and schedule.overlap_policy == OverlapPolicy.SKIP:
            return f"{when}: skipped, execution {unfinished[0].id} is still {unfinished[0].status}", False
        for execution in unfinished:
            cancel_execution(execution)
    label = f"schedule:{schedule.name or schedule.id}"
    try:
        execution, created = start_execution(
            caller=None, workflow=schedule.workflow, input=schedule.input, started_by_label=label[:200],
            idempotency_key=f"schedule:{schedule.id}:{when}",
            fingerprint_payload={"schedule": str(schedule.id), "due_at": when},
            options={"schedule": {"schedule": schedule, "due_at": due}},
        )
    except (APIException, ValidationError) as exc:  # the workflow was disabled, say
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return f"{when}: not started: {detail}", False
    if not created:
        return f"{when}: execution {execution.id} (started before)", False
    return f"{when}: started execution {execution.id}", True
