"""Creating, replacing and deleting flow runs, and mirroring executions onto them.

These are the only functions that write flow runs: the Port surface, the native execution API
(``flow_run_for_execution``), the admin and the ``execution_changed`` receiver all call them.

Who wrote a run (``created_by``, ``updated_by``, ``reviewed_by``) is stored as ``"user:<id>"``
for a person, ``"apikey:<owner id>:<name>"`` for an API key (its owner: the user who created it)
and NULL for the system; ``actor_value`` turns that into what Port's document shows, a number:
the user's id, or the key owner's (null for a key nobody owns, and for the system).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import OrderedDict
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Sum
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.caller import Caller
from accounts.scoping import get_for_caller
from config.errors import Conflict
from config.formats import iso
from executions.models import TERMINAL_STATUSES, Execution, Log, TaskRun
from executions.status_words import status_word
from flowruns.models import FlowRun, FlowRunCount, FlowRunExecution, FlowRunTag, FlowType

logger = logging.getLogger("flowgate.flowruns")

ID_PATTERN = r"^([a-z0-9_.-]+)$"
ID_RE = re.compile(ID_PATTERN)
ID_MAX_LENGTH = 200
FLOW_RUN_NOT_FOUND = "Flow run not found."
# A run shows at most this many actions and log lines: the newest ones when an execution has more.
MAX_ACTIONS = 1000
MAX_LOGS = 1000
# The purge's recount of the kept flow-run counts reads every run: once a day is enough to heal
# what writes from outside the services (an older version during an upgrade) left behind.
RECOUNT_EVERY_SECONDS = 24 * 3600
RECOUNT_KEY = "flowgate:flow-run-recount"


class Phase:
    """Port's phase words, for a flow run and for each of its actions."""

    QUEUED = "queued"
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCESS = "success"
    FAILURE = "failure"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    ALL = (QUEUED, PENDING, RUNNING, WAITING, SUCCESS, FAILURE, SKIPPED, CANCELLED)
    # A run in one of these changes no more: the retention purge may remove it.
    FINISHED = (SUCCESS, FAILURE, SKIPPED, CANCELLED)


# -- who --------------------------------------------------------------------------------------------
def actor_for(caller: Caller | None) -> str | None:
    """How a caller is stored in ``created_by``/``updated_by`` (see ``stored_actor``), or None."""
    if caller is None:
        return None
    key = caller.api_key
    return stored_actor(caller.user_id, key.name if key is not None else None,
                        key.created_by_id if key is not None else None)


def stored_actor(user_id: int | None, key_name: str | None, key_owner_id: int | None = None) -> str | None:
    """``user:<id>`` for a person, else ``apikey:<owner id>:<name>`` for an API key, else None (the system).

    For who wrote a run (``actor_for``) and who reviewed it (an approval's decider) alike. The key's
    name is kept for the admin; the API shows its owner's id.
    """
    if user_id is not None:
        return f"user:{user_id}"
    if key_name is not None:
        return f"apikey:{key_owner_id if key_owner_id is not None else ''}:{key_name}"
    return None


def actor_value(stored: str | None) -> int | str | None:
    """What the API shows for a stored actor: a user's id, or an API key owner's id (numbers), or null.

    Any other stored text (an approver who decided through an emailed link) is shown as it is.
    """
    if not stored:
        return None
    kind, _, rest = stored.partition(":")
    if kind == "user" and rest.isdigit():
        return int(rest)
    if kind == "apikey":
        owner = rest.partition(":")[0]
        return int(owner) if owner.isdigit() else None
    return stored


class IdTaken(Conflict):
    """A project-bound key names an id that a run outside its project uses."""

    def __init__(self, run_id: str) -> None:
        super().__init__(self.message(run_id))

    @staticmethod
    def message(run_id: str) -> str:
        return f"The flow run id {run_id!r} is taken in this tenant; choose another id."


def _reachable(caller: Caller, run: FlowRun) -> bool:
    return caller.project_id is None or run.project_id == caller.project_id


