"""Approvals remember who started their execution (for the four-eyes rule of the lists), filled in for existing ones."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_starters(apps, schema_editor):
    Approval = apps.get_model("approvals", "Approval")
    Execution = apps.get_model("executions", "Execution")
    execution = Execution.objects.filter(pk=OuterRef("execution_id"))
    Approval.objects.update(execution_started_by_user_id=Subquery(execution.values("started_by_user_id")[:1]),
                            execution_started_by_key_id=Subquery(execution.values("started_by_key_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('approvals', '0004_list_indexes'),
        ('executions', '0007_list_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='approval',
            name='execution_started_by_key_id',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='approval',
            name='execution_started_by_user_id',
            field=models.IntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(copy_starters, migrations.RunPython.noop),
    ]
