"""Executions' links to the action and record they ran for, moved here from the execution's own columns."""

import django.db.models.deletion
from django.db import migrations, models

# Rows copied per statement; the next batch reads on from the last execution copied.
BATCH = 1000


def copy_links(apps, schema_editor):
    Execution = apps.get_model("executions", "Execution")
    ActionExecution = apps.get_model("records", "ActionExecution")
    linked = (Execution.objects.filter(models.Q(action__isnull=False) | models.Q(record__isnull=False))
              .order_by("pk").values_list("pk", "action_id", "record_id"))
    last = None
    while True:
        rows = list((linked.filter(pk__gt=last) if last is not None else linked)[:BATCH])
        if not rows:
            return
        ActionExecution.objects.bulk_create(
            [ActionExecution(execution_id=pk, action_id=action_id, record_id=record_id)
             for pk, action_id, record_id in rows])
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0003_sync_is_refolds'),
        ('records', '0001_initial'),
    ]
    # The columns copied here are dropped by executions.0004.
    run_before = [
        ('executions', '0004_links_move_out_retry_policy'),
    ]

    operations = [
        migrations.CreateModel(
            name='ActionExecution',
            fields=[
                ('execution', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='action_link', serialize=False, to='executions.execution')),
                ('action', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='execution_links', to='records.action')),
                ('record', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='execution_links', to='records.record')),
            ],
            options={
                'indexes': [models.Index(fields=['action', 'execution'], name='records_act_action__c0893c_idx')],
            },
        ),
        migrations.RunPython(copy_links, migrations.RunPython.noop),
    ]
