import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('executions', '0005_log_event'),
        ('workflows', '0003_records_move_out'),
    ]

    operations = [
        migrations.CreateModel(
            name='RetentionRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('keep_days', models.PositiveIntegerField(blank=True, help_text='Days a finished execution is kept after it ended; empty keeps them forever.', null=True)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='retention_rules', to='accounts.tenant')),
                ('workflow', models.ForeignKey(blank=True, help_text='Empty: the rule of the whole tenant (and its Port flow runs).', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='retention_rules', to='workflows.workflow')),
            ],
            options={
                'ordering': ['tenant', 'workflow'],
            },
        ),
        migrations.AddConstraint(
            model_name='retentionrule',
            constraint=models.UniqueConstraint(condition=models.Q(('workflow__isnull', True)), fields=('tenant',), name='one_retention_rule_per_tenant'),
        ),
        migrations.AddConstraint(
            model_name='retentionrule',
            constraint=models.UniqueConstraint(condition=models.Q(('workflow__isnull', False)), fields=('tenant', 'workflow'), name='one_retention_rule_per_workflow'),
        ),
    ]
