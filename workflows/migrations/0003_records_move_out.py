"""Stages, field definitions, records, their events and actions move to the records app.

State only: the tables stay as they are here; ``records.0001_initial`` takes the same models
over (with their rows) and ``records.0003_tables`` renames the tables.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0002_action_short_id_per_tenant'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='recordevent',
                    name='action',
                ),
                migrations.RemoveField(
                    model_name='fielddefinition',
                    name='workflow',
                ),
                migrations.RemoveField(
                    model_name='record',
                    name='assignee',
                ),
                migrations.RemoveField(
                    model_name='record',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='record',
                    name='stage',
                ),
                migrations.RemoveField(
                    model_name='record',
                    name='tenant',
                ),
                migrations.RemoveField(
                    model_name='record',
                    name='updated_by',
                ),
                migrations.RemoveField(
                    model_name='record',
                    name='workflow',
                ),
                migrations.RemoveField(
                    model_name='recordevent',
                    name='record',
                ),
                migrations.RemoveField(
                    model_name='recordevent',
                    name='execution',
                ),
                migrations.RemoveField(
                    model_name='stage',
                    name='workflow',
                ),
                migrations.DeleteModel(
                    name='Action',
                ),
                migrations.DeleteModel(
                    name='FieldDefinition',
                ),
                migrations.DeleteModel(
                    name='Record',
                ),
                migrations.DeleteModel(
                    name='RecordEvent',
                ),
                migrations.DeleteModel(
                    name='Stage',
                ),
            ],
            database_operations=[],
        ),
    ]
