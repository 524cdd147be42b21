"""Deciding approvals: who may decide, votes, time-outs, cancellation and signed links.

``decide_approval`` and ``get_approval_for`` are the entry points of every surface (the native
API, the FlowSynx surface, the approvers' pages and signed links); the sweeper expires overdue
approvals and the engine's announcements cancel the pending ones of an ended execution.

Locks are taken in the engine's order, execution then approval then task run, so a decision
racing another decision, a cancel, an advance or the sweeper waits for it instead of deadlocking.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.caller import Caller
from accounts.models import Membership, Role
from accounts.scoping import get_for_caller
from approvals import links
from approvals.models import (
    Approval,
    ApprovalDecision,
    ApprovalStatus,
    Decision,
    TimeoutOutcome,
    UsedApprovalLink,
)
from approvals.services.requesting import approval_event_data, describe_approvers
from config.errors import Conflict, flatten_errors
from config.values import parse_number, parse_truth
from executions import engine
from executions.engine import LogBuffer
from executions.models import Execution, LogLevel
from executions.signals import execution_reviewed, feature_event

logger = logging.getLogger("flowgate.approvals")

APPROVAL_NOT_FOUND = "Approval not found."
# Approvals the sweeper expires per pass; each takes a few row locks, the next pass takes the rest.
EXPIRE_BATCH = 100
# Approvals one bulk decision may name: the inbox offers a page (25) at a time; each takes its own locks.
BULK_DECISION_LIMIT = 100

# -- who may decide ------------------------------------------------------------------------------------
def get_approval_for(caller: Caller | None, approval_id, execution: Execution | None = None) -> Approval:
    """The caller's approval (of that execution, when given), or NotFound, also for malformed ids."""
    queryset = Approval.objects.select_related("execution", "execution__workflow", "task_run")
    if execution is not None:
        queryset = queryset.filter(execution=execution)
    return get_for_caller(queryset, caller, APPROVAL_NOT_FOUND, pk=approval_id)


def started_execution(execution: Execution, caller: Caller) -> bool:
    """Whether this caller (the same user or the same key) started the execution."""
    if caller.user_id is not None and caller.user_id == execution.started_by_user_id:
        return True
    return caller.api_key is not None and caller.api_key.pk == execution.started_by_key_id


def caller_email(caller: Caller) -> str:
    return (getattr(caller.user, "email", "") or "").strip().lower() if caller.user_id is not None else ""


def is_named_approver(approval: Approval, caller: Caller) -> bool:
    if caller.role in approval.approver_roles:
        return True
    if caller.user_id is not None and caller.user_id in approval.approver_user_ids:
        return True
    email = caller_email(caller)
    return bool(email) and email in approval.approver_emails


def decide_refusal(approval: Approval, caller: Caller | None) -> str | None:
    """Why this caller may not decide this approval, or None when it may."""
    if caller is None or caller.tenant_id != approval.tenant_id:
        return "You may not decide approvals of another tenant."
    if not approval.allow_self_approval and started_execution(approval.execution, caller):
        return ("You started this execution, so someone else must decide this approval (four-eyes rule): "
                "ask another approver to approve or reject it.")
    if caller.role == Role.ADMIN:
        return None
    if not caller.can_decide:
        return (f"Your role ({caller.role}) may only read approvals; deciding needs the admin or approver role "
                "or being named on the approval.")
    if is_named_approver(approval, caller):
        return None
    return f"You are not an approver of this approval; it may be decided by {describe_approvers(approval)}."


def can_decide(approval: Approval, caller: Caller | None) -> bool:
    return approval.is_pending and decide_refusal(approval, caller) is None


def _json_list_has(field_name: str, value: str | int) -> Q:
    """Rows whose JSON list ``field_name`` holds ``value``."""
    if connection.features.supports_json_field_contains:
        return Q(**{f"{field_name}__contains": [value]})
    # SQLite has no JSON containment: match the element in the stored JSON text instead.
    if isinstance(value, int):
        return Q(**{f"{field_name}__regex": rf"[\[ ,]{value}[,\]]"})
    return Q(**{f"{field_name}__icontains": json.dumps(value)})


