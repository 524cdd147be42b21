"""The operators' execution page (under /admin/, staff only): graph, timeline, logs, outputs and controls.

``ExecutionAdmin`` routes its change page and these actions here; every change goes through
``executions.services``. While the execution is unfinished the page follows its live stream
(``events``, the API's Server-Sent Events for a signed-in operator) and fetches ``live`` (an HTML
fragment of the parts that change) when something happens; without a stream it fetches ``live``
every two seconds (``static/flowgate-console.js``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from rest_framework.exceptions import APIException, ValidationError

from accounts.caller import Caller, actor_words
from accounts.models import Role
from config.admin_views import error_messages
from config.formats import pretty_json
from executions import services
from executions.api.streams import parse_last_event_id, stream_response
from executions.models import Execution, Log, LogLevel, RetryPolicy, TaskRun, TaskRunStatus
from executions.plugins import page_links
from workflows.graph import STATUS_COLOURS, render_svg

LEGEND = [(status, colours[0], colours[1]) for status, colours in STATUS_COLOURS.items() if status != "defined"]
# Newest log lines shown on the page (and in each refresh); the logs list has the rest.
LOG_LIMIT = 300


def operator_caller(request: HttpRequest, execution: Execution) -> Caller:
    """The signed-in operator as the caller the services name in the execution's log."""
    return Caller(tenant=execution.tenant, role=Role.ADMIN, user=request.user)


def short_id(value) -> str:
    return str(value)[:8]


