"""Starting, cancelling, retrying, waiting for and sweeping executions.

These are the only functions that change executions from outside the engine; every surface
(native, Flowdash, Port, Refold, mindzie, FlowSynx), the admin and the Celery tasks call them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from accounts.caller import Caller
from accounts.scoping import get_for_caller
from config.errors import Conflict, Unprocessable
from config.metrics import SWEEPER_RECOVERIES
from config.values import parse_number
from executions import engine
from executions.engine import (
    LogBuffer,
    send_advance,
    send_run_task,
    task_definitions,
    transition_execution,
    transition_task_run,
)
from executions.leases import database_reach
from executions.models import (
    TERMINAL_STATUSES,
    Execution,
    ExecutionStatus,
    LogLevel,
    RetryPolicy,
    TaskRun,
    TaskRunStatus,
)
from executions.plugins import start_option_handler, sweep_passes
from executions.signals import cancel_requested
from executions.waiters import wait_until_ended
from workflows.models import Workflow, WorkflowVersion
from workflows.services import get_workflow_for, version_for

logger = logging.getLogger("flowgate.executions")

EXECUTION_NOT_FOUND = "Execution not found."
# Rows the sweeper handles per kind and pass; the next pass (seconds later) takes the rest.
SWEEP_BATCH = 200


def get_execution_for(caller: Caller | None, execution_id, queryset=None) -> Execution:
    """The caller's execution, or NotFound (also for another tenant's and for malformed ids)."""
    queryset = queryset if queryset is not None else Execution.objects.all()
    return get_for_caller(queryset, caller, EXECUTION_NOT_FOUND, pk=execution_id)


def request_fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _started_by(caller: Caller | None, label: str | None = None) -> dict:
    if caller is None:
        return {"started_by_label": label or "system"}
    return {
        "started_by_user": caller.person,
        "started_by_key": caller.api_key,
        "started_by_label": label or caller.label,
    }


def check_idempotency_key(key: str) -> None:
    """400 for a key longer than the column holds (it would fail at the INSERT, as a 500), or with a
    control character (a NUL no column stores; a newline or an escape no log line should carry)."""
    limit = Execution._meta.get_field("idempotency_key").max_length
    if len(key) > limit:
        raise ValidationError({"Idempotency-Key": [
            f"Must be at most {limit} characters; this one has {len(key)}. Use a shorter key."]})
    control = next((c for c in key if ord(c) < 32 or 127 <= ord(c) < 160), None)
    if control is not None:
        raise ValidationError({"Idempotency-Key": [
            f"May not contain control characters (found {control!r}); use letters, digits and punctuation, "
            "such as a UUID."]})


def start_execution(*, caller: Caller | None, workflow: Workflow | None = None, project=None,
                    definition: dict | None = None, version: WorkflowVersion | None = None,
                    input: dict | None = None, tags: dict | None = None, linked_account_id: str = "",
                    idempotency_key: str | None = None, fingerprint_payload: Any = None, performed_by=None,
                    parent_task_run: TaskRun | None = None, started_by_label: str | None = None,
                    retry_policy: str = RetryPolicy.AS_DEFINED, options: dict | None = None) -> tuple[Execution, bool]:
    """Queue an execution of a workflow's version (its current one by default), or of ``definition``.

    Returns ``(execution, created)``; with an Idempotency-Key already used for the same request,
    the first execution comes back with ``created`` False. The row is committed before any
    message is sent. ``options`` are handled by the features that registered them
    (``executions.plugins``), inside the same transaction: ``{"flow_run": ...}``, say.
    ``started_by_label`` names the starter instead of the caller (or "system").
    """
    if idempotency_key:
        check_idempotency_key(idempotency_key)
    if workflow is not None and not workflow.enabled:
        raise Conflict(f"Workflow {workflow.name!r} is disabled; enable it to start executions.")
    _check_options(options)
    tenant_id = workflow.tenant_id if workflow is not None else project.tenant_id
    fingerprint = request_fingerprint(fingerprint_payload if fingerprint_payload is not None else
                                      {"workflow": str(getattr(workflow, "id", "")), "input": input, "tags": tags})
    if idempotency_key:
        existing = Execution.objects.filter(tenant_id=tenant_id, idempotency_key=idempotency_key).first()
        if existing is not None:
            return _idempotent_replay(existing, fingerprint, idempotency_key)
    execution = Execution(
        tenant_id=tenant_id, project_id=workflow.project_id if workflow is not None else project.id,
        workflow=workflow, definition=definition,
        input=input or {}, tags=tags or {}, linked_account_id=linked_account_id or "",
        idempotency_key=idempotency_key or None, request_fingerprint=fingerprint, performed_by=performed_by,
        parent=parent_task_run.execution if parent_task_run else None, parent_task_run=parent_task_run,
        retry_policy=retry_policy, enqueued_at=timezone.now(), **_started_by(caller, started_by_label),
    )
    try:
        with transaction.atomic():
            if definition is None:
                version = version or version_for(workflow)
                execution.workflow_version = version
            _create_rows(execution, version, caller, options or {})
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = Execution.objects.get(tenant_id=tenant_id, idempotency_key=idempotency_key)
        return _idempotent_replay(existing, fingerprint, idempotency_key)
    return execution, True


def _check_options(options: dict | None) -> None:
    unknown = [name for name in options or {} if start_option_handler(name) is None]
    if unknown:
        raise ValueError(f"Unknown start option(s) {', '.join(unknown)}; a feature registers each one "
                         "with executions.plugins.register_start_option.")


def _create_rows(execution: Execution, version: WorkflowVersion | None, caller: Caller | None, options: dict) -> None:
    """Insert the execution, one task run per task and the first log line; send the first message on commit."""
    execution.save(force_insert=True)
    tasks = execution.get_definition().get("tasks", [])
    TaskRun.objects.bulk_create([
        TaskRun(execution=execution, name=task["name"], task_type=task["type"], position=index)
        for index, task in enumerate(tasks)
    ])
    for name, value in options.items():
        start_option_handler(name)(execution, value, caller)
    logs = LogBuffer(execution.id)
    workflow = execution.workflow
    where = f"workflow {workflow.name!r} v{version.number}" if workflow is not None and version else "action steps"
    logs.add(LogLevel.INFO, f"Execution queued ({where}) by {execution.started_by_label}.", event="execution.queued")
    logs.flush()
    send_advance(execution.id)


def _idempotent_replay(existing: Execution, fingerprint: str, key: str) -> tuple[Execution, bool]:
    if existing.request_fingerprint != fingerprint:
        raise Unprocessable(
            f"Idempotency-Key {key!r} was already used with a different request; use a new key for a new request."
        )
    return existing, False


def start_child_execution(ctx, workflow_ref: str, input: dict) -> Execution:
    """Start a subworkflow's child execution from a running task (same tenant and project)."""
    parent = ctx.execution
    caller = Caller(tenant=parent.tenant, role="workflow", project_id=parent.project_id)
    workflow = get_workflow_for(caller, workflow_ref)
    child, _ = start_execution(caller=None, workflow=workflow, input=input, parent_task_run=ctx.task_run,
                               linked_account_id=parent.linked_account_id, tags=parent.tags,
                               started_by_label=f"execution:{parent.id}")
    return child


