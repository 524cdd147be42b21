"""``GET /api/v1/executions/{id}/events``: an execution's live stream, as Server-Sent Events.

An async view: under the ASGI server (``uvicorn config.asgi:application``, what ``make run`` and
Docker Compose start) an open stream holds no thread, so hundreds of them leave the web process
free for everything else. Events, each with the log row's id as its SSE id (on the last message
of a row):

* ``status``: the execution's status changed (``{"status", "timestamp", "message"}``);
* ``task``: a task run's status changed (``{"task_run", "name", "status", "timestamp", "message"}``);
* ``log``: a log line (the shape of ``/executions/{id}/logs/``);
* ``end``: the execution ended (``{"status"}``); the stream closes.

``Last-Event-ID`` (or ``?last_event_id=``, for pages that reload) resumes after that row.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import aclosing

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings

from accounts.caller import Caller
from config.errors import error_body, flatten_errors
from config.formats import iso
from executions.models import TERMINAL_STATUSES, Execution
from executions.services import get_execution_for
from executions.streams import current_hub, read_rows

RETRY_MILLISECONDS = 2000


def _caller(request) -> Caller:
    """The request's Caller through the API's authentication classes; DRF's exceptions otherwise."""
    drf_request = Request(request, authenticators=[cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES])
    caller = drf_request.auth
    if not isinstance(caller, Caller):
        if drf_request.user and drf_request.user.is_authenticated:
            raise exceptions.PermissionDenied("Your account is not a member of any tenant; ask a tenant admin to add you.")
        raise exceptions.NotAuthenticated()
    return caller


def _open(request, pk) -> tuple[str, str]:
    """The execution's id and status, for the caller; DRF's exceptions when it may not see it.

    The request's thread gives its database connection back at once: a stream may stay open for
    an hour, and its reads go through the hub's one connection.
    """
    try:
        execution = get_execution_for(_caller(request), pk, Execution.objects.only("id", "status"))
        return str(execution.id), execution.status
    finally:
        connection.close()


def _status(execution_id: str) -> str:
    return Execution.objects.filter(pk=execution_id).values_list("status", flat=True).first() or ""


def _error(exc: exceptions.APIException) -> JsonResponse:
    if isinstance(exc.detail, dict | list):
        body = error_body("Invalid request.", flatten_errors(exc.detail))
    else:
        body = error_body(str(exc.detail))
    response = JsonResponse(body, status=exc.status_code)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response["WWW-Authenticate"] = 'Bearer realm="flowgate"'
    return response


