"""Requesting an approval: reading an approval task's config, resolving its approvers and form.

The config comes from a workflow definition whose values may be templates, so every value may
arrive as text: numbers and true/false flags are parsed, and a value that cannot be used stops
the task with an ``ApprovalConfigError`` saying what to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from approvals.models import Approval, ApprovalStatus, TimeoutOutcome
from config.values import parse_number, parse_truth
from executions.models import LogLevel
from executions.queue import enqueue_on_commit
from executions.signals import feature_event

# The Celery task that emails the approvers (approvals.tasks).
NOTIFY_APPROVERS = "flowgate.notify_approvers"
# Who may decide when an approval task names nobody.
DEFAULT_APPROVER_ROLES = (Role.ADMIN.value, Role.APPROVER.value)
FORM_FIELD_TYPES = ("text", "number", "boolean", "choice")
ON_REJECT_CHOICES = ("fail", "continue")


class ApprovalConfigError(ValueError):
    """An approval task's config cannot be used; the message says what to change."""


def _flag(value: Any, name: str) -> bool:
    """A true/false setting of the task's config; absent or empty means false.

    A template renders to text, and ``bool("false")`` is True: a flag such as allow_self_approval
    must never be switched on by a word meaning off, so anything else is refused.
    """
    if value is None or value == "":
        return False
    truth = parse_truth(value)
    if truth is None:
        raise ApprovalConfigError(f"{name} must be true or false, not {value!r}.")
    return truth


def _required_approvals(value: Any) -> int:
    """How many approvers must approve; absent or empty means one."""
    if value is None or value == "":
        return 1
    try:
        return parse_number(value, integer=True, minimum=1)
    except ValueError:
        raise ApprovalConfigError(f"required_approvals must be a whole number, 1 or more, not {value!r}.") from None


def _expires_in(value: Any) -> float | None:
    """Seconds until the approval times out; absent or empty means never."""
    if value is None or value == "":
        return None
    try:
        return parse_number(value)
    except ValueError:
        raise ApprovalConfigError(f"expires_in must be a finite number of seconds, not {value!r}.") from None


@dataclass
class Approvers:
    """Who may decide, resolved against the tenant when the approval is requested."""

    usernames: list[str] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _names(value: Any) -> list[str]:
    """A list, or a comma- or whitespace-separated string (a rendered template), as unique strings."""
    if value is None or value == "":
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ApprovalConfigError(f"Approvers must be a list of names or a comma-separated string, not {value!r}.")
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


def resolve_approvers(tenant_id, config: dict) -> Approvers:
    """Usernames to ids (members of the tenant only), roles checked, emails lowercased.

    With nobody named, the tenant's admins and approvers may decide.
    """
    if not isinstance(config, dict):
        raise ApprovalConfigError('approvers must be an object: {"users": [...], "roles": [...], "emails": [...]}.')
    result = Approvers(usernames=_names(config.get("users")), emails=[e.lower() for e in _names(config.get("emails"))])
    for role in _names(config.get("roles")):
        if role in Role.values:
            result.roles.append(role)
        else:
            result.problems.append(f"Approvers: unknown role {role!r} ignored; roles are {', '.join(Role.values)}.")
    if result.usernames:
        found = dict(get_user_model().objects.filter(
            username__in=result.usernames, memberships__tenant_id=tenant_id, is_active=True,
        ).values_list("username", "id"))
        result.user_ids = [found[name] for name in result.usernames if name in found]
        missing = [name for name in result.usernames if name not in found]
        if missing:
            result.problems.append(f"Approvers: no active member of this tenant is called {', '.join(missing)}.")
    if not (result.usernames or result.roles or result.emails):
        result.roles = list(DEFAULT_APPROVER_ROLES)
    return result


