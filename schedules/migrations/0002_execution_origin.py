"""The executions a schedule started name it in ``origin_id`` (executions 0008), which lists them
through an index; those started before this migration get it here, in batches."""

from django.db import migrations

BATCH = 5000


def fill_origin(apps, schema_editor):
    Execution = apps.get_model("executions", "Execution")
    ScheduleExecution = apps.get_model("schedules", "ScheduleExecution")
    links = ScheduleExecution.objects.filter(execution__origin_id__isnull=True).values_list("execution_id", "schedule_id")
    while batch := list(links[:BATCH]):
        by_schedule: dict = {}
        for execution_id, schedule_id in batch:
            by_schedule.setdefault(schedule_id, []).append(execution_id)
        for schedule_id, execution_ids in by_schedule.items():
            Execution.objects.filter(pk__in=execution_ids).update(origin_id=schedule_id)


class Migration(migrations.Migration):

    # Each batch commits on its own: a large table is never locked for the whole fill, and an
    # interrupted fill goes on from where it stopped when migrate runs again.
    atomic = False

    dependencies = [
        ('executions', '0008_execution_origin'),
        ('schedules', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(fill_origin, migrations.RunPython.noop, atomic=False),
    ]
