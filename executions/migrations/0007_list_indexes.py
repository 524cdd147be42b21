"""Indexes for the lists at scale, built without locking the tables (CREATE INDEX CONCURRENTLY).

Not atomic: PostgreSQL builds an index concurrently only outside a transaction. A build that was
interrupted is dropped and started again when the migration is run again.
"""

from django.db import migrations, models

from config.schema import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('executions', '0006_retention_rule'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='execution',
            index=models.Index(fields=['tenant', 'status', '-created_at', '-id'], name='execution_tenant_status'),
        ),
        AddIndexConcurrently(
            model_name='execution',
            index=models.Index(fields=['tenant', 'workflow', '-created_at', '-id'], name='execution_tenant_workflow'),
        ),
        AddIndexConcurrently(
            model_name='log',
            index=models.Index(fields=['timestamp', 'id'], name='log_admin_order'),
        ),
        AddIndexConcurrently(
            model_name='log',
            index=models.Index(fields=['level', 'timestamp', 'id'], name='log_admin_level'),
        ),
        AddIndexConcurrently(
            model_name='taskrun',
            index=models.Index(fields=['position', 'name', '-id'], name='task_run_admin_order'),
        ),
        AddIndexConcurrently(
            model_name='taskrun',
            index=models.Index(fields=['task_type', 'position', 'name', '-id'], name='task_run_admin_type'),
        ),
        AddIndexConcurrently(
            model_name='taskrun',
            index=models.Index(fields=['status', 'position', 'name', '-id'], name='task_run_admin_status'),
        ),
    ]
