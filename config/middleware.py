"""Middleware of Flowgate's own."""

from __future__ import annotations

from django.http import HttpResponseBadRequest
from rest_framework import exceptions
from rest_framework.views import APIView

from config.errors import QueryParameterInvalid, not_found

NUL_IN_QUERY = "Query parameters may not contain the NUL character (%00); remove it from the URL."


class RefuseNulCharactersMiddleware:
    """A NUL character in the path answers 404 and in the query 400, before any view runs.

    No database column stores NUL, so every look-up or filter with one would fail as a 500. An API
    view's refusal goes through that view's own exception handler, so each documented surface
    answers in its own error shape; other paths get the plain 404 and 400.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if "\x00" in request.path:
            refusal = exceptions.NotFound()
        else:
            names = [key for key, values in request.GET.lists() if "\x00" in key or any("\x00" in v for v in values)]
            if not names:
                return None
            refusal = QueryParameterInvalid({name.replace("\x00", "") or "query": [NUL_IN_QUERY] for name in names})
        view_class = getattr(view_func, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            refuse = _Refusal.as_view(view_class=view_class, refusal=refusal)
            return refuse(request, *view_args, **view_kwargs)
        if isinstance(refusal, exceptions.NotFound):
            return not_found(request)
        return HttpResponseBadRequest(NUL_IN_QUERY)


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
