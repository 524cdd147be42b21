"""The approvers' web pages: inbox, approval page, execution status, and signed links.

Plain server-rendered pages over the same services as the API: every decision goes through
``services.decide_approval`` (or ``decide_opened_link``), every read through the access
helpers, so tenant scoping and the rules on who may decide are the API's.
"""

from __future__ import annotations

import json
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, F, OuterRef, Q
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.authentication import caller_for_user
from approvals import links, services
from approvals.forms import DecisionForm, InboxFilterForm
from approvals.models import Approval, ApprovalDecision, ApprovalStatus
from config.counting import CappedPaginator, capped_count
from config.errors import Conflict
from config.formats import pretty_json
from executions.models import Execution, Log, TaskRunStatus
from executions.services import get_execution_for
from workflows.models import Workflow

INBOX_PAGE_SIZE = 25
# The inbox's workflow filter offers this many workflows, by name; past that, search by the workflow's name.
WORKFLOW_CHOICES_LIMIT = 200
INBOX_SORTS = {
    "newest": (F("requested_at").desc(), F("id").desc()),
    "oldest": (F("requested_at").asc(), F("id").asc()),
    "expiring": (F("expires_at").asc(nulls_last=True), F("requested_at").desc(), F("id").desc()),
}
HEX_ID = re.compile(r"^[0-9a-f-]{4,36}$")
# The execution page shows the latest lines; the API pages through all of them.
EXECUTION_PAGE_LOGS = 200


def _caller(request):
    return caller_for_user(request.user, request) if request.user.is_authenticated else None


def _no_tenant(request):
    return render(request, "approvals/no_tenant.html", status=403)


def _approval_or_404(caller, approval_id) -> Approval:
    try:
        return services.get_approval_for(caller, approval_id)
    except NotFound:
        raise Http404(services.APPROVAL_NOT_FOUND) from None


def _search(rows, text: str):
    """Approvals whose title or workflow name holds ``text``, or whose execution id starts with it."""
    if not text:
        return rows
    match = Q(title__icontains=text) | Q(execution__workflow__name__icontains=text)
    if HEX_ID.match(text.lower()):
        match |= Q(execution__id__istartswith=text.lower())
    return rows.filter(match)


