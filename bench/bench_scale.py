"""Every list of every surface at ten thousand executions and at a million, side by side in one run.

Seeds a throw-away PostgreSQL database by bulk SQL (``generate_series``) with executions and their
task runs, logs, Port flow runs, approvals, mindzie action executions, webhook deliveries and
schedule links, serves it with gunicorn as ``docs/deployment.md``
runs it, and times every list endpoint (native, Port, FlowSynx, Flowdash, mindzie),
the approvers' pages, the admin changelists and one sweeper pass: first at the small size, then
again after the tables have grown to the large one. Each figure is the median of several
requests after a warm-up. Each list's SQL is also read back through ``EXPLAIN ANALYZE`` at the
large size: a sequential scan or an on-disk sort of a seeded table fails its target. Last, the
retention purge removes the oldest executions while the lists are timed again, and the tables'
size per million executions is printed. Talks only to 127.0.0.1.

    make bench                                        # both benchmarks (FLOWGATE_BENCH_ONLY=scale: this one)
    .venv/bin/python bench/bench_scale.py --quick     # a smoke run (what the test suite runs)

``DATABASE_URL`` names the database, which is dropped and created again: its name must start
with ``flowgate_bench``. Seeding a million executions takes a few minutes and a few GB of disk;
the database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.bench_engine import Process, drop_database, free_port, recreate_database  # noqa: E402

# The large set's executions are spread over this many days, newest first; the small set is its
# newest part, so both sizes show the same first pages.
SPAN_DAYS = 100
# The purge removes what is older than this (the oldest twentieth of the large set).
PURGE_AFTER_DAYS = 95
# Rows per INSERT ... SELECT while seeding (progress is printed between them).
SEED_CHUNK = 250_000
# Seeded tables with more rows than this count as large in the plan check.
LARGE_TABLE_ROWS = 50_000
SEEDED_TABLES = ("executions_execution", "executions_taskrun", "executions_log", "flowruns_flowrun",
                 "flowruns_flowrunexecution", "approvals_approval", "approvals_approvaldecision",
                 "records_actionexecution", "webhooks_delivery", "schedules_scheduleexecution")
TARGET_RATIO = 2.0
TARGET_MS = 60.0


@dataclass
class Sizes:
    small: int
    large: int
    repeats: int


FULL = Sizes(small=10_000, large=1_000_000, repeats=10)
QUICK = Sizes(small=1_000, large=5_000, repeats=3)


# -- seeding -----------------------------------------------------------------------------------------
def uuid_sql(kind: int, expression: str) -> str:
    """A deterministic UUID for row ``expression`` of ``kind`` (ordered, so the seed writes indexes in order)."""
    return (f"(lpad(to_hex({kind}), 8, '0') || '-0000-4000-8000-' || lpad(to_hex({expression}), 12, '0'))::uuid")


EXECUTION, TASK_A, TASK_B, TASK_C, LOG, APPROVAL, DELIVERY = 1, 2, 3, 4, 5, 6, 7
# One finished execution in ten was delivered to the webhook subscription; one in thirty (all of
# workflow 2's, see Seed.rows) was started by the schedule.
DELIVERED, SCHEDULED = "r.terminal AND r.i % 10 = 6", "r.i % 30 = 8"


@dataclass
class Seed:
    """What the bulk SQL needs: the ids of the rows made through the services, and the clock."""

    tenant: str
    project: str
    workflows: list[str]
    versions: list[str]
    key: str
    action: str  # the mindzie action a tenth of the executions ran for
    subscription: str  # the webhook subscription a tenth of the finished executions were delivered to
    schedule: str  # the (disabled) schedule of workflow 2 that started a thirtieth of the executions
    alice: int
    april: int
    t0: datetime
    large: int

    @property
    def step_seconds(self) -> float:
        return SPAN_DAYS * 86400 / self.large

    def rows(self, start: int, stop: int) -> str:
        """The seeded executions ``start <= i < stop`` (i = 0 is the newest) as a SQL sub-select."""
        live_every = max(self.large // 10, 1)
        return f"""
            SELECT i, s.status, s.status IN ('succeeded', 'failed', 'cancelled') AS terminal, s.created,
                   {uuid_sql(EXECUTION, 'i')} AS execution_id
            FROM generate_series({start}, {stop - 1}) AS i,
            LATERAL (SELECT
                CASE WHEN i < 30 THEN (ARRAY['queued', 'running', 'waiting'])[i % 3 + 1]
                     WHEN i % {live_every} = {live_every - 1} THEN (ARRAY['running', 'waiting'])[(i / {live_every}) % 2 + 1]
                     WHEN i % 10 IN (0, 1) THEN 'failed'
                     WHEN i % 10 = 2 THEN 'cancelled'
                     ELSE 'succeeded' END AS status,
                TIMESTAMPTZ '{self.t0.isoformat()}' - i * INTERVAL '{self.step_seconds:.6f} seconds' AS created
            ) AS s
        """

    def statements(self, start: int, stop: int) -> list[tuple[str, str]]:
        """The INSERTs of one chunk. Unfinished executions look touched a day ahead (enqueued_at,
        updated_at, their running task's lease), so the timed sweeper passes find nothing to re-send."""
        rows = self.rows(start, stop)
        workflows = "ARRAY[" + ", ".join(f"'{w}'::uuid" for w in self.workflows) + "]"
        versions = "ARRAY[" + ", ".join(f"'{v}'::uuid" for v in self.versions) + "]"
        port = ("CASE r.status WHEN 'succeeded' THEN 'success' WHEN 'failed' THEN 'failure' "
                "ELSE r.status END")
        task_status = {
            "a": "CASE WHEN r.status = 'queued' THEN 'pending' ELSE 'succeeded' END",
            "b": ("CASE r.status WHEN 'queued' THEN 'pending' WHEN 'running' THEN 'running' WHEN 'failed' THEN 'failed' "
                  "WHEN 'cancelled' THEN 'cancelled' ELSE 'succeeded' END"),
            "c": ("CASE r.status WHEN 'succeeded' THEN 'succeeded' WHEN 'failed' THEN 'skipped' "
                  "WHEN 'cancelled' THEN 'cancelled' WHEN 'waiting' THEN 'waiting' ELSE 'pending' END"),
        }
        task_kinds = {"a": (TASK_A, "log", 0), "b": (TASK_B, "set", 1), "c": (TASK_C, "approval", 2)}
        statements = [("executions", f"""
            INSERT INTO executions_execution (id, definition, status, input, return_value, errors, tags,
                linked_account_id, attempt, cancel_requested, started_by_label, idempotency_key, request_fingerprint,
                created_at, started_at, ended_at, updated_at, enqueued_at, parent_id, performed_by_id, project_id,
                started_by_key_id, started_by_user_id, tenant_id, workflow_id, workflow_version_id,
                parent_task_run_id, retry_policy, origin_id)
            SELECT r.execution_id, NULL, r.status, jsonb_build_object('n', r.i, 'customer', 'c-' || (r.i % 997)),
                CASE WHEN r.status = 'succeeded' THEN jsonb_build_object('total', r.i % 1000) END,
                CASE WHEN r.status = 'failed' THEN '["Task b failed: the service answered 502."]'::jsonb
                     ELSE '[]'::jsonb END,
                jsonb_build_object('env', 'prod', 'batch', 'b-' || (r.i % 50)), 'acct-' || (r.i % 5000), 1, false,
                CASE WHEN r.i % 10 = 5 THEN 'alice' ELSE 'key:bench' END, NULL, '',
                r.created, r.created + INTERVAL '100 milliseconds',
                CASE WHEN r.terminal THEN r.created + INTERVAL '2 seconds' END,
                CASE WHEN r.terminal THEN r.created + INTERVAL '2 seconds' ELSE now() + INTERVAL '1 day' END,
                CASE WHEN r.terminal THEN r.created ELSE now() + INTERVAL '1 day' END,
                NULL, NULL, '{self.project}', CASE WHEN r.i % 10 = 5 THEN NULL ELSE '{self.key}'::uuid END,
                CASE WHEN r.i % 10 = 5 THEN {self.alice} END, '{self.tenant}',
                ({workflows})[r.i % 3 + 1], ({versions})[r.i % 3 + 1], NULL, 'as_defined',
                CASE WHEN {SCHEDULED} THEN '{self.schedule}'::uuid END
            FROM ({rows}) AS r""")]
        for name, (kind, task_type, position) in task_kinds.items():
            status = task_status[name]
            statements.append((f"task runs {name}", f"""
                INSERT INTO executions_taskrun (id, name, task_type, position, status, attempts, output, message,
                    started_at, ended_at, dispatched_at, not_before, lease_expires_at, wake_at, execution_id)
                SELECT {uuid_sql(kind, 'r.i')}, '{name}', '{task_type}', {position}, t.status,
                    CASE WHEN t.status IN ('pending', 'skipped', 'cancelled') THEN 0 ELSE 1 END,
                    CASE WHEN t.status = 'succeeded' THEN jsonb_build_object('value', r.i) END,
                    CASE WHEN t.status = 'failed' THEN 'The service answered 502.' ELSE '' END,
                    CASE WHEN t.status IN ('pending', 'skipped', 'cancelled') THEN NULL
                         ELSE r.created + INTERVAL '{position * 500 + 200} milliseconds' END,
                    CASE WHEN t.status IN ('succeeded', 'failed') THEN r.created + INTERVAL '{position * 500 + 600} milliseconds' END,
                    NULL, NULL, CASE WHEN t.status = 'running' THEN now() + INTERVAL '1 day' END, NULL, r.execution_id
                FROM ({rows}) AS r, LATERAL (SELECT {status} AS status) AS t"""))
        statements.append(("logs", f"""
            INSERT INTO executions_log (uuid, level, message, exception, event, timestamp, execution_id,
                task_run_id)
            SELECT {uuid_sql(LOG, 'r.i')}, CASE WHEN r.status = 'failed' THEN 'error' ELSE 'info' END,
                'Execution queued (workflow v1) by ' || CASE WHEN r.i % 10 = 5 THEN 'alice' ELSE 'key:bench' END || '.',
                NULL, '', r.created, r.execution_id, {uuid_sql(TASK_A, 'r.i')}
            FROM ({rows}) AS r WHERE r.i % 10 <> 9"""))
        approval_rows = f"SELECT * FROM ({rows}) AS r WHERE (r.i % 100 = 7 AND r.terminal) OR r.status = 'waiting'"
        statements.append(("approvals", f"""
            INSERT INTO approvals_approval (id, status, title, instructions, approver_user_ids, approver_roles,
                approver_emails, approver_usernames, required_approvals, approvals_count, allow_self_approval, form,
                require_comment, on_reject, timeout_outcome, expires_at, requested_at, decided_at, decided_by_label,
                comment, form_values, decided_by_id, decided_by_key_id, execution_id, task_run_id, tenant_id,
                notified_at, execution_started_by_user_id, execution_started_by_key_id)
            SELECT {uuid_sql(APPROVAL, 'r.i')},
                CASE WHEN NOT r.terminal THEN 'pending' WHEN r.i % 200 = 7 THEN 'approved' ELSE 'rejected' END,
                'Approve order ' || r.i, '', '[]', '["approver"]', '[]', '[]', 1,
                CASE WHEN r.terminal AND r.i % 200 = 7 THEN 1 ELSE 0 END, false, '[]', false, 'fail', 'reject', NULL,
                r.created + INTERVAL '1 second', CASE WHEN r.terminal THEN r.created + INTERVAL '1500 milliseconds' END,
                CASE WHEN r.terminal THEN 'april' ELSE '' END, '', '{{}}',
                CASE WHEN r.terminal THEN {self.april} END, NULL, r.execution_id, {uuid_sql(TASK_C, 'r.i')},
                '{self.tenant}', r.created + INTERVAL '1 second',
                CASE WHEN r.i % 10 = 5 THEN {self.alice} END, CASE WHEN r.i % 10 = 5 THEN NULL ELSE '{self.key}'::uuid END
            FROM ({approval_rows}) AS r"""))
        statements.append(("approval votes", f"""
            INSERT INTO approvals_approvaldecision (decision, label, comment, form_values, created_at, api_key_id,
                approval_id, user_id)
            SELECT CASE WHEN r.i % 200 = 7 THEN 'approve' ELSE 'reject' END, 'april', '', '{{}}',
                r.created + INTERVAL '1500 milliseconds', NULL, {uuid_sql(APPROVAL, 'r.i')}, {self.april}
            FROM ({approval_rows}) AS r WHERE r.terminal"""))
        statements.append(("flow runs", f"""
            INSERT INTO flowruns_flowrun (run_id, flow_id, flow_type, args, phase, start_time, end_time, actions,
                outputs, logs, tags, created_at, created_by, updated_at, updated_by, reviewed_by, reviewed_at,
                tenant_id, project_id)
            SELECT 'run-' || r.i, 'flow-' || (r.i % 50), 'automation', NULL, to_jsonb({port}),
                r.created + INTERVAL '100 milliseconds', CASE WHEN r.terminal THEN r.created + INTERVAL '2 seconds' END,
                jsonb_build_array(jsonb_build_object('id', 'a', 'phase', 'success'),
                                  jsonb_build_object('id', 'b', 'phase', {port}),
                                  jsonb_build_object('id', 'c', 'phase', {port})),
                NULL, '[]', '[]', r.created, 'key:bench',
                CASE WHEN r.terminal THEN r.created + INTERVAL '2 seconds' ELSE r.created END, 'key:bench', NULL, NULL,
                '{self.tenant}', NULL
            FROM ({rows}) AS r"""))
        statements.append(("flow run links", f"""
            INSERT INTO flowruns_flowrunexecution (execution_id, flow_run_id)
            SELECT r.execution_id, f.id FROM ({rows}) AS r
            JOIN flowruns_flowrun AS f ON f.tenant_id = '{self.tenant}' AND f.run_id = 'run-' || r.i
            WHERE r.i % 10 = 3"""))
        statements.append(("action links", f"""
            INSERT INTO records_actionexecution (execution_id, action_id, record_id, created_at)
            SELECT r.execution_id, '{self.action}'::uuid, NULL, r.created FROM ({rows}) AS r WHERE r.i % 10 = 4"""))
        # Delivered: nothing pending, so the timed sweeper passes send nothing.
        statements.append(("webhook deliveries", f"""
            INSERT INTO webhooks_delivery (id, tenant_id, project_id, subscription_id, execution_id, event, payload,
                status, attempts, next_attempt_at, retry_until, created_at, last_attempt_at, succeeded_at,
                redelivery_of_id)
            SELECT {uuid_sql(DELIVERY, 'r.i')}, '{self.tenant}', '{self.project}', '{self.subscription}',
                r.execution_id, e.event,
                jsonb_build_object('type', e.event, 'data', jsonb_build_object('execution', jsonb_build_object(
                    'id', r.execution_id, 'status', r.status))),
                CASE WHEN r.i % 100 = 16 THEN 'failed' ELSE 'succeeded' END,
                CASE WHEN r.i % 100 = 16 THEN 8 ELSE 1 END, NULL, r.created + INTERVAL '1 day',
                r.created + INTERVAL '2 seconds', r.created + INTERVAL '2 seconds',
                CASE WHEN r.i % 100 = 16 THEN NULL ELSE r.created + INTERVAL '2100 milliseconds' END, NULL
            FROM ({rows}) AS r,
            LATERAL (SELECT CASE WHEN r.i % 30 = 16 THEN 'approval.requested'
                                 ELSE 'execution.' || r.status END AS event) AS e
            WHERE {DELIVERED}"""))
        statements.append(("schedule links", f"""
            INSERT INTO schedules_scheduleexecution (execution_id, schedule_id, due_at)
            SELECT r.execution_id, '{self.schedule}'::uuid, r.created FROM ({rows}) AS r WHERE {SCHEDULED}"""))
        return statements


def connect_raw():
    import psycopg

    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)