class FlowRunExists(Conflict):
    """POST with an id the tenant already uses."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"A flow run with id {run_id!r} already exists; PUT /api/v1/flow-runs/{run_id} replaces it.")


# -- reading ------------------------------------------------------------------------------------------
def get_flow_run_for(caller: Caller | None, run_id: str, queryset=None) -> FlowRun:
    """The caller's flow run with this public id, or NotFound (also for another tenant's)."""
    queryset = queryset if queryset is not None else FlowRun.objects.all()
    return get_for_caller(queryset, caller, FLOW_RUN_NOT_FOUND, run_id=run_id)


def flow_id_for(value: str) -> str:
    """Make any name (a workflow alias, an action name) a valid flow id: lower case, others become ``-``."""
    cleaned = re.sub(r"[^a-z0-9_.-]+", "-", str(value).lower()).strip("-")
    return (cleaned or "flow")[:ID_MAX_LENGTH]


def check_flow_run_id(run_id: Any, field: str = "flow_run") -> str:
    """``run_id`` when it is a valid flow run id, else a ValidationError on ``field`` saying why."""
    if not isinstance(run_id, str) or not ID_RE.fullmatch(run_id) or len(run_id) > ID_MAX_LENGTH:
        raise ValidationError({field: [
            f"A flow run id is 1-{ID_MAX_LENGTH} characters of lower-case letters, digits, '_', '.' "
            f"and '-' (pattern {ID_PATTERN})."
        ]})
    return run_id


# -- counting ------------------------------------------------------------------------------------------
def count_flow_runs(caller: Caller, phase: str | None = None) -> int:
    """Every run the caller sees (in ``phase``), exactly, from the kept counts: no COUNT over the runs."""
    rows = FlowRunCount.objects.filter(tenant_id=caller.tenant_id)
    if caller.project_id is not None:
        rows = rows.filter(project_id=caller.project_id)
    if phase is not None:
        rows = rows.filter(phase=phase)
    return rows.aggregate(total=Sum("count"))["total"] or 0


def _phase_key(phase: Any) -> str:
    return phase if isinstance(phase, str) else ""


def _add_to_count(tenant_id, project_id, phase: Any, delta: int) -> None:
    """Add ``delta`` runs in ``phase`` to the tenant's (project's) count, in the transaction that changed them."""
    counts = FlowRunCount.objects.filter(tenant_id=tenant_id, project_id=project_id, phase=_phase_key(phase))
    if counts.update(count=F("count") + delta):
        return
    try:
        with transaction.atomic():
            FlowRunCount.objects.create(tenant_id=tenant_id, project_id=project_id, phase=_phase_key(phase),
                                        count=delta)
    except IntegrityError:  # another transaction created the row first
        counts.update(count=F("count") + delta)


def _move_count(owner: tuple, old_phase: Any, new_phase: Any) -> None:
    """A run of ``(tenant_id, project_id)`` went from ``old_phase`` to ``new_phase``."""
    if _phase_key(old_phase) != _phase_key(new_phase):
        tenant_id, project_id = owner
        _add_to_count(tenant_id, project_id, old_phase, -1)
        _add_to_count(tenant_id, project_id, new_phase, 1)


def recount_flow_runs(retention=None) -> int:
    """Set every tenant's kept counts to the real ones; answers how many were wrong.

    Each tenant's count rows are locked while its runs are counted: a run added meanwhile is
    counted by its own transaction once ours commits, so the result is exact. As a purge pass
    (``retention`` given) it runs at most once every ``RECOUNT_EVERY_SECONDS``: it reads every run.
    """
    if retention is not None and (retention.dry_run or not cache.add(RECOUNT_KEY, 1, RECOUNT_EVERY_SECONDS)):
        return 0
    fixed = 0
    tenants = set(FlowRunCount.objects.values_list("tenant_id", flat=True))
    tenants |= set(FlowRun.objects.order_by().values_list("tenant_id", flat=True).distinct())
    for tenant_id in tenants:
        with transaction.atomic():
            kept = {(row.project_id, row.phase): row
                    for row in FlowRunCount.objects.select_for_update().filter(tenant_id=tenant_id)}
            real: dict[tuple, int] = {}
            for project_id, phase, count in (FlowRun.objects.filter(tenant_id=tenant_id).order_by()
                                             .values("project_id", "phase").annotate(n=Count("pk"))
                                             .values_list("project_id", "phase", "n")):
                key = (project_id, _phase_key(phase))
                real[key] = real.get(key, 0) + count
            for key in set(kept) | set(real):
                row, count = kept.get(key), real.get(key, 0)
                if row is None:
                    _add_to_count(tenant_id, key[0], key[1], count)
                elif row.count != count:
                    FlowRunCount.objects.filter(pk=row.pk).update(count=count)
                else:
                    continue
                fixed += 1
    return fixed


# -- writing -------------------------------------------------------------------------------------------
def _new_run_fields(caller: Caller) -> dict[str, Any]:
    """What every new run of the caller's starts with: its project, and created and updated now by it."""
    now = timezone.now()
    actor = actor_for(caller)
    return {"project_id": caller.project_id, "created_at": now, "created_by": actor, "updated_at": now,
            "updated_by": actor}


