"""The engine: advancing an execution through its DAG and running one task at a time.

How an execution moves:

* ``advance(execution_id)`` locks the execution row, decides which pending tasks are ready
  (all dependencies done), marks them dispatched and, after commit, sends one ``run_task``
  message per ready task, so independent branches run in parallel on any worker. It also
  skips tasks that a condition did not choose, and ends the execution when nothing is left.
* ``run_task(task_run_id)`` claims the task run with a guarded UPDATE (pending -> running),
  runs the task type's executor outside any transaction while a heartbeat renews its lease,
  records the outcome with another guarded UPDATE, and advances the execution.

Every state change is conditional on the expected old state, so a duplicate or late message
finds nothing to do. The sweeper (``sweep``) re-sends what a lost message or a dead worker left.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.parsers import unstorable
from executions.models import (
    EXECUTION_TRANSITIONS,
    TASK_TERMINAL_STATUSES,
    TASK_TRANSITIONS,
    TERMINAL_STATUSES,
    Execution,
    ExecutionStatus,
    Log,
    LogLevel,
    RetryPolicy,
    TaskRun,
    TaskRunStatus,
)
from executions.plugins import context_providers
from executions.queue import enqueue_on_commit
from executions.signals import execution_changed, execution_finished, task_parked
from workflows.registry import TaskType, get_task_type
from workflows.templating import TemplateError, render

logger = logging.getLogger("flowgate.engine")

_UNSET = object()


class IllegalTransition(Exception):
    """A status change that the state machine does not allow."""


# -- outcomes an executor returns --------------------------------------------------------------
@dataclass
class Done:
    output: Any = None
    # Names of dependants that must not run (a condition's unchosen branch).
    skip: list[str] = field(default_factory=list)
    return_value: Any = _UNSET
    message: str = ""


@dataclass
class Fail:
    message: str
    retryable: bool = True
    exception: str | None = None


@dataclass
class Park:
    """The task waits (for a person, a time or another execution); the execution parks."""

    wake_at: datetime | None = None
    message: str = ""


# -- logs ------------------------------------------------------------------------------------------
class LogBuffer:
    """Collects log lines and writes them with one bulk INSERT."""

    def __init__(self, execution_id, task_run_id=None) -> None:
        self.execution_id = execution_id
        self.task_run_id = task_run_id
        self.entries: list[Log] = []

    def add(self, level: str, message: str, exception: str | None = None, *, task_run_id=_UNSET) -> None:
        self.entries.append(Log(
            execution_id=self.execution_id,
            task_run_id=self.task_run_id if task_run_id is _UNSET else task_run_id,
            level=level, message=without_nul(message), exception=without_nul(exception), timestamp=timezone.now(),
        ))

    def flush(self) -> None:
        if self.entries:
            Log.objects.bulk_create(self.entries)
            self.entries = []


@dataclass
class TaskContext:
    """What an executor gets: the rows, the task's definition and rendered config, a log."""

    execution: Execution
    task_run: TaskRun
    task: dict
    config: dict
    template_context: dict
    logs: LogBuffer

    def log(self, level: str, message: str, exception: str | None = None) -> None:
        self.logs.add(level, message, exception)


# -- state machine -------------------------------------------------------------------------------
def check_execution_transition(old: str, new: str) -> None:
    if new not in EXECUTION_TRANSITIONS.get(old, frozenset()):
        raise IllegalTransition(f"An execution cannot go from {old} to {new}.")


def check_task_transition(old: str, new: str) -> None:
    if new not in TASK_TRANSITIONS.get(old, frozenset()):
        raise IllegalTransition(f"A task run cannot go from {old} to {new}.")


def transition_execution(execution: Execution, new: str, **fields) -> bool:
    """Move an execution from its current status to ``new`` if nobody moved it first."""
    old = execution.status
    check_execution_transition(old, new)
    now = timezone.now()
    changed = Execution.objects.filter(pk=execution.pk, status=old).update(status=new, updated_at=now, **fields)
    if changed:
        execution.status = new
        execution.updated_at = now
        for name, value in fields.items():
            setattr(execution, name, value)
    return bool(changed)


