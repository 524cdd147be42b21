"""The task-type registry: the plugin point through which apps add task types.

A task type is a name, a config schema and an executor (a dotted path, imported when the type
first runs). The app that owns a type registers it from its ``AppConfig.ready()``; the engine
(``executions``) registers the generic types, ``approvals`` the ``approval`` type, ``records``
the ``update_record`` type::

    from workflows.registry import ConfigField, TaskType, register

    register(TaskType("notify", "myapp.executors.run_notify", {
        "channel": ConfigField((str,), required=True, description="Where to post."),
    }, "Post a message to a channel."))

Types that depend on settings (a deployment's ``FLOWGATE_TASK_TYPES``) come from a *source*,
``register_source(function)``: a function answering more types, called again whenever
``task_types.cache_clear()`` runs (tests change the setting that way).

Workflow validation (``workflows.validation``) reads the schema of each type, its ``check`` hook
(rules over the type's own config) and its ``validate`` hook (rules over the whole definition,
such as a condition naming its dependants); it knows no type by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

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


@dataclass
class TaskPlace:
    """Where a task sits in the definition being validated, for a task type's ``validate`` hook."""

    path: str  # tasks[3]
    label: str | None  # the task's name when it has a valid one
    names: dict[str, int]  # task name -> index in the list
    graph: dict[str, list[str]]  # task name -> its dependencies

    def problem(self, field: str, message: str) -> dict:
        """A problem on ``field`` of this task (``config.then``, say)."""
        return {"task": self.label, "field": f"{self.path}.{field}", "message": message}


@dataclass(frozen=True)
class TaskType:
    name: str
    executor: str | Callable  # dotted path to, or the executor itself
    fields: dict[str, ConfigField] = field(default_factory=dict)
    description: str = ""
    # Types that park the execution (wait for a person, a time or another execution).
    parks: bool = False
    allow_extra_fields: bool = False
    # Rules over the type's own config beyond field types: (config) -> [(field path, message)].
    check: Callable[[dict], list[tuple[str, str]]] | None = None
    # Rules over the task in its definition (names, dependencies): (task, place) -> problems.
    validate: Callable[[dict, TaskPlace], list[dict]] | None = None
    custom: bool = False
    # Config fields rendered by the executor itself, not before it runs (a condition's expression).
    raw_fields: tuple[str, ...] = ()
    # A config field holding a sub-DAG of tasks (a group's ``tasks``), validated as tasks.
    subtasks_field: str | None = None
    # Whether the type may run inside a group's sub-DAG (no parking, no state of the execution).
    in_group: bool = True

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


_registered: dict[str, TaskType] = {}
_sources: list[Callable[[], Iterable[TaskType]]] = []


def register(task_type: TaskType) -> None:
    """Add a task type; registering the same type again is harmless, another under its name is refused."""
    existing = _registered.get(task_type.name)
    if existing is not None and existing != task_type:
        raise ImproperlyConfigured(f"Task type {task_type.name!r} is registered twice; task type names are unique.")
    _registered[task_type.name] = task_type
    task_types.cache_clear()


def unregister(name: str) -> None:
    """Remove a registered task type (a test's own, say); workflows that use it stop validating."""
    _registered.pop(name, None)
    task_types.cache_clear()


def register_source(source: Callable[[], Iterable[TaskType]]) -> None:
    """Add a function that answers task types (read again after ``task_types.cache_clear()``)."""
    if source not in _sources:
        _sources.append(source)
    task_types.cache_clear()


@cache
def task_types() -> dict[str, TaskType]:
    registry = dict(_registered)
    for source in _sources:
        for task_type in source():
            if task_type.name in registry:
                raise ImproperlyConfigured(
                    f"Task type {task_type.name!r} already exists; give the deployment's type another name."
                )
            registry[task_type.name] = task_type
    return registry


def get_task_type(name: str) -> TaskType | None:
    return task_types().get(name)
