"""The engine: advancing an execution through its DAG and running its tasks.

How a step travels:

* ``advance(execution_id)`` locks the execution row, decides which pending tasks are ready (all
  dependencies done), skips what conditions did not choose, and ends the execution when nothing
  is left. Ready tasks go out as ``run_task`` messages after commit, so independent branches run
  in parallel on any worker. In a worker (``inline``), one of them is claimed in that same
  transaction and run by the worker at once, with no broker round trip.
* ``run_task(task_run_id)`` claims a dispatched task run with a guarded UPDATE (pending ->
  running), in one transaction with everything the task needs to read, and runs it.
* Running a task: the executor runs outside any transaction, under its time-out, while the
  process's lease keeper renews its lease. Then one transaction records the outcome, advances the
  execution and, when a task became ready, claims it for this worker, which goes on with it: a
  *chain*. A chain is bounded (``FLOWGATE_CHAIN_MAX_STEPS`` steps, ``FLOWGATE_CHAIN_SECONDS``
  seconds, and the message's hard time limit); past a bound, the next task goes through the
  broker like any other.

Every state change is conditional on the expected old state, so a duplicate or late message finds
nothing to do. A task claimed inline is an ordinary running task with a lease: if its worker dies,
the sweeper takes it back and runs it again (``executions.services.sweep``), as it re-sends what a
lost message left. Locks are taken in one order everywhere: the execution, then its task runs.
"""

from __future__ import annotations

import logging
import math
import re
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.logs import log_context
from config.parsers import unstorable
from executions import observe, sql
from executions.leases import TaskTimedOut, lease_keeper, time_limit
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
from executions.waiters import announce_end
from workflows.models import WorkflowVersion
from workflows.registry import TaskType, get_task_type
from workflows.templating import TemplateError, has_markup, render

logger = logging.getLogger("flowgate.engine")

_UNSET = object()

# Celery task names (executions.tasks defines them).
RUN_TASK = "flowgate.run_task"
ADVANCE = "flowgate.advance_execution"
WAKE = "flowgate.wake_task"
# How long after a task's own time-out the message's hard limit kills a task that ignores it.
HARD_LIMIT_GRACE_SECONDS = 30


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
LOG_COLUMNS = ("uuid", "execution_id", "task_run_id", "level", "message", "exception", "timestamp", "event")
LOGS = sql.Table(Log, LOG_COLUMNS)


class LogBuffer:
    """Collects log lines and writes them with one bulk INSERT."""

    def __init__(self, execution_id, task_run_id=None) -> None:
        self.execution_id = execution_id
        self.task_run_id = task_run_id
        self.entries: list[dict] = []

    def add(self, level: str, message: str, exception: str | None = None, *, task_run_id=_UNSET,
            event: str = "") -> None:
        """A line; ``event`` names the status change it reports (``task.succeeded``, ``execution.waiting``)."""
        self.entries.append({
            "uuid": uuid.uuid4(), "execution_id": self.execution_id,
            "task_run_id": self.task_run_id if task_run_id is _UNSET else task_run_id,
            "level": level, "message": without_nul(message), "exception": without_nul(exception),
            "timestamp": timezone.now(), "event": event,
        })

    def flush(self) -> None:
        if self.entries:
            sql.insert(LOGS, self.entries)
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
    changed = sql.update(EXECUTIONS, {"status": new, "updated_at": now, **fields}, {"id": execution.pk, "status": old})
    if changed:
        execution.status = new
        execution.updated_at = now
        for name, value in fields.items():
            setattr(execution, name, value)
    return bool(changed)


def transition_task_run(task_run: TaskRun | RunState, new: str, *, expected: str | None = None, attempt: int | None = None,
                        **fields) -> bool:
    """Move a task run if it is still in the expected status (and, when given, still on ``attempt``)."""
    old = expected or task_run.status
    check_task_transition(old, new)
    guard = {"attempts": attempt} if attempt is not None else {}
    changed = sql.update(TASK_RUNS, {"status": new, **fields}, {"id": task_run.pk, "status": old, **guard})
    if changed:
        task_run.status = new
        for name, value in fields.items():
            setattr(task_run, name, value)
    return bool(changed)