def parse_last_event_id(request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "0"
    if not raw.isdigit():
        raise exceptions.ValidationError({"Last-Event-ID": ["Must be the id of an event this stream sent (digits)."]})
    return int(raw)


@require_GET
async def execution_events(request, pk):
    try:
        after = parse_last_event_id(request)
        execution_id, status = await sync_to_async(_open)(request, pk)
    except exceptions.APIException as exc:
        return _error(exc)
    return stream_response(execution_id, status, after)


def stream_response(execution_id: str, status: str, after: int) -> StreamingHttpResponse:
    """The stream of one execution (``status`` as read when it opened) after the row ``after``."""
    response = StreamingHttpResponse(_events(execution_id, status, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies (nginx) pass each event on at once
    return response


def message(event: str, data: dict, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def row_messages(row: dict) -> str:
    """A row's messages: its status change (when it reports one), then the line; the id on the last."""
    out = ""
    kind, _, word = (row["event"] or "").partition(".")
    if kind == "execution":
        out += message("status", {"status": word, "timestamp": iso(row["timestamp"]), "message": row["message"]})
    elif kind == "task":
        out += message("task", {"task_run": str(row["task_run_id"]) if row["task_run_id"] else None,
                                "name": row["task_run__name"], "status": word,
                                "timestamp": iso(row["timestamp"]), "message": row["message"]})
    return out + message("log", {
        "id": str(row["uuid"]), "timestamp": iso(row["timestamp"]), "level": row["level"], "message": row["message"],
        "exception": row["exception"], "task_run": str(row["task_run_id"]) if row["task_run_id"] else None,
    }, row["id"])


def _ends(row: dict) -> bool:
    kind, _, word = (row["event"] or "").partition(".")
    return kind == "execution" and word in TERMINAL_STATUSES


async def _events(execution_id: str, status: str, after: int):
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    hub = current_hub()
    follow = _replay_ended(hub, execution_id, status, after) if status in TERMINAL_STATUSES \
        else _follow(hub, execution_id, after)
    async with aclosing(follow):  # a client gone: the inner stream lets go of the hub at once
        async for chunk in follow:
            yield chunk


async def _replay_ended(hub, execution_id: str, status: str, sent: int):
    """An ended execution: every row of it has committed; what the client lacks, then the end."""
    while rows := await hub.call(read_rows, {execution_id: sent}, None):
        for row in rows:
            yield row_messages(row)
            sent = row["id"]
    yield message("end", {"status": status})


async def _follow(hub, execution_id: str, sent: int):
    """An unfinished execution: its history up to the hub's watermark, then each row as the hub reads
    it, until the execution's end (or ``FLOWGATE_STREAM_MAX_SECONDS``, when the client resumes)."""
    started = time.monotonic()
    upto = await hub.watermark()
    ending = False
    history = await hub.call(read_rows, {execution_id: sent}, upto)
    while history:
        for row in history:
            yield row_messages(row)
            sent = row["id"]
            ending = ending or _ends(row)
        history = await hub.call(read_rows, {execution_id: sent}, upto)
    if upto is not None:
        sent = max(sent, upto)
    queue, cursor = hub.subscribe(execution_id, sent)
    try:
        if cursor > sent:  # the hub was ahead for this execution: what lies between is read here
            for row in await hub.call(read_rows, {execution_id: sent}, cursor):
                yield row_messages(row)
                sent = row["id"]
                ending = ending or _ends(row)
            sent = cursor
        if ending and queue.empty():
            status = await hub.call(_status, execution_id)
            if status in TERMINAL_STATUSES:
                yield message("end", {"status": status})
                return
        while time.monotonic() - started < settings.FLOWGATE_STREAM_MAX_SECONDS:
            try:
                row = await asyncio.wait_for(queue.get(), timeout=settings.FLOWGATE_STREAM_HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if row["id"] <= sent:
                continue
            yield row_messages(row)
            sent = row["id"]
            ending = ending or _ends(row)
            if ending and queue.empty():
                status = await hub.call(_status, execution_id)
                if status in TERMINAL_STATUSES:
                    yield message("end", {"status": status})
                    return
                ending = False  # retried meanwhile: it goes on
    finally:
        hub.unsubscribe(execution_id, queue)


def document_stream(result, generator, request, public):
    """drf-spectacular post-processing hook: the stream is a plain async view, described here
    (in documents of the native executions API: not in one product's own)."""
    if not any(path.startswith("/api/v1/executions/{id}") for path in result.get("paths", {})):
        return result
    errors = {str(code): {"description": "", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for code in (400, 401, 403, 404)}
    result.setdefault("paths", {})["/api/v1/executions/{id}/events"] = {"get": {
        "operationId": "executions_events",
        "summary": "An execution's live stream (Server-Sent Events)",
        "description": __doc__.split("\n\n", 1)[1],
        "tags": ["executions"],
        "parameters": [
            {"in": "path", "name": "id", "required": True, "schema": {"type": "string", "format": "uuid"}},
            {"in": "header", "name": "Last-Event-ID", "schema": {"type": "integer"},
             "description": "Resume after the event with this id."},
            {"in": "query", "name": "last_event_id", "schema": {"type": "integer"},
             "description": "The same, for clients that cannot set headers."},
        ],
        "security": [{"BearerAuth": []}, {"ApiKeyAuth": []}, {"BasicAuth": []}, {"SessionAuth": []}],
        "responses": {"200": {"description": "text/event-stream: status, task, log and end events",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}}, **errors},
    }}
    return result