def _write_tag_index(run: FlowRun, *, replace: bool) -> None:
    if replace:
        FlowRunTag.objects.filter(flow_run=run).delete()
    pairs = {(tag["key"], tag["value"]) for tag in run.tags or []}
    if pairs:
        FlowRunTag.objects.bulk_create(FlowRunTag(flow_run=run, key=k, value=v) for k, v in sorted(pairs))


def create_flow_run(caller: Caller, *, flow_id: str, run_id: str | None = None,
                    flow_type: str = FlowType.SELF_SERVICE_ACTION, args: Any = None,
                    tags: list[dict] | None = None) -> FlowRun:
    """Create a run of the caller's tenant; ``run_id`` is generated when absent.

    Raises ``FlowRunExists`` (409) when the id is taken; ``upsert_flow_run`` replaces a run instead.
    """
    run = FlowRun(
        tenant_id=caller.tenant_id, run_id=run_id or str(uuid.uuid4()), flow_id=flow_id, flow_type=flow_type,
        args=args, tags=tags or [], **_new_run_fields(caller),
    )
    try:
        with transaction.atomic():
            run.save(force_insert=True)
            _write_tag_index(run, replace=False)
            _add_to_count(run.tenant_id, run.project_id, run.phase, 1)
    except IntegrityError:
        if FlowRun.objects.filter(tenant_id=caller.tenant_id, run_id=run.run_id).exists():
            raise FlowRunExists(run.run_id) from None
        raise
    return run


# Fields a PUT replaces; created_* and reviewed_* are the server's and survive.
REPLACED_FIELDS = ("flow_id", "flow_type", "args", "phase", "start_time", "end_time", "actions", "outputs",
                   "logs", "tags")


@transaction.atomic
def upsert_flow_run(caller: Caller, run_id: str, values: dict[str, Any]) -> tuple[FlowRun, bool]:
    """Create the run when ``run_id`` is new, else replace all its writable fields; ``(run, created)``.

    ``values`` holds model field names (``REPLACED_FIELDS``); a missing one is reset to its default,
    since a PUT replaces the whole run. ``created_at``/``created_by`` survive a replace.
    """
    values = {name: values.get(name, _default(name)) for name in REPLACED_FIELDS}
    run = FlowRun.objects.select_for_update().filter(tenant_id=caller.tenant_id, run_id=run_id).first()
    if run is not None and not _reachable(caller, run):
        raise IdTaken(run_id)
    if run is None:
        try:
            with transaction.atomic():
                run = FlowRun.objects.create(tenant_id=caller.tenant_id, run_id=run_id, **_new_run_fields(caller),
                                             **values)
                _write_tag_index(run, replace=False)
                _add_to_count(run.tenant_id, run.project_id, run.phase, 1)
            return run, True
        except IntegrityError:
            # Another request created it between our read and our insert: replace theirs.
            run = FlowRun.objects.select_for_update().get(tenant_id=caller.tenant_id, run_id=run_id)
            if not _reachable(caller, run):
                raise IdTaken(run_id) from None
    tags_changed = run.tags != values["tags"]
    _move_count((run.tenant_id, run.project_id), run.phase, values["phase"])
    for name, value in values.items():
        setattr(run, name, value)
    run.updated_at = timezone.now()
    run.updated_by = actor_for(caller)
    run.save(update_fields=[*REPLACED_FIELDS, "updated_at", "updated_by"])
    if tags_changed:
        _write_tag_index(run, replace=True)
    return run, False


def _default(name: str) -> Any:
    field = FlowRun._meta.get_field(name)
    return field.get_default()