# -- definitions -------------------------------------------------------------------------------------
@lru_cache(maxsize=512)
def _version_tasks(version_id) -> dict[str, dict]:
    """A version's tasks by name; a version never changes, so each process reads it once."""
    definition = WorkflowVersion.objects.filter(pk=version_id).values_list("definition", flat=True).first()
    return {task["name"]: task for task in (definition or {}).get("tasks", [])}


def task_definitions(execution: Execution) -> dict[str, dict]:
    if execution.definition is not None:
        return {task["name"]: task for task in execution.definition.get("tasks", [])}
    if execution.workflow_version_id is None:
        return {}
    return _version_tasks(execution.workflow_version_id)


def task_timeout(task: dict) -> float:
    return float(task.get("timeout_seconds") or settings.FLOWGATE_DEFAULT_TASK_TIMEOUT_SECONDS)


# -- what templates see ------------------------------------------------------------------------------
_TASK_REFERENCE = re.compile(r"""\btasks\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*['"]([^'"]+)['"]\s*\])""")
_TASKS_WORD = re.compile(r"\btasks\b")
_DICT_METHODS = frozenset(dir(dict))


def template_text(task_type: TaskType, config: Any) -> str:
    """The parts of a task's config that templates are in: strings with markup, and raw fields."""
    parts: list[str] = []

    def walk(value: Any, raw: bool) -> None:
        if isinstance(value, str):
            if raw or has_markup(value):
                parts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, raw)
        elif isinstance(value, list):
            for item in value:
                walk(item, raw)

    if isinstance(config, dict):
        for key, value in config.items():
            walk(value, key in task_type.raw_fields)
    return "\n".join(parts)


def mentioned_tasks(text: str) -> set[str] | None:
    """The task names a template text reads (``tasks.prepare``, ``tasks['a-b']``); None: it may read any."""
    names = {a or b for a, b in _TASK_REFERENCE.findall(text)}
    if len(_TASKS_WORD.findall(text)) != len(_TASK_REFERENCE.findall(text)) or names & _DICT_METHODS:
        return None  # ``tasks`` used otherwise (a loop, a lookup by variable): give it every task
    return names


def task_views(execution_id, names: set[str] | None) -> dict[str, dict]:
    """``tasks.<name>`` of the templates: output, status and message of the named task runs."""
    if names is not None and not names:
        return {}
    rows = TaskRun.objects.filter(execution_id=execution_id)
    if names is not None:
        rows = rows.filter(name__in=names)
    return {name: {"output": output, "status": status, "message": message}
            for name, output, status, message in rows.values_list("name", "output", "status", "message")}