def seed_range(seed: Seed, start: int, stop: int) -> float:
    """Insert the executions ``start <= i < stop`` and everything they own; answers the seconds it took."""
    began = time.monotonic()
    with connect_raw() as conn:
        try:
            # The rows are consistent by construction: skip the foreign-key triggers (superuser only).
            conn.execute("SET session_replication_role = replica")
        except Exception:  # noqa: BLE001 (an ordinary role seeds with the checks on)
            conn.rollback()
        for chunk_start in range(start, stop, SEED_CHUNK):
            chunk_stop = min(chunk_start + SEED_CHUNK, stop)
            for _, sql in seed.statements(chunk_start, chunk_stop):
                conn.execute(sql)
            print(f"    seeded executions {chunk_start:,}-{chunk_stop - 1:,} "
                  f"({time.monotonic() - began:.0f} s)", flush=True)
        conn.execute("VACUUM (ANALYZE)")
    # The bulk SQL wrote flow runs behind the services' back: their kept counts are set as the
    # periodic recount would set them.
    from flowruns.services import recount_flow_runs

    recount_flow_runs()
    return time.monotonic() - began


def table_rows() -> dict[str, int]:
    with connect_raw() as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in SEEDED_TABLES}


def table_bytes() -> dict[str, int]:
    with connect_raw() as conn:
        return {table: conn.execute("SELECT pg_total_relation_size(%s)", [table]).fetchone()[0]
                for table in SEEDED_TABLES}


