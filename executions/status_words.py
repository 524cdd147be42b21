"""The one table that turns internal statuses into each surface's status words.

Executions move through ``queued, running, waiting, succeeded, failed, cancelled``; task runs add
``pending`` and ``skipped``. Every documented surface shows its own vocabulary:

| internal  | flowdash | refold    | mindzie   | flowsynx  | port      |
| --------- | -------- | --------- | --------- | --------- | --------- |
| queued    | Pending  | RUNNING   | Queued    | Pending   | queued    |
| running   | Pending  | RUNNING   | Running   | Running   | running   |
| waiting   | Pending  | RUNNING   | Running   | Running   | waiting   |
| succeeded | Success  | COMPLETED | Completed | Completed | success   |
| failed    | Fail     | ERRORED   | Failed    | Failed    | failure   |
| cancelled | Fail     | ERRORED   | Failed    | Cancelled | cancelled |
| pending   | Pending  | RUNNING   | Queued    | Pending   | pending   |
| skipped   | Success  | COMPLETED | Completed | Skipped   | skipped   |

Flowdash has no word for "cancelled" or "waiting": a cancelled run did not succeed (``Fail``)
and a waiting one is not finished (``Pending``). Refold's execution response knows only
``RUNNING``, ``COMPLETED`` and ``ERRORED``. mindzie's four words have no "waiting" or
"cancelled" either. FlowSynx has its own ``Cancelled``. Port's flow-run phase is free-form in its
document (only ``running`` appears); the words above are the ones Flowgate's flow runs use
(``flowruns.services.Phase``).
"""

from __future__ import annotations

from executions.models import ExecutionStatus

SURFACES = ("flowdash", "refold", "mindzie", "flowsynx", "port")

_COLUMNS = {surface: index for index, surface in enumerate(SURFACES)}

#            internal:      flowdash   refold       mindzie      flowsynx     port
_TABLE: dict[str, tuple[str, str, str, str, str]] = {
    "queued": ("Pending", "RUNNING", "Queued", "Pending", "queued"),
    "running": ("Pending", "RUNNING", "Running", "Running", "running"),
    "waiting": ("Pending", "RUNNING", "Running", "Running", "waiting"),
    "succeeded": ("Success", "COMPLETED", "Completed", "Completed", "success"),
    "failed": ("Fail", "ERRORED", "Failed", "Failed", "failure"),
    "cancelled": ("Fail", "ERRORED", "Failed", "Cancelled", "cancelled"),
    # Task-run statuses that executions do not have.
    "pending": ("Pending", "RUNNING", "Queued", "Pending", "pending"),
    "skipped": ("Success", "COMPLETED", "Completed", "Skipped", "skipped"),
}

EXECUTION_STATUSES = tuple(ExecutionStatus.values)


def status_word(surface: str, status: str) -> str:
    """The word ``surface`` uses for the internal ``status`` (an execution's or a task run's).

    Raises ValueError for an unknown surface or status, naming the known ones.
    """
    column = _COLUMNS.get(surface)
    if column is None:
        raise ValueError(f"Unknown surface {surface!r}; use one of {', '.join(SURFACES)}.")
    row = _TABLE.get(str(status))
    if row is None:
        raise ValueError(f"Unknown status {status!r}; use one of {', '.join(_TABLE)}.")
    return row[column]


def surface_words(surface: str, *, executions_only: bool = True) -> list[str]:
    """The distinct words a surface uses, in table order (for OpenAPI enums)."""
    statuses = EXECUTION_STATUSES if executions_only else tuple(_TABLE)
    return list(dict.fromkeys(status_word(surface, s) for s in statuses))

