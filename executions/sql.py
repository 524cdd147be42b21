"""The statements the engine runs on every step, written out in SQL.

Every step of every execution locks its execution, reads its task runs, writes a task run or two
and inserts log lines. Built through the ORM, those statements cost the worker several times what
they cost the database (the ORM compiles each query anew, and builds a model per row). Here they
are plain SQL over the models' own tables and columns; parameters are prepared and values
converted by the models' fields, exactly as the ORM would on PostgreSQL and on SQLite.
Everything else keeps using the ORM.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import Model


class Table:
    """A model's table and the columns the engine's statements read or write."""

    def __init__(self, model: type[Model], columns: Sequence[str]) -> None:
        self.model = model
        self.fields = [model._meta.get_field(name) for name in columns]
        self.by_name = {field.name: field for field in self.fields} | {field.attname: field for field in self.fields}

    @cached_property
    def name(self) -> str:
        return connection.ops.quote_name(self.model._meta.db_table)

    @cached_property
    def select_list(self) -> str:
        return ", ".join(connection.ops.quote_name(field.column) for field in self.fields)

    @cached_property
    def converters(self) -> list[tuple[int, list]]:
        """Per column read, the conversions the ORM would apply (JSON text, SQLite's UUIDs and times)."""
        found = []
        for index, field in enumerate(self.fields):
            column = field.get_col(self.model._meta.db_table)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                found.append((index, [(function, column) for function in functions]))
        return found

    def column(self, name: str) -> str:
        field = self.by_name.get(name) or self.model._meta.get_field(name)
        return connection.ops.quote_name(field.column)

    def value(self, name: str, value: Any) -> Any:
        """A Python value as the database takes it for this column."""
        return None if value is None else self.by_name[name].get_db_prep_save(value, connection)

    def convert(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for index, functions in self.converters:
            for function, column in functions:
                values[index] = function(values[index], column, connection)
        return values


# The statements' text, built once per shape (which columns, which are NULL) and process.
_statements: dict[tuple, str] = {}


def select(table: Table, where: dict[str, Any], *, order_by: str | None = None,
           for_update: bool = False) -> list[list[Any]]:
    """Rows of ``table`` (its columns, converted) where every ``column = value`` of ``where`` holds."""
    shape = ("select", table, tuple(where), order_by, for_update)
    statement = _statements.get(shape)
    if statement is None:
        conditions = " AND ".join(f"{table.column(name)} = %s" for name in where)
        statement = f"SELECT {table.select_list} FROM {table.name} WHERE {conditions}"
        if order_by:
            statement += f" ORDER BY {table.column(order_by)}"
        if for_update and connection.features.has_select_for_update:
            # NO KEY UPDATE: rows that only reference this one (a log line, a task run's claim) need
            # KEY SHARE on it, which FOR UPDATE would make them wait for while its holder waits for
            # them (a deadlock); lockers of the row itself still take turns.
            no_key = connection.features.has_select_for_no_key_update
            statement += " FOR NO KEY UPDATE" if no_key else " FOR UPDATE"
        _statements[shape] = statement
    with connection.cursor() as cursor:
        cursor.execute(statement, [table.value(name, value) for name, value in where.items()])
        return [table.convert(row) for row in cursor.fetchall()]


def update(table: Table, values: dict[str, Any], where: dict[str, Any], *, increment: Iterable[str] = ()) -> int:
    """``UPDATE table SET values (and column = column + 1 for each of increment) WHERE where``; rows changed.

    A ``where`` value of None means ``IS NULL``.
    """
    increment = tuple(increment)
    shape = ("update", table, tuple(values), tuple((name, value is None) for name, value in where.items()), increment)
    statement = _statements.get(shape)
    if statement is None:
        assignments = [f"{table.column(name)} = %s" for name in values]
        assignments += [f"{table.column(name)} = {table.column(name)} + 1" for name in increment]
        conditions = [f"{table.column(name)} IS NULL" if value is None else f"{table.column(name)} = %s"
                      for name, value in where.items()]
        statement = f"UPDATE {table.name} SET {', '.join(assignments)} WHERE {' AND '.join(conditions)}"
        _statements[shape] = statement
    params = [table.value(name, value) for name, value in values.items()]
    params += [table.value(name, value) for name, value in where.items() if value is not None]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def insert(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT of every row; each row gives a value for each of the table's columns (by attname)."""
    if not rows:
        return
    shape = ("insert", table, len(rows))
    statement = _statements.get(shape)
    if statement is None:
        placeholders = "(" + ", ".join(["%s"] * len(table.fields)) + ")"
        statement = f"INSERT INTO {table.name} ({table.select_list}) VALUES " + ", ".join([placeholders] * len(rows))
        _statements[shape] = statement
    names = [field.attname for field in table.fields]
    params = [table.value(name, row[name]) for row in rows for name in names]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
