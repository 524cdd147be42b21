"""The native list's tag filter (``tags @> {key: value}``) served by a GIN index of the tags, built
concurrently, on PostgreSQL only: the embedded SQLite has no such index and filters tags without one."""

from django.db import migrations

TAGS_INDEX = "execution_tags"


def create_tags_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {TAGS_INDEX}")  # an interrupted build's leftovers
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY {TAGS_INDEX} ON executions_execution USING gin (tags jsonb_path_ops)")


def drop_tags_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {TAGS_INDEX}")


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('executions', '0009_filter_indexes'),
    ]

    operations = [
        migrations.RunPython(create_tags_index, drop_tags_index, atomic=False),
    ]