def transition_task_run(task_run: TaskRun, new: str, *, expected: str | None = None, attempt: int | None = None,
                        **fields) -> bool:
    """Move a task run if it is still in the expected status (and, when given, still on ``attempt``)."""
    old = expected or task_run.status
    check_task_transition(old, new)
    guard = {"attempts": attempt} if attempt is not None else {}
    changed = TaskRun.objects.filter(pk=task_run.pk, status=old, **guard).update(status=new, **fields)
    if changed:
        task_run.status = new
        for name, value in fields.items():
            setattr(task_run, name, value)
    return bool(changed)


# -- helpers ----------------------------------------------------------------------------------------
def task_definitions(execution: Execution) -> dict[str, dict]:
    return {task["name"]: task for task in execution.get_definition().get("tasks", [])}


def template_context(execution: Execution, task_runs, mentions: str | None = None) -> dict:
    """What templates see: the input, the task runs, the execution and the features' names.

    A feature's name (``record``, see ``executions.plugins``) is looked up only when ``mentions``
    (a task's config as text) holds it; with ``mentions`` None, every name is.
    """
    context = {
        "input": execution.input,
        "tasks": {tr.name: {"output": tr.output, "status": tr.status, "message": tr.message} for tr in task_runs},
        "execution": {
            "id": str(execution.id),
            "workflow_id": str(execution.workflow_id) if execution.workflow_id else None,
            "status": execution.status,
            "tags": execution.tags,
            "linked_account_id": execution.linked_account_id,
            "attempt": execution.attempt,
            "started_by": execution.started_by_label,
        },
    }
    for name, provider in context_providers().items():
        context[name] = provider(execution) if mentions is None or name in mentions else None
    return context


def _dispatch_options(task: dict, not_before: datetime | None) -> dict:
    timeout = task.get("timeout_seconds") or settings.FLOWGATE_DEFAULT_TASK_TIMEOUT_SECONDS
    options: dict[str, Any] = {"soft_time_limit": timeout, "time_limit": timeout + 30}
    if not_before is not None:
        delay = (not_before - timezone.now()).total_seconds()
        if delay > 0:
            options["countdown"] = delay
    return options


# Celery task names (executions.tasks defines them).
RUN_TASK = "flowgate.run_task"
ADVANCE = "flowgate.advance_execution"
WAKE = "flowgate.wake_task"


def send_run_task(task_run: TaskRun, task: dict) -> None:
    enqueue_on_commit(RUN_TASK, str(task_run.id), **_dispatch_options(task, task_run.not_before))


def send_advance(execution_id) -> None:
    enqueue_on_commit(ADVANCE, str(execution_id))


def _announce(execution: Execution) -> None:
    execution_changed.send(execution=execution)


def _is_ok(task_run: TaskRun, task: dict) -> bool:
    """A dependency that lets dependants run: succeeded, skipped, or failed with skip_on_error.

    A task whose dependencies were all skipped is skipped itself (see ``_advance_running``), so a
    join after a condition's branches runs when at least one branch ran.
    """
    return task_run.status in (TaskRunStatus.SUCCEEDED, TaskRunStatus.SKIPPED) or (
        task_run.status == TaskRunStatus.FAILED and task.get("skip_on_error")
    )


# -- advance -----------------------------------------------------------------------------------------
def advance(execution_id) -> None:
    """Dispatch ready tasks, skip unchosen ones, and end the execution when nothing is left."""
    with transaction.atomic():
        execution = (Execution.objects.select_for_update(of=("self",)).select_related("workflow_version")
                     .filter(pk=execution_id).first())
        if execution is None or execution.is_terminal:
            return
        # Outputs stay in the database: only conditions' are read (see ``_chosen_skips``).
        runs = {tr.name: tr
                for tr in TaskRun.objects.filter(execution=execution).defer("output").order_by("position")}
        logs = LogBuffer(execution.id)
        now = timezone.now()
        if execution.status == ExecutionStatus.QUEUED:
            if not transition_execution(execution, ExecutionStatus.RUNNING, started_at=execution.started_at or now):
                return
            logs.add(LogLevel.INFO, f"Execution started (attempt {execution.attempt}).")
        was_waiting = execution.status == ExecutionStatus.WAITING
        if execution.cancel_requested:
            _advance_cancelled(execution, runs, logs, now)
        else:
            if was_waiting:
                # Something it waited on finished: decide again as a running execution.
                transition_execution(execution, ExecutionStatus.RUNNING)
            _advance_running(execution, runs, logs, now, was_waiting=was_waiting)
        logs.flush()


