"""Indexes for the approvals lists at scale, built without locking the table (CREATE INDEX CONCURRENTLY)."""

from django.db import migrations, models

from config.schema import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('approvals', '0003_approvers_notifications_votes'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='approval',
            index=models.Index(fields=['tenant', '-requested_at', '-id'], name='approval_tenant_requested'),
        ),
        AddIndexConcurrently(
            model_name='approval',
            index=models.Index(fields=['-requested_at', '-id'], name='approval_requested'),
        ),
    ]
