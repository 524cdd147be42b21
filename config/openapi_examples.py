"""What the OpenAPI document tells callers beyond the generated shapes: tags, descriptions, examples.

The surfaces' examples are the ones their products publish (Refold's Workflow API, FlowSynx's
execution API, Port's flow runs), with Flowgate's ids; an operation without one here gets an example
built from its schema (``config.openapi.example_for``).
"""

from __future__ import annotations

# One tag per area of the native API and one per product surface, in the order the docs show them.
TAGS = [
    ("executions", "Start workflows, follow their executions (status, task runs, logs, a live stream), "
                   "cancel and retry them."),
    ("workflows", "Workflow definitions: a DAG of typed tasks. Every change to a definition makes a new "
                  "version; executions run the version they started with."),
    ("approvals", "Human decisions an execution waits on. Approvers list what waits for them and approve "
                  "or reject; the execution then goes on."),
    ("accounts", "Who the credentials are (tenant, role, project) and the tenant's projects."),
    ("schedules", "Start a workflow on a cron expression, in a time zone, with an overlap and catch-up "
                  "policy."),
    ("webhooks", "Signed deliveries of what happens (executions ending, approvals requested and decided) "
                 "to URLs you subscribe, and the secrets that sign per-execution callbacks."),
    ("records", "Work items (Flowdash calls them tasks) living in a workflow's stages, with fields, a "
                "checklist and an assignee; and the stages and fields themselves."),
    ("actions", "Named, permissioned operations that start an execution; on records they are offered in "
                "some stages and enforce requirements."),
    ("Flowdash", "Flowdash's Actions API at its documented paths: a task's available actions, executing "
                 "one, and polling the action execution (Pending, Success, Fail)."),
    ("Port", "Port's flow runs at /api/v1/flow-runs: list with cursors, create, get, upsert and delete; "
             "Port's field names and 422 body."),
    ("Refold", "Refold's Workflow API: execute a workflow by id or alias (optionally waiting for its "
               "return value) and read an execution's response."),
    ("mindzie", "mindzie's action, action-execution, project and ping controllers under "
                "/api/{tenantId}/{projectId}/..., in mindzie's shapes."),
    ("FlowSynx", "FlowSynx's workflow-execution API at the server root: executions, their tasks and logs, "
                 "execute, cancel, approve and reject, in the {data, messages, succeeded, generatedAtUtc} "
                 "envelope."),
]

# Native operations: the tag of each path (the first pattern that matches).
NATIVE_TAGS = [
    (r"^/api/v1/executions/\{execution_id\}/approvals/", "approvals"),
    (r"^/api/v1/executions/", "executions"),
    (r"^/api/v1/workflows/", "workflows"),
    (r"^/api/v1/approvals/", "approvals"),
    (r"^/api/v1/(me|projects)", "accounts"),
]

# Operations whose generated tag is renamed (one tag per product).
RENAMED_TAGS = {"Port flow runs": "Port"}

SEEN_AT = "2025-09-14T10:30:00Z"
EXECUTION_ID = "4d546c15-4e34-41ce-b72e-6fd4cf991f57"
WORKFLOW_ID = "83b102e0-9129-4069-abd5-97a312ed9c1f"

