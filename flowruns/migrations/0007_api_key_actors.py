"""Who wrote a run with an API key is stored with the key's owner, whose id the Port API shows."""

from django.db import migrations

FIELDS = ("created_by", "updated_by", "reviewed_by")


def key_owners(apps, schema_editor):
    FlowRun = apps.get_model("flowruns", "FlowRun")
    ApiKey = apps.get_model("accounts", "ApiKey")
    owners: dict[tuple, int | None] = {}
    for tenant_id, name, owner_id in ApiKey.objects.values_list("tenant_id", "name", "created_by_id"):
        # A name two keys of a tenant share names neither owner.
        owners[(tenant_id, name)] = owner_id if (tenant_id, name) not in owners else None
    for field in FIELDS:
        stored = (FlowRun.objects.filter(**{f"{field}__startswith": "key:"}).order_by()
                  .values_list("tenant_id", field).distinct())
        for tenant_id, value in stored:
            name = value.removeprefix("key:")
            owner = owners.get((tenant_id, name))
            FlowRun.objects.filter(tenant_id=tenant_id, **{field: value}).update(
                **{field: f"apikey:{owner if owner is not None else ''}:{name}"[:200]})


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("flowruns", "0006_flow_run_count"),
    ]

    operations = [migrations.RunPython(key_owners, migrations.RunPython.noop, elidable=True)]
