"""The native error body, ``{"detail": str, "errors": [{"field": str|null, "message": str}]}``.

Used for every 4xx and 5xx of the native API. Documented surfaces (Port, FlowSynx, mindzie,
Flowdash, Refold) override ``get_exception_handler`` on their views to answer in their own shapes.

A database that cannot be reached answers 503 with ``Retry-After`` (``DatabaseUnavailable``), in
each surface's shape since every surface's handler starts from the native one; pages and other
paths get the same status from ``server_error``. What was accepted before is in the database.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.outages import OutageLog, first_line

logger = logging.getLogger("flowgate.errors")

# Paths whose errors answer JSON rather than an HTML page.
API_PATHS = ("/api/", "/workflows/")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request is well-formed but cannot be processed."
    default_code = "unprocessable"


class QueryParameterInvalid(exceptions.ValidationError):
    """A query parameter the API cannot take; surfaces that say where a problem is name the query."""


DATABASE_UNAVAILABLE = ("The database is unavailable at the moment (down or restarting); try again after the "
                        "seconds that Retry-After gives.")

class DatabaseUnavailable(exceptions.APIException):
    """The database cannot be reached (down, restarting, or no pooled connection came in time): 503."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE
    default_code = "database_unavailable"

    def __init__(self) -> None:
        super().__init__()
        self.wait = settings.FLOWGATE_RETRY_AFTER_SECONDS  # DRF's handler turns it into Retry-After


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database cannot be reached (rather than refusing a statement)."""
    return isinstance(exc, OperationalError | InterfaceError)


outage_log = OutageLog()


def log_outage(exc: BaseException, where: str) -> None:
    """Log that the database is unreachable, at most once per interval per process."""
    quiet = outage_log.due()
    if quiet is not None:
        logger.warning("database unavailable (%s: %s) in %s; answering 503 with Retry-After%s", exc.__class__.__name__,
                       first_line(exc), where, f" ({quiet} more such answers since the last warning)" if quiet else "")


def flatten_errors(detail, field: str | None = None) -> list[dict]:
    """Turn DRF's nested error detail into a flat list of ``{"field", "message"}``."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "detail") else str(key)
            out.extend(flatten_errors(value, f"{field}.{name}" if field and name else (name or field)))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list) and not isinstance(value, str):
                out.extend(flatten_errors(value, f"{field}[{index}]" if field else f"[{index}]"))
            else:
                out.extend(flatten_errors(value, field))
        return out
    return [{"field": field, "message": str(detail)}]


def error_lines(errors: list[dict]) -> list[str]:
    """Flattened problems (``flatten_errors``) one line each: ``"field: message"``, or the message alone."""
    return [f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors]


def body_lines(body: dict) -> list[str]:
    """The lines of a native error body: each problem it lists, or its detail when it lists none."""
    return error_lines(body.get("errors") or []) or [body.get("detail") or "Error."]


def error_body(detail: str, errors: list[dict] | None = None) -> dict:
    return {"detail": detail, "errors": errors or []}


def native_exception_handler(exc, context):
    if is_database_unavailable(exc):
        log_outage(exc, context.get("view").__class__.__name__)
        response = drf_exception_handler(DatabaseUnavailable(), context)
        response.data = error_body(DATABASE_UNAVAILABLE)
        response._has_been_logged = True  # log_outage said it, once per interval; not django.request per answer
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        if settings.DEBUG:
            return None  # Django's debug page shows the stack trace
        return Response(
            error_body("Internal server error. The failure was logged; retrying may help."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        response.data = error_body("Invalid request: " + "; ".join(error_lines(errors[:5])), errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(detail, dict | list):
            errors = flatten_errors(detail)
            response.data = error_body(errors[0]["message"] if errors else "Error.", errors)
        else:
            response.data = error_body(str(detail), [])
    return response


class ErrorSerializer(serializers.Serializer):
    """Schema of the native error body (for the OpenAPI document)."""

    class ErrorItem(serializers.Serializer):
        field = serializers.CharField(allow_null=True, help_text="The offending field, dotted for nested ones.")
        message = serializers.CharField()

    detail = serializers.CharField(help_text="What went wrong, in one sentence.")
    errors = ErrorItem(many=True, help_text="Every problem found, one entry each.")


def server_error(request, *args, **kwargs):
    """handler500: JSON for API paths, a plain page elsewhere; 503 with Retry-After when the database is down."""
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        log_outage(exc, request.path)
        retry_after = str(settings.FLOWGATE_RETRY_AFTER_SECONDS)
        if request.path.startswith(API_PATHS):
            response = JsonResponse(error_body(DATABASE_UNAVAILABLE), status=503)
        else:
            response = HttpResponse(DATABASE_UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = retry_after
        response._has_been_logged = True
        return response
    if request.path.startswith(API_PATHS):
        return JsonResponse(error_body("Internal server error. The failure was logged; retrying may help."), status=500)
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request, *args, **kwargs)


def not_found(request, exception=None, *args, **kwargs):
    """handler404: JSON for API paths, a plain page elsewhere."""
    if request.path.startswith(API_PATHS):
        return JsonResponse(error_body(f"No endpoint at {request.path}. See /api/docs/ for the API."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception, *args, **kwargs)
