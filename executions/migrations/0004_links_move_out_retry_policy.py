"""Executions no longer name the apps above the engine; Refold's ``sync`` becomes a retry policy.

The links to an action, a record and a Port flow run move to those apps' own tables
(``records.ActionExecution``, ``flowruns.FlowRunExecution``), whose migrations copy them before
this one drops the columns (they declare ``run_before`` this migration).
"""

from django.db import migrations, models


def sync_to_retry_policy(apps, schema_editor):
    Execution = apps.get_model("executions", "Execution")
    Execution.objects.filter(sync=True).update(retry_policy="required_only")


def retry_policy_to_sync(apps, schema_editor):
    Execution = apps.get_model("executions", "Execution")
    Execution.objects.filter(retry_policy="required_only").update(sync=True)


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0003_sync_is_refolds'),
    ]
    # The models of the workflows app that executions pointed at leave it there.
    run_before = [
        ('workflows', '0003_records_move_out'),
    ]

    operations = [
        migrations.AddField(
            model_name='execution',
            name='retry_policy',
            field=models.CharField(choices=[('as_defined', 'Each task retries as its definition says'), ('required_only', 'Tasks marked skip_on_error fail at once, without retries')], default='as_defined', max_length=20),
        ),
        migrations.RunPython(sync_to_retry_policy, retry_policy_to_sync),
        migrations.RemoveField(
            model_name='execution',
            name='sync',
        ),
        migrations.RemoveField(
            model_name='execution',
            name='action',
        ),
        migrations.RemoveField(
            model_name='execution',
            name='flow_run',
        ),
        migrations.RemoveField(
            model_name='execution',
            name='record',
        ),
    ]