def template_context(execution: Execution, tasks: dict[str, dict], mentions: str | None = None) -> dict:
    """What templates see: the input, the tasks' outputs, the execution and the features' names.

    A feature's name (``record``, see ``executions.plugins``) is looked up only when ``mentions``
    (the task's template text) holds it; with ``mentions`` None, every name is.
    """
    context = {
        "input": execution.input,
        "tasks": tasks,
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


@dataclass
class Prepared:
    """A claimed task run, with what its templates read loaded in the claiming transaction."""

    task_run: TaskRun
    execution: Execution
    task: dict | None
    task_type: TaskType | None
    context: dict | None


def prepare(task_run: TaskRun, execution: Execution) -> Prepared:
    """Read what the task's templates need (the outputs they name, the features' names they use)."""
    task = task_definitions(execution).get(task_run.name)
    task_type = get_task_type(task["type"]) if task is not None else None
    if task_type is None:
        return Prepared(task_run, execution, task, None, None)
    if task_type.custom:  # a deployment's Python function gets the whole context
        return Prepared(task_run, execution, task, task_type,
                        template_context(execution, task_views(execution.id, None)))
    text = template_text(task_type, task.get("config") or {})
    names = mentioned_tasks(text)
    return Prepared(task_run, execution, task, task_type,
                    template_context(execution, task_views(execution.id, names), mentions=text))


# -- messages ---------------------------------------------------------------------------------------------
def message_time_limit(task: dict | None) -> float:
    """The hard time limit of a message that starts ``task`` (or, for None, an advance).

    It leaves room for a chain (``FLOWGATE_CHAIN_SECONDS``) before the task's full time-out, so a
    task run inline never outlives its own time-out by more than the grace period.
    """
    timeout = max(task_timeout(task or {}), float(settings.FLOWGATE_DEFAULT_TASK_TIMEOUT_SECONDS))
    return timeout + float(settings.FLOWGATE_CHAIN_SECONDS) + HARD_LIMIT_GRACE_SECONDS


def _dispatch_options(task: dict, not_before: datetime | None) -> dict:
    options: dict[str, Any] = {"time_limit": message_time_limit(task)}
    if not_before is not None:
        delay = (not_before - timezone.now()).total_seconds()
        if delay > 0:
            options["countdown"] = delay
    return options


def send_run_task(task_run: TaskRun | RunState, task: dict) -> None:
    # Flower and the worker's log show the arguments as given here: the task and its execution.
    enqueue_on_commit(RUN_TASK, str(task_run.id), **_dispatch_options(task, task_run.not_before),
                      argsrepr=f"(task_run={task_run.id}, task={task_run.name!r}, execution={task_run.execution_id})")


def send_advance(execution_id) -> None:
    enqueue_on_commit(ADVANCE, str(execution_id), time_limit=message_time_limit(None),
                      argsrepr=f"(execution={execution_id})")


def _announce(execution: Execution) -> None:
    execution_changed.send(execution=execution)


# -- chains -----------------------------------------------------------------------------------------------
@dataclass
class Chain:
    """The bounds of one message's work: how many tasks, and how long, it may run inline."""

    time_limit: float | None = None  # the message's hard limit, in seconds from ``started``
    started: float = field(default_factory=time.monotonic)
    steps: int = 0
    # "task of execution: message" for each task this message ran that failed for good.
    failures: list[str] = field(default_factory=list)

    def allowance(self) -> float | None:
        """The longest time-out a next task may have to run inline now; None: send it to the broker."""
        elapsed = time.monotonic() - self.started
        if self.steps >= settings.FLOWGATE_CHAIN_MAX_STEPS or elapsed >= settings.FLOWGATE_CHAIN_SECONDS:
            return None
        if self.time_limit is None:
            return math.inf
        return self.time_limit - elapsed - HARD_LIMIT_GRACE_SECONDS


def _is_ok(task_run: RunState, task: dict) -> bool:
    """A dependency that lets dependants run: succeeded, skipped, or failed with skip_on_error.

    A task whose dependencies were all skipped is skipped itself (see ``_settle_pending``), so a
    join after a condition's branches runs when at least one branch ran.
    """
    return task_run.status in (TaskRunStatus.SUCCEEDED, TaskRunStatus.SKIPPED) or (
        task_run.status == TaskRunStatus.FAILED and task.get("skip_on_error")
    )


# -- advance -----------------------------------------------------------------------------------------
EXECUTION_FIELDS = tuple(field.attname for field in Execution._meta.concrete_fields)
EXECUTIONS = sql.Table(Execution, EXECUTION_FIELDS)
TASK_RUNS = sql.Table(TaskRun, tuple(field.attname for field in TaskRun._meta.concrete_fields))


def lock_execution(execution_id) -> Execution | None:
    rows = sql.select(EXECUTIONS, {"id": execution_id}, for_update=True)
    return Execution.from_db("default", EXECUTION_FIELDS, rows[0]) if rows else None


# What advancing reads of each task run; outputs stay in the database (conditions' are read apart).
RUN_FIELDS = ("id", "execution_id", "name", "task_type", "status", "attempts", "message", "dispatched_at")


class RunState:
    """A task run as advancing sees it: plain attributes, cheaper than a model instance per row and step.

    Recording an outcome or a claim sets more attributes on it (``ended_at``, ``started_at``, ...).
    """

    # Only a retry waiting for its back-off has one, and such a task is never among the ready ones.
    not_before = None

    def __init__(self, id, execution_id, name, task_type, status, attempts, message, dispatched_at) -> None:  # noqa: A002
        self.id, self.execution_id, self.name, self.task_type = id, execution_id, name, task_type
        self.status, self.attempts, self.message, self.dispatched_at = status, attempts, message, dispatched_at

    @property
    def pk(self):
        return self.id

    def as_task_run(self) -> TaskRun:
        """The model instance, for an executor (its output and other fields load if read)."""
        return TaskRun.from_db("default", RUN_FIELDS, [getattr(self, name) for name in RUN_FIELDS])


RUNS = sql.Table(TaskRun, RUN_FIELDS)


def load_runs(execution: Execution) -> dict[str, RunState]:
    return {row[2]: RunState(*row) for row in sql.select(RUNS, {"execution_id": execution.pk}, order_by="position")}


def advance(execution_id, *, chain: Chain | None = None) -> Prepared | None:
    """Dispatch ready tasks, skip unchosen ones, and end the execution when nothing is left.

    With ``chain`` (a worker running a message), one ready task is claimed for the caller, who
    runs it next: answered, prepared, or None.
    """
    with transaction.atomic():
        execution = lock_execution(execution_id)
        if execution is None or execution.is_terminal:
            return None
        logs = LogBuffer(execution.id)
        claimed = advance_locked(execution, load_runs(execution), logs, timezone.now(),
                                 allowance=chain.allowance() if chain is not None else None)
        logs.flush()
    return claimed


def advance_locked(execution: Execution, runs: dict[str, RunState], logs: LogBuffer, now, *,
                   allowance: float | None = None) -> Prepared | None:
    """``advance`` with the execution locked and its task runs read (inside the caller's transaction)."""
    if execution.status == ExecutionStatus.QUEUED:
        if not transition_execution(execution, ExecutionStatus.RUNNING, started_at=execution.started_at or now):
            return None
        logs.add(LogLevel.INFO, f"Execution started (attempt {execution.attempt}).", event="execution.running")
        transaction.on_commit(partial(observe.execution_started, execution))
    was_waiting = execution.status == ExecutionStatus.WAITING
    if execution.cancel_requested:
        advance_cancelled(execution, runs, logs, now)
        return None
    if was_waiting:
        # Something it waited on finished: decide again as a running execution.
        transition_execution(execution, ExecutionStatus.RUNNING)
    return _advance_running(execution, runs, logs, now, was_waiting=was_waiting, allowance=allowance)


def advance_cancelled(execution: Execution, runs: dict[str, RunState | TaskRun], logs: LogBuffer, now) -> None:
    for tr in runs.values():
        if tr.status in (TaskRunStatus.PENDING, TaskRunStatus.WAITING):
            if transition_task_run(tr, TaskRunStatus.CANCELLED, ended_at=now, dispatched_at=None):
                logs.add(LogLevel.INFO, f"Task {tr.name} cancelled.", task_run_id=tr.id, event="task.cancelled")
    if not any(tr.status == TaskRunStatus.RUNNING for tr in runs.values()):
        finish(execution, ExecutionStatus.CANCELLED, runs, logs)
    else:
        Execution.objects.filter(pk=execution.pk).update(updated_at=now)


def _advance_running(execution: Execution, runs: dict[str, RunState], logs: LogBuffer, now, *,
                     was_waiting: bool, allowance: float | None) -> Prepared | None:
    tasks = task_definitions(execution)
    failed = _blocking_failures(runs, tasks)
    if failed:
        finish(execution, ExecutionStatus.FAILED, runs, logs,
               errors=[f"{tr.name}: {tr.message}" if tr.message else f"{tr.name} failed" for tr in failed])
        return None
    ready = _settle_pending(tasks, runs, logs, now)
    claimed = _dispatch(execution, ready, tasks, logs, now, allowance)
    if _conclude(execution, runs, logs, was_waiting=was_waiting):
        _announce(execution)
    return claimed


def _blocking_failures(runs: dict[str, RunState], tasks: dict[str, dict]) -> list[RunState]:
    """Failed task runs that fail the execution (those without skip_on_error)."""
    return [tr for tr in runs.values()
            if tr.status == TaskRunStatus.FAILED and not tasks.get(tr.name, {}).get("skip_on_error")]


def _settle_pending(tasks: dict[str, dict], runs: dict[str, RunState], logs: LogBuffer, now) -> list[RunState]:
    """Skip the pending tasks that will never run; answer those whose dependencies are all done."""
    skip_set = _chosen_skips(runs)
    ready: list[TaskRun] = []
    progressed = True
    while progressed:  # skipping one task can make its dependants skippable
        progressed = False
        for name, task in tasks.items():
            tr = runs.get(name)
            if tr is None or tr.status != TaskRunStatus.PENDING or tr.dispatched_at is not None or tr in ready:
                continue
            deps = [runs[d] for d in task.get("depends_on", []) if d in runs]
            if any(d.status not in TASK_TERMINAL_STATUSES for d in deps):
                continue
            unchosen = name in skip_set
            if unchosen or (deps and all(d.status in (TaskRunStatus.SKIPPED, TaskRunStatus.CANCELLED) for d in deps)):
                reason = "not chosen by a condition" if unchosen else "all its dependencies were skipped"
                if transition_task_run(tr, TaskRunStatus.SKIPPED, ended_at=now, message=f"Skipped: {reason}."):
                    logs.add(LogLevel.INFO, f"Task {name} skipped: {reason}.", task_run_id=tr.id, event="task.skipped")
                    progressed = True
            elif all(_is_ok(d, tasks.get(d.name, {})) for d in deps):
                ready.append(tr)
    return ready


def _dispatch(execution: Execution, ready: list[RunState], tasks: dict[str, dict], logs: LogBuffer, now,
              allowance: float | None) -> Prepared | None:
    """Claim one ready task for the caller's chain (when its time-out fits), send the others."""
    claimed = None
    for tr in ready:
        task = tasks[tr.name]
        if claimed is None and allowance is not None and task_timeout(task) <= allowance and _claim_inline(tr, now):
            logs.add(LogLevel.INFO, f"Task {tr.name} started (attempt {tr.attempts}).", task_run_id=tr.id,
                     event="task.running")
            claimed = prepare(tr.as_task_run(), execution)
        elif sql.update(TASK_RUNS, {"dispatched_at": now},
                        {"id": tr.pk, "status": TaskRunStatus.PENDING, "dispatched_at": None}):
            tr.dispatched_at = now
            send_run_task(tr, task)
    return claimed


def _claim_inline(tr: RunState, now) -> bool:
    """pending -> running for the worker that holds the execution's lock (no message, same lease)."""
    lease_until = now + timedelta(seconds=settings.FLOWGATE_TASK_LEASE_SECONDS)
    if not sql.update(TASK_RUNS, {"status": TaskRunStatus.RUNNING, "started_at": now, "ended_at": None,
                                  "not_before": None, "lease_expires_at": lease_until},
                      {"id": tr.pk, "status": TaskRunStatus.PENDING, "dispatched_at": None}, increment=("attempts",)):
        return False
    tr.status, tr.started_at, tr.ended_at, tr.not_before = TaskRunStatus.RUNNING, now, None, None
    tr.attempts, tr.lease_expires_at = tr.attempts + 1, lease_until
    return True


def _conclude(execution: Execution, runs: dict[str, RunState], logs: LogBuffer, *, was_waiting: bool) -> bool:
    """Finish the execution, park it, or leave it running; False when it finished (announced there)."""
    statuses = [tr.status for tr in runs.values()]
    if all(s in TASK_TERMINAL_STATUSES for s in statuses):
        finish(execution, ExecutionStatus.SUCCEEDED, runs, logs)
        return False
    active = any(tr.status == TaskRunStatus.RUNNING or (tr.status == TaskRunStatus.PENDING and tr.dispatched_at)
                 for tr in runs.values())
    if active:
        if was_waiting:
            logs.add(LogLevel.INFO, "Execution resumed.", event="execution.running")
    elif TaskRunStatus.WAITING in statuses:
        transition_execution(execution, ExecutionStatus.WAITING)
        if not was_waiting:
            waiting = ", ".join(tr.name for tr in runs.values() if tr.status == TaskRunStatus.WAITING)
            logs.add(LogLevel.INFO, f"Execution waiting on {waiting}.", event="execution.waiting")
    else:
        # Pending tasks whose dependencies can never finish: nothing can run any more.
        stuck = [tr.name for tr in runs.values() if tr.status == TaskRunStatus.PENDING]
        finish(execution, ExecutionStatus.FAILED, runs, logs, errors=[f"Tasks cannot run: {', '.join(stuck)}"])
        return False
    return True


def _chosen_skips(runs: dict[str, RunState]) -> set[str]:
    """The tasks that succeeded conditions chose not to run (read from those conditions' outputs only)."""
    conditions = [tr.pk for tr in runs.values()
                  if tr.status == TaskRunStatus.SUCCEEDED and tr.task_type == "condition"]
    skipped: set[str] = set()
    if conditions:
        for output in TaskRun.objects.filter(pk__in=conditions).values_list("output", flat=True):
            if isinstance(output, dict):
                skipped.update(output.get("skipped") or [])
    return skipped


def finish(execution: Execution, status: str, runs: dict[str, RunState | TaskRun], logs: LogBuffer,
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
            if transition_task_run(tr, leftover, ended_at=now, dispatched_at=None):
                logs.add(LogLevel.INFO, f"Task {tr.name} {leftover}: the execution ended.", task_run_id=tr.id,
                         event=f"task.{leftover}")
        elif tr.status == TaskRunStatus.WAITING:
            if transition_task_run(tr, TaskRunStatus.CANCELLED, ended_at=now):
                logs.add(LogLevel.INFO, f"Task {tr.name} cancelled: the execution ended.", task_run_id=tr.id,
                         event="task.cancelled")
    execution_finished.send(execution=execution, task_types={tr.task_type for tr in runs.values()})
    words = {ExecutionStatus.SUCCEEDED: "succeeded", ExecutionStatus.FAILED: "failed",
             ExecutionStatus.CANCELLED: "was cancelled"}
    message = f"Execution {words[status]}."
    if errors:
        message += " " + "; ".join(errors)
    transaction.on_commit(partial(observe.execution_finished, execution, status, errors))
    logs.add(LogLevel.ERROR if status == ExecutionStatus.FAILED else LogLevel.INFO, message, event=f"execution.{status}")
    if status != ExecutionStatus.SUCCEEDED:
        children = list(execution.children.exclude(status__in=TERMINAL_STATUSES).values_list("id", flat=True))
        if children:
            Execution.objects.filter(pk__in=children).update(cancel_requested=True)
            for child_id in children:
                send_advance(child_id)
    if execution.parent_task_run_id:
        _complete_parent_on_commit(execution)
    announce_end(execution.id)
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
        event = f"task.{new}"
        if log_message:
            logs.add(LogLevel.ERROR if failure else LogLevel.INFO, log_message, event=event)
        elif failure:
            logs.add(LogLevel.ERROR, f"Task {tr.name} failed: {failure}", event=event)
        else:
            logs.add(LogLevel.INFO, f"Task {tr.name} succeeded.", event=event)
        logs.flush()
        send_advance(tr.execution_id)
    return True


# -- run tasks ---------------------------------------------------------------------------------------------
def claim_task_run(task_run_id) -> Prepared | None:
    """pending (dispatched, due) -> running, counting the attempt; None when another worker has it.

    One transaction: the guarded UPDATE, then the task run with its execution and what the task's
    templates read, and the "started" line.
    """
    now = timezone.now()
    lease = settings.FLOWGATE_TASK_LEASE_SECONDS
    with transaction.atomic():
        claimed = (
            TaskRun.objects.filter(pk=task_run_id, status=TaskRunStatus.PENDING, dispatched_at__isnull=False)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now + timedelta(seconds=1)))
            .update(status=TaskRunStatus.RUNNING, started_at=now, ended_at=None, attempts=F("attempts") + 1,
                    dispatched_at=None, not_before=None, lease_expires_at=now + timedelta(seconds=lease))
        )
        if not claimed:
            return None
        tr = TaskRun.objects.select_related("execution").defer("output").get(pk=task_run_id)
        execution = tr.execution
        if execution.is_terminal or execution.cancel_requested:
            return Prepared(tr, execution, None, None, None)
        Log.objects.create(execution_id=execution.id, task_run_id=tr.id, level=LogLevel.INFO,
                           message=f"Task {tr.name} started (attempt {tr.attempts}).", timestamp=now,
                           event="task.running")
        return prepare(tr, execution)


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


