"""Deep pages of the execution list: keyset cursors against OFFSET paging, side by side.

Fills a throw-away PostgreSQL database with executions, then times fetching a 50-item page at
growing depths through ``GET /api/v1/executions/`` (keyset cursor, what Flowgate ships) and
through the same query paged with OFFSET (the usual alternative, the baseline). Prints medians
and the ratio per depth. Talks only to 127.0.0.1.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/flowgate_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 SECRET_KEY=bench-secret-key-0123456789abcdefghijklmnop \\
    ALLOWED_HOSTS=127.0.0.1,testserver .venv/bin/python bench/bench_pagination.py --rows 50000

The database named in DATABASE_URL is dropped and created again: never point it at real data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("FLOWGATE_THROTTLE_CALLER", "1000000/min")

PAGE = 50
# Rows written per INSERT while filling the table.
FILL_BATCH = 5000


def timed(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a throw-away PostgreSQL database (its name must start with flowgate_bench).")
    from bench_scale import recreate_database

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.test import APIClient

    from accounts.services import create_api_key, create_project, create_tenant
    from config.pagination import KeysetCursorPagination
    from executions.models import Execution
    from workflows.services import create_workflow

    call_command("migrate", verbosity=0)
    tenant = create_tenant("Bench", "bench")
    project = create_project(tenant, "Bench", "bench")
    workflow = create_workflow(project=project, name="bench", definition={"tasks": [
        {"name": "a", "type": "log", "config": {"message": "x"}}]})
    version = workflow.versions.get()
    now = timezone.now()
    for start in range(0, args.rows, FILL_BATCH):
        Execution.objects.bulk_create([
            Execution(tenant=tenant, project=project, workflow=workflow, workflow_version=version,
                      status="succeeded", created_at=now - timedelta(seconds=i))
            for i in range(start, min(start + FILL_BATCH, args.rows))])
    with django.db.connection.cursor() as cursor:
        cursor.execute("ANALYZE executions_execution")
    _, secret = create_api_key(tenant, "bench", "admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.get("/api/v1/executions/?limit=1")  # warm up: first key use, connections

    ordered = list(Execution.objects.order_by("-created_at", "-id").values_list("created_at", "id"))
    paginator = KeysetCursorPagination()
    ordering = ("-created_at", "-id")
    base = Execution.objects.for_tenant(tenant).select_related("workflow", "workflow_version", "performed_by",
                                                                "flow_run")
    depths = [d for d in (0, 1000, 10000, args.rows // 2, args.rows - PAGE) if d < args.rows]
    print(f"{args.rows} executions, {PAGE} per page, median of {args.repeats} runs")
    print(f"{'depth':>8}{'OFFSET query ms (baseline)':>28}{'keyset query ms':>18}{'ratio':>8}"
          f"{'whole API request ms':>24}")
    for depth in depths:
        boundary = list(ordered[depth - 1]) if depth else None

        def offset_query(depth=depth):
            assert len(list(base.order_by(*ordering)[depth:depth + PAGE])) == PAGE

        def keyset_query(boundary=boundary, depth=depth):
            queryset = base
            if boundary is not None:
                queryset = queryset.filter(paginator._boundary_filter(ordering, boundary, forward=True,
                                                                      inclusive=False))
            assert len(list(queryset.order_by(*ordering)[:PAGE + 1])) == PAGE + (depth + PAGE < args.rows)

        cursor = paginator.encode_cursor("after", boundary) if boundary else None

        def api_request(cursor=cursor):
            url = f"/api/v1/executions/?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
            response = client.get(url)
            assert response.status_code == 200 and len(response.json()["items"]) == PAGE

        offset, keyset, whole = (timed(offset_query, args.repeats), timed(keyset_query, args.repeats),
                                 timed(api_request, args.repeats))
        print(f"{depth:>8}{offset:>28.2f}{keyset:>18.2f}{keyset / offset:>8.2f}{whole:>24.1f}")


if __name__ == "__main__":
    main()
