"""Migration operations that leave busy tables usable while they run.

``AddIndexConcurrently`` builds an index with ``CREATE INDEX CONCURRENTLY`` on PostgreSQL, which
neither blocks writes nor reads while it scans the table; the migration holding it must declare
``atomic = False`` (PostgreSQL cannot build an index concurrently inside a transaction). On other
databases (the embedded SQLite) it is a plain ``AddIndex``. A concurrent build that failed half
way leaves an invalid index behind; running the migration again drops it first, so a failed
upgrade can simply be retried.
"""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.migrations.operations import AddIndex, RemoveIndex


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def _outside_transaction(schema_editor, operation) -> None:
    if schema_editor.connection.in_atomic_block:
        raise NotSupportedError(f"{type(operation).__name__} cannot run inside a transaction: set atomic = False "
                                "on the migration that holds it.")


def _drop_invalid(schema_editor, name: str) -> None:
    """Drop what an interrupted concurrent build of index ``name`` left behind (an INVALID index)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid "
                       "WHERE pg_class.relname = %s AND NOT pg_index.indisvalid", [name])
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class AddIndexConcurrently(AddIndex):
    """``AddIndex``, built without locking the table on PostgreSQL."""

    atomic = False

    def describe(self) -> str:
        return f"Concurrently create index {self.index.name} on {self.model_name}"

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not _postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        _outside_transaction(schema_editor, self)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            _drop_invalid(schema_editor, self.index.name)
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not _postgres(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        _outside_transaction(schema_editor, self)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)


class RemoveIndexConcurrently(RemoveIndex):
    """``RemoveIndex``, dropped without locking the table on PostgreSQL."""

    atomic = False

    def describe(self) -> str:
        return f"Concurrently remove index {self.name} from {self.model_name}"

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not _postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        _outside_transaction(schema_editor, self)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.remove_index(model, index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if not _postgres(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        _outside_transaction(schema_editor, self)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            _drop_invalid(schema_editor, index.name)
            schema_editor.add_index(model, index, concurrently=True)
