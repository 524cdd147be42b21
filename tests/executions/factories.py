"""Factories for workflows and executions (through the services, as production does)."""

from __future__ import annotations

import itertools

from accounts.caller import Caller
from executions.services import start_execution
from workflows.services import create_workflow

_counter = itertools.count(1)


def make_workflow(project, tasks: list[dict], **kwargs):
    kwargs.setdefault("name", f"workflow-{next(_counter)}")
    return create_workflow(project=project, definition={"tasks": tasks}, **kwargs)


def caller_for(user, tenant, role="admin") -> Caller:
    return Caller(tenant=tenant, role=role, user=user)


def run_now(capture, workflow, input=None, caller=None, **kwargs):
    """Start an execution and let the (eager) engine run it to the end; returns the refreshed row."""
    with capture(execute=True):
        execution, _ = start_execution(caller=caller, workflow=workflow, input=input or {}, **kwargs)
    execution.refresh_from_db()
    return execution