def decidable_filter(caller: Caller | None) -> Q:
    """A filter for the approvals this caller may decide, whatever their status (see ``decide_refusal``)."""
    if caller is None or not caller.can_decide:
        return Q(pk__in=[])
    if caller.role == Role.ADMIN:
        named = Q()
    else:
        named = _json_list_has("approver_roles", caller.role)
        if caller.user_id is not None:
            named |= _json_list_has("approver_user_ids", caller.user_id)
            email = caller_email(caller)
            if email:
                named |= _json_list_has("approver_emails", email)
    # The four-eyes rule reads the starter copied onto the approval: a join with the executions
    # inside this OR would make the database read every execution the caller ever started.
    four_eyes = Q()
    if caller.user_id is not None:
        four_eyes = Q(allow_self_approval=True) | ~Q(execution_started_by_user_id=caller.user_id)
    elif caller.api_key is not None:
        four_eyes = Q(allow_self_approval=True) | ~Q(execution_started_by_key_id=caller.api_key.pk)
    return named & four_eyes & Q(tenant_id=caller.tenant_id)


def decidable_by(queryset: QuerySet, caller: Caller | None) -> QuerySet:
    """The pending approvals of ``queryset`` that this caller may decide now."""
    return queryset.filter(decidable_filter(caller), status=ApprovalStatus.PENDING)


# -- deciding ----------------------------------------------------------------------------------------
def _coerce(form_field: dict, raw: Any) -> Any:
    """One form value in its field's type; ValueError says what to send instead."""
    kind = form_field["type"]
    if kind == "boolean":
        return _coerce_boolean(raw)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind == "number":
        return parse_number(raw)  # finite only: JSON has no inf or NaN, so the vote could not be stored
    if isinstance(raw, dict | list):
        raise ValueError("Must be text.")
    text = str(raw).strip()
    if kind == "choice" and text not in form_field["choices"]:
        raise ValueError(f"Must be one of: {', '.join(form_field['choices'])}.")
    return text


def _coerce_boolean(raw: Any) -> bool:
    """A checkbox: left out or empty is unchecked."""
    if raw is None or raw == "":
        return False
    truth = parse_truth(raw)
    if truth is None:
        raise ValueError("Must be true or false.")
    return truth


def clean_form_values(approval: Approval, decision: str, comment: str, form_values: Any) -> dict:
    """The decision's form values, typed; ValidationError names every field to fix.

    A required field must be filled to approve (a required boolean must be true); rejecting needs
    only the comment, when the approval requires one.
    """
    errors: dict[str, Any] = {}
    if approval.require_comment and not comment:
        errors["comment"] = ["A comment is required to decide this approval; say why you approve or reject."]
    if form_values is None:
        form_values = {}
    if not isinstance(form_values, dict):
        raise ValidationError({"form_values": ["Must be an object of form field names and values."]})
    fields = {item["name"]: item for item in approval.form}
    field_errors: dict[str, list[str]] = {}
    for name in form_values:
        if name not in fields:
            known = ", ".join(fields) or "no fields"
            field_errors[str(name)] = [f"Unknown field; this approval's form has {known}."]
    cleaned: dict[str, Any] = {}
    for name, form_field in fields.items():
        try:
            value = _coerce(form_field, form_values.get(name))
        except ValueError as exc:
            field_errors[name] = [str(exc)]
            continue
        if form_field["required"] and decision == Decision.APPROVE and value in (None, False):
            field_errors[name] = ["Must be checked to approve." if form_field["type"] == "boolean"
                                  else "This field is required to approve."]
        cleaned[name] = value
    if field_errors:
        errors["form_values"] = field_errors
    if errors:
        raise ValidationError(errors)
    return cleaned


