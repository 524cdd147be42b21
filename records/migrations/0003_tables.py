"""The moved models' tables take the records app's names (``records_record``, ...); rows stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0002_action_execution'),
    ]

    operations = [
        migrations.AlterModelTable(name=name, table=None)
        for name in ("stage", "fielddefinition", "record", "recordevent", "action")
    ]
