"""The native list's schedule (``origin_id``) and started_by filters served by indexes, built without
locking the table (CREATE INDEX CONCURRENTLY). Not atomic: PostgreSQL builds an index concurrently
only outside a transaction."""

from django.db import migrations, models

from config.schema import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('executions', '0008_execution_origin'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='execution',
            index=models.Index(condition=models.Q(('origin_id__isnull', False)),
                               fields=['tenant', 'origin_id', '-created_at', '-id'], name='execution_tenant_origin'),
        ),
        AddIndexConcurrently(
            model_name='execution',
            index=models.Index(fields=['tenant', 'started_by_label', '-created_at', '-id'],
                               name='execution_tenant_starter'),
        ),
    ]