def _lock(approval_id) -> Approval:
    """Lock the approval's execution, then the approval (the engine's lock order)."""
    execution_id = Approval.objects.filter(pk=approval_id).values_list("execution_id", flat=True).first()
    list(Execution.objects.select_for_update(no_key=True).filter(pk=execution_id).values_list("pk", flat=True))
    return (Approval.objects.select_for_update(of=("self",))
            .select_related("execution", "execution__workflow", "task_run").get(pk=approval_id))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "an unknown time"


def not_pending_message(approval: Approval) -> str:
    if approval.status == ApprovalStatus.EXPIRED:
        return f"This approval expired at {_when(approval.expires_at or approval.decided_at)} and can no longer be decided."
    if approval.status == ApprovalStatus.CANCELLED:
        return "This approval was cancelled (its execution ended or was cancelled) and can no longer be decided."
    who = approval.decided_by_label or "someone"
    return f"This approval was already {approval.status} by {who} at {_when(approval.decided_at)}; a decision is final."


def _voter(caller: Caller) -> dict[str, Any]:
    """The vote fields that identify a caller: the user, else the API key, else the label."""
    if caller.user_id is not None:
        return {"user_id": caller.user_id}
    if caller.api_key is not None:
        return {"api_key_id": caller.api_key.pk}
    return {"label": caller.label}


def has_voted(approval: Approval, caller: Caller, votes: list[ApprovalDecision] | None = None) -> bool:
    """Whether the caller voted on the approval; pass its ``votes`` when already loaded to save the query."""
    voter = _voter(caller)
    if votes is None:
        return ApprovalDecision.objects.filter(approval=approval, **voter).exists()
    return any(all(getattr(vote, name) == value for name, value in voter.items()) for vote in votes)


def decide_approval(approval: Approval, caller: Caller, decision: str, comment: str = "",
                    form_values: dict | None = None) -> Approval:
    """Record the caller's approve or reject vote and, when it settles the approval, resume the execution.

    Any reject rejects; ``required_approvals`` distinct approvers approve. Exactly one of several
    concurrent deciders wins (the others get Conflict, 409). PermissionDenied (403) when the
    caller may not decide, ValidationError (400) for a missing comment or form field. The
    execution's next step is enqueued after commit.
    """
    if decision not in Decision.values:
        raise ValidationError({"decision": [f"Use approve or reject, not {decision!r}."]})
    comment = (comment or "").strip()
    now = timezone.now()
    late: Conflict | None = None
    with transaction.atomic():
        locked = _lock(approval.pk)
        refusal = decide_refusal(locked, caller)
        if refusal is not None:
            raise PermissionDenied(refusal)
        if not locked.is_pending:
            raise Conflict(not_pending_message(locked))
        if _settle_stale(locked, now):
            # Settled as the sweeper would have; that is kept, and the decision refused.
            late = Conflict(not_pending_message(locked))
        else:
            if has_voted(locked, caller):
                raise Conflict(f"You already voted on this approval; it needs {locked.approvals_needed} more "
                               "approval(s) from other approvers.")
            values = clean_form_values(locked, decision, comment, form_values)
            _vote(locked, caller, decision, comment, values, now)
    if late is not None:
        raise late
    return locked


@dataclass(frozen=True)
class BulkOutcome:
    """What became of one approval of a bulk decision: ``decided`` or not, and why not."""

    approval_id: str
    title: str
    decided: bool
    reason: str = ""


def needs_input(approval: Approval) -> bool:
    """Whether deciding the approval takes more than a button: a form to fill or a required comment."""
    return bool(approval.form) or approval.require_comment


