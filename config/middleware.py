"""Middleware of Flowgate's own."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

from config.errors import API_PATHS, error_body, not_found

NUL_IN_QUERY = "Query parameters may not contain the NUL character (%00); remove it from the URL."


class RefuseNulCharactersMiddleware:
    """A NUL character in the path answers 404 and in the query 400, before any view runs.

    No database column stores NUL, so every look-up or filter with one used to fail as a 500.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return not_found(request)
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            if request.path.startswith(API_PATHS):
                return JsonResponse(error_body(NUL_IN_QUERY), status=400)
            return HttpResponseBadRequest(NUL_IN_QUERY)
        return self.get_response(request)