def _advance_cancelled(execution: Execution, runs: dict[str, TaskRun], logs: LogBuffer, now) -> None:
    for tr in runs.values():
        if tr.status in (TaskRunStatus.PENDING, TaskRunStatus.WAITING):
            if transition_task_run(tr, TaskRunStatus.CANCELLED, ended_at=now, dispatched_at=None):
                logs.add(LogLevel.INFO, f"Task {tr.name} cancelled.", task_run_id=tr.id)
    if not any(tr.status == TaskRunStatus.RUNNING for tr in runs.values()):
        finish(execution, ExecutionStatus.CANCELLED, runs, logs)
    else:
        Execution.objects.filter(pk=execution.pk).update(updated_at=now)


def _advance_running(execution: Execution, runs: dict[str, TaskRun], logs: LogBuffer, now, *,
                     was_waiting: bool = False) -> None:
    tasks = task_definitions(execution)
    failed = [tr for tr in runs.values()
              if tr.status == TaskRunStatus.FAILED and not tasks.get(tr.name, {}).get("skip_on_error")]
    if failed:
        errors = [f"{tr.name}: {tr.message}" if tr.message else f"{tr.name} failed" for tr in failed]
        finish(execution, ExecutionStatus.FAILED, runs, logs, errors=errors)
        return

    skip_set = _chosen_skips(runs)
    ready: list[TaskRun] = []
    progressed = True
    while progressed:  # skipping one task can make its dependants skippable
        progressed = False
        for name, task in tasks.items():
            tr = runs.get(name)
            if tr is None or tr.status != TaskRunStatus.PENDING or tr.dispatched_at is not None:
                continue
            deps = [runs[d] for d in task.get("depends_on", []) if d in runs]
            if any(d.status not in TASK_TERMINAL_STATUSES for d in deps):
                continue
            unchosen = name in skip_set
            all_skipped = bool(deps) and all(d.status in (TaskRunStatus.SKIPPED, TaskRunStatus.CANCELLED) for d in deps)
            if unchosen or all_skipped:
                reason = "not chosen by a condition" if unchosen else "all its dependencies were skipped"
                if transition_task_run(tr, TaskRunStatus.SKIPPED, ended_at=now, message=f"Skipped: {reason}."):
                    logs.add(LogLevel.INFO, f"Task {name} skipped: {reason}.", task_run_id=tr.id)
                    progressed = True
                continue
            if not all(_is_ok(d, tasks.get(d.name, {})) for d in deps):
                continue
            if TaskRun.objects.filter(pk=tr.pk, status=TaskRunStatus.PENDING, dispatched_at__isnull=True).update(dispatched_at=now):
                tr.dispatched_at = now
                ready.append(tr)

    for tr in ready:
        send_run_task(tr, tasks[tr.name])

    statuses = [tr.status for tr in runs.values()]
    if all(s in TASK_TERMINAL_STATUSES for s in statuses):
        finish(execution, ExecutionStatus.SUCCEEDED, runs, logs)
        return
    active = any(tr.status == TaskRunStatus.RUNNING or (tr.status == TaskRunStatus.PENDING and tr.dispatched_at)
                 for tr in runs.values())
    if active:
        if was_waiting:
            logs.add(LogLevel.INFO, "Execution resumed.")
    elif any(s == TaskRunStatus.WAITING for s in statuses):
        transition_execution(execution, ExecutionStatus.WAITING)
        if not was_waiting:
            waiting = ", ".join(tr.name for tr in runs.values() if tr.status == TaskRunStatus.WAITING)
            logs.add(LogLevel.INFO, f"Execution waiting on {waiting}.")
    else:
        # Pending tasks whose dependencies can never finish: nothing can run any more.
        stuck = [tr.name for tr in runs.values() if tr.status == TaskRunStatus.PENDING]
        finish(execution, ExecutionStatus.FAILED, runs, logs, errors=[f"Tasks cannot run: {', '.join(stuck)}"])
        return
    _announce(execution)


def _chosen_skips(runs: dict[str, TaskRun]) -> set[str]:
    """The tasks that succeeded conditions chose not to run (read from those conditions' outputs only)."""
    conditions = [tr.pk for tr in runs.values()
                  if tr.status == TaskRunStatus.SUCCEEDED and tr.task_type == "condition"]
    skipped: set[str] = set()
    if conditions:
        for output in TaskRun.objects.filter(pk__in=conditions).values_list("output", flat=True):
            if isinstance(output, dict):
                skipped.update(output.get("skipped") or [])
    return skipped