def normalize_form(fields: Any) -> list[dict]:
    """The form definition as ``[{"name", "type", "required", "label", "choices", "help"}]``."""
    if fields in (None, ""):
        return []
    if not isinstance(fields, list):
        raise ApprovalConfigError("form must be a list of fields, for example [{\"name\": \"amount\", \"type\": \"number\"}].")
    out: list[dict] = []
    for index, item in enumerate(fields):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not str(item.get("name") or "").strip():
            raise ApprovalConfigError(f"form[{index}] needs a name.")
        name = str(item["name"]).strip()
        kind = str(item.get("type") or "text")
        if kind not in FORM_FIELD_TYPES:
            raise ApprovalConfigError(f"form[{index}] ({name}): type must be one of {', '.join(FORM_FIELD_TYPES)}, not {kind!r}.")
        choices = [str(choice) for choice in item.get("choices") or []]
        if kind == "choice" and not choices:
            raise ApprovalConfigError(f"form[{index}] ({name}): a choice field needs a list of choices.")
        if any(existing["name"] == name for existing in out):
            raise ApprovalConfigError(f"form[{index}]: the field name {name!r} is used twice.")
        required = _flag(item.get("required"), f"form[{index}] ({name}): required")
        out.append({
            "name": name, "type": kind, "required": required,
            # JSON Schema's words (title, description) are taken as well as label and help.
            "label": str(item.get("label") or item.get("title") or name), "choices": choices,
            "help": str(item.get("help") or item.get("description") or ""),
        })
    return out


def request_approval(ctx) -> Approval:
    """Create the Approval an approval task waits on; the approvers are emailed after commit."""
    config = ctx.config
    execution, task_run = ctx.execution, ctx.task_run
    approvers = resolve_approvers(execution.tenant_id, config.get("approvers") or {})
    for problem in approvers.problems:
        ctx.log(LogLevel.WARNING, problem)
    required = _required_approvals(config.get("required_approvals"))
    expires_in = _expires_in(config.get("expires_in"))
    on_reject = config.get("on_reject") or "fail"
    on_timeout = config.get("on_timeout") or TimeoutOutcome.REJECT
    if on_reject not in ON_REJECT_CHOICES or on_timeout not in TimeoutOutcome.values:
        raise ApprovalConfigError("on_reject must be fail or continue; on_timeout must be reject, approve or fail.")
    form = normalize_form(config.get("form"))
    allow_self_approval = _flag(config.get("allow_self_approval"), "allow_self_approval")
    require_comment = _flag(config.get("require_comment"), "require_comment")
    now = timezone.now()
    with transaction.atomic():
        # An earlier attempt of this task (its worker died before parking) may have asked already.
        Approval.objects.filter(task_run=task_run, status=ApprovalStatus.PENDING).update(
            status=ApprovalStatus.CANCELLED, decided_at=now, decided_by_label="superseded by a new attempt")
        approval = Approval.objects.create(
            tenant_id=execution.tenant_id, execution=execution, task_run=task_run,
            execution_started_by_user_id=execution.started_by_user_id,
            execution_started_by_key_id=execution.started_by_key_id,
            title=str(config.get("title") or task_run.name)[:300],
            instructions=str(config.get("instructions") or ""),
            approver_usernames=approvers.usernames, approver_user_ids=approvers.user_ids,
            approver_roles=approvers.roles, approver_emails=approvers.emails,
            required_approvals=required, allow_self_approval=allow_self_approval,
            form=form, require_comment=require_comment,
            on_reject=on_reject, timeout_outcome=on_timeout, requested_at=now,
            expires_at=now + timedelta(seconds=expires_in) if expires_in is not None else None,
        )
        enqueue_on_commit(NOTIFY_APPROVERS, str(approval.id))
        feature_event.send(name="approval.requested", execution=execution, data=approval_event_data(approval))
    expiry = f"; expires at {approval.expires_at.isoformat()} ({on_timeout} then)" if approval.expires_at else ""
    ctx.log(LogLevel.INFO, f"Approval {approval.title!r} requested from {describe_approvers(approval)}"
                           f" ({required} approval{'s' if required > 1 else ''} needed){expiry}.")
    return approval


def approval_event_data(approval: Approval) -> dict:
    """What other features hear of an approval (``feature_event``): plain JSON, no secrets."""
    return {
        "approval_id": str(approval.id),
        "execution_id": str(approval.execution_id),
        "task_run_id": str(approval.task_run_id),
        "title": approval.title,
        "status": approval.status,
        "required_approvals": approval.required_approvals,
        "requested_at": approval.requested_at.isoformat() if approval.requested_at else None,
        "expires_at": approval.expires_at.isoformat() if approval.expires_at else None,
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
        "decided_by": approval.decided_by_label or None,
        "comment": approval.comment,
    }


def describe_approvers(approval: Approval) -> str:
    parts = []
    if approval.approver_usernames:
        parts.append("users " + ", ".join(approval.approver_usernames))
    if approval.approver_roles:
        parts.append("role " + " or ".join(approval.approver_roles))
    if approval.approver_emails:
        parts.append("emails " + ", ".join(approval.approver_emails))
    return "; ".join(parts) or "tenant admins"


