"""The index that lists an action's executions newest first, built without locking the table.

Not atomic: PostgreSQL builds an index concurrently only outside a transaction.
"""

from django.db import migrations, models

from config.schema import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('records', '0004_action_execution_created_at'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='actionexecution',
            index=models.Index(fields=['action', '-created_at', '-execution'], name='action_execution_newest'),
        ),
    ]
