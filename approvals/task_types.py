"""The ``approval`` task type: the execution waits until people decide (registered in ``ApprovalsConfig.ready``)."""

from __future__ import annotations

from approvals.services import request_approval
from executions.engine import Park, TaskContext
from workflows.registry import NUMBER, ConfigField, TaskType


def run_approval(ctx: TaskContext):
    approval = request_approval(ctx)
    return Park(message=f"Waiting for approval {approval.id}")


APPROVAL = TaskType("approval", "approvals.task_types.run_approval", {
    "title": ConfigField((str,)),
    "approvers": ConfigField((dict,), description='{"users": [usernames], "roles": [roles], "emails": [..] or a template}'),
    "required_approvals": ConfigField((int,)),
    "instructions": ConfigField((str,)),
    "form": ConfigField((list,), description='[{"name", "type": text|number|boolean|choice, "required", "label", "choices"}]'),
    "require_comment": ConfigField((bool,)),
    "expires_in": ConfigField(NUMBER, description="Seconds until the approval times out."),
    "on_timeout": ConfigField((str,), choices=("reject", "approve", "fail")),
    "on_reject": ConfigField((str,), choices=("fail", "continue")),
    "allow_self_approval": ConfigField((bool,)),
}, "Wait for a human decision.", parks=True, in_group=False)
