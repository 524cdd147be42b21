"""The native error body, ``{"detail": str, "errors": [{"field": str|null, "message": str}]}``.

Used for every 4xx and 5xx of the native API. Documented surfaces (Port, FlowSynx, mindzie,
Flowdash, Refold) override ``get_exception_handler`` on their views to answer in their own shapes.

A request refused before any view runs (a NUL character in its path, a body over the size limit,
an unknown path) is answered by ``refusal_response`` as the API view at that path would answer it;
a path no view takes answers in the shape of the surface whose paths it falls under (each surface
says which with ``register_surface_paths``), else in the native shape.

A database that cannot be reached answers 503 with ``Retry-After`` (``DatabaseUnavailable``), in
each surface's shape since every surface's handler starts from the native one; pages and other
paths get the same status from ``server_error``. What was accepted before is in the database.
"""

from __future__ import annotations

import logging
import re
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
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


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self) -> None:
        super().__init__(body_too_large_message())


def body_too_large_message() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return (f"The request body is larger than {limit} bytes ({limit / 1024 / 1024:.1f} MB), the most Flowgate "
            "accepts; send less (pass large data by reference, such as a URL).")


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


def translate_django_exception(exc: Exception) -> Exception:
    """Django's refusals of a request (too large, too many fields) as the API exceptions they mean."""
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return exceptions.ParseError(f"{exc} Send fewer fields.")
    return exc


def native_exception_handler(exc, context):
    if is_database_unavailable(exc):
        log_outage(exc, context.get("view").__class__.__name__)
        response = drf_exception_handler(DatabaseUnavailable(), context)
        response.data = error_body(DATABASE_UNAVAILABLE)
        response._has_been_logged = True  # log_outage said it, once per interval; not django.request per answer
        return response
    exc = translate_django_exception(exc)
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


# -- refusals outside a view -------------------------------------------------------------------------
# (compiled pattern over the path, an APIView class whose renderers and exception handler answer)
_SURFACE_PATHS: list[tuple[re.Pattern, type[APIView]]] = []


def register_surface_paths(pattern: str, view_class: type[APIView]) -> None:
    """Paths matching ``pattern`` (from the leading slash) answer errors as ``view_class`` does.

    A surface calls it for the prefixes it owns, so that a path under them that no view takes (or
    a request refused before its view runs) answers in that surface's error shape.
    """
    _SURFACE_PATHS.append((re.compile(pattern), view_class))


def _api_view_class(view_func) -> type[APIView] | None:
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return view_class if isinstance(view_class, type) and issubclass(view_class, APIView) else None


def surface_view_class(request, view_func=None) -> type[APIView] | None:
    """The API view class whose error shape a refusal at this request's path takes, or None."""
    if view_func is None:
        try:
            view_func = resolve(request.path_info).func
        except Resolver404:
            view_func = None
    view_class = _api_view_class(view_func) if view_func is not None else None
    if view_class is not None:
        return view_class
    for pattern, registered in _SURFACE_PATHS:
        if pattern.match(request.path_info):
            return registered
    return None


def is_api_path(path: str) -> bool:
    return path.startswith(API_PATHS)


class _Refusal(APIView):
    """Answers ``refusal`` as ``view_class`` would: its renderers and its exception handler."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    view_class: type[APIView] = APIView
    refusal: exceptions.APIException = exceptions.NotFound()

    def get_renderers(self):
        return self.view_class().get_renderers()

    def get_exception_handler(self):
        return self.view_class().get_exception_handler()

    def initial(self, request, *args, **kwargs):
        raise self.refusal

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise self.refusal

    options = http_method_not_allowed


def refusal_response(request, refusal: exceptions.APIException, view_func=None, view_kwargs=None):
    """``refusal`` answered in the error shape of the surface at the request's path.

    The API view that takes the path answers, else the surface whose prefix the path falls under,
    else the native JSON body; None for a path outside the API (pages answer their own way).
    """
    view_class = surface_view_class(request, view_func)
    if view_class is None:
        if not is_api_path(request.path_info):
            return None
        view_class = APIView  # the native exception handler and renderers
    refuse = _Refusal.as_view(view_class=view_class, refusal=refusal)
    response = refuse(request, **(view_kwargs or {}))
    return response.render() if hasattr(response, "render") else response


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


def unknown_path_message(path: str) -> str:
    return f"No endpoint at {path}. See /api/docs/ for the API."


@csrf_exempt  # any method: a POST to an unknown path is a 404, not a CSRF failure
def not_found(request, exception=None, *args, **kwargs):
    """handler404 and the API's catch-all: the surface's JSON 404 for API paths, the friendly page
    (templates/404.html) elsewhere."""
    if is_api_path(request.path_info):
        view_class = surface_view_class(request, view_func=not_found)
        if view_class is None:
            return JsonResponse(error_body(unknown_path_message(request.path)), status=404)
        return refusal_response(request, exceptions.NotFound(unknown_path_message(request.path)), view_func=not_found)
    return render(request, "404.html", {"request_path": request.path}, status=404)
