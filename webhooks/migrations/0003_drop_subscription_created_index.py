"""The index on (subscription, -created_at) is dropped: delivery_subscription_order (its columns, then
the id) serves a subscription's deliveries now. Dropped without locking the table (DROP INDEX
CONCURRENTLY), hence not atomic."""

from django.db import migrations

from config.schema import RemoveIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('webhooks', '0002_list_indexes'),
    ]

    operations = [
        RemoveIndexConcurrently(
            model_name='delivery',
            name='webhooks_de_subscri_ae263c_idx',
        ),
    ]