def run_task(task_run_id, *, chain: Chain | None = None) -> None:
    """Claim and run one task run, record its outcome and advance the execution; then go on with the chain."""
    prepared = claim_task_run(task_run_id)
    if prepared is None:
        return
    execution = prepared.execution
    if execution.is_terminal or execution.cancel_requested:
        tr = prepared.task_run
        if transition_task_run(tr, TaskRunStatus.CANCELLED, ended_at=timezone.now(), lease_expires_at=None):
            logs = LogBuffer(execution.id, tr.id)
            logs.add(LogLevel.INFO, f"Task {tr.name} cancelled.", event="task.cancelled")
            logs.flush()
        advance(execution.id)
        return
    run_chain(prepared, chain or Chain())


def advance_and_run(execution_id, *, chain: Chain | None = None) -> None:
    """An advance message in a worker: advance, and run the task it claims (and the chain after it)."""
    chain = chain or Chain()
    prepared = advance(execution_id, chain=chain)
    if prepared is not None:
        run_chain(prepared, chain)


def run_chain(prepared: Prepared | None, chain: Chain) -> None:
    """Run a claimed task; while recording its outcome claims the next one, run that too."""
    while prepared is not None:
        ran = prepared.task_run
        with log_context(execution_id=ran.execution_id, task_run_id=ran.id):
            logs = LogBuffer(prepared.execution.id, ran.id)
            started = time.perf_counter()
            outcome = _storable(ran, _execute(prepared, logs))
            observe.task_ran(ran.task_type, outcome, time.perf_counter() - started)
            chain.steps += 1
            prepared = record_outcome(prepared, outcome, logs, allowance=chain.allowance())
        if ran.status == TaskRunStatus.FAILED:
            chain.failures.append(f"task {ran.name} of execution {ran.execution_id}: {ran.message}")


