"""The moved models' tables take the records app's names (``records_record``, ...); rows stay."""

from django.db import migrations


class Migration(migrations.Migration):

    # After the executions' old link columns are gone (and, going back, before they return).
    dependencies = [
        ('executions', '0004_links_move_out_retry_policy'),
        ('records', '0002_action_execution'),
    ]

    operations = [
        migrations.AlterModelTable(name=name, table=None)
        for name in ("stage", "fielddefinition", "record", "recordevent", "action")
    ]
