"""The ``update_record`` task type: an action's steps change the record they run on."""

from __future__ import annotations

from workflows.registry import ConfigField, TaskType

UPDATE_RECORD = TaskType("update_record", "records.services.apply_record_update", {
    "fields": ConfigField((dict,)),
    "checklist": ConfigField((list, dict), description="Names to tick, or {name: done}."),
    "assignee": ConfigField((str, type(None)), description="A username or email; null unassigns."),
    "stage": ConfigField((str,)),
}, "Change the execution's record: fields, checklist, assignee, stage.", in_group=False)