def _execute(prepared: Prepared, logs: LogBuffer):
    execution, tr, task = prepared.execution, prepared.task_run, prepared.task
    if task is None:
        return Fail(f"Task {tr.name} is not in the execution's definition.", retryable=False)
    task_type = prepared.task_type
    if task_type is None:
        return Fail(f"Task {tr.name}: unknown task type {task['type']!r}.", retryable=False)
    raw = task.get("config") or {}
    try:
        config = render({k: v for k, v in raw.items() if k not in task_type.raw_fields}, prepared.context)
    except TemplateError as exc:
        return Fail(f"Task {tr.name}: {exc}", retryable=False)
    problem = unstorable(config)
    if problem:
        return Fail(f"Task {tr.name}: its config rendered to a value that cannot be stored: {problem}.",
                    retryable=False)
    config.update({k: raw[k] for k in task_type.raw_fields if k in raw})
    ctx = TaskContext(execution=execution, task_run=tr, task=task, config=config,
                      template_context=prepared.context, logs=logs)
    timeout = task_timeout(task)
    lease_keeper.hold(tr.id, tr.attempts)
    try:
        with time_limit(timeout):
            return task_type.get_executor()(ctx)
    except (TaskTimedOut, SoftTimeLimitExceeded):
        return Fail(f"Task {tr.name} timed out after {timeout:g} s.")
    except TemplateError as exc:
        return Fail(f"Task {tr.name}: {exc}", retryable=False)
    except Exception as exc:
        logger.info("task %s of execution %s raised", tr.name, execution.id, exc_info=True)
        return Fail(f"{exc.__class__.__name__}: {exc}", exception=traceback.format_exc())
    finally:
        lease_keeper.release(tr.id)


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


