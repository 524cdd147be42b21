"""Validation of workflow definitions: every problem at once, each naming the task and field."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings

from workflows.registry import TaskPlace, get_task_type
from workflows.templating import syntax_errors

TASK_KEYS = {"name", "type", "config", "depends_on", "retries", "retry_backoff", "timeout_seconds",
             "skip_on_error", "description"}
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}$")
MAX_RETRIES = 20


def problem(task: str | None, field: str, message: str) -> dict:
    return {"task": task, "field": field, "message": message}


def normalize_task(task: dict) -> dict:
    """The task with every optional key filled in (the form the engine reads)."""
    return {
        "name": task["name"],
        "type": task["type"],
        "config": task.get("config") or {},
        "depends_on": list(task.get("depends_on") or []),
        "retries": int(task.get("retries") or 0),
        "retry_backoff": task.get("retry_backoff") or {"type": "fixed", "delay": 1, "max": 60},
        "timeout_seconds": task.get("timeout_seconds"),
        "skip_on_error": bool(task.get("skip_on_error", False)),
        **({"description": task["description"]} if task.get("description") else {}),
    }


def _check_backoff(name: str, prefix: str, backoff: Any) -> list[dict]:
    if not isinstance(backoff, dict):
        return [problem(name, f"{prefix}.retry_backoff", "must be an object like {\"type\": \"exponential\", \"delay\": 1, \"max\": 60}")]
    found = []
    kind = backoff.get("type", "fixed")
    if kind not in ("fixed", "exponential"):
        found.append(problem(name, f"{prefix}.retry_backoff.type", f"must be fixed or exponential, not {kind!r}"))
    for key in ("delay", "max"):
        value = backoff.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            found.append(problem(name, f"{prefix}.retry_backoff.{key}", "must be a number of seconds, zero or more"))
    unknown = set(backoff) - {"type", "delay", "max"}
    for key in sorted(unknown):
        found.append(problem(name, f"{prefix}.retry_backoff.{key}", "unknown field (allowed: type, delay, max)"))
    return found


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle as a list of task names (first repeated at the end), or None.

    A depth-first search with an explicit stack: a long chain of tasks must not hit Python's
    recursion limit.
    """
    finished: set[str] = set()
    for root in graph:
        if root in finished:
            continue
        path, on_path, pending = [root], {root}, [iter(graph[root])]
        while pending:
            for dep in pending[-1]:
                if dep in on_path:
                    return path[path.index(dep):] + [dep]
                if dep in graph and dep not in finished:
                    path.append(dep)
                    on_path.add(dep)
                    pending.append(iter(graph[dep]))
                    break
            else:
                node = path.pop()
                on_path.discard(node)
                finished.add(node)
                pending.pop()
    return None


def count_tasks(tasks: Any) -> int:
    """How many tasks a definition's list holds, counting those in sub-DAGs (a type's ``subtasks_field``,
    such as a group's ``tasks``; they do not nest)."""
    if not isinstance(tasks, list):
        return 0
    inner = []
    for task in tasks:
        task_type = get_task_type(task.get("type")) if isinstance(task, dict) and isinstance(task.get("type"), str) \
            else None
        if task_type is not None and task_type.subtasks_field and isinstance(task.get("config"), dict):
            inner.append(task["config"].get(task_type.subtasks_field))
    return len(tasks) + sum(len(sub) for sub in inner if isinstance(sub, list))


def validate_tasks(tasks: Any, prefix: str = "tasks", *, in_group: bool = False) -> list[dict]:
    """Every problem with a list of tasks: each task on its own, then the graph they form."""
    if not isinstance(tasks, list):
        return [problem(None, prefix, "must be a list of tasks")]
    found: list[dict] = []
    names: dict[str, int] = {}
    graph: dict[str, list[str]] = {}
    for index, task in enumerate(tasks):
        path = f"{prefix}[{index}]"
        if not isinstance(task, dict):
            found.append(problem(None, path, "must be an object with name, type and config"))
            continue
        label = task.get("name") if isinstance(task.get("name"), str) else None
        found.extend(_name_problems(task, index, prefix, names))
        found.extend(_type_problems(task, label, path, in_group))
        deps, dep_problems = _dependencies(task, label, path)
        found.extend(dep_problems)
        if label is not None and label not in graph:
            graph[label] = deps
        found.extend(_policy_problems(task, label, path))
    found.extend(_graph_problems(graph, names, prefix))
    found.extend(_type_rules(tasks, names, graph, prefix))
    return found


def _name_problems(task: dict, index: int, prefix: str, names: dict[str, int]) -> list[dict]:
    """The name (valid, unique; recorded in ``names``) and the task's keys."""
    path = f"{prefix}[{index}]"
    name = task.get("name")
    label = name if isinstance(name, str) else None
    found = []
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        found.append(problem(label, f"{path}.name", "is required: letters, digits, _ and -, starting with a letter or _"))
    elif name in names:
        found.append(problem(name, f"{path}.name", f"duplicate task name {name!r} (also at {prefix}[{names[name]}])"))
    else:
        names[name] = index
    for key in sorted(set(task) - TASK_KEYS):
        found.append(problem(label, f"{path}.{key}", f"unknown field (allowed: {', '.join(sorted(TASK_KEYS))})"))
    return found