def finish(execution: Execution, status: str, runs: dict[str, TaskRun], logs: LogBuffer,
           errors: list[str] | None = None) -> bool:
    """End the execution: close leftover task runs, tell the features (``execution_finished``) and the parent."""
    now = timezone.now()
    fields: dict[str, Any] = {"ended_at": now, "cancel_requested": False}
    if errors is not None:
        fields["errors"] = errors
    if not transition_execution(execution, status, **fields):
        return False
    leftover = TaskRunStatus.SKIPPED if status == ExecutionStatus.FAILED else TaskRunStatus.CANCELLED
    for tr in runs.values():
        if tr.status == TaskRunStatus.PENDING:
            transition_task_run(tr, leftover, ended_at=now, dispatched_at=None)
        elif tr.status == TaskRunStatus.WAITING:
            transition_task_run(tr, TaskRunStatus.CANCELLED, ended_at=now)
    execution_finished.send(execution=execution)
    words = {ExecutionStatus.SUCCEEDED: "succeeded", ExecutionStatus.FAILED: "failed",
             ExecutionStatus.CANCELLED: "was cancelled"}
    message = f"Execution {words[status]}."
    if errors:
        message += " " + "; ".join(errors)
    logs.add(LogLevel.ERROR if status == ExecutionStatus.FAILED else LogLevel.INFO, message)
    if status != ExecutionStatus.SUCCEEDED:
        children = list(execution.children.exclude(status__in=TERMINAL_STATUSES).values_list("id", flat=True))
        if children:
            Execution.objects.filter(pk__in=children).update(cancel_requested=True)
            for child_id in children:
                send_advance(child_id)
    if execution.parent_task_run_id:
        _complete_parent_on_commit(execution)
    _announce(execution)
    return True


def _complete_parent_on_commit(child: Execution) -> None:
    def complete() -> None:
        output = {"execution_id": str(child.id), "status": child.status, "return_value": child.return_value}
        if child.status == ExecutionStatus.SUCCEEDED:
            complete_waiting_task(child.parent_task_run_id, output=output)
        else:
            complete_waiting_task(child.parent_task_run_id, output=output,
                                  failure=f"Child execution {child.id} {child.status}: " + "; ".join(child.errors or []))

    transaction.on_commit(complete)


def complete_waiting_task(task_run_id, *, output: Any = None, failure: str | None = None,
                          log_message: str | None = None) -> bool:
    """Finish a parked task (approval decided, delay over, child done) and advance its execution."""
    now = timezone.now()
    with transaction.atomic():
        tr = TaskRun.objects.select_for_update().filter(pk=task_run_id).first()
        if tr is None or tr.status not in (TaskRunStatus.WAITING, TaskRunStatus.RUNNING):
            return False
        new = TaskRunStatus.FAILED if failure else TaskRunStatus.SUCCEEDED
        if not transition_task_run(tr, new, output=output, message=failure or "", ended_at=now,
                                   wake_at=None, lease_expires_at=None):
            return False
        logs = LogBuffer(tr.execution_id, tr.id)
        if log_message:
            logs.add(LogLevel.ERROR if failure else LogLevel.INFO, log_message)
        elif failure:
            logs.add(LogLevel.ERROR, f"Task {tr.name} failed: {failure}")
        else:
            logs.add(LogLevel.INFO, f"Task {tr.name} succeeded.")
        logs.flush()
        send_advance(tr.execution_id)
    return True