def delete_flow_run(run: FlowRun) -> None:
    """Delete a run (its tag rows go with it; executions that reported to it keep running)."""
    with transaction.atomic():
        phase = FlowRun.objects.select_for_update().filter(pk=run.pk).values_list("phase", flat=True).first()
        if FlowRun.objects.filter(pk=run.pk).delete()[0]:
            _add_to_count(run.tenant_id, run.project_id, phase, -1)


def flow_run_for_execution(caller: Caller, run_id: str, *, flow_id: str, args: dict | None = None,
                           flow_type: str = FlowType.AUTOMATION) -> FlowRun:
    """The caller's flow run ``run_id``, created (of ``flow_type``, phase queued) when new.

    For an execution about to start with ``flow_run=``: the ``execution_changed`` receiver then keeps
    the run's phase, times, actions, logs and outputs in step with the execution. ``run_id`` must be
    a valid id (ValidationError on ``flow_run`` otherwise); ``flow_id`` is normalized by ``flow_id_for``.
    An existing run is returned as it is.
    """
    check_flow_run_id(run_id)
    run, created = FlowRun.objects.get_or_create(
        tenant_id=caller.tenant_id, run_id=run_id,
        defaults={"flow_id": flow_id_for(flow_id), "flow_type": flow_type, "args": args, "phase": Phase.QUEUED,
                  **_new_run_fields(caller)},
    )
    if created:
        _add_to_count(run.tenant_id, run.project_id, run.phase, 1)
    if not _reachable(caller, run):
        raise ValidationError({"flow_run": [IdTaken.message(run_id)]})
    return run


def link_execution(execution: Execution, value: dict | str, caller: Caller | None) -> FlowRun:
    """The ``flow_run`` start option: mirror the new execution into a flow run of the caller's.

    ``value`` is the run id, or ``{"run_id", "flow_id", "flow_type", "args"}``; a new run gets the
    workflow's alias (or id) as its flow id unless one is given. Registered in ``FlowrunsConfig``.
    """
    spec = {"run_id": value} if isinstance(value, str) else dict(value)
    workflow = execution.workflow
    flow_id = spec.get("flow_id") or (workflow.alias or str(workflow.id) if workflow is not None else "flow")
    run = flow_run_for_execution(caller, spec["run_id"], flow_id=flow_id, args=spec.get("args"),
                                 flow_type=spec.get("flow_type", FlowType.AUTOMATION))
    FlowRunExecution.objects.create(execution=execution, flow_run=run)
    return run


# -- mirroring executions --------------------------------------------------------------------------------
# Executions whose flow run (or absence of one) this process knows: the link is made in the
# transaction that creates the execution, before the engine announces any change of it, and never
# changes, so an execution that reports to no run costs one read per process, not one per step.
_REPORTED: OrderedDict = OrderedDict()
REPORTED_CACHE_SIZE = 4096
_UNKNOWN = object()


def reported_flow_run(execution_id) -> int | None:
    """The flow run an execution reports to (its primary key), or None."""
    known = _REPORTED.get(execution_id, _UNKNOWN)
    if known is _UNKNOWN:
        known = FlowRunExecution.objects.filter(execution_id=execution_id).values_list("flow_run_id", flat=True).first()
        _REPORTED[execution_id] = known
        if len(_REPORTED) > REPORTED_CACHE_SIZE:
            _REPORTED.popitem(last=False)
    return known


def forget_reported() -> None:
    _REPORTED.clear()


