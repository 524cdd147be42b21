"""Keyset cursor pagination with the page keys Port documents.

A page answers ``items``, ``total`` and four opaque cursors:

* ``next_page``: the items after this page's last item (null on the last page);
* ``previous_page``: the items before this page's first item (null on the first page);
* ``current_page``: this page again, from its first item forward;
* ``current_page_backwards``: this page again, ending at its last item and read backwards.

Cursors are base64 JSON holding the boundary item's ordering values, so a page stays stable
while rows are added elsewhere, and each page costs one keyset query, one look-ahead row, one
COUNT and at most one EXISTS whatever its position. ``current_page_backwards`` also holds the
page's first item, so that a short last page comes back as it was rather than filled up from
the page before it. An empty page (its rows deleted since) still leads back to where rows are.

``total`` is exact in ``KeysetCursorPagination`` (Port's document promises it). The native API's
lists use ``CappedCursorPagination``: ``total`` counts at most ``config.counting.COUNT_CAP``
items, and ``total_capped`` says when more match, so a page costs the same at a million rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import OrderedDict
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from config.counting import COUNT_CAP, TAG_COUNT_CAP, capped_count
from config.values import parse_number

MAX_PAGE_SIZE = 500
_FORWARD_MODES = {"after", "from"}
_BACKWARD_MODES = {"before", "upto"}


def _encode_value(value):
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def _decode_value(value):
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    return value


class KeysetCursorPagination(BasePagination):
    """Cursor pagination over a fixed ordering, ``-created_at`` then ``-id`` by default."""

    ordering: tuple[str, ...] = ("-created_at", "-id")
    cursor_query_param = "cursor"
    page_size_query_param = "limit"
    page_size = 50
    invalid_cursor_message = "Invalid cursor: use a cursor from a previous page's current_page, next_page or previous_page."

    def get_ordering(self, view) -> tuple[str, ...]:
        return tuple(getattr(view, "cursor_ordering", None) or self.ordering)

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = parse_number(raw, integer=True)
        except ValueError:
            raise ValidationError({self.page_size_query_param: ["Must be a whole number."]}) from None
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValidationError({self.page_size_query_param: [f"Must be between 1 and {MAX_PAGE_SIZE}."]})
        return size

    # -- cursors ---------------------------------------------------------------------------
    def encode_cursor(self, mode: str, values: list, floor: list | None = None) -> str:
        payload = {"m": mode, "v": [_encode_value(v) for v in values]}
        if floor is not None:
            payload["f"] = [_encode_value(v) for v in floor]
        raw = json.dumps(payload, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode_cursor(self, raw: str) -> tuple[str, list, list | None]:
        """``(mode, values, floor)``; ``floor`` (the page's first item) only on ``upto`` cursors."""
        try:
            padded = raw + "=" * (-len(raw) % 4)
            payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
            mode, values = payload["m"], payload["v"]
            floor = payload.get("f")
            if not isinstance(values, list) or not (floor is None or isinstance(floor, list)):
                raise TypeError
            values = [_decode_value(v) for v in values]
            floor = [_decode_value(v) for v in floor] if floor is not None else None
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise self._invalid() from None
        if mode not in _FORWARD_MODES | _BACKWARD_MODES or (floor is not None and mode != "upto"):
            raise self._invalid()
        return mode, values, floor

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})

    def _typed(self, model, ordering, values: list) -> list:
        """The cursor's values as the ordering fields' Python types; a forged cursor is refused (not a 500)."""
        if len(values) != len(ordering):
            raise self._invalid()
        typed = []
        for field, value in zip(ordering, values, strict=True):
            try:
                model_field = model._meta.get_field(field.lstrip("-"))
            except FieldDoesNotExist:  # a related path: left to the database
                typed.append(value)
                continue
            if value is None or isinstance(value, dict | list):
                raise self._invalid()
            try:
                typed.append(model_field.to_python(value))
            except (DjangoValidationError, TypeError, ValueError, OverflowError):
                raise self._invalid() from None
        return typed

    def _boundary_filter(self, ordering, values, *, forward: bool, inclusive: bool) -> Q:
        """Rows strictly beyond (or at, when inclusive) the boundary, in the reading direction.

        The first field's bound is repeated on its own (``created_at <= x AND (created_at < x OR
        ...)``): the database then starts its index scan at the boundary instead of walking every
        row before it, which keeps a deep page as cheap as the first.
        """
        if len(values) != len(ordering):
            raise self._invalid()
        condition = Q()
        equal_so_far = Q()
        leading = Q()
        for index, (field, value) in enumerate(zip(ordering, values, strict=True)):
            descending = field.startswith("-")
            name = field.lstrip("-")
            # Reading forward over a descending field means going to smaller values.
            smaller = descending == forward
            op = "lt" if smaller else "gt"
            if index == 0 and value is not None:
                leading = Q(**{f"{name}__{op}e": value})
            last = index == len(ordering) - 1
            if last and inclusive:
                op += "e"
            condition |= equal_so_far & Q(**{f"{name}__{op}": value})
            equal_so_far &= Q(**{name: value})
        return leading & condition if len(ordering) > 1 else condition

    @staticmethod
    def _values(item, ordering) -> list:
        return [getattr(item, field.lstrip("-")) for field in ordering]

    @staticmethod
    def _reverse(ordering) -> list[str]:
        return [f[1:] if f.startswith("-") else f"-{f}" for f in ordering]

    @staticmethod
    def _before(values: list, boundary: list, ordering) -> bool:
        """Whether ``values`` comes before ``boundary`` in the reading (forward) order."""
        for field, value, bound in zip(ordering, values, boundary, strict=True):
            if value != bound:
                return value > bound if field.startswith("-") else value < bound
        return False

    # -- DRF hooks ----------------------------------------------------------------------------
    def paginate_queryset(self, queryset, request, view=None):
        ordering = self.get_ordering(view)
        size = self.get_page_size(request)
        raw = request.query_params.get(self.cursor_query_param)
        mode, values, floor = self.decode_cursor(raw) if raw else ("from", None, None)
        if values is not None:
            values = self._typed(queryset.model, ordering, values)
        if floor is not None:
            floor = self._typed(queryset.model, ordering, floor)
        # A view that keeps its own exact count (Port's flow runs) answers it through count_total().
        counter = getattr(view, "count_total", None)
        self.total, self.total_capped = (counter(queryset), False) if counter is not None else self.count(queryset)
        forward = mode in _FORWARD_MODES
        base = queryset
        if values is not None:
            base = base.filter(self._boundary_filter(ordering, values, forward=forward,
                                                     inclusive=mode in {"from", "upto"}))
        if forward:
            rows = list(base.order_by(*ordering)[: size + 1])
            more_ahead = len(rows) > size
            rows = rows[:size]
            if values is None:
                more_behind = False
            elif rows:
                more_behind = queryset.filter(
                    self._boundary_filter(ordering, self._values(rows[0], ordering), forward=False, inclusive=False)
                ).exists()
            else:
                more_behind = self.total > 0
            self.has_next, self.has_previous = more_ahead, more_behind
        else:
            fetched = list(base.order_by(*self._reverse(ordering))[: size + 1])
            rows = fetched[:size]
            if floor is not None:
                # Refetching a page backwards: stop at its first item, even on a short page.
                rows = [row for row in rows if not self._before(self._values(row, ordering), floor, ordering)]
            more_behind = len(fetched) > len(rows)
            rows = list(reversed(rows))
            if rows:
                more_ahead = queryset.filter(
                    self._boundary_filter(ordering, self._values(rows[-1], ordering), forward=True, inclusive=False)
                ).exists()
            else:
                more_ahead = self.total > 0
            self.has_next, self.has_previous = more_ahead, more_behind
        self.page = rows
        self._ordering = ordering
        self._request_cursor = (raw, mode, values) if raw else None
        return rows

    def count(self, queryset) -> tuple[int, bool]:
        """``(total, capped)``: every item matching the filters, exactly."""
        return queryset.count(), False

    def cursors(self) -> dict[str, str | None]:
        ordering, rows = self._ordering, self.page
        if not rows:
            return self._empty_page_cursors()
        first, last = self._values(rows[0], ordering), self._values(rows[-1], ordering)
        return {
            "current_page": self.encode_cursor("from", first),
            "current_page_backwards": self.encode_cursor("upto", last, floor=first),
            "previous_page": self.encode_cursor("before", first) if self.has_previous else None,
            "next_page": self.encode_cursor("after", last) if self.has_next else None,
        }

    def _empty_page_cursors(self) -> dict[str, str | None]:
        """An empty page past either end (its rows deleted since) points back at the rows from its cursor."""
        cursors = {"current_page": None, "current_page_backwards": None, "previous_page": None, "next_page": None}
        if self._request_cursor is None:
            return cursors
        raw, mode, values = self._request_cursor
        cursors["current_page"] = cursors["current_page_backwards"] = raw
        if self.has_previous:  # a forward page found nothing: read back from its boundary
            cursors["previous_page"] = self.encode_cursor("upto" if mode == "after" else "before", values)
        if self.has_next:  # a backward page found nothing: read on from its boundary
            cursors["next_page"] = self.encode_cursor("after" if mode == "upto" else "from", values)
        return cursors

    def get_paginated_response(self, data):
        return Response(OrderedDict([("items", data), ("total", self.total), *self.cursors().items()]))

    def get_paginated_response_schema(self, schema):
        cursor = {"type": "string", "nullable": True}
        return {
            "type": "object",
            "required": ["items", "total", "current_page", "current_page_backwards", "previous_page", "next_page"],
            "properties": {
                "items": schema,
                "total": {"type": "integer", "description": "Items matching the filters, on all pages."},
                "current_page": {**cursor, "description": "Cursor to refetch the current page."},
                "current_page_backwards": {
                    **cursor, "description": "Cursor to refetch the current page starting from the last item.",
                },
                "previous_page": {**cursor, "description": "Cursor for the previous page."},
                "next_page": {**cursor, "description": "Cursor for the next page."},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "in": "query", "required": False,
             "description": "A cursor from a previous page.", "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "in": "query", "required": False,
             "description": f"Items per page (1-{MAX_PAGE_SIZE}, default {self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}},
        ]


class CappedCursorPagination(KeysetCursorPagination):
    """The native lists' pages: ``total`` counts at most ``COUNT_CAP`` items; ``total_capped`` says there are more.

    A view may count a costly filter to a lower cap: ``get_count_cap(request)`` answers it (or None).
    """

    cap: int | None = None

    def paginate_queryset(self, queryset, request, view=None):
        self.cap = view.get_count_cap(request) if hasattr(view, "get_count_cap") else None
        return super().paginate_queryset(queryset, request, view)

    def count(self, queryset) -> tuple[int, bool]:
        return capped_count(queryset, self.cap)

    def get_paginated_response(self, data):
        return Response(OrderedDict([("items", data), ("total", self.total), ("total_capped", self.total_capped),
                                     *self.cursors().items()]))

    def get_paginated_response_schema(self, schema):
        document = super().get_paginated_response_schema(schema)
        document["required"].insert(2, "total_capped")
        document["properties"]["total"] = {
            "type": "integer", "description": f"Items matching the filters, on all pages, counted up to {COUNT_CAP:,} "
                                              f"(executions filtered by tag: {TAG_COUNT_CAP:,}): with more, that "
                                              f"number and total_capped true."}
        properties = list(document["properties"].items())
        properties.insert(2, ("total_capped", {
            "type": "boolean", "description": f"True when more items match than total counts to ({COUNT_CAP:,}; "
                                              f"executions filtered by tag: {TAG_COUNT_CAP:,}): counting stops there to "
                                              f"keep every page fast."}))
        document["properties"] = dict(properties)
        return document