DESCRIPTIONS = {
    "api_v1_executions_list": "The executions of your tenant, newest first, a page at a time (follow `next`). "
                              "Filter by workflow, status, tag and time.",
    "api_v1_executions_create": (
        "Start the workflow named by id or alias with `input` (a JSON object its tasks read as "
        "`{{ input.* }}`). Answers 201 with the queued execution at once; with `?wait=N` it waits up to N "
        "seconds and answers 200 with the ended execution, or 202 while it still runs. Send an "
        "`Idempotency-Key` header to make retries safe: the same key and body return the first execution."),
    "api_v1_executions_retrieve": "One execution with its status, input, return value, errors, timings and "
                                  "its task runs.",
    "api_v1_executions_cancel_create": "Cancel a queued, running or waiting execution: it stops before its next "
                                       "task and its pending approvals end. An ended execution answers 409.",
    "api_v1_executions_retry_create": "Run a failed execution again from its failed and skipped tasks; the "
                                      "tasks that succeeded keep their outputs. With a body naming a task "
                                      "(`{\"task\": \"process\"}`), that task and every task downstream of "
                                      "it run again too, even where they succeeded. Other statuses answer 409; "
                                      "a task the definition does not have answers 400.",
    "api_v1_executions_logs_list": "The execution's log lines, oldest first; filter by level or task.",
    "api_v1_executions_tasks_list": "One record per task of the execution: status, attempts, output, message "
                                    "and timings, in definition order.",
    "api_v1_executions_tasks_retrieve": "One task run, by its id or by the task's name.",
    "api_v1_executions_tasks_logs_list": "The log lines of one task run, oldest first.",
    "api_v1_executions_approvals_list": "The approvals an execution asked for, pending or decided.",
    "executions_events": (
        "Server-Sent Events for one execution while it runs: `status` (the execution's status changed), "
        "`task` (a task run's status changed), `log` (a log line, in the shape of the logs list) and `end` "
        "(the execution ended; the stream closes). Each event carries an id: reconnect with "
        "`Last-Event-ID` (or `?last_event_id=`) to resume after it."),
    "api_v1_workflows_list": "The workflows of your tenant (of the key's project for a project-bound key).",
    "api_v1_workflows_create": "Create a workflow from a definition (`{\"tasks\": [...]}`); it is validated "
                               "(task types, dependencies, no cycles) and becomes version 1.",
    "api_v1_workflows_retrieve": "A workflow by id or alias, with its current definition.",
    "api_v1_workflows_update": "Replace a workflow. A changed definition makes a new version; running "
                               "executions keep theirs.",
    "api_v1_workflows_partial_update": "Change some of a workflow's fields. A changed definition makes a new "
                                       "version.",
    "api_v1_workflows_destroy": "Delete a workflow with its finished executions. A workflow with executions "
                                "still going answers 409.",
    "api_v1_workflows_versions_list": "Every version of the workflow's definition, newest first.",
    "api_v1_workflows_versions_retrieve": "One version of the workflow's definition, by number.",
    "api_v1_approvals_list": "Approvals of your tenant; `?mine=true` lists those waiting for you, "
                             "`?status=pending` those still open.",
    "api_v1_approvals_retrieve": "One approval: what it asks, who may decide it, its votes and outcome.",
    "refold_execution_response": "What the workflow's Response node set, and the execution's status: COMPLETED, "
                                 "RUNNING or ERRORED.",
    "me_retrieve": "The tenant, role and identity behind the credentials of this request.",
    "api_v1_projects_list": "The projects of your tenant (only its own project for a project-bound key).",
    "api_v1_projects_retrieve": "One project of your tenant.",
}

START_REQUEST = {"workflow": "expense-approval", "input": {"amount": 120, "reason": "train"},
                 "tags": {"team": "finance"}}