def decide_approvals(caller: Caller, approval_ids: list, decision: str) -> list[BulkOutcome]:
    """Decide several approvals the same way, one ``decide_approval`` each; answers an outcome per id.

    Each approval is decided on its own (its own transaction and locks) with every rule of a single
    decision: who may decide, four-eyes, a settled or expired approval. One that needs a form or a
    comment is left for its own page. Ids are taken in the order given, duplicates once.
    """
    if decision not in Decision.values:
        raise ValidationError({"decision": [f"Use approve or reject, not {decision!r}."]})
    ids = list(dict.fromkeys(str(approval_id) for approval_id in approval_ids))
    if not ids:
        raise ValidationError({"approvals": ["Select at least one approval."]})
    if len(ids) > BULK_DECISION_LIMIT:
        raise ValidationError({"approvals": [f"Select at most {BULK_DECISION_LIMIT} approvals at a time."]})
    outcomes: list[BulkOutcome] = []
    for approval_id in ids:
        try:
            approval = get_approval_for(caller, approval_id)
        except NotFound:
            outcomes.append(BulkOutcome(approval_id, approval_id, False, APPROVAL_NOT_FOUND))
            continue
        title = approval.title or str(approval.pk)
        if needs_input(approval):
            outcomes.append(BulkOutcome(str(approval.pk), title, False,
                                        "It asks for a form or a comment; open it to decide."))
            continue
        try:
            decide_approval(approval, caller, decision)
        except (PermissionDenied, Conflict) as exc:
            outcomes.append(BulkOutcome(str(approval.pk), title, False, str(exc.detail)))
        except ValidationError as exc:
            outcomes.append(BulkOutcome(str(approval.pk), title, False, flatten_errors(exc.detail)[0]["message"]))
        else:
            outcomes.append(BulkOutcome(str(approval.pk), title, True))
    return outcomes


def _sentence(text: str) -> str:
    """End a log line with one full stop (comments often bring their own)."""
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _vote(approval: Approval, caller: Caller, decision: str, comment: str, values: dict, now: datetime) -> None:
    user = caller.user if caller.user_id is not None else None
    try:
        with transaction.atomic():
            ApprovalDecision.objects.create(approval=approval, decision=decision, user=user, api_key=caller.api_key,
                                            label=caller.label, comment=comment, form_values=values, created_at=now)
    except IntegrityError:
        raise Conflict("You already voted on this approval.") from None
    said = f": {comment}" if comment else ""
    if decision == Decision.REJECT:
        _conclude(approval, ApprovalStatus.REJECTED, now, caller=caller, comment=comment, values=values)
        output = _output(approval, "rejected")
        if approval.on_reject == "continue":
            _complete(approval, output=output, log_message=f"Approval {approval.title!r} rejected by {caller.label}"
                                                           f"{said}; continuing (on_reject: continue).")
        else:
            _complete(approval, output=output, failure=f"Rejected by {caller.label}{said}",
                      log_message=_sentence(f"Approval {approval.title!r} rejected by {caller.label}{said}"))
        return
    count = approval.approvals_count + 1
    if count < approval.required_approvals:
        Approval.objects.filter(pk=approval.pk, status=ApprovalStatus.PENDING).update(approvals_count=count)
        approval.approvals_count = count
        logs = LogBuffer(approval.execution_id, approval.task_run_id)
        logs.add(LogLevel.INFO, f"Approval {approval.title!r}: approved by {caller.label}{said} "
                                f"({count} of {approval.required_approvals}).")
        logs.flush()
        return
    votes = list(approval.decisions.order_by("created_at", "id"))
    merged: dict = {}
    # With several approvers, later votes' form values win; a field left empty keeps an earlier value.
    for vote in votes:
        if vote.decision == Decision.APPROVE:
            merged.update({k: v for k, v in vote.form_values.items() if v is not None or k not in merged})
    _conclude(approval, ApprovalStatus.APPROVED, now, caller=caller, comment=comment, values=merged, count=count)
    _complete(approval, output=_output(approval, "approved", votes=votes),
              log_message=_sentence(f"Approval {approval.title!r} approved by {caller.label}{said}"))


