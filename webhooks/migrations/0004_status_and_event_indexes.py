"""A tenant's deliveries by status and the admin's by event, served by indexes built without locking
the table (CREATE INDEX CONCURRENTLY). Not atomic: PostgreSQL builds an index concurrently only
outside a transaction."""

from django.db import migrations, models

from config.schema import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('webhooks', '0003_drop_subscription_created_index'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='delivery',
            index=models.Index(fields=['tenant', 'status', '-created_at', '-id'], name='delivery_tenant_status'),
        ),
        AddIndexConcurrently(
            model_name='delivery',
            index=models.Index(fields=['event', '-created_at', '-id'], name='delivery_admin_event'),
        ),
    ]