# -- run one task ---------------------------------------------------------------------------------------
class Heartbeat(threading.Thread):
    """Renews a running task's lease so the sweeper knows its worker is alive."""

    def __init__(self, task_run_id, attempt: int, lease_seconds: int) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{task_run_id}")
        self.task_run_id = task_run_id
        self.attempt = attempt
        self.lease_seconds = lease_seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.lease_seconds / 3):
                self.beat()
        finally:
            connections.close_all()

    def beat(self) -> None:
        """Renew the lease once; a failed write is logged and the next beat tries again."""
        try:
            TaskRun.objects.filter(pk=self.task_run_id, status=TaskRunStatus.RUNNING, attempts=self.attempt).update(
                lease_expires_at=timezone.now() + timedelta(seconds=self.lease_seconds))
        except Exception:
            logger.exception("heartbeat for task run %s failed; trying again at the next beat", self.task_run_id)
            # A broken connection stays broken: the next beat opens a new one.
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def claim_task_run(task_run_id) -> TaskRun | None:
    """pending (dispatched, due) -> running, counting the attempt; None when another worker has it."""
    now = timezone.now()
    lease = settings.FLOWGATE_TASK_LEASE_SECONDS
    claimed = (
        TaskRun.objects.filter(pk=task_run_id, status=TaskRunStatus.PENDING, dispatched_at__isnull=False)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now + timedelta(seconds=1)))
        .update(status=TaskRunStatus.RUNNING, started_at=now, ended_at=None, attempts=F("attempts") + 1,
                dispatched_at=None, not_before=None, lease_expires_at=now + timedelta(seconds=lease))
    )
    if not claimed:
        return None
    return TaskRun.objects.select_related("execution", "execution__workflow_version").get(pk=task_run_id)


# A retry later than this would overflow the date arithmetic (a backoff delay of 1e300 s, say).
MAX_RETRY_DELAY_SECONDS = 365 * 24 * 3600


def retry_delay(task: dict, attempt: int) -> float:
    backoff = task.get("retry_backoff") or {}
    delay = float(backoff.get("delay", 1))
    if backoff.get("type") == "exponential":
        delay = delay * (2 ** (attempt - 1))
    maximum = backoff.get("max")
    delay = min(delay, float(maximum)) if maximum is not None else delay
    return min(delay, MAX_RETRY_DELAY_SECONDS)


def run_task(task_run_id) -> None:
    """Claim and run one task run, record its outcome, then advance the execution."""
    tr = claim_task_run(task_run_id)
    if tr is None:
        return
    execution = tr.execution
    logs = LogBuffer(execution.id, tr.id)
    if execution.is_terminal or execution.cancel_requested:
        transition_task_run(tr, TaskRunStatus.CANCELLED, ended_at=timezone.now(), lease_expires_at=None)
        advance(execution.id)
        return
    task = task_definitions(execution).get(tr.name)
    outcome = _storable(tr, _execute(execution, tr, task, logs))
    _record_outcome(execution, tr, task or {}, outcome, logs)
    advance(execution.id)


def _execute(execution: Execution, tr: TaskRun, task: dict | None, logs: LogBuffer):
    if task is None:
        return Fail(f"Task {tr.name} is not in the execution's definition.", retryable=False)
    task_type = get_task_type(task["type"])
    if task_type is None:
        return Fail(f"Task {tr.name}: unknown task type {task['type']!r}.", retryable=False)
    logs.add(LogLevel.INFO, f"Task {tr.name} started (attempt {tr.attempts}).")
    runs = list(TaskRun.objects.filter(execution=execution))
    raw = task.get("config") or {}
    context = template_context(execution, runs, mentions=_mentions(task_type, raw))
    try:
        config = render({k: v for k, v in raw.items() if k not in task_type.raw_fields}, context)
    except TemplateError as exc:
        return Fail(f"Task {tr.name}: {exc}", retryable=False)
    problem = unstorable(config)
    if problem:
        return Fail(f"Task {tr.name}: its config rendered to a value that cannot be stored: {problem}.",
                    retryable=False)
    config.update({k: raw[k] for k in task_type.raw_fields if k in raw})
    ctx = TaskContext(execution=execution, task_run=tr, task=task, config=config, template_context=context, logs=logs)
    heartbeat = None
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        heartbeat = Heartbeat(tr.id, tr.attempts, settings.FLOWGATE_TASK_LEASE_SECONDS)
        heartbeat.start()
    try:
        return task_type.get_executor()(ctx)
    except SoftTimeLimitExceeded:
        timeout = task.get("timeout_seconds") or settings.FLOWGATE_DEFAULT_TASK_TIMEOUT_SECONDS
        return Fail(f"Task {tr.name} timed out after {timeout} s.")
    except TemplateError as exc:
        return Fail(f"Task {tr.name}: {exc}", retryable=False)
    except Exception as exc:
        logger.info("task %s of execution %s raised", tr.name, execution.id, exc_info=True)
        return Fail(f"{exc.__class__.__name__}: {exc}", exception=traceback.format_exc())
    finally:
        if heartbeat is not None:
            heartbeat.stop()