def delete_workflow(workflow: Workflow) -> None:
    """Delete a workflow with its versions and finished executions (409 while one is unfinished)."""
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        executions = Execution.objects.filter(Q(workflow=locked) | Q(workflow_version__workflow=locked))
        unfinished = executions.exclude(status__in=TERMINAL_STATUSES).count()
        if unfinished:
            raise Conflict(f"Workflow {locked.name!r} has {unfinished} unfinished execution(s); cancel them or "
                           f"wait for them to end before deleting it (or disable it with enabled: false).")
        executions.delete()
        locked.delete()


def lock_execution(execution: Execution) -> Execution:
    """Lock the execution's row and bring ``execution`` up to date with it; returns ``execution``.

    The object keeps the related rows it holds (its workflow and version, say), so an answer
    built from it after the change reads nothing again.
    """
    row = Execution.objects.select_for_update(no_key=True).filter(pk=execution.pk).first()
    if row is None:  # removed since it was read (the retention purge)
        raise NotFound(EXECUTION_NOT_FOUND)
    for field in Execution._meta.concrete_fields:
        setattr(execution, field.attname, getattr(row, field.attname))
    return execution


def cancel_execution(execution: Execution, caller: Caller | None = None) -> Execution:
    """Queued or waiting: cancelled now. Running: cancelled after the task in hand. Finished: 409.

    Returns ``execution``, brought up to date.
    """
    with transaction.atomic():
        locked = lock_execution(execution)
        if locked.status in TERMINAL_STATUSES:
            raise Conflict(f"Execution {locked.id} has already ended ({locked.status}); only unfinished executions "
                           "can be cancelled.")
        logs = LogBuffer(locked.id)
        logs.add(LogLevel.INFO, f"Cancel requested by {caller.label if caller else 'system'}.")
        Execution.objects.filter(pk=locked.pk).update(cancel_requested=True)
        locked.cancel_requested = True
        logs.flush()
        cancel_requested.send(execution=locked)
        if locked.status in (ExecutionStatus.QUEUED, ExecutionStatus.WAITING):
            runs = {tr.name: tr for tr in locked.task_runs.defer("output")}
            engine.advance_cancelled(locked, runs, logs, timezone.now())
            logs.flush()
        else:
            send_advance(locked.id)
    return locked


