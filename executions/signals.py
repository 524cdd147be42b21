"""What the engine announces; the features above it (approvals, records, flow runs) listen.

Each announcement works like a Django signal: ``announcement.connect(receiver, dispatch_uid=...)``
in an ``AppConfig.ready()``, receivers called with keyword arguments.

Announced inside the transaction that makes the change, so receivers write their rows atomically
with it. Each receiver runs in a savepoint of its own: one that raises is logged and undone alone,
and the change announced stays (one feature's bug must not keep the engine from moving on, nor
leave half of that feature's writes behind). A receiver that talks to the outside world defers
that with ``transaction.on_commit``.

* ``execution_finished(execution)``: the execution reached succeeded, failed or cancelled.
* ``cancel_requested(execution)``: someone asked to cancel an execution that has not ended.
* ``task_parked(execution, task_run)``: a task waits (for a person, a time, a child execution).
* ``execution_reviewed(execution_id, user_id, key_name, label, at)``: a person decided something
  the execution waited on (an approval was approved or rejected).

Announced after the change has committed (receivers may do I/O; a failing one is logged):

* ``execution_changed(execution)``: its status or one of its task runs changed (flow-run
  mirroring, live updates).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger("flowgate.engine")


class Announcement:
    """A named list of receivers that the engine calls, each isolated from the others."""

    def __init__(self, name: str, *, after_commit: bool = False) -> None:
        self.name = name
        self.after_commit = after_commit
        self._receivers: dict[str, Callable[..., None]] = {}

    def connect(self, receiver: Callable[..., None], dispatch_uid: str | None = None) -> None:
        self._receivers[dispatch_uid or f"{receiver.__module__}.{receiver.__qualname__}"] = receiver

    def disconnect(self, receiver: Callable[..., None] | None = None, dispatch_uid: str | None = None) -> None:
        key = dispatch_uid or f"{receiver.__module__}.{receiver.__qualname__}"
        self._receivers.pop(key, None)

    def send(self, **kwargs) -> None:
        """Call every receiver now (inside the caller's transaction), or after it commits."""
        if not self._receivers:
            return
        if self.after_commit:
            transaction.on_commit(lambda: self._call_all(kwargs, savepoint=False))
        else:
            self._call_all(kwargs, savepoint=True)

    def _call_all(self, kwargs: dict, *, savepoint: bool) -> None:
        for receiver in list(self._receivers.values()):
            try:
                if savepoint:
                    with transaction.atomic():
                        receiver(**kwargs)
                else:
                    receiver(**kwargs)
            except Exception:
                logger.exception("%s receiver %s failed%s", self.name, receiver.__qualname__,
                                 "; its changes were rolled back" if savepoint else "")


execution_finished = Announcement("execution_finished")
cancel_requested = Announcement("cancel_requested")
task_parked = Announcement("task_parked")
execution_reviewed = Announcement("execution_reviewed")
execution_changed = Announcement("execution_changed", after_commit=True)
