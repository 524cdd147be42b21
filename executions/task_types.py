"""The engine's generic task types, and a deployment's own Python ones (``FLOWGATE_TASK_TYPES``).

Registered from ``ExecutionsConfig.ready()``; features register theirs the same way (the
``approval`` type in ``approvals``, ``update_record`` in ``records``).
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from executions.executors import run_custom
from workflows.registry import JSON, NUMBER, ConfigField, TaskPlace, TaskType
from workflows.templating import bare_expression, expression_syntax_error


def _check_condition(config: dict) -> list[tuple[str, str]]:
    expression = config.get("if", "")
    if isinstance(expression, str):
        problem = expression_syntax_error(bare_expression(expression))
        if problem:
            return [("config.if", problem)]
    return []


def _validate_branches(task: dict, place: TaskPlace) -> list[dict]:
    """A condition's ``then`` and ``else`` name tasks that depend on it."""
    config = task.get("config")
    if not isinstance(config, dict):
        return []
    found = []
    for branch in ("then", "else"):
        targets = config.get(branch) or []
        if not isinstance(targets, list):
            continue
        for target in targets:
            if not isinstance(target, str):
                found.append(place.problem(f"config.{branch}", "must be a list of task names"))
            elif target not in place.names or place.label not in (place.graph.get(target) or []):
                found.append(place.problem(f"config.{branch}", f"{target!r} must be a task that depends on {place.label!r}"))
    return found


def _check_http(config: dict) -> list[tuple[str, str]]:
    statuses = config.get("expected_status")
    if isinstance(statuses, list) and not all(isinstance(s, int) and 100 <= s <= 599 for s in statuses):
        return [("config.expected_status", "must list HTTP status codes between 100 and 599")]
    return []


GENERIC_TYPES: list[TaskType] = [
    TaskType("log", "executions.executors.run_log", {
        "message": ConfigField((str,), required=True, description="The line to write; may be a template."),
        "level": ConfigField((str,), choices=("debug", "info", "warning", "error")),
    }, "Write a log line on the execution."),
    TaskType("set", "executions.executors.run_set", {
        "values": ConfigField((dict,), required=True, description="Names and (template) values; the task's output."),
    }, "Compute values into the task's output."),
    TaskType("http", "executions.executors.run_http", {
        "url": ConfigField((str,), required=True),
        "method": ConfigField((str,), choices=("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")),
        "headers": ConfigField((dict,)),
        "body": ConfigField(JSON, description="An object or list is sent as JSON, a string as is."),
        "timeout": ConfigField(NUMBER, description="Seconds (default 10)."),
        "expected_status": ConfigField((list,), description="Statuses counted as success (default 200-299)."),
    }, "Make an HTTP request; output is status, headers and parsed body.", check=_check_http),
    TaskType("delay", "executions.executors.run_delay", {
        "seconds": ConfigField(NUMBER),
        "until": ConfigField((str,), description="An ISO 8601 time."),
    }, "Park the execution until a time; no worker waits.", parks=True, in_group=False),
    TaskType("condition", "executions.executors.run_condition", {
        "if": ConfigField((str, bool), required=True, description="An expression over input, tasks, execution, record."),
        "then": ConfigField((list,), description="Dependants to run when true (the others in `else` are skipped)."),
        "else": ConfigField((list,), description="Dependants to run when false."),
    }, "Choose which dependants run; the others end as skipped.", check=_check_condition,
        validate=_validate_branches, in_group=False,
        raw_fields=("if",)),  # run_condition evaluates it once, to its native value
    TaskType("response", "executions.executors.run_response", {
        "value": ConfigField(JSON, required=True),
    }, "Set the execution's return value.", in_group=False),
    TaskType("fail", "executions.executors.run_fail", {
        "message": ConfigField((str,), required=True),
    }, "Fail with a message."),
    TaskType("group", "executions.executors.run_group", {
        "items": ConfigField((list, str), required=True, description="A list, or a template giving one."),
        "tasks": ConfigField((list,), required=True, description="The sub-DAG run for each item (`item`, `index` in templates)."),
        "concurrency": ConfigField((int,), description="Items run at once (default 4, at most 16)."),
    }, "For each item of a list, run a small sub-DAG.", raw_fields=("tasks",), subtasks_field="tasks",
        in_group=False),
    TaskType("subworkflow", "executions.executors.run_subworkflow", {
        "workflow": ConfigField((str,), required=True, description="Id or alias of a workflow in the same project."),
        "input": ConfigField((dict, str)),
    }, "Start another workflow as a child execution and wait for it.", parks=True, in_group=False),
]


def deployment_task_types() -> list[TaskType]:
    """The task types of ``FLOWGATE_TASK_TYPES``: ``"name=package.module:function"`` entries.

    Such a function is called as ``function(config, context)`` with the task's rendered config and
    the template context (``input``, ``tasks``, ``execution`` and the features' names, such as
    ``record``) and returns the task's output; raising fails the task with the exception's message.
    """
    types = []
    for entry in settings.FLOWGATE_TASK_TYPES:
        name, sep, target = entry.partition("=")
        if not sep or not name.strip() or ":" not in target:
            raise ImproperlyConfigured(
                f"FLOWGATE_TASK_TYPES entry {entry!r} must look like name=package.module:function."
            )
        module, _, attr = target.strip().partition(":")
        try:
            function = import_string(f"{module}.{attr}")
        except ImportError as exc:
            raise ImproperlyConfigured(f"FLOWGATE_TASK_TYPES: cannot import {target!r}: {exc}") from exc
        name = name.strip()
        types.append(TaskType(name, partial(run_custom, function), allow_extra_fields=True,
                              description=(function.__doc__ or "").strip().split("\n")[0], custom=True))
    return types
