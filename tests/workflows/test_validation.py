"""Definition validation: every problem at once, each naming the task and field."""

import pytest

from workflows.validation import validate_definition


def fields_of(problems):
    return {(p["task"], p["field"]) for p in problems}


def test_it_accepts_a_valid_definition():
    assert validate_definition({"tasks": [
        {"name": "a", "type": "log", "config": {"message": "hi {{ input.x }}"}},
        {"name": "b", "type": "set", "config": {"values": {"y": 1}}, "depends_on": ["a"], "retries": 2,
         "retry_backoff": {"type": "exponential", "delay": 1, "max": 30}, "timeout_seconds": 5, "skip_on_error": True},
    ]}) == []


def test_it_reports_every_problem_at_once():
    problems = validate_definition({"tasks": [
        {"name": "a", "type": "teleport", "config": {}},                       # unknown type
        {"name": "a", "type": "log", "config": {"message": "x"}},              # duplicate name
        {"name": "c", "type": "log", "config": {"message": "x"}, "depends_on": ["ghost"]},  # missing dependency
        {"name": "d", "type": "http", "config": {"url": 42, "method": "BREW"}},  # config does not fit schema
        {"name": "e", "type": "log", "config": {"message": "{{ input.x "}},    # template syntax error
        {"name": "f", "type": "log", "config": {"message": "x"}, "depends_on": ["g"]},
        {"name": "g", "type": "log", "config": {"message": "x"}, "depends_on": ["f"]},  # cycle f -> g -> f
        {"name": "h", "type": "log", "config": {"message": "x"}, "retries": -1, "timeout_seconds": 0},
    ]})
    messages = " | ".join(p["message"] for p in problems)
    assert ("a", "tasks[0].type") in fields_of(problems)
    assert ("a", "tasks[1].name") in fields_of(problems)
    assert ("c", "tasks[2].depends_on") in fields_of(problems)
    assert ("d", "tasks[3].config.url") in fields_of(problems)
    assert ("d", "tasks[3].config.method") in fields_of(problems)
    assert ("e", "tasks[4].config.message") in fields_of(problems)
    assert ("h", "tasks[7].retries") in fields_of(problems)
    assert ("h", "tasks[7].timeout_seconds") in fields_of(problems)
    assert "unknown task type 'teleport'" in messages
    assert "duplicate task name 'a'" in messages
    assert "'ghost'" in messages
    assert "template syntax error" in messages
    assert "dependency cycle: f -> g -> f" in messages or "dependency cycle: g -> f -> g" in messages


def test_it_requires_the_fields_a_type_needs():
    problems = validate_definition({"tasks": [{"name": "a", "type": "http", "config": {}}]})
    assert problems == [{"task": "a", "field": "tasks[0].config.url", "message": "'url' is required for a http task"}]


def test_it_refuses_unknown_config_fields():
    problems = validate_definition({"tasks": [{"name": "a", "type": "log", "config": {"message": "x", "colour": "red"}}]})
    assert [p["field"] for p in problems] == ["tasks[0].config.colour"]


@pytest.mark.parametrize("setting,value,needle", [
    ("FLOWGATE_MAX_TASKS", 2, "has 3 tasks; the limit is 2"),
    ("FLOWGATE_MAX_DEFINITION_BYTES", 1024, "the limit is 1024"),
])
def test_it_enforces_the_configured_limits(settings, setting, value, needle):
    setattr(settings, setting, value)
    tasks = [{"name": f"t{i}", "type": "log", "config": {"message": "x" * 400}} for i in range(3)]
    problems = validate_definition({"tasks": tasks})
    assert any(needle in p["message"] for p in problems)


def test_it_refuses_parking_types_inside_a_group():
    problems = validate_definition({"tasks": [{"name": "g", "type": "group", "config": {
        "items": [1], "tasks": [{"name": "wait", "type": "approval", "config": {}}]}}]})
    assert any("cannot run inside a group" in p["message"] for p in problems)


def test_it_checks_that_condition_branches_name_dependants():
    problems = validate_definition({"tasks": [
        {"name": "c", "type": "condition", "config": {"if": "true", "then": ["x"]}},
        {"name": "x", "type": "log", "config": {"message": "x"}},
    ]})
    assert problems[0]["field"] == "tasks[0].config.then"


def test_it_reports_a_bad_condition_expression():
    problems = validate_definition({"tasks": [{"name": "c", "type": "condition", "config": {"if": "input.x >"}}]})
    assert problems[0]["field"] == "tasks[0].config.if"


@pytest.mark.parametrize("task,field", [
    ({"name": "g", "type": "group", "config": ["not", "an", "object"]}, "tasks[0].config"),
    ({"name": "c", "type": "condition", "config": {"if": "true", "then": [{}]}}, "tasks[0].config.then"),
])
def test_it_reports_malformed_configs_instead_of_crashing(task, field):
    problems = validate_definition({"tasks": [task]})
    assert problems and all(p["task"] == task["name"] for p in problems)
    assert any(p["field"].startswith(field) for p in problems)


def test_it_finds_a_cycle_at_the_end_of_a_very_long_chain(settings):
    settings.FLOWGATE_MAX_TASKS = 10_000
    settings.FLOWGATE_MAX_DEFINITION_BYTES = 10_000_000
    tasks = [{"name": f"t{i}", "type": "log", "config": {"message": "x"}, "depends_on": [f"t{i + 1}"]}
             for i in range(5000)]
    tasks[-1]["depends_on"] = ["t0"]
    problems = validate_definition({"tasks": tasks})
    assert [p["message"].split(":")[0] for p in problems] == ["dependency cycle"]


def test_tasks_inside_groups_count_towards_the_limit(settings):
    settings.FLOWGATE_MAX_TASKS = 5
    inner = [{"name": f"s{i}", "type": "log", "config": {"message": "x"}} for i in range(5)]
    problems = validate_definition({"tasks": [{"name": "g", "type": "group", "config": {"items": [1], "tasks": inner}}]})
    assert problems == [{"task": None, "field": "tasks", "message": "has 6 tasks; the limit is 5"}]


def test_a_condition_is_checked_as_it_will_run():
    problems = validate_definition({"tasks": [
        {"name": "c", "type": "condition", "config": {"if": "input.ok }}"}}]})
    assert [p["field"] for p in problems] == ["tasks[0].config.if"]
    assert validate_definition({"tasks": [
        {"name": "c", "type": "condition", "config": {"if": "{{ input.ok }}"}}]}) == []