def _type_problems(task: dict, label: str | None, path: str, in_group: bool) -> list[dict]:
    """The type exists (and may run where it is); its config fits the type's schema and compiles."""
    type_name = task.get("type")
    task_type = get_task_type(type_name) if isinstance(type_name, str) else None
    found = []
    if task_type is None:
        found.append(problem(label, f"{path}.type", f"unknown task type {type_name!r}"))
    elif in_group and not task_type.in_group:
        found.append(problem(label, f"{path}.type", f"a {type_name} task cannot run inside a group"))
    config = task.get("config", {})
    nested = task_type.subtasks_field if task_type is not None else None
    if task_type is not None:
        for field, message in task_type.config_problems(config if config is not None else {}):
            found.append(problem(label, f"{path}.{field}", message))
        if nested and isinstance(config, dict) and isinstance(config.get(nested), list):
            found.extend(validate_tasks(config[nested], f"{path}.config.{nested}", in_group=True))
    if nested and isinstance(config, dict):
        config = {k: v for k, v in config.items() if k != nested}  # the sub-tasks were checked above
    for field, message in syntax_errors(config, f"{path}.config"):
        found.append(problem(label, field, message))
    return found


def _dependencies(task: dict, label: str | None, path: str) -> tuple[list[str], list[dict]]:
    deps = task.get("depends_on", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        return [], [problem(label, f"{path}.depends_on", "must be a list of task names")]
    return deps, []


def _policy_problems(task: dict, label: str | None, path: str) -> list[dict]:
    """Retries, back-off, time-out and skip-on-error."""
    found = []
    retries = task.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        found.append(problem(label, f"{path}.retries", f"must be a whole number from 0 to {MAX_RETRIES}"))
    if "retry_backoff" in task:
        found.extend(_check_backoff(label, path, task["retry_backoff"]))
    timeout = task.get("timeout_seconds")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        found.append(problem(label, f"{path}.timeout_seconds", "must be a positive number of seconds"))
    if "skip_on_error" in task and not isinstance(task["skip_on_error"], bool):
        found.append(problem(label, f"{path}.skip_on_error", "must be true or false"))
    return found


def _graph_problems(graph: dict[str, list[str]], names: dict[str, int], prefix: str) -> list[dict]:
    """Dependencies on missing tasks or on the task itself, and cycles."""
    found = []
    for name, deps in graph.items():
        index = names.get(name)
        for dep in deps:
            if dep not in names:
                found.append(problem(name, f"{prefix}[{index}].depends_on", f"depends on {dep!r}, which is not a task of this workflow"))
            elif dep == name:
                found.append(problem(name, f"{prefix}[{index}].depends_on", "a task cannot depend on itself"))
    cycle = _find_cycle({n: [d for d in deps if d != n] for n, deps in graph.items()})
    if cycle:
        found.append(problem(cycle[0], prefix, "dependency cycle: " + " -> ".join(cycle)))
    return found


def _type_rules(tasks: list, names: dict[str, int], graph: dict[str, list[str]], prefix: str) -> list[dict]:
    """Each task type's own rules over the definition (its ``validate`` hook)."""
    found = []
    for name, index in names.items():
        task = tasks[index]
        task_type = get_task_type(task.get("type")) if isinstance(task.get("type"), str) else None
        if task_type is not None and task_type.validate is not None:
            found.extend(task_type.validate(task, TaskPlace(f"{prefix}[{index}]", name, names, graph)))
    return found


def validate_definition(definition: Any) -> list[dict]:
    """Every problem with a definition (``{"tasks": [...]}``); empty when it is valid."""
    if not isinstance(definition, dict):
        return [problem(None, "definition", 'must be an object like {"tasks": [...]}')]
    found: list[dict] = []
    for key in sorted(set(definition) - {"tasks"}):
        found.append(problem(None, f"definition.{key}", "unknown field (allowed: tasks)"))
    tasks = definition.get("tasks", [])
    size = len(json.dumps(definition))
    if size > settings.FLOWGATE_MAX_DEFINITION_BYTES:
        found.append(problem(None, "definition", f"is {size} bytes; the limit is {settings.FLOWGATE_MAX_DEFINITION_BYTES}"))
    count = count_tasks(tasks)
    if count > settings.FLOWGATE_MAX_TASKS:
        found.append(problem(None, "tasks", f"has {count} tasks; the limit is {settings.FLOWGATE_MAX_TASKS}"))
    if found and (size > settings.FLOWGATE_MAX_DEFINITION_BYTES or count > settings.FLOWGATE_MAX_TASKS):
        return found  # too large to be worth checking task by task
    found.extend(validate_tasks(tasks))
    return found


def normalize_definition(definition: dict) -> dict:
    return {"tasks": [normalize_task(t) for t in definition.get("tasks", [])]}
