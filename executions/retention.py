"""How long finished executions are kept, and the purge that removes the older ones.

**Rules.** A ``RetentionRule`` per tenant, and optionally per workflow, says how many days a
finished execution (succeeded, failed or cancelled) is kept after it ended; a workflow's rule wins
over its tenant's, and an empty ``keep_days`` keeps forever. Without a rule,
``FLOWGATE_RETENTION_DAYS`` applies (0, the default: keep forever). ``set_retention`` and
``clear_retention`` write them (the admin calls them).

**The purge** (``purge``: Celery beat every ``FLOWGATE_PURGE_INTERVAL_SECONDS``, and
``manage.py purge``) removes, oldest first and ``PURGE_BATCH`` at a time, the finished executions
past their rule, with their task runs, logs and everything the features link to them (approvals
cascade with their execution). Each batch is its own short transaction that locks only the rows it
removes (``SKIP LOCKED``: a row a worker holds is left for the next purge), so workers go on while
it runs and a purge stopped anywhere (its time budget, a restart) simply resumes at the next run.
A queued, running or waiting execution is never removed, nor one whose parent is still going, nor
one with a child still going. Features add their own passes with
``executions.plugins.register_purge_pass`` (Port flow runs follow their tenant's rule), and what
their rows hold to the archive with ``register_archive_section`` (an execution's approvals).
With ``FLOWGATE_RETENTION_ARCHIVE`` set, each batch is written there first (``executions.archive``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Tenant
from executions.archive import Archive, archive_from_settings, by_day
from executions.models import TERMINAL_STATUSES, Execution, Log, RetentionRule, TaskRun
from executions.plugins import archive_sections, purge_passes
from workflows.models import Workflow

logger = logging.getLogger("flowgate.executions")

# Executions removed per transaction. With their task runs, logs and approvals that is a few
# thousand rows, deleted in a fraction of a second: locks stay short and a purge can stop anywhere.
PURGE_BATCH = 500
# After each batch the purge rests as long as the batch took: it never holds more than half of a
# database core, so the lists and the workers around it keep their pace (make bench times them).
PAUSE_SHARE = 1.0
# ... but a slow batch (a busy database) makes it rest at most this long.
MAX_PAUSE_SECONDS = 2.0
LIVE_STATUSES = ("queued", "running", "waiting")
_DEFAULT = object()


# -- rules ----------------------------------------------------------------------------------------------
def set_retention(tenant: Tenant, keep_days: int | None, *, workflow: Workflow | None = None) -> RetentionRule:
    """Keep the tenant's (or one workflow's) finished executions ``keep_days`` days; None keeps them forever."""
    if workflow is not None and workflow.tenant_id != tenant.id:
        raise ValueError(f"Workflow {workflow.name!r} belongs to another tenant; pick one of {tenant}.")
    if keep_days is not None and keep_days < 0:
        raise ValueError("keep_days must be 0 or more days (None keeps forever).")
    rule, _ = RetentionRule.objects.update_or_create(
        tenant=tenant, workflow=workflow, defaults={"keep_days": keep_days, "updated_at": timezone.now()})
    return rule


def clear_retention(tenant: Tenant, *, workflow: Workflow | None = None) -> None:
    """Drop the tenant's (or the workflow's) rule: the tenant's rule, or the default, applies again."""
    RetentionRule.objects.filter(tenant=tenant, workflow=workflow).delete()


# -- the plan of one purge -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """Executions of one tenant (one workflow's, or all but ``excluded`` workflows') ended before ``cutoff``."""

    tenant_id: Any
    cutoff: datetime
    workflow_id: Any = None
    excluded: tuple = ()


