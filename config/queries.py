"""Reads served on every request, compiled to SQL once per process instead of on every run.

Django turns a queryset into SQL each time it runs it; for the one-row reads behind the busiest
endpoints (an execution's page, an API key's lookup) that costs the web process more than the
database spends answering. ``CompiledRead`` compiles a ``.values()`` queryset once, with stand-in
values for its parameters, and then runs the same SQL with the real values, prepared the way the
stand-ins were and with each column converted as Django converts it (JSON text, SQLite's UUIDs and
times). The queryset's shape must not depend on the values: a NULL compares differently, so give
such variants a read of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet

# How a stand-in may appear among the compiled parameters, and how a real value is put the same way.
_FORMS: list[tuple[str, Callable[[Any], Any]]] = [
    ("as is", lambda value: value),
    ("hex", lambda value: value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex),
    ("text", str),
]


class CompiledRead:
    """``build(**values)``'s rows as dicts, compiled once per database alias and process.

    ``stand_ins`` gives, per keyword, a value no real one equals (a fresh UUID for an id, say).
    """

    def __init__(self, build: Callable[..., QuerySet], **stand_ins: Any) -> None:
        self.build = build
        self.stand_ins = stand_ins
        self._compiled: dict[str, tuple] = {}

    def rows(self, using: str = "default", **values: Any) -> list[dict]:
        sql, slots, names, converters, compiler = self._compile(using)
        params = [form(values[name]) if name is not None else constant for name, form, constant in slots]
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def first(self, using: str = "default", **values: Any) -> dict | None:
        found = self.rows(using, **values)
        return found[0] if found else None

    def _compile(self, using: str) -> tuple:
        compiled = self._compiled.get(using)
        if compiled is None:
            queryset = self.build(**self.stand_ins)
            compiler = queryset.query.get_compiler(using)
            sql, params = compiler.as_sql()
            slots = [self._slot(param) for param in params]
            missing = set(self.stand_ins) - {name for name, _, _ in slots if name is not None}
            if missing:
                raise ValueError(f"The query does not use the values {', '.join(sorted(missing))}.")
            select = [column for column, _, _ in compiler.select[:compiler.col_count]]
            names = list(queryset.query.values_select) + list(queryset.query.annotation_select)
            compiled = (sql, slots, names, compiler.get_converters(select), compiler)
            self._compiled[using] = compiled
        return compiled

    def _slot(self, param: Any) -> tuple[str | None, Callable | None, Any]:
        """Which stand-in a compiled parameter is (and in which form), or a constant of the query."""
        for name, stand_in in self.stand_ins.items():
            for _, form in _FORMS:
                try:
                    if form(stand_in) == param and type(form(stand_in)) is type(param):
                        return name, form, None
                except (TypeError, ValueError, AttributeError):
                    continue
        return None, None, param
