"""Indexes for Port's filters and the admin's list at scale, built without locking the table."""

from django.db import migrations, models

from config.schema import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('flowruns', '0004_flow_run_execution'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='flowrun',
            index=models.Index(fields=['tenant', 'flow_id', '-created_at', '-id'], name='flow_run_tenant_flow'),
        ),
        AddIndexConcurrently(
            model_name='flowrun',
            index=models.Index(fields=['tenant', 'phase', '-created_at', '-id'], name='flow_run_tenant_phase'),
        ),
        AddIndexConcurrently(
            model_name='flowrun',
            index=models.Index(fields=['-created_at', '-id'], name='flow_run_created'),
        ),
        AddIndexConcurrently(
            model_name='flowrun',
            index=models.Index(fields=['phase', '-created_at', '-id'], name='flow_run_phase'),
        ),
    ]