# Request and response examples by operation id: {"request": value, "responses": {code: value}}.
EXAMPLES: dict[str, dict] = {
    "api_v1_executions_create": {"request": START_REQUEST},
    "api_v1_executions_retry_create": {"request": {"task": "process"}},
    "api_v1_workflows_create": {"request": {
        "name": "Expense approval", "alias": "expense-approval",
        "description": "A manager approves expenses over 100.",
        "definition": {"tasks": [
            {"name": "approve", "type": "approval", "config": {"title": "Expense of {{ input.amount }}"}},
            {"name": "answer", "type": "response", "config": {"value": {"approved": True}},
             "depends_on": ["approve"]},
        ]}}},
    "api_v1_approvals_approve_create": {"request": {"comment": "Fine, within budget."}},
    "api_v1_approvals_reject_create": {"request": {"comment": "Over the team's budget."}},
    # Refold's Workflow API document.
    "refold_execute_workflow": {
        "request": {"Task Name": "Sample task", "Created_at": "2024-2-1", "Assigned_to": "John Doe"},
        "responses": {"200": {"return_value": {"success": "true", "new_note": "This is the updated note content"},
                              "execution_id": EXECUTION_ID}},
    },
    "refold_execution_response": {"responses": {"200": {
        "response": {"success": "true", "new_note": "This is the updated note content"}, "status": "COMPLETED"}}},
    # Flowdash's Actions API document (a list: the value is the whole answer).
    "flowdash_task_actions": {"responses": {"200": [{"id": "edHR10", "name": "Approve"},
                                                    {"id": "PvHaOO", "name": "Reject"}]}},
    # Port's flow-runs document.
    "port_create_flow_run": {"request": {"flowId": "text"}},
    "port_upsert_flow_run": {"request": {"flowId": "text", "flowType": "automation"}},
    # FlowSynx's workflow-execution document.
    "flowsynx_list_executions": {"responses": {"200": {
        "data": [{"id": EXECUTION_ID, "status": "Running", "executionStart": SEEN_AT, "executionEnd": None}],
        "messages": [], "succeeded": True, "generatedAtUtc": "2025-09-14T10:31:00Z"}}},
    "flowsynx_execution_logs": {"responses": {"200": {
        "data": [{"id": "1fbcf6d4-4e2e-44ac-9c45-27b92d7d91f4", "message": "Execution started", "level": "Info",
                  "timeStamp": "2025-09-14T10:30:01Z", "exception": None}],
        "messages": [], "succeeded": True, "generatedAtUtc": "2025-09-14T10:32:05Z"}}},
    "flowsynx_task_execution_logs": {"responses": {"200": {
        "data": [{"id": "b24c61c3-9fa2-4c2a-a8e1-8e3317a021a0", "message": "Task started", "level": "Info",
                  "timeStamp": "2025-09-14T10:31:01Z", "exception": None}],
        "messages": [], "succeeded": True, "generatedAtUtc": "2025-09-14T10:34:00Z"}}},
    "flowsynx_execute_workflow": {
        "request": {"workflowId": "bed17b37-6ec8-4c33-94c1-9774ce2b92fa"},
        "responses": {"200": {
            "data": {"workflowId": "bed17b37-6ec8-4c33-94c1-9774ce2b92fa",
                     "executionId": "0b4c8ed0-4c94-4d7e-b8d4-1290c41512cd", "startedAt": "2025-09-14T10:35:00Z"},
            "messages": ["Workflow execution started."], "succeeded": True,
            "generatedAtUtc": "2025-09-14T10:35:00Z"}},
    },
    "flowsynx_cancel_execution": {"responses": {"200": {
        "data": {}, "messages": ["The workflow execution has been canceled."], "succeeded": True,
        "generatedAtUtc": "2025-09-14T10:36:00Z"}}},
    "flowsynx_approve": {"request": {"comment": "Approved."}, "responses": {"200": {
        "data": {}, "messages": ["The workflow execution step has been approved."], "succeeded": True,
        "generatedAtUtc": "2025-09-14T10:37:00Z"}}},
    "flowsynx_reject": {"request": {"comment": "Rejected."}, "responses": {"200": {
        "data": {}, "messages": ["The workflow execution step has been rejected."], "succeeded": True,
        "generatedAtUtc": "2025-09-14T10:38:00Z"}}},
}

# Values the built examples use for properties of these names (when the type fits the schema).
PROPERTY_EXAMPLES = {
    "input": {"amount": 120, "reason": "train"},
    "tags": {"team": "finance"},
    "name": "expense-approval",
    "alias": "expense-approval",
    "workflow": "expense-approval",
    "slug": "main",
    "title": "Expense of 120",
    "description": "A manager approves expenses over 100.",
    "comment": "Fine, within budget.",
    "message": "Task finished",
    "username": "april",
    "email": "april@example.com",
    "url": "https://hooks.example.com/flowgate",
    "callback_url": "https://hooks.example.com/flowgate",
    "cron": "0 7 * * 1-5",
    "expression": "0 7 * * 1-5",
    "timezone": "Europe/Berlin",
    "linked_account_id": "john@acme.io",
    "flow_run": "nightly-report",
    "flowId": "nightly-report",
    "events": ["execution.failed", "approval.requested"],
    "level": "info",
    "workflow_name": "Expense approval",
    "return_value": {"approved": True},
    "output": {"approved": True},
    "errors": [],
    "started_by": "finance-ci (API key)",
    "performed_by": "april@example.com",
    "definition": {"tasks": [{"name": "approve", "type": "approval", "config": {"title": "Expense of 120"}}]},
}

SUMMARIES = {
    "me_retrieve": "Who the credentials are",
    "api_v1_projects_list": "List projects",
    "api_v1_projects_retrieve": "Get a project",
}

# The native error body's `detail` in the examples of each status code.
ERROR_DETAILS = {
    "400": "input: Input must be a JSON object.",
    "401": "Authentication credentials were not provided.",
    "403": "You do not have permission to perform this action.",
    "404": "Not found.",
    "405": "Method \"DELETE\" not allowed.",
    "409": "The execution has ended already; only a queued, running or waiting execution can be cancelled.",
    "413": "The request body is larger than the server accepts.",
    "415": "Unsupported media type \"text/plain\" in request.",
    "422": "This Idempotency-Key was used with another body.",
    "429": "Request was throttled. Expected available in 12 seconds.",
    "500": "A server error occurred.",
}
