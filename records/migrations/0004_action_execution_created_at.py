"""Action executions carry their execution's created_at, so an action's executions list from an index.

The column is added with one constant default (no table rewrite), then set from each execution in
batches, so no statement holds the table for long.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

# Links updated per statement; the next batch reads on from the last execution updated.
BATCH = 5000


def copy_created_at(apps, schema_editor):
    ActionExecution = apps.get_model("records", "ActionExecution")
    Execution = apps.get_model("executions", "Execution")
    links = ActionExecution.objects.order_by("pk").values_list("pk", flat=True)
    last = None
    while True:
        batch = list((links.filter(pk__gt=last) if last is not None else links)[:BATCH])
        if not batch:
            return
        ActionExecution.objects.filter(pk__in=batch).update(
            created_at=Subquery(Execution.objects.filter(pk=OuterRef("pk")).values("created_at")[:1]))
        last = batch[-1]


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0007_list_indexes'),
        ('records', '0003_tables'),
    ]

    operations = [
        migrations.AddField(
            model_name='actionexecution',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(copy_created_at, migrations.RunPython.noop),
    ]
