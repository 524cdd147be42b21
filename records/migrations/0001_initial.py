"""The records app takes over stages, field definitions, records, their events and actions.

They lived in the workflows app; their tables (and rows) stay where they are (renamed in
``0003_tables``), so this migration only moves them in Django's state, and their content types
(with the permissions that hang on them) along.
"""

import django.db.models.deletion
import django.utils.timezone
import records.models
import uuid
from django.conf import settings
from django.db import migrations, models


MOVED_MODELS = ("stage", "fielddefinition", "record", "recordevent", "action")


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="records", model__in=MOVED_MODELS).delete()  # none before the move
    ContentType.objects.filter(app_label="workflows", model__in=MOVED_MODELS).update(app_label="records")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="records", model__in=MOVED_MODELS).update(app_label="workflows")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('executions', '0003_sync_is_refolds'),
        ('workflows', '0002_action_short_id_per_tenant'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Action',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('short_id', models.CharField(default=records.models.new_short_id, help_text='Flowdash-style id, e.g. edHR10; unique in the tenant.', max_length=16)),
                        ('name', models.CharField(max_length=200)),
                        ('description', models.TextField(blank=True, default='')),
                        ('enabled', models.BooleanField(default=True)),
                        ('allowed_roles', models.JSONField(blank=True, default=list, help_text='Roles that may perform it; empty means admin and workflow.')),
                        ('requirements', models.JSONField(blank=True, default=dict, help_text='{"required_fields": [...], "checklist_complete": bool, "must_be_assigned": bool, "conditions": [{"expression": "...", "message": "..."}]}')),
                        ('steps', models.JSONField(blank=True, default=dict, help_text='A workflow definition: {"tasks": [...]}.')),
                        ('report_to_flow_runs', models.BooleanField(default=False, help_text='Mirror each execution into a Port flow run.')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('allowed_users', models.ManyToManyField(blank=True, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='accounts.project')),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='accounts.tenant')),
                        ('workflow', models.ForeignKey(blank=True, help_text='The workflow whose records the action works on, if any.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='workflows.workflow')),
                    ],
                    options={
                        'db_table': 'workflows_action',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Record',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('unique_id', models.PositiveIntegerField(help_text="Per-workflow number, as in Flowdash's task 678.")),
                        ('fields', models.JSONField(blank=True, default=dict)),
                        ('checklist', models.JSONField(blank=True, default=list, help_text='[{"name": "...", "done": false}]')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('assignee', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_records', to=settings.AUTH_USER_MODEL)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='records', to='accounts.tenant')),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('workflow', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='records', to='workflows.workflow')),
                    ],
                    options={
                        'db_table': 'workflows_record',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='RecordEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(max_length=40)),
                        ('actor', models.CharField(blank=True, default='', max_length=200)),
                        ('outcome', models.CharField(blank=True, default='', max_length=40)),
                        ('detail', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('action', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='records.action')),
                        ('execution', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='record_events', to='executions.execution')),
                        ('record', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='history', to='records.record')),
                    ],
                    options={
                        'db_table': 'workflows_recordevent',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Stage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('position', models.PositiveIntegerField(default=0)),
                        ('workflow', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stages', to='workflows.workflow')),
                    ],
                    options={
                        'db_table': 'workflows_stage',
                        'ordering': ['position', 'id'],
                    },
                ),
                migrations.AddField(
                    model_name='record',
                    name='stage',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.RESTRICT, related_name='records', to='records.stage'),
                ),
                migrations.AddField(
                    model_name='action',
                    name='stages',
                    field=models.ManyToManyField(blank=True, help_text='Offered in these stages.', related_name='offered_actions', to='records.stage'),
                ),
                migrations.AddField(
                    model_name='action',
                    name='target_stage',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='records.stage'),
                ),
                migrations.CreateModel(
                    name='FieldDefinition',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('type', models.CharField(choices=[('text', 'Text'), ('number', 'Number'), ('date', 'Date'), ('email', 'Email'), ('choice', 'Choice'), ('user', 'User')], default='text', max_length=20)),
                        ('required', models.BooleanField(default=False)),
                        ('choices', models.JSONField(blank=True, default=list)),
                        ('position', models.PositiveIntegerField(default=0)),
                        ('workflow', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='field_definitions', to='workflows.workflow')),
                    ],
                    options={
                        'db_table': 'workflows_fielddefinition',
                        'ordering': ['position', 'id'],
                        'constraints': [models.UniqueConstraint(fields=('workflow', 'name'), name='field_name_unique_in_workflow')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='stage',
                    constraint=models.UniqueConstraint(fields=('workflow', 'name'), name='stage_name_unique_in_workflow'),
                ),
                migrations.AddConstraint(
                    model_name='record',
                    constraint=models.UniqueConstraint(fields=('workflow', 'unique_id'), name='record_unique_id_in_workflow'),
                ),
                migrations.AddConstraint(
                    model_name='action',
                    constraint=models.UniqueConstraint(fields=('tenant', 'short_id'), name='action_short_id_unique_in_tenant'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
