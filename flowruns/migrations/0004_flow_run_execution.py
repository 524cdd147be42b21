"""Executions' link to the Port flow run they report to, moved here from the execution's own column."""

import django.db.models.deletion
from django.db import migrations, models

# Rows copied per statement; the next batch reads on from the last execution copied.
BATCH = 1000


def copy_links(apps, schema_editor):
    Execution = apps.get_model("executions", "Execution")
    FlowRunExecution = apps.get_model("flowruns", "FlowRunExecution")
    linked = Execution.objects.filter(flow_run__isnull=False).order_by("pk").values_list("pk", "flow_run_id")
    last = None
    while True:
        rows = list((linked.filter(pk__gt=last) if last is not None else linked)[:BATCH])
        if not rows:
            return
        FlowRunExecution.objects.bulk_create(
            [FlowRunExecution(execution_id=pk, flow_run_id=flow_run_id) for pk, flow_run_id in rows])
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0003_sync_is_refolds'),
        ('flowruns', '0003_flow_run_project'),
    ]
    # The column copied here is dropped by executions.0004.
    run_before = [
        ('executions', '0004_links_move_out_retry_policy'),
    ]

    operations = [
        migrations.CreateModel(
            name='FlowRunExecution',
            fields=[
                ('execution', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='flow_run_link', serialize=False, to='executions.execution')),
                ('flow_run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='execution_links', to='flowruns.flowrun')),
            ],
        ),
        migrations.RunPython(copy_links, migrations.RunPython.noop),
    ]
