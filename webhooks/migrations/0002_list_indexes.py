"""Indexes for the subscriptions' and deliveries' lists at scale, built without locking the table (CREATE INDEX CONCURRENTLY).

Not atomic: PostgreSQL builds an index concurrently only outside a transaction. A build that was
interrupted is dropped and started again when the migration is run again.
"""

from django.db import migrations, models

from config.schema import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('webhooks', '0001_initial'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='subscription',
            index=models.Index(condition=models.Q(('execution__isnull', True)), fields=['tenant', '-created_at', '-id'],
                               name='subscription_tenant_order'),
        ),
        AddIndexConcurrently(
            model_name='subscription',
            index=models.Index(fields=['-created_at', '-id'], name='subscription_admin_order'),
        ),
        AddIndexConcurrently(
            model_name='delivery',
            index=models.Index(fields=['tenant', '-created_at', '-id'], name='delivery_tenant_order'),
        ),
        AddIndexConcurrently(
            model_name='delivery',
            index=models.Index(fields=['subscription', '-created_at', '-id'], name='delivery_subscription_order'),
        ),
        AddIndexConcurrently(
            model_name='delivery',
            index=models.Index(fields=['-created_at', '-id'], name='delivery_admin_order'),
        ),
        AddIndexConcurrently(
            model_name='delivery',
            index=models.Index(fields=['status', '-created_at', '-id'], name='delivery_admin_status'),
        ),
    ]