@login_required
@require_GET
def inbox(request):
    """Pending approvals the user may decide, newest first; ``?show=decided`` for settled ones.

    ``q`` searches, ``workflow`` filters and ``sort`` (newest, oldest, expiring) orders the list.
    """
    caller = _caller(request)
    if caller is None:
        return _no_tenant(request)
    show = "decided" if request.GET.get("show") == "decided" else "pending"
    workflows = list(Workflow.objects.for_caller(caller).order_by("name", "id")
                     .values_list("id", "name")[:WORKFLOW_CHOICES_LIMIT])
    filters = InboxFilterForm(request.GET)
    valid = filters.is_valid()
    wanted = filters.cleaned_data if valid else {}
    visible = Approval.objects.for_caller(caller).select_related("execution", "execution__workflow")
    pending = services.decidable_by(visible, caller)
    if show == "pending":
        rows = pending
    else:
        voted = ApprovalDecision.objects.filter(approval=OuterRef("pk"), user_id=caller.user_id)
        rows = visible.exclude(status=ApprovalStatus.PENDING).filter(
            services.decidable_filter(caller) | Exists(voted))
    rows = _search(rows, wanted.get("q", ""))
    if wanted.get("workflow"):
        rows = rows.filter(execution__workflow_id=wanted["workflow"])
    if not valid:
        rows = rows.none()
    sort = wanted.get("sort") or "newest"
    # Counts stop at config.counting.COUNT_CAP ("10000+"): past that the pages are not offered.
    page = CappedPaginator(rows.order_by(*INBOX_SORTS[sort]), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = bool(wanted.get("q") or wanted.get("workflow"))
    # The unfiltered pending tab's paginator has counted the pending approvals already.
    if show == "pending" and valid and not filtered:
        pending_count, pending_capped = page.paginator.count, page.paginator.count_capped
    else:
        pending_count, pending_capped = capped_count(pending)
    query = {key: value for key, value in (("q", wanted.get("q")), ("workflow", wanted.get("workflow")),
                                           ("sort", sort if sort != "newest" else None)) if value}
    return render(request, "approvals/inbox.html", {
        "show": show, "page": page, "pending_count": pending_count, "pending_capped": pending_capped,
        "tenant": caller.tenant, "filters": filters, "workflows": workflows, "filtered": filtered,
        "selected_workflow": str(wanted.get("workflow") or ""), "sort": sort,
        "query": urlencode(query), "quick": show == "pending",
    }, status=200 if valid else 400)


@login_required
@require_POST
def bulk_approve(request):
    """The inbox's "Approve selected": one decision per ticked approval, each with every rule checked."""
    caller = _caller(request)
    if caller is None:
        return _no_tenant(request)
    # Back to the list as it was shown: only the inbox's own parameters are carried over.
    shown = QueryDict(request.POST.get("back", ""))
    kept = {key: shown[key] for key in ("show", "q", "workflow", "sort") if shown.get(key)}
    back = reverse("approvals:inbox") + (f"?{urlencode(kept)}" if kept else "")
    try:
        outcomes = services.decide_approvals(caller, request.POST.getlist("approval"), "approve")
    except ValidationError as exc:
        messages.warning(request, " ".join(str(m) for messages_ in exc.detail.values() for m in messages_))
        return redirect(back)
    approved = [outcome for outcome in outcomes if outcome.decided]
    if approved:
        messages.success(request, f"Approved {len(approved)}: " + ", ".join(o.title for o in approved) + ".")
    for outcome in outcomes:
        if not outcome.decided:
            messages.warning(request, f"Not approved: {outcome.title}. {outcome.reason}")
    return redirect(back)


def _value_rows(value) -> list[dict] | None:
    """An object as rows of key and value (nested values pretty-printed); None for anything else."""
    if not isinstance(value, dict) or not value:
        return None
    rows = []
    # By name, as the pretty-printed JSON is (the database keeps no key order of its own).
    for key, item in sorted(value.items()):
        if isinstance(item, (dict, list)):
            rows.append({"key": key, "pretty": pretty_json(item)})
        elif item is None or isinstance(item, bool):
            rows.append({"key": key, "text": json.dumps(item), "literal": True})
        else:
            rows.append({"key": key, "text": str(item)})
    return rows


def _value_context(prefix: str, value) -> dict:
    return {f"{prefix}_rows": _value_rows(value), f"{prefix}_json": pretty_json(value)}


def _detail_context(approval: Approval, caller, form: DecisionForm | None = None) -> dict:
    execution = approval.execution
    task_runs = list(execution.task_runs.all())
    refusal = services.decide_refusal(approval, caller) if approval.is_pending else None
    decisions = list(approval.decisions.order_by("created_at", "id"))
    form = form or DecisionForm(approval)
    form.describe_errors()
    return {
        "approval": approval,
        "execution": execution,
        "workflow": execution.workflow,
        **_value_context("input", execution.input),
        "outputs": [(tr, pretty_json(tr.output)) for tr in task_runs
                    if tr.status == TaskRunStatus.SUCCEEDED and tr.pk != approval.task_run_id],
        "decisions": decisions,
        "form": form,
        "can_decide": approval.is_pending and refusal is None,
        "refusal": refusal,
        "voted": caller is not None and approval.is_pending and services.has_voted(approval, caller, decisions),
        "form_values_rows": _value_rows(approval.form_values),
        "execution_url": reverse("approvals:execution", kwargs={"execution_id": execution.pk}),
        "execution_api_url": f"/api/v1/executions/{execution.pk}/",
    }


def _outcome_message(approval: Approval) -> str:
    if approval.is_pending:
        return (f"Your approval is recorded; {approval.approvals_needed} more approval(s) from other approvers "
                "are needed.")
    if approval.status == ApprovalStatus.APPROVED:
        return "You approved it; the execution continues."
    return "You rejected it; the execution " + (
        "continues on its rejection path." if approval.on_reject == "continue" else "stops with a failure.")


@login_required
@require_http_methods(["GET", "POST"])
def detail(request, approval_id):
    """The approval page; its Approve / Reject buttons post back to it.

    A decision redirects back here (Post/Redirect/Get); a refused one is shown at this same
    address, its errors summed up at the top of the form.
    """
    caller = _caller(request)
    if caller is None:
        return _no_tenant(request)
    approval = _approval_or_404(caller, approval_id)
    if request.method == "GET":
        return render(request, "approvals/detail.html", _detail_context(approval, caller))
    form = DecisionForm(approval, request.POST)
    decision = request.POST.get("decision", "")
    status = 400
    if form.is_valid():
        try:
            approval = services.decide_approval(approval, caller, decision, comment=form.cleaned_data["comment"],
                                                form_values=form.form_values())
        except Conflict as exc:
            messages.warning(request, str(exc.detail))
            return redirect("approvals:detail", approval_id=approval.pk)
        except PermissionDenied as exc:
            messages.error(request, str(exc.detail))
            status = 403
        except ValidationError as exc:
            form.add_service_errors(exc.detail)
        else:
            # A rejection is no success: it is told in the neutral style, an approval in the green one.
            tell = messages.success if approval.status != ApprovalStatus.REJECTED else messages.info
            tell(request, _outcome_message(approval))
            return redirect("approvals:detail", approval_id=approval.pk)
    # decide_approval works on its own locked copy: ``approval`` is still the one read above.
    return render(request, "approvals/detail.html", _detail_context(approval, caller, form), status=status)


@login_required
@require_http_methods(["GET", "POST"])
def decide(request, approval_id):
    """The approval page's former form address: a POST decides as the page does, a GET goes to the page."""
    if request.method == "GET":
        return redirect("approvals:detail", approval_id=approval_id)
    return detail(request, approval_id)


@login_required
@require_GET
def execution_status(request, execution_id):
    """An execution's status, task runs and latest logs (follows the live stream while it runs)."""
    caller = _caller(request)
    if caller is None:
        return _no_tenant(request)
    try:
        execution = get_execution_for(caller, execution_id, Execution.objects.select_related("workflow"))
    except NotFound:
        raise Http404("Execution not found.") from None
    logs = list(Log.objects.filter(execution=execution).order_by("-timestamp", "-id")[:EXECUTION_PAGE_LOGS])
    logs.reverse()
    return render(request, "approvals/execution.html", {
        "execution": execution,
        "workflow": execution.workflow,
        "task_runs": list(execution.task_runs.all()),
        "logs": logs,
        "approvals": list(Approval.objects.filter(execution=execution).order_by("requested_at", "id")),
        "return_value_json": pretty_json(execution.return_value) if execution.return_value is not None else "",
        "execution_api_url": f"/api/v1/executions/{execution.pk}/",
        # An unfinished execution's page follows its live stream from the last line shown.
        "live": not execution.is_terminal,
        "events_url": f"/api/v1/executions/{execution.pk}/events",
        "last_event_id": logs[-1].id if logs else 0,
    })


def _link_error(request, error: links.LinkError):
    return render(request, "approvals/link_error.html", {"error": error}, status=error.status)


@never_cache
@require_http_methods(["GET", "POST"])
def signed_link(request, token):
    """A signed link from an approval email: GET shows the approval and asks; only the POST decides."""
    try:
        approval, caller, nonce = services.open_signed_link(token)
    except links.LinkError as exc:
        return _link_error(request, exc)
    context = {"approval": approval, "execution": approval.execution, "workflow": approval.execution.workflow,
               "approver": caller.user, **_value_context("input", approval.execution.input), "token": token}
    if not approval.is_pending:
        return render(request, "approvals/link.html", {**context, "notice": services.not_pending_message(approval)},
                      status=409)
    refusal = services.decide_refusal(approval, caller)
    if refusal is not None:
        return render(request, "approvals/link.html", {**context, "notice": refusal}, status=403)
    if request.method == "GET":
        return render(request, "approvals/link.html", {**context, "form": DecisionForm(approval)})

    form = DecisionForm(approval, request.POST)
    decision = request.POST.get("decision", "")
    if form.is_valid():
        try:
            decided = services.decide_opened_link(approval, caller, nonce, decision,
                                                  comment=form.cleaned_data["comment"], form_values=form.form_values())
        except links.LinkError as exc:
            return _link_error(request, exc)
        except Conflict as exc:
            return render(request, "approvals/link.html", {**context, "notice": str(exc.detail)}, status=409)
        except PermissionDenied as exc:
            return render(request, "approvals/link.html", {**context, "notice": str(exc.detail)}, status=403)
        except ValidationError as exc:
            form.add_service_errors(exc.detail)
        else:
            return render(request, "approvals/link.html", {
                **context, "approval": decided, "done": _outcome_message(decided)})
    form.describe_errors()
    return render(request, "approvals/link.html", {**context, "form": form}, status=400)