# -- fixtures through the services --------------------------------------------------------------------
@dataclass
class Fixtures:
    seed: Seed
    key: str  # an admin API key's secret
    sessions: dict[str, str]  # persona -> session cookie
    records_workflow: str
    record_unique_id: int


def create_fixtures(large: int) -> Fixtures:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from accounts.models import Role
    from accounts.services import create_api_key, create_project, create_tenant, create_user
    from records import actions as record_actions
    from records import services as record_services
    from schedules.services import create_schedule
    from webhooks.services import create_subscription
    from workflows.services import create_workflow

    tenant = create_tenant("Bench", "bench")
    project = create_project(tenant, "Bench", "bench")
    alice = create_user("alice", None, email="alice@example.com", tenant=tenant, role=Role.ADMIN,
                        is_staff=True, is_superuser=True)
    april = create_user("april", None, email="april@example.com", tenant=tenant, role=Role.APPROVER)
    key, secret = create_api_key(tenant, "bench", Role.ADMIN)
    definition = {"tasks": [
        {"name": "a", "type": "log", "config": {"message": "order {{ input.n }}"}},
        {"name": "b", "type": "set", "config": {"values": {"total": "{{ input.n }}"}}, "depends_on": ["a"]},
        {"name": "c", "type": "approval", "config": {"title": "Approve", "approvers": {"roles": ["approver"]}},
         "depends_on": ["b"]},
    ]}
    workflows = [create_workflow(project=project, name=f"orders-{n}", alias=f"orders-{n}", definition=definition)
                 for n in range(3)]
    board = workflows[0]
    record_services.create_stage(workflow=board, name="New")
    record_services.create_stage(workflow=board, name="Done")
    action = record_actions.create_action(project=project, workflow=board, name="Finish", short_id="finish",
                                 stages=["New"], target_stage="Done", steps={"tasks": [
                                     {"name": "note", "type": "log", "config": {"message": "done"}}]})
    # A literal public address: nothing is sent to it (every seeded delivery is done).
    subscription, _ = create_subscription(project=project, url="https://93.184.215.14/flowgate")
    # Disabled: the timed sweeper passes start nothing.
    schedule = create_schedule(workflow=workflows[2], cron="0 * * * *", name="hourly", enabled=False)
    first = None
    for _ in range(200):
        record = record_services.create_record(workflow=board, fields={}, user=alice)
        first = first or record.unique_id
    sessions = {}
    for user in (alice, april):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        sessions[user.username] = store.session_key
    seed = Seed(tenant=str(tenant.id), project=str(project.id), workflows=[str(w.id) for w in workflows],
                versions=[str(w.versions.get().id) for w in workflows], key=str(key.id), action=str(action.id),
                subscription=str(subscription.id), schedule=str(schedule.id), alice=alice.pk, april=april.pk, t0=timezone.now(), large=large)
    return Fixtures(seed=seed, key=secret, sessions=sessions, records_workflow=str(board.id), record_unique_id=first)