def downstream_of(tasks: dict[str, dict], name: str) -> set[str]:
    """``name`` and every task that depends on it, directly or through others."""
    found, frontier = {name}, [name]
    while frontier:
        current = frontier.pop()
        for other, task in tasks.items():
            if other not in found and current in (task.get("depends_on") or []):
                found.add(other)
                frontier.append(other)
    return found


def retry_execution(execution: Execution, caller: Caller | None = None, *, from_task: str | None = None) -> Execution:
    """Run a failed execution again on the same row, from its failed, skipped and cancelled tasks.

    With ``from_task``, that task and every task downstream of it run again too, even where they
    succeeded. The other succeeded tasks keep their outputs (which the re-run tasks read);
    ``attempt`` counts the execution's runs. Returns ``execution``, brought up to date.
    """
    with transaction.atomic():
        locked = lock_execution(execution)
        if locked.status != ExecutionStatus.FAILED:
            raise Conflict(f"Execution {locked.id} is {locked.status}; only failed executions can be retried.")
        again = Q(status__in=[TaskRunStatus.FAILED, TaskRunStatus.SKIPPED, TaskRunStatus.CANCELLED])
        if from_task is not None:
            tasks = task_definitions(locked)
            if from_task not in tasks:
                raise ValidationError({"task": [f"Execution {locked.id} has no task {from_task!r}; pick one of "
                                                f"{', '.join(sorted(tasks))}."]})
            # The execution is locked and failed, so no worker holds any of its task runs: the succeeded
            # ones downstream may go back to pending here (a guarded transition would refuse it).
            again |= Q(name__in=downstream_of(tasks, from_task))
        transition_execution(locked, ExecutionStatus.QUEUED, errors=[], ended_at=None, attempt=locked.attempt + 1,
                             enqueued_at=timezone.now(), cancel_requested=False)
        rerun = TaskRun.objects.filter(execution=locked).filter(again)
        reset = list(rerun.values_list("id", "name"))
        rerun.update(status=TaskRunStatus.PENDING, attempts=0, output=None, message="", started_at=None, ended_at=None,
                     dispatched_at=None, not_before=None, lease_expires_at=None, wake_at=None)
        logs = LogBuffer(locked.id)
        what = "Retry" if from_task is None else f"Retry from task {from_task}"
        logs.add(LogLevel.INFO, f"{what} (attempt {locked.attempt}) requested by "
                                f"{caller.label if caller else 'system'}.", event="execution.queued")
        for task_run_id, name in reset:
            logs.add(LogLevel.INFO, f"Task {name} will run again.", task_run_id=task_run_id, event="task.pending")
        logs.flush()
        send_advance(locked.id)
    return locked