@dataclass
class Retention:
    """What one purge removes and how: its scopes, batch size, time budget, archive, dry run."""

    now: datetime
    scopes: list[Scope]
    # Each tenant's cutoff for rows that belong to no workflow (Port flow runs).
    tenant_cutoffs: dict[Any, datetime]
    batch_size: int = PURGE_BATCH
    dry_run: bool = False
    archive: Archive | None = None
    deadline: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def batches(self, queryset, date_field: str = "created_at") -> Iterator[list]:
        """Primary keys of ``queryset`` in batches, oldest first, until none are left or time is up.

        Keyset paging on ``(date_field, pk)``: a batch that could not be removed (rows locked, or
        changed since) is stepped over, and the next purge tries it again. Between full batches the
        purge rests as long as the last one took (``PAUSE_SHARE``).
        """
        after = None
        while not self.out_of_time():
            began = time.monotonic()
            page = queryset
            if after is not None:
                page = page.filter(Q(**{f"{date_field}__gte": after[0]}) & (
                    Q(**{f"{date_field}__gt": after[0]}) | Q(**{date_field: after[0], "pk__gt": after[1]})))
            rows = list(page.order_by(date_field, "pk").values_list(date_field, "pk")[: self.batch_size])
            if not rows:
                return
            yield [pk for _, pk in rows]
            if len(rows) < self.batch_size:
                return
            after = rows[-1]
            time.sleep(min((time.monotonic() - began) * PAUSE_SHARE, MAX_PAUSE_SECONDS))

    def write_archive(self, kind: str, rows: list[tuple[datetime, dict]]) -> None:
        """Archive ``(created_at, row)`` pairs, before they are deleted (nothing without an archive)."""
        if self.archive is not None and rows:
            self.archive.write(kind, by_day(rows))


def plan(now: datetime | None = None, *, older_than: timedelta | None = None, tenant: Tenant | None = None,
         dry_run: bool = False, batch_size: int = PURGE_BATCH, max_seconds: float | None = None,
         archive: Any = _DEFAULT) -> Retention:
    """The scopes of a purge: the rules (``older_than`` instead overrides every rule) of every tenant or one."""
    now = now or timezone.now()
    tenants = Tenant.objects.all() if tenant is None else Tenant.objects.filter(pk=tenant.pk)
    scopes: list[Scope] = []
    tenant_cutoffs: dict[Any, datetime] = {}
    if older_than is not None:
        cutoff = now - older_than
        for tenant_id in tenants.values_list("id", flat=True):
            scopes.append(Scope(tenant_id, cutoff))
            tenant_cutoffs[tenant_id] = cutoff
    else:
        default_days = settings.FLOWGATE_RETENTION_DAYS or None
        rules: dict[Any, dict[Any, int | None]] = {}
        for rule in RetentionRule.objects.filter(tenant__in=tenants):
            rules.setdefault(rule.tenant_id, {})[rule.workflow_id] = rule.keep_days
        tenant_ids = tenants.values_list("id", flat=True) if default_days else list(rules)
        for tenant_id in tenant_ids:
            own = rules.get(tenant_id, {})
            workflows = {workflow: days for workflow, days in own.items() if workflow is not None}
            for workflow_id, days in workflows.items():
                if days is not None:
                    scopes.append(Scope(tenant_id, now - timedelta(days=days), workflow_id=workflow_id))
            days = own[None] if None in own else default_days
            if days is not None:
                scopes.append(Scope(tenant_id, now - timedelta(days=days), excluded=tuple(workflows)))
                tenant_cutoffs[tenant_id] = now - timedelta(days=days)
    return Retention(now=now, scopes=scopes, tenant_cutoffs=tenant_cutoffs, batch_size=batch_size, dry_run=dry_run,
                     archive=archive_from_settings() if archive is _DEFAULT else archive,
                     deadline=time.monotonic() + max_seconds if max_seconds else None)


# -- the purge ------------------------------------------------------------------------------------------
def purge(**options) -> dict[str, int]:
    """Remove what the rules (or ``older_than``) let go; answers how many rows of each kind (see ``plan``)."""
    retention = plan(**options)
    counts = {"executions": purge_executions(retention)}
    for name, purge_pass in purge_passes().items():
        try:
            counts[name] = purge_pass(retention)
        except Exception:
            # One feature's failure must not stop the others' passes, nor the next purge.
            logger.exception("purge pass %s failed; the next purge tries again", name)
            counts[name] = 0
    if any(counts.values()):
        logger.info("purge%s: %s", " (dry run)" if retention.dry_run else "", counts)
    return counts


