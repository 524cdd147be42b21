"""Prometheus metrics: ``GET /metrics``, counted where things happen and gauged at scrape time.

Two kinds, chosen for being right across processes and cheap at a million executions:

* **Events** (executions started and finished, task durations, sweeper recoveries, HTTP requests)
  are counted by the process where they happen, in prometheus_client's multiprocess mode: each
  process writes its values to memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR``
  (``$FLOWGATE_HOME/metrics``), and the scrape adds up every process's files. A count costs a
  write to memory, never a query; counters only grow, so Prometheus's ``rate()`` is right even
  when the retention purge deletes old executions (counts derived from rows would fall then).
* **States** (queue depth, executions queued, running and waiting, approvals pending) are read
  when scraped: each from an index (the live statuses are few rows, whatever the table's size) or
  from the broker with a short time-out. Features add theirs with ``register_gauges``.

The endpoint answers a bearer token (``FLOWGATE_METRICS_TOKEN``) or a client in
``FLOWGATE_METRICS_ALLOWED_NETWORKS``; with neither configured it does not exist (404).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from config.around import AroundRequestMiddleware
from config.logs import route_label

logger = logging.getLogger("flowgate.metrics")

# The settings chose the folder; prometheus_client reads it when it makes a metric. It may have been
# imported before the settings were (Celery's command line loads Flower, which imports it), so the
# choice of value class is made again here, before the metrics below exist.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.FLOWGATE_METRICS_DIR))
values.ValueClass = values.get_value_class()

# Seconds: a step of an execution takes milliseconds; an http task or a sleep may take minutes.
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# The broker is asked for its queue length with this time-out, so an unreachable one cannot hold a scrape.
BROKER_TIMEOUT_SECONDS = 0.5
# Queued messages counted at most on the filesystem broker (a directory listing per scrape).
FILESYSTEM_QUEUE_CAP = 100_000

EXECUTIONS_STARTED = Counter(
    "flowgate_executions_started", "Executions a worker started (each attempt of a retried one counts).",
    ["workflow"])
EXECUTIONS_FINISHED = Counter(
    "flowgate_executions_finished", "Executions that ended, by how they ended.", ["workflow", "status"])
TASK_DURATION = Histogram(
    "flowgate_task_duration_seconds", "Time a worker spent running one attempt of a task, by task type and outcome.",
    ["task_type", "outcome"], buckets=TASK_BUCKETS)
SWEEPER_RECOVERIES = Counter(
    "flowgate_sweeper_recoveries", "What the sweeper re-sent, took back from dead workers or woke, by pass.",
    ["kind"])
HTTP_DURATION = Histogram(
    "flowgate_http_request_duration_seconds", "Time to answer a request, by URL route (not the raw path).",
    ["method", "route", "status"], buckets=HTTP_BUCKETS)

_gauge_sources: list[Callable[[], Iterable[Metric]]] = []


def register_gauges(source: Callable[[], Iterable[Metric]]) -> None:
    """Add a function that yields metric families read at scrape time (from an AppConfig.ready())."""
    if source not in _gauge_sources:
        _gauge_sources.append(source)


def queue_depth() -> int | None:
    """Messages waiting in Flowgate's queue on the broker; None when it cannot be read quickly."""
    url = settings.CELERY_BROKER_URL
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    if url.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        suffix = f".{queue}.msg"
        count = 0
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(suffix):
                    count += 1
                    if count >= FILESYSTEM_QUEUE_CAP:
                        break
        return count
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(url, socket_timeout=BROKER_TIMEOUT_SECONDS,
                                      socket_connect_timeout=BROKER_TIMEOUT_SECONDS)
        try:
            # kombu keeps a list per priority step: the queue's own name, then name + "\x06\x16" + step.
            pipe = client.pipeline(transaction=False)
            for name in [queue] + [f"{queue}\x06\x16{step}" for step in range(1, 10)]:
                pipe.llen(name)
            return sum(pipe.execute())
        finally:
            client.close()
    return None


def _broker_gauges() -> Iterable[Metric]:
    depth = GaugeMetricFamily("flowgate_queue_depth", "Messages waiting for a worker in the broker's queue.",
                              labels=["queue"])
    depth.add_metric([settings.CELERY_TASK_DEFAULT_QUEUE], queue_depth())
    yield depth


def _scrape_gauges() -> Iterable[Metric]:
    up = GaugeMetricFamily("flowgate_metrics_source_up", "1 when a scrape-time source answered, else 0.",
                           labels=["source"])
    for source in [_broker_gauges, *_gauge_sources]:
        name = getattr(source, "__qualname__", repr(source))
        try:
            families = list(source())
        except Exception as exc:  # a broker or database that does not answer must not fail the scrape
            logger.warning("metrics: %s failed: %s", name, exc)
            up.add_metric([name], 0)
            continue
        up.add_metric([name], 1)
        for family in families:
            family.samples = [sample for sample in family.samples if sample.value is not None]
            yield family
    yield up


class _ScrapeCollector:
    def collect(self) -> Iterable[Metric]:
        return _scrape_gauges()


def render() -> bytes:
    """The metrics text: every process's counters and histograms, then the scrape-time gauges."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    registry.register(_ScrapeCollector())
    return generate_latest(registry)


def _client_allowed(request) -> bool | None:
    """True to answer, False for 401, None for 404 (metrics are not configured)."""
    token = settings.FLOWGATE_METRICS_TOKEN
    networks = settings.FLOWGATE_METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return None
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            address = None
        if address is not None and any(address in ipaddress.ip_network(net, strict=False) for net in networks):
            return True
    return False if token else None


@require_GET
def metrics_view(request):
    allowed = _client_allowed(request)
    if allowed is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    if not allowed:
        response = JsonResponse({"detail": "GET /metrics needs 'Authorization: Bearer <FLOWGATE_METRICS_TOKEN>'."},
                                status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)


def _route(request) -> str:
    return route_label(getattr(request, "resolver_match", None))


class MetricsMiddleware(AroundRequestMiddleware):
    """Time each request by its URL route (``/api/v1/executions/<uuid:pk>``, never the raw path)."""

    def before(self, request) -> float:
        return time.perf_counter()

    def after(self, request, response, started: float) -> None:
        HTTP_DURATION.labels(request.method, _route(request), str(response.status_code)).observe(
            time.perf_counter() - started)