def retry_execution_from(execution: Execution, task_name: str, caller: Caller | None = None) -> Execution:
    """``retry_execution`` from ``task_name``: it and every task downstream of it run again."""
    return retry_execution(execution, caller, from_task=task_name)


def wait_for_execution(execution_id, timeout: float, queryset=None) -> Execution:
    """Wait until the execution ends or the timeout passes, then read it once.

    The wait is woken by the engine's notification when the execution ends (``executions.waiters``);
    the read goes through ``queryset`` when given (with the related rows an answer shows, say).
    """
    wait_until_ended(execution_id, timeout)
    return (queryset if queryset is not None else Execution.objects).get(pk=execution_id)


def clamp_wait(seconds: Any) -> float:
    """A requested wait, bounded by FLOWGATE_MAX_SYNC_WAIT_SECONDS; ValueError when not a number of seconds.

    An infinite wait (``inf``, ``1e400``) asks for as long as there is: the bound. NaN is refused
    (a NaN deadline never passes: the wait would never end), as is a negative wait.
    """
    bound = float(settings.FLOWGATE_MAX_SYNC_WAIT_SECONDS)
    try:
        return min(float(parse_number(seconds, minimum=0)), bound)
    except ValueError:
        if _is_infinity(seconds):
            return bound
        raise


def _is_infinity(value: Any) -> bool:
    """Whether a number, or its text, is positive infinity (the one non-finite number a wait accepts)."""
    try:
        return not isinstance(value, bool) and float(value) == math.inf
    except (TypeError, ValueError):
        return False


