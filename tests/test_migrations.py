"""``manage.py migrate`` from the last released schema keeps every row.

The database is taken back to the schema of the last release (records, stages, fields and actions
still in the workflows app; executions holding their action, record and flow run themselves),
filled the way that release filled it, and migrated forward again.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from config.schema import AddIndexConcurrently, RemoveIndexConcurrently
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

LAST_RELEASE = [
    ("accounts", "0001_initial"),
    ("approvals", "0003_approvers_notifications_votes"),
    ("executions", "0003_sync_is_refolds"),
    ("flowruns", "0003_flow_run_project"),
    ("workflows", "0002_action_short_id_per_tenant"),
    ("records", None),  # the app did not exist
]


def migrate_to(targets) -> object:
    """Migrate the test database to ``targets``; answers the apps (historical models) of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def fill_as_the_last_release(apps) -> dict:
    Tenant, Project = apps.get_model("accounts", "Tenant"), apps.get_model("accounts", "Project")
    Workflow, Version = apps.get_model("workflows", "Workflow"), apps.get_model("workflows", "WorkflowVersion")
    Stage, Field = apps.get_model("workflows", "Stage"), apps.get_model("workflows", "FieldDefinition")
    Record, Event = apps.get_model("workflows", "Record"), apps.get_model("workflows", "RecordEvent")
    Action = apps.get_model("workflows", "Action")
    FlowRun = apps.get_model("flowruns", "FlowRun")
    Execution = apps.get_model("executions", "Execution")

    tenant = Tenant.objects.create(name="Hogwarts", slug="hogwarts")
    project = Project.objects.create(tenant=tenant, name="Main", slug="main")
    workflow = Workflow.objects.create(tenant=tenant, project=project, name="Admissions", current_version=1)
    Version.objects.create(workflow=workflow, number=1, definition={"tasks": []}, checksum="0" * 64)
    new = Stage.objects.create(workflow=workflow, name="New", position=0)
    done = Stage.objects.create(workflow=workflow, name="Done", position=1)
    Field.objects.create(workflow=workflow, name="Name", type="text")
    record = Record.objects.create(tenant=tenant, workflow=workflow, unique_id=678, stage=new,
                                   fields={"Name": "Hermione"})
    action = Action.objects.create(tenant=tenant, project=project, workflow=workflow, name="Admit",
                                   short_id="edHR10", target_stage=done, steps={"tasks": []})
    action.stages.add(new)
    run = FlowRun.objects.create(tenant=tenant, run_id="admit-1", flow_id="edhr10")
    linked = Execution.objects.create(id=uuid.uuid4(), tenant=tenant, project=project, workflow=workflow,
                                      action=action, record=record, flow_run=run, sync=True, status="succeeded",
                                      created_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    plain = Execution.objects.create(id=uuid.uuid4(), tenant=tenant, project=project, workflow=workflow,
                                     status="queued")
    Event.objects.create(record=record, kind="action", action=action, execution=linked, outcome="succeeded")
    return {"record": record.pk, "action": action.pk, "run": run.pk, "linked": linked.pk, "plain": plain.pk,
            "new": new.pk}


@pytest.fixture
def latest_schema_afterwards():
    """Whatever happens in the test, the database ends on the latest schema for the tests after it."""
    yield
    migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_migrate_from_the_last_release_keeps_records_actions_and_links(latest_schema_afterwards):
    call_command("flush", "--no-input")
    old = fill_as_the_last_release(migrate_to(LAST_RELEASE))

    apps = migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
    Record, Action = apps.get_model("records", "Record"), apps.get_model("records", "Action")
    ActionExecution = apps.get_model("records", "ActionExecution")
    FlowRunExecution = apps.get_model("flowruns", "FlowRunExecution")
    Execution = apps.get_model("executions", "Execution")

    record = Record.objects.get(pk=old["record"])
    assert (record.unique_id, record.fields, record.stage_id) == (678, {"Name": "Hermione"}, old["new"])
    assert record.history.get().action_id == old["action"]
    action = Action.objects.get(pk=old["action"])
    assert (action.short_id, list(action.stages.values_list("pk", flat=True))) == ("edHR10", [old["new"]])
    link = ActionExecution.objects.get(execution_id=old["linked"])
    assert (link.action_id, link.record_id) == (old["action"], old["record"])
    # The link carries its execution's creation time (what an action's executions are listed by).
    assert link.created_at == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert FlowRunExecution.objects.get(execution_id=old["linked"]).flow_run_id == old["run"]
    assert not ActionExecution.objects.filter(execution_id=old["plain"]).exists()
    assert dict(Execution.objects.values_list("pk", "retry_policy")) == {
        old["linked"]: "required_only", old["plain"]: "as_defined"}
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    assert {"records_record", "records_action", "records_action_stages"} <= tables
    assert not {"workflows_record", "workflows_action"} & tables


LIST_INDEX_MIGRATIONS = [("executions", "0007_list_indexes", 7), ("approvals", "0004_list_indexes", 2),
                         ("flowruns", "0005_list_indexes", 4), ("records", "0005_action_execution_newest", 1),
                         ("webhooks", "0002_list_indexes", 6), ("executions", "0009_filter_indexes", 2),
                         ("webhooks", "0004_status_and_event_indexes", 2)]


def test_the_executions_a_schedule_started_before_name_it_as_their_origin(latest_schema_afterwards):
    """Schedules 0002 fills ``origin_id`` of the executions schedules started before executions 0008."""
    call_command("flush", "--no-input")
    apps = migrate_to([("executions", "0008_execution_origin"), ("schedules", "0001_initial")])
    Tenant, Project = apps.get_model("accounts", "Tenant"), apps.get_model("accounts", "Project")
    Workflow, Execution = apps.get_model("workflows", "Workflow"), apps.get_model("executions", "Execution")
    Schedule, Link = apps.get_model("schedules", "Schedule"), apps.get_model("schedules", "ScheduleExecution")
    tenant = Tenant.objects.create(name="Hogwarts", slug="hogwarts")
    project = Project.objects.create(tenant=tenant, name="Main", slug="main")
    workflow = Workflow.objects.create(tenant=tenant, project=project, name="Nightly", current_version=1)
    schedule = Schedule.objects.create(tenant=tenant, project=project, workflow=workflow, cron="0 * * * *",
                                       next_run_at=datetime(2026, 1, 5, tzinfo=UTC))
    started = [Execution.objects.create(id=uuid.uuid4(), tenant=tenant, project=project, workflow=workflow)
               for _ in range(3)]
    by_hand = Execution.objects.create(id=uuid.uuid4(), tenant=tenant, project=project, workflow=workflow)
    for execution in started:
        Link.objects.create(execution=execution, schedule=schedule, due_at=datetime(2026, 1, 5, tzinfo=UTC))

    apps = migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
    origins = dict(apps.get_model("executions", "Execution").objects.values_list("pk", "origin_id"))
    assert origins == {**{e.pk: schedule.pk for e in started}, by_hand.pk: None}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'execution_tags'")
            row = cursor.fetchone()
        assert row is not None and "gin (tags jsonb_path_ops)" in row[0]


def test_the_list_indexes_are_built_without_locking_the_tables():
    loader = MigrationLoader(connection)
    for app, name, count in LIST_INDEX_MIGRATIONS:
        migration = loader.get_migration(app, name)
        assert migration.atomic is False, name  # PostgreSQL builds an index concurrently only outside a transaction
        assert [type(op) for op in migration.operations] == [AddIndexConcurrently] * count, name
        if connection.vendor == "postgresql":
            out = io.StringIO()
            call_command("sqlmigrate", app, name, stdout=out)
            assert out.getvalue().count("CREATE INDEX CONCURRENTLY") == count, out.getvalue()


def test_a_superseded_list_index_is_dropped_without_locking_the_table():
    migration = MigrationLoader(connection).get_migration("webhooks", "0003_drop_subscription_created_index")
    assert migration.atomic is False
    assert [type(op) for op in migration.operations] == [RemoveIndexConcurrently]
    if connection.vendor == "postgresql":
        out = io.StringIO()
        call_command("sqlmigrate", "webhooks", "0003_drop_subscription_created_index", stdout=out)
        assert out.getvalue().count("DROP INDEX CONCURRENTLY") == 1, out.getvalue()


def test_the_models_need_no_migration_that_is_not_written():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_a_fresh_embedded_database_migrates(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
    env.update(FLOWGATE_HOME=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Applying executions.0007_list_indexes... OK" in result.stdout
