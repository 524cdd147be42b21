"""The task-type registry: a type name maps to its config schema and its executor.

Built-in executors live in ``executions.executors``. A deployment adds its own types with the
``FLOWGATE_TASK_TYPES`` setting: ``"name=package.module:function"`` entries. Such a function is
called as ``function(config, context)`` with the task's rendered config and the template context
(``input``, ``tasks``, ``execution``, ``record``) and returns the task's output; raising fails
the task with the exception's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from workflows.templating import has_markup

NUMBER = (int, float)
JSON = (str, int, float, bool, list, dict, type(None))


@dataclass(frozen=True)
class ConfigField:
    types: tuple[type, ...]
    required: bool = False
    choices: tuple[Any, ...] | None = None
    description: str = ""

    def problems(self, name: str, value: Any) -> list[str]:
        # A template string may render to any type; it is checked when the task runs.
        if isinstance(value, str) and has_markup(value):
            return []
        if isinstance(value, bool) and bool not in self.types:
            return [f"'{name}' must be {self.type_names()}, not a boolean"]
        if not isinstance(value, self.types):
            return [f"'{name}' must be {self.type_names()}, not {type(value).__name__}"]
        if self.choices is not None and value not in self.choices:
            return [f"'{name}' must be one of {', '.join(map(str, self.choices))}, not {value!r}"]
        return []

    def type_names(self) -> str:
        names = {int: "a number", float: "a number", str: "a string", bool: "a boolean",
                 list: "a list", dict: "an object", type(None): "null"}
        return " or ".join(dict.fromkeys(names[t] for t in self.types))


@dataclass(frozen=True)
class TaskType:
    name: str
    executor: str | Callable  # dotted path to, or the executor itself
    fields: dict[str, ConfigField] = field(default_factory=dict)
    description: str = ""
    # Types that park the execution (wait for a person, a time, another execution).
    parks: bool = False
    allow_extra_fields: bool = False
    # Extra checks beyond field types: (config) -> list of (field, message).
    check: Callable[[dict], list[tuple[str, str]]] | None = None
    custom: bool = False
    # Config fields rendered by the executor itself, not before it runs (a group's sub-DAG).
    raw_fields: tuple[str, ...] = ()

    def get_executor(self) -> Callable:
        return import_string(self.executor) if isinstance(self.executor, str) else self.executor

    def config_problems(self, config: Any) -> list[tuple[str, str]]:
        if not isinstance(config, dict):
            return [("config", "must be an object")]
        problems: list[tuple[str, str]] = []
        for name, spec in self.fields.items():
            if name not in config:
                if spec.required:
                    problems.append((f"config.{name}", f"'{name}' is required for a {self.name} task"))
                continue
            problems.extend((f"config.{name}", p) for p in spec.problems(name, config[name]))
        if not self.allow_extra_fields:
            for name in config:
                if name not in self.fields:
                    allowed = ", ".join(self.fields) or "none"
                    problems.append((f"config.{name}", f"unknown field '{name}' for a {self.name} task (allowed: {allowed})"))
        if self.check is not None and not problems:
            problems.extend(self.check(config))
        return problems

    def schema(self) -> dict:
        """A JSON-schema-like description, for the API docs."""
        type_map = {int: "number", float: "number", str: "string", bool: "boolean", list: "array",
                    dict: "object", type(None): "null"}
        return {
            "type": "object",
            "description": self.description,
            "required": [n for n, f in self.fields.items() if f.required],
            "properties": {
                n: {"type": sorted({type_map[t] for t in f.types}), "description": f.description,
                    **({"enum": list(f.choices)} if f.choices else {})}
                for n, f in self.fields.items()
            },
            "additionalProperties": self.allow_extra_fields,
        }


def _check_condition(config: dict) -> list[tuple[str, str]]:
    from workflows.templating import bare_expression, expression_syntax_error

    expression = config.get("if", "")
    if isinstance(expression, str):
        problem = expression_syntax_error(bare_expression(expression))
        if problem:
            return [("config.if", problem)]
    return []


def _check_http(config: dict) -> list[tuple[str, str]]:
    statuses = config.get("expected_status")
    if isinstance(statuses, list) and not all(isinstance(s, int) and 100 <= s <= 599 for s in statuses):
        return [("config.expected_status", "must list HTTP status codes between 100 and 599")]
    return []


BUILTIN_TYPES: list[TaskType] = [
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
    }, "Park the execution until a time; no worker waits.", parks=True),
    TaskType("condition", "executions.executors.run_condition", {
        "if": ConfigField((str, bool), required=True, description="An expression over input, tasks, execution, record."),
        "then": ConfigField((list,), description="Dependants to run when true (the others in `else` are skipped)."),
        "else": ConfigField((list,), description="Dependants to run when false."),
    }, "Choose which dependants run; the others end as skipped.", check=_check_condition,
        raw_fields=("if",)),  # run_condition evaluates it once, to its native value
    TaskType("approval", "executions.executors.run_approval", {
        "title": ConfigField((str,)),
        "approvers": ConfigField((dict,), description='{"users": [usernames], "roles": [roles], "emails": [..] or a template}'),
        "required_approvals": ConfigField((int,)),
        "instructions": ConfigField((str,)),
        "form": ConfigField((list,), description='[{"name", "type": text|number|boolean|choice, "required", "label", "choices"}]'),
        "require_comment": ConfigField((bool,)),
        "expires_in": ConfigField(NUMBER, description="Seconds until the approval times out."),
        "on_timeout": ConfigField((str,), choices=("reject", "approve", "fail")),
        "on_reject": ConfigField((str,), choices=("fail", "continue")),
        "allow_self_approval": ConfigField((bool,)),
    }, "Wait for a human decision.", parks=True),
    TaskType("response", "executions.executors.run_response", {
        "value": ConfigField(JSON, required=True),
    }, "Set the execution's return value."),
    TaskType("fail", "executions.executors.run_fail", {
        "message": ConfigField((str,), required=True),
    }, "Fail with a message."),
    TaskType("group", "executions.executors.run_group", {
        "items": ConfigField((list, str), required=True, description="A list, or a template giving one."),
        "tasks": ConfigField((list,), required=True, description="The sub-DAG run for each item (`item`, `index` in templates)."),
        "concurrency": ConfigField((int,), description="Items run at once (default 4, at most 16)."),
    }, "For each item of a list, run a small sub-DAG.", raw_fields=("tasks",)),
    TaskType("update_record", "executions.executors.run_update_record", {
        "fields": ConfigField((dict,)),
        "checklist": ConfigField((list, dict), description="Names to tick, or {name: done}."),
        "assignee": ConfigField((str, type(None)), description="A username or email; null unassigns."),
        "stage": ConfigField((str,)),
    }, "Change the execution's record: fields, checklist, assignee, stage."),
    TaskType("subworkflow", "executions.executors.run_subworkflow", {
        "workflow": ConfigField((str,), required=True, description="Id or alias of a workflow in the same project."),
        "input": ConfigField((dict, str)),
    }, "Start another workflow as a child execution and wait for it.", parks=True),
]

# Types that may not appear inside a group's sub-DAG (they park, or need the execution's own state).
NOT_IN_GROUP = frozenset({"approval", "delay", "subworkflow", "group", "response", "update_record", "condition"})


def _custom_executor(function: Callable) -> Callable:
    from executions.executors import run_custom

    def executor(ctx):
        return run_custom(function, ctx)

    return executor


@cache
def task_types() -> dict[str, TaskType]:
    registry = {t.name: t for t in BUILTIN_TYPES}
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
        registry[name] = TaskType(name, _custom_executor(function), allow_extra_fields=True,
                                  description=(function.__doc__ or "").strip().split("\n")[0], custom=True)
    return registry


def get_task_type(name: str) -> TaskType | None:
    return task_types().get(name)