def candidates(scope: Scope):
    """The scope's finished executions past its cutoff whose parent (if any) has finished too."""
    queryset = Execution.objects.filter(tenant_id=scope.tenant_id, created_at__lt=scope.cutoff,
                                        ended_at__lt=scope.cutoff, status__in=TERMINAL_STATUSES)
    if scope.workflow_id is not None:
        queryset = queryset.filter(workflow_id=scope.workflow_id)
    elif scope.excluded:
        queryset = queryset.exclude(workflow_id__in=scope.excluded)
    # A child goes with its parent (a cascade), never on its own while the parent still runs.
    live_parent = Execution.objects.filter(pk=OuterRef("parent_id"), status__in=LIVE_STATUSES)
    return queryset.filter(~Exists(live_parent))


def purge_executions(retention: Retention) -> int:
    removed = 0
    for scope in retention.scopes:
        queryset = candidates(scope)
        if retention.dry_run:
            removed += queryset.count()
            continue
        for ids in retention.batches(queryset):
            removed += _purge_batch(ids, scope.cutoff, retention)
        if retention.out_of_time():
            break
    return removed


def _descendants(ids: list, *, lock: bool) -> tuple[dict[Any, Any], set]:
    """``(root of each descendant, roots with a descendant still going)``, level by level."""
    root_of = {pk: pk for pk in ids}
    blocked = set()
    frontier = list(ids)
    while frontier:
        children = Execution.objects.filter(parent_id__in=frontier)
        if lock:
            children = children.select_for_update()
        frontier = []
        for child, parent, status in children.values_list("id", "parent_id", "status"):
            root_of[child] = root_of[parent]
            frontier.append(child)
            if status not in TERMINAL_STATUSES:
                blocked.add(root_of[parent])
    return root_of, blocked


def _purge_batch(ids: list, cutoff: datetime, retention: Retention) -> int:
    """Archive, then delete in one transaction the executions of ``ids`` that are still finished and past ``cutoff``."""
    if retention.archive is not None:
        root_of, blocked = _descendants(ids, lock=False)
        retention.write_archive("executions", _archive_rows([pk for pk, root in root_of.items()
                                                             if root not in blocked]))
    with transaction.atomic():
        locked = list(Execution.objects.select_for_update(skip_locked=True)
                      .filter(pk__in=ids, status__in=TERMINAL_STATUSES, ended_at__lt=cutoff)
                      .values_list("id", flat=True))
        # Children are locked too: one retried while we decide waits for us, and then finds nothing.
        _, blocked = _descendants(locked, lock=True)
        doomed = [pk for pk in locked if pk not in blocked]
        if not doomed:
            return 0
        _, per_model = Execution.objects.filter(pk__in=doomed).delete()
    return per_model.get(Execution._meta.label, 0)


def _archive_rows(ids: list) -> list[tuple[datetime, dict]]:
    """One archive line per execution: its row, task runs, logs and the features' sections."""
    task_runs: dict[Any, list] = {}
    for row in TaskRun.objects.filter(execution_id__in=ids).order_by("position", "name").values():
        task_runs.setdefault(row["execution_id"], []).append(row)
    logs: dict[Any, list] = {}
    for row in Log.objects.filter(execution_id__in=ids).order_by("timestamp", "id").values():
        logs.setdefault(row["execution_id"], []).append(row)
    sections = {name: reader(ids) for name, reader in archive_sections().items()}
    rows = []
    for execution in Execution.objects.filter(pk__in=ids).values():
        pk = execution["id"]
        line = {"execution": execution, "task_runs": task_runs.get(pk, []), "logs": logs.get(pk, []),
                **{name: section.get(pk, []) for name, section in sections.items()}}
        rows.append((execution["created_at"], line))
    return rows