def record_outcome(prepared: Prepared, outcome, logs: LogBuffer, *, allowance: float | None = None) -> Prepared | None:
    """Record a task's outcome and advance its execution, in one transaction.

    Only the claim that is still current may record: the attempt number pins it, so a worker whose
    lease was taken back (and whose task runs again elsewhere) changes nothing. With ``allowance``,
    a task that became ready is claimed for this worker and answered, prepared.
    """
    tr, task, now = prepared.task_run, prepared.task or {}, timezone.now()
    with transaction.atomic():
        execution = lock_execution(tr.execution_id)
        if execution is None:  # deleted meanwhile: nothing left to record on
            return None
        if not _record(execution, tr, task, outcome, logs, now):
            logger.warning("discarding a stale outcome of task run %s (attempt %s)", tr.pk, tr.attempts)
            logs.add(LogLevel.WARNING, f"Task {tr.name} attempt {tr.attempts} finished after its worker was "
                                       "presumed lost; its result was discarded (another attempt has the task).")
            logs.flush()
            return None
        claimed = None
        if not execution.is_terminal:
            # The execution's own lines (started, skipped, finished) belong to no task run.
            execution_logs = LogBuffer(execution.id)
            claimed = advance_locked(execution, load_runs(execution), execution_logs, now, allowance=allowance)
            logs.entries.extend(execution_logs.entries)
        logs.flush()
    return claimed


