"""Counting rows without reading a whole table: counts capped at a bound, and the planner's estimate.

An exact ``COUNT(*)`` reads every matching row (or index entry); at a million executions that is
most of a list's time. Lists whose documents promise no exact total count at most ``COUNT_CAP``
rows and say when there are more; admin changelists of whole tables show PostgreSQL's estimate.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Counts stop here: a list with more matches says "more than 10,000" instead of walking them all
# (counting 10,001 index entries costs a few milliseconds; a million, tens of milliseconds).
COUNT_CAP = 10_000
# A list filtered by tag is answered from a GIN index of the tags, which cannot count without reading
# every matching row: its total is counted to this lower cap (total_capped says there are more).
TAG_COUNT_CAP = 1_000


def capped_count(queryset, cap: int | None = None, *, by_order: bool = False) -> tuple[int, bool]:
    """``(count, capped)``: the exact number of rows up to ``cap`` (``COUNT_CAP``), else ``(cap, True)``.

    Counts primary keys only, without the select_related joins of ``queryset`` or its ordering,
    so an index that covers the filters answers it. With ``by_order`` the ordering is kept: the
    rows are then counted through the index that gives that order (the one the pages are read
    by), where PostgreSQL would otherwise read the table itself when most of its rows match.
    """
    cap = COUNT_CAP if cap is None else cap
    found = (queryset if by_order else queryset.order_by()).values("pk")[: cap + 1].count()
    return (cap, True) if found > cap else (found, False)


def estimated_rows(model) -> int | None:
    """PostgreSQL's estimate of the rows in ``model``'s table (kept by autovacuum), or None.

    None where the database keeps no estimate (SQLite) or has none yet (a table never analyzed).
    """
    connection = connections[model.objects.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [model._meta.db_table])
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


class CappedPaginator(Paginator):
    """Django's Paginator with ``count`` exact up to ``COUNT_CAP``; past it, ``COUNT_CAP`` and ``count_capped``.

    The pages past the cap are not offered (a list that long is narrowed with its filters). With
    ``estimate`` set, a queryset without filters is counted by PostgreSQL's estimate of the whole
    table instead (``count_estimated``), so every page of it stays reachable.
    """

    estimate = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.count_capped = False
        self.count_estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if self.estimate and not queryset.query.has_filters():
            estimate = estimated_rows(queryset.model)
            if estimate is not None and estimate > COUNT_CAP:
                self.count_estimated = True
                return estimate
        count, self.count_capped = capped_count(queryset)
        return count


class EstimatedPaginator(CappedPaginator):
    """``CappedPaginator`` that counts a whole table by PostgreSQL's estimate (the admin's changelists)."""

    estimate = True