def human_duration(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 120:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _timeline(execution: Execution, runs: list[TaskRun], now) -> list[dict]:
    """Each task run with its bar's offset and width (percent of the execution's span so far)."""
    starts = [tr.started_at for tr in runs if tr.started_at]
    begin = execution.started_at or (min(starts) if starts else None)
    ends = [tr.ended_at for tr in runs if tr.ended_at]
    end = execution.ended_at or (now if not execution.is_terminal else max(ends, default=begin))
    span = (end - begin).total_seconds() if begin and end else 0.0
    span = max(span, 0.001)
    rows = []
    for tr in runs:
        row: dict[str, Any] = {"run": tr, "offset": 0.0, "width": 0.0, "duration": ""}
        if tr.started_at and begin:
            finish = tr.ended_at or (now if tr.status in (TaskRunStatus.RUNNING, TaskRunStatus.WAITING) else tr.started_at)
            row["offset"] = min(max((tr.started_at - begin).total_seconds() / span * 100, 0.0), 100.0)
            row["width"] = max(min((finish - tr.started_at).total_seconds() / span * 100, 100.0 - row["offset"]), 0.5)
            row["duration"] = human_duration(finish - tr.started_at)
        row["output"] = pretty_json(tr.output) if tr.output is not None else ""
        rows.append(row)
    return rows


def _log_filters(request: HttpRequest, names: list[str]) -> dict[str, str]:
    task = request.GET.get("task", "")
    level = request.GET.get("level", "")
    return {"task": task if task in names else "", "level": level if level in LogLevel.values else ""}


def live_context(request: HttpRequest, execution: Execution) -> dict:
    """What the page shows that changes while the execution runs (its refresh renders only this)."""
    now = timezone.now()
    runs = list(execution.task_runs.all())
    names = [tr.name for tr in runs]
    filters = _log_filters(request, names)
    logs = Log.objects.filter(execution=execution).select_related("task_run").order_by("-timestamp", "-id")
    if filters["task"]:
        logs = logs.filter(task_run__name=filters["task"])
    if filters["level"]:
        logs = logs.filter(level=filters["level"])
    logs = list(logs[: LOG_LIMIT + 1])
    definition = execution.get_definition()
    return {
        "execution": execution,
        "finished": execution.is_terminal,
        "graph": render_svg(definition, {tr.name: tr.status for tr in runs},
                            title=f"Tasks of execution {short_id(execution.id)} and their status"),
        "timeline": _timeline(execution, runs, now),
        "duration": human_duration(((execution.ended_at or now) - execution.started_at)
                                   if execution.started_at else None),
        "logs": logs[:LOG_LIMIT],
        "logs_cut": len(logs) > LOG_LIMIT,
        "log_limit": LOG_LIMIT,
        "filters": filters,
        "task_names": names,
        "levels": LogLevel.values,
        "return_value": pretty_json(execution.return_value) if execution.return_value is not None else "",
        "can_operate": request.user.has_perm("executions.change_execution"),
        "can_retry": execution.status == "failed" and request.user.has_perm("executions.change_execution"),
        # What the features hold of it (its approvals, say), listed by name.
        "page_links": [(name, links) for name, reader in page_links().items() if (links := reader(execution))],
        "logs_url": reverse("admin:executions_log_changelist") + f"?execution={execution.pk}",
        "legend": LEGEND,
    }


def execution_page(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    execution = get_object_or_404(Execution.objects.select_related("workflow", "workflow_version", "tenant",
                                                                   "project", "parent"), pk=object_id)
    context = {
        **model_admin.admin_site.each_context(request),
        **live_context(request, execution),
        "opts": Execution._meta,
        "title": f"Execution {short_id(execution.id)}",
        "subtitle": None,
        "has_view_permission": True,
        "short_id": short_id(execution.id),
        "synchronous": execution.retry_policy == RetryPolicy.REQUIRED_ONLY,
        "started_by": actor_words(execution.started_by_label),
        "input": pretty_json(execution.input),
        "tags": pretty_json(execution.tags) if execution.tags else "",
        "live_url": reverse("admin:executions_execution_live", args=[execution.pk]),
        "events_url": reverse("admin:executions_execution_events", args=[execution.pk]),
    }
    return TemplateResponse(request, "admin/executions/execution/console.html", context)


def execution_live(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    """The changing parts of the page, as HTML; ``X-Execution-Finished: true`` tells the page to stop polling."""
    execution = get_object_or_404(Execution.objects.select_related("workflow", "workflow_version"), pk=object_id)
    response = TemplateResponse(request, "admin/executions/execution/_live.html", live_context(request, execution))
    response["X-Execution-Finished"] = "true" if execution.is_terminal else "false"
    response["Cache-Control"] = "no-store"
    return response


def _operator_open(request: HttpRequest, object_id) -> tuple[str, str]:
    """The execution's id and status for a signed-in operator who may view executions.

    The thread gives its database connection back at once: the stream reads through the hub's.
    """
    try:
        user = request.user
        if not (user.is_active and user.is_staff and user.has_perm("executions.view_execution")):
            raise PermissionDenied
        status = Execution.objects.filter(pk=object_id).values_list("status", flat=True).first()
        if status is None:
            raise Http404("No such execution.")
        return str(object_id), status
    finally:
        connection.close()


@require_GET
async def execution_events(request: HttpRequest, object_id) -> HttpResponse:
    """The execution's live stream for the operators' page: the API's Server-Sent Events, to staff
    with the permission to view executions (whatever their tenant), resumable with Last-Event-ID."""
    try:
        after = parse_last_event_id(request)
    except ValidationError:
        return HttpResponseBadRequest("Last-Event-ID must be the id of an event this stream sent (digits).",
                                      content_type="text/plain; charset=utf-8")
    execution_id, status = await sync_to_async(_operator_open)(request, object_id)
    return stream_response(execution_id, status, after)


def _act(model_admin, request: HttpRequest, object_id: str, act, done: str) -> HttpResponse:
    execution = get_object_or_404(Execution.objects.select_related("tenant"), pk=object_id)
    try:
        act(execution, operator_caller(request, execution))
    except APIException as exc:
        for line in error_messages(exc):
            messages.warning(request, line)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(reverse("admin:executions_execution_change", args=[execution.pk]))


def cancel(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    return _act(model_admin, request, object_id, services.cancel_execution,
                "Cancel requested: a queued or waiting execution stops now, a running one after the task in hand.")


def retry(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    return _act(model_admin, request, object_id, services.retry_execution,
                "Queued again: its failed, skipped and cancelled tasks run again.")


def retry_from(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    task = request.POST.get("task", "").strip()
    if not task:
        return HttpResponseBadRequest("Name the task to retry from in the form field 'task'.",
                                      content_type="text/plain")
    return _act(model_admin, request, object_id,
                lambda execution, caller: services.retry_execution_from(execution, task, caller),
                f"Queued again from task {task}: it and the tasks after it run again.")