def _conclude(approval: Approval, status: str, now: datetime, *, caller: Caller | None = None, comment: str = "",
              values: dict | None = None, count: int | None = None, label: str | None = None) -> None:
    fields: dict[str, Any] = {"status": status, "decided_at": now, "comment": comment, "form_values": values or {},
                              "decided_by_label": label if label is not None else (caller.label if caller else "")}
    if caller is not None:
        fields["decided_by"] = caller.user if caller.user_id is not None else None
        fields["decided_by_key"] = caller.api_key
    if count is not None:
        fields["approvals_count"] = count
    changed = Approval.objects.filter(pk=approval.pk, status=ApprovalStatus.PENDING).update(**fields)
    if not changed:  # impossible while the row is locked; refuse rather than resume twice
        raise Conflict(not_pending_message(Approval.objects.get(pk=approval.pk)))
    for name, value in fields.items():
        setattr(approval, name, value)
    if status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED):
        feature_event.send(name="approval.decided", execution=approval.execution, data=approval_event_data(approval))
    if status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED):
        execution_reviewed.send(
            execution_id=approval.execution_id, at=now, label=fields["decided_by_label"],
            user_id=caller.user_id if caller is not None else None,
            key_name=caller.api_key.name if caller is not None and caller.api_key is not None else None,
            key_owner_id=caller.api_key.created_by_id if caller is not None and caller.api_key is not None else None)


def _output(approval: Approval, decision: str, *, expired: bool = False,
            votes: list[ApprovalDecision] | None = None) -> dict:
    """The approval task's output; ``votes`` are the approval's, oldest first, when already loaded."""
    if votes is None:
        votes = list(approval.decisions.order_by("created_at", "id"))
    return {
        "decision": decision,
        "approval_id": str(approval.id),
        "decided_by": approval.decided_by_label or None,
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
        "comment": approval.comment,
        "form": approval.form_values,
        "approved_by": [vote.label for vote in votes if vote.decision == Decision.APPROVE],
        "expired": expired,
    }


def _complete(approval: Approval, *, output: dict, failure: str | None = None, log_message: str) -> None:
    if not engine.complete_waiting_task(approval.task_run_id, output=output, failure=failure, log_message=log_message):
        # The task no longer waits (its execution was cancelled meanwhile): undo the decision.
        raise Conflict("The execution no longer waits for this approval; it was cancelled or has ended.")


# -- time-outs and cancellation ---------------------------------------------------------------------------
def _expire(approval: Approval, now: datetime) -> None:
    """Mark a locked, pending approval expired and apply its time-out outcome to the task."""
    _conclude(approval, ApprovalStatus.EXPIRED, now, label="time-out")
    outcome = approval.timeout_outcome
    base = f"Approval {approval.title!r} expired at {_when(approval.expires_at)} without a decision"
    if outcome == TimeoutOutcome.APPROVE:
        _complete(approval, output=_output(approval, "approved", expired=True),
                  log_message=f"{base}; approved by its time-out rule (on_timeout: approve).")
    elif outcome == TimeoutOutcome.REJECT and approval.on_reject == "continue":
        _complete(approval, output=_output(approval, "rejected", expired=True),
                  log_message=f"{base}; rejected by its time-out rule, continuing (on_reject: continue).")
    elif outcome == TimeoutOutcome.REJECT:
        _complete(approval, output=_output(approval, "rejected", expired=True),
                  failure=f"{base}; rejected by its time-out rule (on_timeout: reject).",
                  log_message=f"{base}; rejected by its time-out rule (on_timeout: reject).")
    else:
        _complete(approval, output=_output(approval, "expired", expired=True),
                  failure=f"{base} (on_timeout: fail).", log_message=f"{base}; failing the task (on_timeout: fail).")


def _settle_stale(approval: Approval, now: datetime) -> bool:
    """Settle a locked, pending approval that can no longer be decided; False when it still can.

    Its execution's end comes first: an ended or cancelling execution waits for nothing, so its
    approval is cancelled, never expired (the time-out outcome would complete a task that no
    longer waits). Then the time-out: past it, the approval expires with its outcome.
    """
    if approval.execution.is_terminal or approval.execution.cancel_requested:
        _conclude(approval, ApprovalStatus.CANCELLED, now)
        return True
    if approval.expires_at is not None and approval.expires_at <= now:
        _expire(approval, now)
        return True
    return False


