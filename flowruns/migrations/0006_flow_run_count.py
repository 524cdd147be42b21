"""Each tenant's (and project's) number of flow runs in each phase, kept for Port's exact totals."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count


def count_runs(apps, schema_editor):
    FlowRun = apps.get_model("flowruns", "FlowRun")
    FlowRunCount = apps.get_model("flowruns", "FlowRunCount")
    FlowRunCount.objects.bulk_create(
        FlowRunCount(tenant_id=row["tenant_id"], project_id=row["project_id"], phase=row["phase"] or "",
                     count=row["n"])
        for row in FlowRun.objects.order_by().values("tenant_id", "project_id", "phase").annotate(n=Count("pk")))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('flowruns', '0005_list_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='FlowRunCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('phase', models.CharField(blank=True, default='', max_length=40)),
                ('count', models.BigIntegerField(default=0)),
                ('project', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.project')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.tenant')),
            ],
            options={
                'constraints': [models.UniqueConstraint(condition=models.Q(('project__isnull', True)), fields=('tenant', 'phase'), name='one_flow_run_count_per_tenant'), models.UniqueConstraint(condition=models.Q(('project__isnull', False)), fields=('tenant', 'project', 'phase'), name='one_flow_run_count_per_project')],
            },
        ),
        migrations.RunPython(count_runs, migrations.RunPython.noop),
    ]