def _record(execution: Execution, tr: TaskRun, task: dict, outcome, logs: LogBuffer, now) -> bool:
    """Write the outcome onto the task run (guarded by its attempt); False when the claim is stale."""
    guard = {"expected": TaskRunStatus.RUNNING, "attempt": tr.attempts}
    if isinstance(outcome, Done):
        if not transition_task_run(tr, TaskRunStatus.SUCCEEDED, output=outcome.output, message=outcome.message,
                                   ended_at=now, lease_expires_at=None, **guard):
            return False
        if outcome.return_value is not _UNSET:
            sql.update(EXECUTIONS, {"return_value": outcome.return_value}, {"id": execution.pk})
            execution.return_value = outcome.return_value
        logs.add(LogLevel.INFO, f"Task {tr.name} succeeded.", event="task.succeeded")
        return True
    if isinstance(outcome, Park):
        if not transition_task_run(tr, TaskRunStatus.WAITING, wake_at=outcome.wake_at, message=outcome.message,
                                   lease_expires_at=None, **guard):
            return False
        logs.add(LogLevel.INFO, f"Task {tr.name} waiting" + (f": {outcome.message}" if outcome.message else "."),
                 event="task.waiting")
        if outcome.wake_at is not None:
            enqueue_on_commit(WAKE, str(tr.id), countdown=max((outcome.wake_at - now).total_seconds(), 0))
        task_parked.send(execution=execution, task_run=tr)
        return True
    retries = int(task.get("retries") or 0)
    if execution.retry_policy == RetryPolicy.REQUIRED_ONLY and task.get("skip_on_error"):
        retries = 0
    if outcome.retryable and tr.attempts <= retries:
        delay = retry_delay(task, tr.attempts)
        if not transition_task_run(tr, TaskRunStatus.PENDING, message=outcome.message, dispatched_at=now,
                                   not_before=now + timedelta(seconds=delay), lease_expires_at=None, **guard):
            return False
        logs.add(LogLevel.WARNING, f"Task {tr.name} attempt {tr.attempts} failed: {outcome.message}; retrying in "
                                   f"{delay:g} s ({retries - tr.attempts + 1} retries left).", outcome.exception,
                 event="task.pending")
        send_run_task(tr, task)
        return True
    if not transition_task_run(tr, TaskRunStatus.FAILED, message=outcome.message, ended_at=now,
                               lease_expires_at=None, **guard):
        return False
    suffix = " (skip_on_error: dependants still run)" if task.get("skip_on_error") else ""
    logs.add(LogLevel.ERROR, f"Task {tr.name} failed after {tr.attempts} attempt(s): {outcome.message}{suffix}",
             outcome.exception, event="task.failed")
    return True