def sync_from_execution(execution_id) -> bool:
    """Copy an execution's state onto the flow run it reports to; False when it reports to none.

    Six queries whatever the execution's size: find and lock the run, then read the execution, its
    task runs and its newest ``MAX_LOGS`` log lines, and write the run once. Reading after taking the
    lock means concurrent mirrors of one execution always end with the newest state.
    """
    flow_run_id = reported_flow_run(execution_id)
    if flow_run_id is None:
        return False
    with transaction.atomic():
        locked = FlowRun.objects.select_for_update().filter(pk=flow_run_id).values_list(
            "tenant_id", "project_id", "phase").first()
        if locked is None:
            return False
        state = (Execution.objects.filter(pk=execution_id)
                 .values("status", "started_at", "ended_at", "return_value").first())
        if state is None:
            return False
        task_runs = (TaskRun.objects.filter(execution_id=execution_id).order_by("position", "name")
                     .values("name", "status", "started_at", "ended_at")[:MAX_ACTIONS])
        logs = list(Log.objects.filter(execution_id=execution_id).order_by("-timestamp", "-id")
                    .values("timestamp", "message", "level", "task_run__name")[:MAX_LOGS])
        logs.reverse()
        phase = status_word("port", state["status"])
        _move_count(locked[:2], locked[2], phase)
        FlowRun.objects.filter(pk=flow_run_id).update(
            phase=phase,
            start_time=state["started_at"],
            end_time=state["ended_at"],
            outputs=state["return_value"],
            actions=[
                {"id": tr["name"], "phase": status_word("port", tr["status"]),
                 "startTime": iso(tr["started_at"]), "endTime": iso(tr["ended_at"])}
                for tr in task_runs
            ],
            logs=[
                {"timestamp": iso(line["timestamp"]), "message": line["message"], "level": line["level"],
                 "action": line["task_run__name"]}
                for line in logs
            ],
            updated_at=timezone.now(),
        )
    return True


def may_report(execution=None, **kwargs) -> bool:
    """Whether an execution may report to a flow run: yes, unless this process knows it reports to none."""
    return _REPORTED.get(execution.pk, _UNKNOWN) is not None


def mirror_execution(execution=None, **kwargs) -> None:
    """``execution_changed`` receiver: mirror the execution onto its flow run once the change commits."""
    execution_id = execution.pk
    if reported_flow_run(execution_id) is not None:
        transaction.on_commit(lambda: _mirror_committed(execution_id))


def _mirror_committed(execution_id) -> None:
    try:
        sync_from_execution(execution_id)
    except Exception:
        logger.exception("could not mirror execution %s onto its flow run", execution_id)


def record_review(execution_id, user_id: int | None, key_name: str | None, label: str, at,
                  key_owner_id: int | None = None, **kwargs) -> None:
    """``execution_reviewed`` receiver: the run an execution reports to shows who decided, and when.

    Someone who decided through an emailed link, without an account, is stored by name.
    """
    FlowRun.objects.filter(execution_links__execution_id=execution_id).update(
        reviewed_by=stored_actor(user_id, key_name, key_owner_id) or label or None, reviewed_at=at)


# -- retention ---------------------------------------------------------------------------------------------
def purge_flow_runs(retention) -> int:
    """Purge pass (``executions.plugins``): remove finished runs untouched since their tenant's cutoff.

    A run is finished when its phase is one of ``Phase.FINISHED``; one that an unfinished execution
    still reports to stays. Oldest first, a batch per transaction (rows locked elsewhere are left
    for the next purge), archived first when the purge has an archive. Answers how many runs went
    (would go, on a dry run).
    """
    removed = 0
    reporting = FlowRunExecution.objects.filter(flow_run=OuterRef("pk")).exclude(
        execution__status__in=TERMINAL_STATUSES)
    for tenant_id, cutoff in retention.tenant_cutoffs.items():
        queryset = FlowRun.objects.filter(tenant_id=tenant_id, created_at__lt=cutoff, updated_at__lt=cutoff,
                                          phase__in=Phase.FINISHED).filter(~Exists(reporting))
        if retention.dry_run:
            removed += queryset.count()
            continue
        for ids in retention.batches(queryset):
            if retention.archive is not None:
                rows = FlowRun.objects.filter(pk__in=ids).values()
                retention.write_archive("flow_runs", [(row["created_at"], row) for row in rows])
            with transaction.atomic():
                locked = list(FlowRun.objects.select_for_update(skip_locked=True).filter(
                    pk__in=ids, updated_at__lt=cutoff).filter(~Exists(reporting)).values_list("pk", flat=True))
                if locked:
                    doomed = FlowRun.objects.filter(pk__in=locked)
                    groups = list(doomed.order_by().values("project_id", "phase").annotate(n=Count("pk"))
                                  .values_list("project_id", "phase", "n"))
                    _, per_model = doomed.delete()
                    removed += per_model.get(FlowRun._meta.label, 0)
                    for project_id, phase, count in groups:
                        _add_to_count(tenant_id, project_id, phase, -count)
        if retention.out_of_time():
            break
    return removed