def expire_approval(approval_id, now: datetime | None = None) -> bool:
    """Expire one overdue approval and apply its time-out outcome; False when it is no longer due."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            locked = _lock(approval_id)
            if not locked.is_pending or locked.expires_at is None or locked.expires_at > now:
                return False
            _settle_stale(locked, now)
    except Conflict:
        logger.warning("approval %s expired but its task no longer waits", approval_id)
        return False
    return locked.status == ApprovalStatus.EXPIRED


def expire_overdue_approvals(now: datetime) -> int:
    """The sweeper's pass: expire pending approvals past their time-out; answers how many."""
    due = (Approval.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now)
           .order_by("expires_at").values_list("id", flat=True)[:EXPIRE_BATCH])
    return sum(1 for approval_id in list(due) if expire_approval(approval_id, now))


def cancel_pending_approvals(execution: Execution, **kwargs) -> int:
    """End the pending approvals of an execution that ended or is being cancelled.

    The receiver of the engine's ``execution_finished`` and ``cancel_requested``, in their transaction.
    """
    return Approval.objects.filter(execution=execution, status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.CANCELLED, decided_at=timezone.now())


# -- signed links ------------------------------------------------------------------------------------------
def open_signed_link(token: str) -> tuple[Approval, Caller, str]:
    """The approval, the named approver (as a Caller) and the nonce of a signed link.

    Raises ``links.LinkError`` (with a message for the page) when the link is tampered with,
    expired, already used, or its approver is no longer a member of the tenant.
    """
    if not settings.FLOWGATE_APPROVAL_SIGNED_LINKS:
        raise links.LinkInvalid("Approval links are turned off on this server; sign in to decide from your inbox.")
    claim = links.read_token(token)
    approval = (Approval.objects.select_related("execution", "execution__workflow", "task_run", "tenant")
                .filter(pk=claim.approval_id).first())
    membership = None
    if approval is not None:
        membership = (Membership.objects.select_related("user", "tenant")
                      .filter(tenant_id=approval.tenant_id, user_id=claim.user_id, user__is_active=True).first())
    if approval is None or membership is None:
        raise links.LinkInvalid("This link no longer leads to an approval you may decide. Sign in to see your approvals.")
    if UsedApprovalLink.objects.filter(nonce=claim.nonce).exists():
        raise links.LinkUsed("This link has already been used; each link decides once. Sign in to see the approval.")
    return approval, Caller(tenant=membership.tenant, role=membership.role, user=membership.user), claim.nonce


def decide_with_signed_link(token: str, decision: str, comment: str = "", form_values: dict | None = None) -> Approval:
    """Decide as the link's approver, once: the link's nonce is recorded with the decision."""
    approval, caller, nonce = open_signed_link(token)
    return decide_opened_link(approval, caller, nonce, decision, comment=comment, form_values=form_values)


def decide_opened_link(approval: Approval, caller: Caller, nonce: str, decision: str, comment: str = "",
                       form_values: dict | None = None) -> Approval:
    """Decide with a link ``open_signed_link`` has just checked (its answer, passed on), once.

    The link page has opened the link already; opening it again would only repeat its queries.
    """
    with transaction.atomic():
        decided = decide_approval(approval, caller, decision, comment=comment, form_values=form_values)
        try:
            # After the decision's locks (execution, approval), in the same transaction: a second
            # POST of the same link waits for the first and then finds the nonce taken.
            with transaction.atomic():
                UsedApprovalLink.objects.create(nonce=nonce, approval=approval, user=caller.user)
        except IntegrityError:
            raise links.LinkUsed("This link has already been used; each link decides once.") from None
    return decided