def _mentions(task_type: TaskType, config: dict) -> str | None:
    """The text in which a task may name a feature's template value (None: it may read any)."""
    return None if task_type.custom else json.dumps(config)


def _storable(tr: TaskRun, outcome):
    """The outcome, or a failure when its output cannot be stored (not plain JSON, NUL, NaN, infinity).

    An answer from elsewhere (an HTTP body, a deployment's task, a template) may hold them; storing
    it would fail, the worker would give up the task run and the sweeper would run it again, forever.
    """
    if isinstance(outcome, Done):
        problem = unstorable(outcome.output)
        if problem is None and outcome.return_value is not _UNSET:
            problem = unstorable(outcome.return_value)
        if problem:
            return Fail(f"Task {tr.name}: its output cannot be stored: {problem}.", retryable=False)
    outcome.message = without_nul(outcome.message)
    return outcome


def without_nul(text: str | None) -> str | None:
    """Text a database column accepts: NUL characters become U+FFFD."""
    return text.replace("\x00", "\ufffd") if isinstance(text, str) else text


def _record_outcome(execution: Execution, tr: TaskRun, task: dict, outcome, logs: LogBuffer) -> None:
    now = timezone.now()
    # Only the claim that is still current may record: the attempt number pins it, so a worker
    # whose lease was taken back (and whose task runs again elsewhere) changes nothing.
    guard = {"expected": TaskRunStatus.RUNNING, "attempt": tr.attempts}
    with transaction.atomic():
        if isinstance(outcome, Done):
            recorded = transition_task_run(tr, TaskRunStatus.SUCCEEDED, output=outcome.output, message=outcome.message,
                                           ended_at=now, lease_expires_at=None, **guard)
            if recorded:
                if outcome.return_value is not _UNSET:
                    Execution.objects.filter(pk=execution.pk).update(return_value=outcome.return_value)
                logs.add(LogLevel.INFO, f"Task {tr.name} succeeded.")
        elif isinstance(outcome, Park):
            recorded = transition_task_run(tr, TaskRunStatus.WAITING, wake_at=outcome.wake_at, message=outcome.message,
                                           lease_expires_at=None, **guard)
            if recorded:
                logs.add(LogLevel.INFO, f"Task {tr.name} waiting" + (f": {outcome.message}" if outcome.message else "."))
                if outcome.wake_at is not None:
                    delay = max((outcome.wake_at - now).total_seconds(), 0)
                    enqueue_on_commit(WAKE, str(tr.id), countdown=delay)
                task_parked.send(execution=execution, task_run=tr)
        else:
            retries = int(task.get("retries") or 0)
            if execution.retry_policy == RetryPolicy.REQUIRED_ONLY and task.get("skip_on_error"):
                retries = 0
            if outcome.retryable and tr.attempts <= retries:
                delay = retry_delay(task, tr.attempts)
                not_before = now + timedelta(seconds=delay)
                recorded = transition_task_run(tr, TaskRunStatus.PENDING, message=outcome.message, dispatched_at=now,
                                               not_before=not_before, lease_expires_at=None, **guard)
                if recorded:
                    logs.add(LogLevel.WARNING,
                             f"Task {tr.name} attempt {tr.attempts} failed: {outcome.message}; retrying in "
                             f"{delay:g} s ({retries - tr.attempts + 1} retries left).", outcome.exception)
                    send_run_task(tr, task)
            else:
                recorded = transition_task_run(tr, TaskRunStatus.FAILED, message=outcome.message, ended_at=now,
                                               lease_expires_at=None, **guard)
                if recorded:
                    suffix = " (skip_on_error: dependants still run)" if task.get("skip_on_error") else ""
                    logs.add(LogLevel.ERROR, f"Task {tr.name} failed after {tr.attempts} attempt(s): "
                                             f"{outcome.message}{suffix}", outcome.exception)
        if not recorded:
            logger.warning("discarding a stale outcome of task run %s (attempt %s)", tr.pk, tr.attempts)
            logs.add(LogLevel.WARNING, f"Task {tr.name} attempt {tr.attempts} finished after its worker was "
                                       "presumed lost; its result was discarded (another attempt has the task).")
        logs.flush()
