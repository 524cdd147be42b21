"""Flowgate's URLs plus ``/bench/row/<id>``: one execution row's ``.values()``, no authentication.

The request benchmark compares ``GET /api/v1/executions/{id}/`` with it, in the same web process.
"""

from django.http import JsonResponse
from django.urls import path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as flowgate_urlpatterns
from executions.models import Execution


def row(request, pk):
    return JsonResponse(Execution.objects.filter(pk=pk).values().first(), safe=False)


urlpatterns = [path("bench/row/<uuid:pk>", row), *flowgate_urlpatterns]
