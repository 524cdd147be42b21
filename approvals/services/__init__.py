"""Approvals: requesting, deciding, expiring, cancelling them and telling the approvers.

Every change to an Approval happens in this package, whoever asks: the engine (an approval
task), the native API, the FlowSynx surface, the approvers' web pages and signed links, and the
sweeper. One module per concern:

* ``requesting``: an approval task's config (approvers, form, flags) and the Approval it creates;
* ``decisions``: who may decide, deciding, time-outs, cancellation and signed links;
* ``notifications``: who is emailed about a pending approval, and sending it;
* ``archive``: what the retention purge archives of an execution's approvals.

Callers import the package (``from approvals import services``); the names below are its API.
"""

from approvals.services.archive import approvals_of
from approvals.services.decisions import (
    APPROVAL_NOT_FOUND,
    BULK_DECISION_LIMIT,
    EXPIRE_BATCH,
    BulkOutcome,
    caller_email,
    can_decide,
    cancel_pending_approvals,
    clean_form_values,
    decidable_by,
    decidable_filter,
    decide_approval,
    decide_approvals,
    decide_opened_link,
    decide_refusal,
    decide_with_signed_link,
    expire_approval,
    expire_overdue_approvals,
    get_approval_for,
    has_voted,
    is_named_approver,
    needs_input,
    not_pending_message,
    open_signed_link,
    started_execution,
)
from approvals.services.notifications import Recipient, approval_recipients, notify_approvers
from approvals.services.requesting import (
    DEFAULT_APPROVER_ROLES,
    FORM_FIELD_TYPES,
    NOTIFY_APPROVERS,
    ON_REJECT_CHOICES,
    ApprovalConfigError,
    Approvers,
    describe_approvers,
    normalize_form,
    request_approval,
    resolve_approvers,
)

__all__ = [
    # archive
    "approvals_of",
    # requesting
    "DEFAULT_APPROVER_ROLES",
    "FORM_FIELD_TYPES",
    "NOTIFY_APPROVERS",
    "ON_REJECT_CHOICES",
    "ApprovalConfigError",
    "Approvers",
    "describe_approvers",
    "normalize_form",
    "request_approval",
    "resolve_approvers",
    # decisions
    "APPROVAL_NOT_FOUND",
    "BULK_DECISION_LIMIT",
    "EXPIRE_BATCH",
    "BulkOutcome",
    "caller_email",
    "can_decide",
    "cancel_pending_approvals",
    "clean_form_values",
    "decidable_by",
    "decidable_filter",
    "decide_approval",
    "decide_approvals",
    "decide_opened_link",
    "decide_refusal",
    "decide_with_signed_link",
    "expire_approval",
    "expire_overdue_approvals",
    "get_approval_for",
    "has_voted",
    "is_named_approver",
    "needs_input",
    "not_pending_message",
    "open_signed_link",
    "started_execution",
    # notifications
    "Recipient",
    "approval_recipients",
    "notify_approvers",
]
