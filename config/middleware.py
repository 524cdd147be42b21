"""Middleware of Flowgate's own."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponseBadRequest
from django.urls import Resolver404, resolve
from rest_framework import exceptions
from rest_framework.views import APIView

from config.errors import API_PATHS, QueryParameterInvalid, not_found

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


class FriendlyNotFoundMiddleware:
    """Pages answer a path or an object that is not there with the friendly 404 page, DEBUG or not.

    With DEBUG off Django calls ``handler404`` (``config.errors.not_found``) already; with it on
    (the embedded default) it would show its debug page instead, which lists every URL pattern.
    API paths keep their JSON 404 (their views and ``not_found`` answer it).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if settings.DEBUG and not request.path.startswith(API_PATHS):
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404:
                return not_found(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404) and not request.path.startswith(API_PATHS):
            return not_found(request, exception)
        return None
