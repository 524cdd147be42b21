"""Middleware of Flowgate's own."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponseBadRequest
from rest_framework import exceptions

from config.errors import PayloadTooLarge, QueryParameterInvalid, is_api_path, not_found, refusal_response

NUL_IN_QUERY = "Query parameters may not contain the NUL character (%00); remove it from the URL."


class RefuseHostileRequestsMiddleware:
    """Refuses, before any view runs, what no view could answer but with a 500.

    A NUL character in the path answers 404 and in the query 400 (no database column stores NUL,
    so every look-up or filter with one would fail); an API request whose Content-Length is over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answers 413 (Django would refuse the body as it is read, from
    inside a view). Each refusal is answered in the error shape of the surface at the request's
    path (``config.errors.refusal_response``); paths outside the API get the plain 404 and 400.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        refusal = self._refusal(request)
        if refusal is None:
            return None
        response = refusal_response(request, refusal, view_func=view_func, view_kwargs=view_kwargs)
        if response is not None:
            return response
        if isinstance(refusal, exceptions.NotFound):
            return not_found(request)
        return HttpResponseBadRequest(NUL_IN_QUERY)

    @staticmethod
    def _refusal(request) -> exceptions.APIException | None:
        if "\x00" in request.path:
            return exceptions.NotFound()
        names = [key for key, values in request.GET.lists() if "\x00" in key or any("\x00" in v for v in values)]
        if names:
            return QueryParameterInvalid({name.replace("\x00", "") or "query": [NUL_IN_QUERY] for name in names})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and is_api_path(request.path_info) and _content_length(request) > limit:
            return PayloadTooLarge()
        return None


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class FriendlyNotFoundMiddleware:
    """Pages answer a path or an object that is not there with the friendly 404 page, DEBUG or not.

    With DEBUG off Django calls ``handler404`` (``config.errors.not_found``) already; with it on
    (the embedded default) it would show its debug page instead, which lists every URL pattern.
    API paths keep their JSON 404 (their views and ``not_found`` answer it).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # A path no URL pattern matched leaves no resolver_match: Django answered its debug page.
        if (settings.DEBUG and response.status_code == 404 and getattr(request, "resolver_match", None) is None
                and not is_api_path(request.path)):
            return not_found(request)
        return response

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404) and not is_api_path(request.path):
            return not_found(request, exception)
        return None