# -- the sweeper ---------------------------------------------------------------------------------------
def sweep(now=None) -> dict[str, int]:
    """Recover what lost messages and dead workers left behind. Safe to run anywhere, any time.

    Each step takes at most ``SWEEP_BATCH`` rows and guards every change with the state it read, so
    two sweepers at once, or a worker finishing meanwhile, never act twice; the counts say what it did.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.FLOWGATE_REDISPATCH_AFTER_SECONDS)
    counts = {
        "requeued": _requeue_lost_starts(now, stale),
        "recovered": _take_back_expired_leases(now),
        "redispatched": _redispatch_lost_tasks(now, stale),
        "woken": _wake_due_delays(now),
        "nudged": _nudge_idle_executions(now, stale),
    }
    counts.update(_feature_passes(now))
    for kind, count in counts.items():
        if count:
            SWEEPER_RECOVERIES.labels(kind).inc(count)
    if any(counts.values()):
        logger.info("sweep: %s", counts)
    return counts


def _requeue_lost_starts(now, stale) -> int:
    """Queued executions whose start message never arrived: sent again."""
    count = 0
    for execution in Execution.objects.filter(status=ExecutionStatus.QUEUED).filter(
            Q(enqueued_at__lt=stale) | Q(enqueued_at__isnull=True)).only("id", "enqueued_at")[:SWEEP_BATCH]:
        with transaction.atomic():
            if Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.QUEUED,
                                        enqueued_at=execution.enqueued_at).update(enqueued_at=now):
                send_advance(execution.id)
                count += 1
    return count


def _take_back_expired_leases(now) -> int:
    """Running task runs whose worker stopped renewing the lease (killed, lost its node): run again.

    Not within a lease period of the database coming back: no worker could renew while it was away.
    """
    evidence, answering = database_reach.leases_are_evidence(now)
    expired = TaskRun.objects.filter(status=TaskRunStatus.RUNNING, lease_expires_at__lt=now)
    if not evidence:
        if expired.exists():
            logger.info("sweep: the database has answered for %.0f s only; expired leases get %s s to be renewed "
                        "before their tasks are taken back", answering, settings.FLOWGATE_TASK_LEASE_SECONDS)
        return 0
    # A lease that ran out within a lease period of the database coming back belonged to an attempt the
    # outage interrupted (its worker could not write), not necessarily to a worker that died.
    outage_ended = None if answering is None else now - timedelta(seconds=answering)
    count = 0
    for tr in expired.select_related("execution")[:SWEEP_BATCH]:
        with transaction.atomic():
            lease_ended = tr.lease_expires_at
            if transition_task_run(tr, TaskRunStatus.PENDING, attempt=tr.attempts, dispatched_at=now,
                                   not_before=None, lease_expires_at=None):
                logs = LogBuffer(tr.execution_id, tr.id)
                logs.add(LogLevel.WARNING, _why_taken_back(tr, lease_ended, outage_ended), event="task.pending")
                logs.flush()
                send_run_task(tr, task_definitions(tr.execution).get(tr.name, {}))
                count += 1
    return count


def _why_taken_back(tr: TaskRun, lease_ended, outage_ended) -> str:
    """The log line of a task taken back: a database outage, or a worker that is gone."""
    if outage_ended is not None and lease_ended < outage_ended + timedelta(seconds=settings.FLOWGATE_TASK_LEASE_SECONDS):
        return (f"Task {tr.name} was interrupted during attempt {tr.attempts} by a database outage "
                f"(the database answers again since {outage_ended:%H:%M:%S} UTC and the attempt did not "
                "resume); running it again.")
    return (f"Task {tr.name} lost its worker during attempt {tr.attempts} (its lease ran out at "
            f"{lease_ended:%H:%M:%S} UTC and was not renewed while the database answered); running it again.")


def _redispatch_lost_tasks(now, stale) -> int:
    """Dispatched task runs whose message was lost before a worker claimed them: sent again."""
    count = 0
    for tr in TaskRun.objects.filter(status=TaskRunStatus.PENDING, dispatched_at__lt=stale).filter(
            Q(not_before__isnull=True) | Q(not_before__lt=stale)).select_related(
            "execution")[:SWEEP_BATCH]:
        with transaction.atomic():
            if TaskRun.objects.filter(pk=tr.pk, status=TaskRunStatus.PENDING,
                                      dispatched_at=tr.dispatched_at).update(dispatched_at=now):
                tr.not_before = None
                send_run_task(tr, task_definitions(tr.execution).get(tr.name, {}))
                count += 1
    return count


def _wake_due_delays(now) -> int:
    count = 0
    for tr in TaskRun.objects.filter(status=TaskRunStatus.WAITING, wake_at__lte=now).only("id")[:SWEEP_BATCH]:
        if engine.complete_waiting_task(tr.id, output={"woke_at": now.isoformat()}):
            count += 1
    return count


def _nudge_idle_executions(now, stale) -> int:
    """Running executions nobody has touched for a while (an advance message was lost): advanced again."""
    count = 0
    for execution in Execution.objects.filter(status=ExecutionStatus.RUNNING, updated_at__lt=stale).only("id")[:SWEEP_BATCH]:
        with transaction.atomic():
            Execution.objects.filter(pk=execution.pk).update(updated_at=now)
            send_advance(execution.id)
        count += 1
    return count


def _feature_passes(now) -> dict[str, int]:
    """The features' own passes (approvals past their time-out, due schedules, say), each on its own."""
    counts = {}
    for name, sweep_pass in sweep_passes().items():
        try:
            counts[name] = sweep_pass(now)
        except Exception:
            # One feature's failure must not stop the others' passes, nor the next sweep.
            logger.exception("sweep pass %s failed; the next sweep tries again", name)
            counts[name] = 0
    return counts


def wake_task(task_run_id) -> bool:
    """Finish a delay task whose time has come (the sweeper does the same for lost messages)."""
    tr = TaskRun.objects.filter(pk=task_run_id, status=TaskRunStatus.WAITING).first()
    if tr is None or tr.wake_at is None or tr.wake_at > timezone.now() + timedelta(seconds=1):
        return False
    return engine.complete_waiting_task(tr.id, output={"woke_at": timezone.now().isoformat()})
