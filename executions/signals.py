"""What the engine announces; the features above it (approvals, records, flow runs) listen.

Each announcement works like a Django signal: ``announcement.connect(receiver, dispatch_uid=...)``
in an ``AppConfig.ready()``, receivers called with keyword arguments, inside the transaction that
makes the change, so receivers write their rows atomically with it. Each receiver runs in a
savepoint of its own: one that raises is logged and undone alone, and the change announced stays
(one feature's bug must not keep the engine from moving on, nor leave half of that feature's
writes behind). A receiver that talks to the outside world, or reads the committed state, defers
that with ``transaction.on_commit``. A savepoint costs two round trips, and some announcements
fire on every step of every execution: a receiver that concerns few executions is connected with
``when``, a cheap test of the same keyword arguments (no query), and is only called when it holds.

* ``execution_finished(execution, task_types)``: the execution reached succeeded, failed or
  cancelled; ``task_types`` are the types of its tasks.
* ``cancel_requested(execution)``: someone asked to cancel an execution that has not ended.
* ``task_parked(execution, task_run)``: a task waits (for a person, a time, a child execution).
* ``execution_reviewed(execution_id, user_id, key_name, label, at)``: a person decided something
  the execution waited on (an approval was approved or rejected).
* ``execution_changed(execution)``: its status or one of its task runs changed.
* ``feature_event(name, execution, data)``: a feature tells the others something happened on an
  execution that the engine does not know about (``approval.requested``, ``approval.decided``),
  with a plain-JSON ``data``; features never import each other, so this is how they hear of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger("flowgate.engine")


class Announcement:
    """A named list of receivers that the engine calls inside its transaction, each isolated from the others."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: dict[str, tuple[Callable[..., None], Callable[..., bool] | None]] = {}

    def connect(self, receiver: Callable[..., None], dispatch_uid: str | None = None, *,
                when: Callable[..., bool] | None = None) -> None:
        self._receivers[dispatch_uid or f"{receiver.__module__}.{receiver.__qualname__}"] = (receiver, when)

    def disconnect(self, receiver: Callable[..., None] | None = None, dispatch_uid: str | None = None) -> None:
        self._receivers.pop(dispatch_uid or f"{receiver.__module__}.{receiver.__qualname__}", None)

    def send(self, **kwargs) -> None:
        for receiver, when in list(self._receivers.values()):
            try:
                if when is not None and not when(**kwargs):
                    continue
                with transaction.atomic():
                    receiver(**kwargs)
            except Exception:
                logger.exception("%s receiver %s failed; its changes were rolled back", self.name,
                                 receiver.__qualname__)


execution_finished = Announcement("execution_finished")
cancel_requested = Announcement("cancel_requested")
task_parked = Announcement("task_parked")
execution_reviewed = Announcement("execution_reviewed")
execution_changed = Announcement("execution_changed")
feature_event = Announcement("feature_event")
