"""``origin_id`` names what started an execution (a schedule: the schedules app sets it, and fills it
for the executions it started before, in schedules 0002). Nullable: adding it rewrites nothing."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('executions', '0007_list_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='execution',
            name='origin_id',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
    ]