def seeded_uuid(kind: int, i: int) -> str:
    return f"{kind:08x}-0000-4000-8000-{i:012x}"


# Seeded executions the single-execution lists read (see Seed.rows): i = 33 finished in workflow 0
# with a log line and a flow run, i = 107 finished in workflow 2 with a decided approval, i = 2 waiting.
FINISHED, WITH_APPROVAL, WAITING = 33, 107, 2


# -- requests -----------------------------------------------------------------------------------------
@dataclass
class Endpoint:
    group: str
    label: str
    path: str
    auth: str  # "key" (an admin API key), or a persona's session: "alice" (admin), "april" (approver)
    # False where the small set has no such page (its figure then is an empty page's): only the
    # absolute target applies.
    compared: bool = True


def endpoints(fx: Fixtures, cursors: dict[str, str | None], small: int) -> list[Endpoint]:
    s = fx.seed
    # The admin's 50th page of 100 rows (or the last page of the small set, when it has fewer).
    admin_page = max(min(50, small // 100) - 1, 0)
    # A deep FlowSynx page that both sizes have (a workflow holds a third of the executions).
    flowsynx_page = max(min(150, small // 3 // 20 - 1), 1)
    w0, w1 = s.workflows[0], s.workflows[1]
    one, decided, waiting = (seeded_uuid(EXECUTION, i) for i in (FINISHED, WITH_APPROVAL, WAITING))
    found = [
        Endpoint("native", "GET /api/v1/executions/", "/api/v1/executions/", "key"),
        Endpoint("native", "GET /api/v1/executions/ page 21", f"/api/v1/executions/?cursor={cursors['native']}",
                 "key") if cursors.get("native") else None,
        Endpoint("native", "GET /api/v1/executions/?status=failed", "/api/v1/executions/?status=failed", "key"),
        Endpoint("native", "GET /api/v1/executions/?workflow=", f"/api/v1/executions/?workflow={w1}", "key"),
        Endpoint("native", "GET /api/v1/executions/{id}/logs/", f"/api/v1/executions/{one}/logs/", "key"),
        Endpoint("native", "GET /api/v1/executions/{id}/tasks/", f"/api/v1/executions/{one}/tasks/", "key"),
        Endpoint("native", "GET /api/v1/executions/{id}/approvals/", f"/api/v1/executions/{decided}/approvals/",
                 "key"),
        Endpoint("native", "GET /api/v1/approvals/", "/api/v1/approvals/", "key"),
        Endpoint("native", "GET /api/v1/approvals/?status=pending", "/api/v1/approvals/?status=pending", "key"),
        Endpoint("native", "GET /api/v1/approvals/?mine=true (approver)", "/api/v1/approvals/?mine=true", "april"),
        Endpoint("native", "GET /api/v1/executions/?started_by=", "/api/v1/executions/?started_by=alice", "key"),
        Endpoint("native", "GET /api/v1/executions/?tag=", "/api/v1/executions/?tag=batch:b-7", "key"),
        Endpoint("native", "GET /api/v1/executions/?schedule=", f"/api/v1/executions/?schedule={s.schedule}", "key"),
        Endpoint("native", "GET /api/v1/schedules/{id}/executions/", f"/api/v1/schedules/{s.schedule}/executions/",
                 "key"),
        Endpoint("native", "GET /api/v1/webhook-deliveries/", "/api/v1/webhook-deliveries/", "key"),
        Endpoint("native", "GET /api/v1/webhook-deliveries/?status=failed",
                 "/api/v1/webhook-deliveries/?status=failed", "key"),
        Endpoint("native", "GET /api/v1/webhooks/{id}/deliveries/", f"/api/v1/webhooks/{s.subscription}/deliveries/",
                 "key"),
        Endpoint("native", "GET /api/v1/workflows/", "/api/v1/workflows/", "key"),
        Endpoint("native", "GET /api/v1/workflows/{id}/tasks/ (records)",
                 f"/api/v1/workflows/{fx.records_workflow}/tasks/", "key"),
        Endpoint("port", "GET /api/v1/flow-runs", "/api/v1/flow-runs", "key"),
        Endpoint("port", "GET /api/v1/flow-runs next page", f"/api/v1/flow-runs?cursor={cursors['port']}", "key")
        if cursors.get("port") else None,
        Endpoint("port", "GET /api/v1/flow-runs?flowId=", "/api/v1/flow-runs?flowId=flow-7", "key"),
        Endpoint("port", "GET /api/v1/flow-runs?phase=failure", "/api/v1/flow-runs?phase=failure", "key"),
        Endpoint("flowsynx", "GET /workflows/{id}/executions?pageSize=20",
                 f"/workflows/{w1}/executions?page=1&pageSize=20", "key"),
        Endpoint("flowsynx", f"GET /workflows/{{id}}/executions?page={flowsynx_page}&pageSize=20",
                 f"/workflows/{w1}/executions?page={flowsynx_page}&pageSize=20", "key"),
        Endpoint("flowsynx", "GET /workflows/{id}/executions?page=1000&pageSize=20",
                 f"/workflows/{w1}/executions?page=1000&pageSize=20", "key", compared=small > 60_000),
        Endpoint("flowsynx", "GET .../executions/{id}/logs", f"/workflows/{w0}/executions/{one}/logs", "key"),
        Endpoint("flowsynx", "GET .../executions/{id}/tasks", f"/workflows/{w0}/executions/{one}/tasks", "key"),
        Endpoint("flowdash", "GET /api/v1/workflows/{id}/tasks/{task}/actions",
                 f"/api/v1/workflows/{fx.records_workflow}/tasks/{fx.record_unique_id}/actions", "key"),
        Endpoint("flowdash", "GET /api/v1/actions", "/api/v1/actions", "key"),
        Endpoint("mindzie", "GET /api/{t}/{p}/actionexecution/action/{id}",
                 f"/api/{s.tenant}/{s.project}/actionexecution/action/{s.action}", "key"),
        Endpoint("mindzie", "GET /api/{t}/{p}/actionexecution/action/{id}?page=50",
                 f"/api/{s.tenant}/{s.project}/actionexecution/action/{s.action}?page=50&pageSize=20", "key",
                 compared=small >= 10_000),
        Endpoint("mindzie", "GET /api/{t}/{p}/actionexecution/lastaction/{id}",
                 f"/api/{s.tenant}/{s.project}/actionexecution/lastaction/{s.action}", "key"),
        Endpoint("mindzie", "GET /api/{t}/project", f"/api/{s.tenant}/project", "key"),
        Endpoint("mindzie", "GET /api/{t}/project/{p}/summary", f"/api/{s.tenant}/project/{s.project}/summary", "key"),
        Endpoint("pages", "approvals inbox (approver)", "/approvals/", "april"),
        Endpoint("pages", "approvals inbox ?show=decided (approver)", "/approvals/?show=decided", "april"),
        Endpoint("pages", "approvals inbox (admin)", "/approvals/", "alice"),
        Endpoint("pages", "approvals inbox ?show=decided (admin)", "/approvals/?show=decided", "alice"),
        Endpoint("pages", "an execution's status page", f"/approvals/executions/{waiting}/", "alice"),
        Endpoint("admin", "executions", "/admin/executions/execution/", "alice"),
        Endpoint("admin", "executions ?status=failed", "/admin/executions/execution/?status__exact=failed", "alice"),
        Endpoint("admin", "executions ?tenant=", f"/admin/executions/execution/?tenant__id__exact={s.tenant}",
                 "alice"),
        Endpoint("admin", f"executions page {admin_page + 1}", f"/admin/executions/execution/?p={admin_page}",
                 "alice"),
        Endpoint("admin", "task runs", "/admin/executions/taskrun/", "alice"),
        Endpoint("admin", "task runs ?task_type=approval", "/admin/executions/taskrun/?task_type=approval", "alice"),
        Endpoint("admin", "task runs ?status=failed", "/admin/executions/taskrun/?status__exact=failed", "alice"),
        Endpoint("admin", "logs", "/admin/executions/log/", "alice"),
        Endpoint("admin", "logs ?level=error", "/admin/executions/log/?level__exact=error", "alice"),
        Endpoint("admin", "approvals", "/admin/approvals/approval/", "alice"),
        Endpoint("admin", "approvals ?status=pending", "/admin/approvals/approval/?status__exact=pending", "alice"),
        Endpoint("admin", "flow runs", "/admin/flowruns/flowrun/", "alice"),
        Endpoint("admin", "flow runs ?phase=failure", "/admin/flowruns/flowrun/?phase=failure", "alice"),
        Endpoint("admin", "webhook deliveries", "/admin/webhooks/delivery/", "alice"),
        Endpoint("admin", "webhook deliveries ?status=failed", "/admin/webhooks/delivery/?status__exact=failed",
                 "alice"),
        Endpoint("admin", "webhook deliveries ?event=", "/admin/webhooks/delivery/?event=approval.requested",
                 "alice"),
        Endpoint("admin", "executions ?schedule=", f"/admin/executions/execution/?schedule={s.schedule}", "alice"),
        Endpoint("admin", "a schedule's page", f"/admin/schedules/schedule/{s.schedule}/change/", "alice"),
    ]
    return [endpoint for endpoint in found if endpoint is not None]


class Http:
    """Keep-alive connections to the web process, one per credential."""

    def __init__(self, port: int, fx: Fixtures) -> None:
        self.port = port
        self.headers = {"key": {"Authorization": f"Bearer {fx.key}"},
                        **{name: {"Cookie": f"sessionid={key}"} for name, key in fx.sessions.items()}}
        self.connections: dict[str, http.client.HTTPConnection] = {}

    def get(self, path: str, auth: str) -> tuple[int, bytes, float]:
        """Status, body and milliseconds of one GET (on a fresh connection when the idle one was closed)."""
        for attempt in range(2):
            conn = self.connections.get(auth)
            if conn is None:
                conn = self.connections[auth] = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers=self.headers[auth])
                response = conn.getresponse()
                body = response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                del self.connections[auth]
                if attempt:
                    raise
                continue
            return response.status, body, (time.perf_counter() - began) * 1000
        raise AssertionError("unreachable")

    def p50(self, endpoint: Endpoint, repeats: int, warm: int = 3) -> float:
        samples = []
        for attempt in range(warm + repeats):
            status, body, ms = self.get(endpoint.path, endpoint.auth)
            if status != 200:
                raise SystemExit(f"{endpoint.label}: GET {endpoint.path} answered {status}: {body[:400]!r}")
            if attempt >= warm:
                samples.append(ms)
        return statistics.median(samples)

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()


def walk_cursors(client: Http) -> dict[str, str | None]:
    """A cursor to the native list's page 21 (of 50) and to the Port list's second page."""
    cursor = None
    for _ in range(20):
        status, body, _ = client.get("/api/v1/executions/" + (f"?cursor={cursor}" if cursor else ""), "key")
        following = json.loads(body)["next_page"] if status == 200 else None
        if following is None:
            break
        cursor = following
    status, body, _ = client.get("/api/v1/flow-runs", "key")
    return {"native": cursor, "port": json.loads(body)["next_page"] if status == 200 else None}


# -- plans --------------------------------------------------------------------------------------------
def large_tables() -> set[str]:
    with connect_raw() as conn:
        rows = conn.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)",
                            [list(SEEDED_TABLES)]).fetchall()
    return {name for name, tuples in rows if tuples > LARGE_TABLE_ROWS}


def plan_problems(plan: dict, large: set[str]) -> list[str]:
    problems = []
    kind = plan.get("Node Type")
    if kind == "Seq Scan" and plan.get("Relation Name") in large:
        problems.append(f"seq scan of {plan['Relation Name']}")
    if kind in ("Sort", "Incremental Sort") and plan.get("Sort Space Type") == "Disk":
        problems.append("sort on disk")
    for child in plan.get("Plans", []):
        problems.extend(plan_problems(child, large))
    return problems


def explain_all(queries: list[dict], large: set[str]) -> list[str]:
    """Every SELECT's problems, from EXPLAIN ANALYZE."""
    from django.db import connection

    problems: list[str] = []
    for query in queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            raw = cursor.fetchone()[0]
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
        for problem in plan_problems(plan, large):
            if problem not in problems:
                problems.append(problem)
    return problems


def check_plans(fx: Fixtures, found: list[Endpoint]) -> dict[str, str]:
    """``label -> "index"`` or what is wrong, from the SQL each request sends (run in this process)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    large = large_tables()
    clients = {"key": Client(HTTP_AUTHORIZATION=f"Bearer {fx.key}")}
    for name, session in fx.sessions.items():
        clients[name] = Client()
        clients[name].cookies["sessionid"] = session
    verdicts = {}
    for endpoint in found:
        with CaptureQueriesContext(connection) as captured:
            response = clients[endpoint.auth].get(endpoint.path)
        if response.status_code != 200:
            verdicts[endpoint.label] = f"answered {response.status_code}"
            continue
        problems = explain_all(captured.captured_queries, large)
        verdicts[endpoint.label] = "; ".join(problems) if problems else "index"
    with CaptureQueriesContext(connection) as captured:
        sweep_once()
    problems = explain_all(captured.captured_queries, large)
    verdicts[SWEEP_LABEL] = "; ".join(problems) if problems else "index"
    return verdicts


# -- the sweeper and the purge ------------------------------------------------------------------------
# A sweeper pass takes about 10 ms, so a stall of the machine moves a median of few passes: it
# is taken over more of them than a list's.
SWEEP_REPEATS = 30
SWEEP_LABEL = f"one sweeper pass (p50 of {SWEEP_REPEATS})"


def sweep_once() -> float:
    from executions.services import sweep

    began = time.perf_counter()
    sweep()
    return (time.perf_counter() - began) * 1000


def sweep_p50(repeats: int) -> float:
    sweep_once()
    return statistics.median(sweep_once() for _ in range(max(repeats, SWEEP_REPEATS)))


@dataclass
class PurgeResult:
    executions: int = 0
    seconds: float = 0.0
    flow_runs: int = 0
    during: dict[str, list[float]] = field(default_factory=dict)
    live_before: int = 0
    live_after: int = 0
    output: str = ""


def live_executions() -> int:
    with connect_raw() as conn:
        return conn.execute("SELECT count(*) FROM executions_execution "
                            "WHERE status IN ('queued', 'running', 'waiting')").fetchone()[0]


def purge_while_listing(client: Http, watched: list[Endpoint], log_dir: Path) -> PurgeResult:
    """Run ``manage.py purge`` in its own process and time ``watched`` lists until it ends."""
    result = PurgeResult(live_before=live_executions())
    before = table_rows()
    log_path = log_dir / "purge.log"
    with open(log_path, "w") as log:
        began = time.monotonic()
        process = subprocess.Popen([sys.executable, "manage.py", "purge", "--older-than", f"{PURGE_AFTER_DAYS}d"],
                                   cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=log,
                                   stderr=subprocess.STDOUT)
        while process.poll() is None:
            for endpoint in watched:
                status, body, ms = client.get(endpoint.path, endpoint.auth)
                if status == 200:
                    result.during.setdefault(endpoint.label, []).append(ms)
        result.seconds = time.monotonic() - began
    result.output = log_path.read_text()
    if process.returncode != 0:
        raise SystemExit(f"manage.py purge failed:\n{result.output[-3000:]}")
    after = table_rows()
    result.executions = before["executions_execution"] - after["executions_execution"]
    result.flow_runs = before["flowruns_flowrun"] - after["flowruns_flowrun"]
    result.live_after = live_executions()
    return result


# -- the run --------------------------------------------------------------------------------------------
def measure(client: Http, found: list[Endpoint], repeats: int) -> dict[str, float]:
    figures = {}
    for endpoint in found:
        figures[endpoint.label] = client.p50(endpoint, repeats)
    figures[SWEEP_LABEL] = sweep_p50(repeats)
    return figures


def short(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def render(rows: list[tuple]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).ljust(widths[i]) if i < 2 else str(cell).rjust(widths[i])
                               for i, cell in enumerate(row)).rstrip() for row in rows)


def scale_table(sizes: Sizes, found: list[Endpoint], small: dict, large: dict, plans: dict) -> tuple[str, bool]:
    rows = [("surface", "request", f"{short(sizes.small)} ms", f"{short(sizes.large)} ms", "ratio", "plan",
             "target", "")]
    all_met = True
    labels = [(e.group, e.label, e.compared) for e in found] + [("engine", SWEEP_LABEL, True)]
    for group, label, compared in labels:
        before, after, plan = small[label], large[label], plans.get(label, "-")
        ratio = after / before if before else 0
        met = (ratio <= TARGET_RATIO or not compared) and after < TARGET_MS and plan == "index"
        all_met &= met
        target = f"<= {TARGET_RATIO:.0f}x, < {TARGET_MS:.0f} ms" if compared else f"< {TARGET_MS:.0f} ms (no such page at {short(sizes.small)})"
        rows.append((group, label, f"{before:.1f}", f"{after:.1f}", f"{ratio:.2f}x" if compared else "-", plan,
                     target, "met" if met else "NOT MET"))
    return render(rows), all_met


def purge_table(result: PurgeResult, before: dict[str, float]) -> tuple[str, bool]:
    rate = result.executions / result.seconds if result.seconds else 0
    rows = [("", "", "figure", "", "target", "")]
    untouched = result.live_after == result.live_before
    rows.append(("purge", "executions removed (with their task runs, logs, approvals)", f"{result.executions:,}",
                 "", "", ""))
    rows.append(("purge", "Port flow runs removed", f"{result.flow_runs:,}", "", "", ""))
    rows.append(("purge", "executions removed per second (the whole purge, flow runs included)", f"{rate:,.0f}",
                 "", "", ""))
    rows.append(("purge", "queued, running and waiting executions left alone",
                 f"{result.live_after} of {result.live_before}", "", "all", "met" if untouched else "NOT MET"))
    all_met = untouched and result.executions > 0
    for label, samples in result.during.items():
        during = statistics.median(samples)
        ratio = during / before[label] if before.get(label) else 0
        met = ratio <= TARGET_RATIO and during < TARGET_MS
        all_met &= met
        rows.append(("during", f"{label} p50 ms (before {before[label]:.1f})", f"{during:.1f}",
                     f"{ratio:.2f}x", f"<= {TARGET_RATIO:.0f}x, < {TARGET_MS:.0f} ms", "met" if met else "NOT MET"))
    return render(rows), all_met


def cost_table(rows_at_large: dict[str, int], sizes_bytes: dict[str, int], executions: int) -> str:
    rows = [("table", "rows", "MiB", "MiB per million executions")]
    total = 0
    for table in SEEDED_TABLES:
        mib = sizes_bytes[table] / 2**20
        total += mib
        rows.append((table, f"{rows_at_large[table]:,}", f"{mib:,.0f}", f"{mib * 1_000_000 / executions:,.0f}"))
    rows.append(("all of them", "", f"{total:,.0f}", f"{total * 1_000_000 / executions:,.0f}"))
    return render(rows)


def start_web(log_dir: Path) -> tuple[Process, int]:
    port = free_port()
    web = Process("web", [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                          "--worker-class", "gthread", "--workers", "2", "--threads", "8"],
                  dict(os.environ, PYTHONPATH=str(ROOT)), log_dir, ready="Booting worker")
    return web, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (a smoke test)")
    parser.add_argument("--small", type=int, help=f"executions in the first measurement (default {FULL.small:,})")
    parser.add_argument("--large", type=int, help=f"executions in the second (default {FULL.large:,})")
    parser.add_argument("--repeats", type=int, help=f"requests timed per figure (default {FULL.repeats})")
    parser.add_argument("--skip-purge", action="store_true", help="leave the retention purge out")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    base = QUICK if args.quick else FULL
    sizes = Sizes(small=args.small or base.small, large=args.large or base.large, repeats=args.repeats or base.repeats)
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Run through `make bench` (scripts/bench.sh sets DATABASE_URL and CELERY_BROKER_URL).")
    log_dir = Path(tempfile.mkdtemp(prefix="flowgate-bench-scale-"))
    print(f"==> Logs in {log_dir}", flush=True)
    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    fx = create_fixtures(sizes.large)
    print(f"==> Seeding {sizes.small:,} executions", flush=True)
    seed_range(fx.seed, 0, sizes.small)
    web, port = start_web(log_dir)
    client = Http(port, fx)
    try:
        found = endpoints(fx, walk_cursors(client), sizes.small)
        print(f"==> Timing {len(found)} lists at {sizes.small:,} executions", flush=True)
        small = measure(client, found, sizes.repeats)
        print(f"==> Growing to {sizes.large:,} executions", flush=True)
        seed_seconds = seed_range(fx.seed, sizes.small, sizes.large)
        print(f"==> Timing the lists at {sizes.large:,} executions", flush=True)
        found = endpoints(fx, walk_cursors(client), sizes.small)
        large = measure(client, found, sizes.repeats)
        print("==> Reading the plans (EXPLAIN ANALYZE)", flush=True)
        plans = check_plans(fx, found)
        rows_at_large, bytes_at_large = table_rows(), table_bytes()
        purge = None
        if not args.skip_purge:
            print(f"==> Purging executions older than {PURGE_AFTER_DAYS} days while timing lists", flush=True)
            watched = [e for e in found if e.label in WATCHED_DURING_PURGE]
            purge = purge_while_listing(client, watched, log_dir)
    finally:
        client.close()
        web.stop()

    print()
    print(f"Every list at {sizes.small:,} and at {sizes.large:,} executions, {datetime.now():%Y-%m-%d %H:%M}, "
          f"{os.cpu_count()} cores (a shared machine), PostgreSQL and Redis on 127.0.0.1, gunicorn gthread "
          f"2 processes x 8 threads, p50 of {sizes.repeats} requests after warm-up{' (quick)' if args.quick else ''}")
    text, all_met = scale_table(sizes, found, small, large, plans)
    print(text)
    if purge is not None:
        print()
        print(f"Retention purge of what is older than {PURGE_AFTER_DAYS} days at {sizes.large:,} executions "
              f"({purge.seconds:.1f} s), with lists timed while it runs")
        text, purge_met = purge_table(purge, large)
        print(text)
        all_met &= purge_met
    print()
    print(f"What the tables cost at {sizes.large:,} executions (seeded in {seed_seconds:.0f} s; "
          f"PostgreSQL's pg_total_relation_size: rows, indexes and TOAST)")
    print(cost_table(rows_at_large, bytes_at_large, sizes.large))
    print()
    print("every target met" if all_met else "some targets NOT MET")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        drop_database()


WATCHED_DURING_PURGE = ("GET /api/v1/executions/", "GET /api/v1/executions/?status=failed", "GET /api/v1/flow-runs",
                        "executions")


if __name__ == "__main__":
    main()
