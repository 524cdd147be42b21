"""The template sandbox: native values, text, and refused escapes."""

import pytest

from workflows.templating import TemplateError, evaluate, render

CONTEXT = {"input": {"n": 3, "name": "Ada", "items": [1, 2]}, "tasks": {"a": {"output": {"v": "x"}}}}


def test_a_single_expression_keeps_its_type():
    assert render("{{ input.n * 2 }}", CONTEXT) == 6
    assert render({"list": "{{ input['items'] }}"}, CONTEXT) == {"list": [1, 2]}


def test_mixed_text_renders_to_a_string():
    assert render("Hi {{ input.name }} ({{ tasks.a.output.v }})", CONTEXT) == "Hi Ada (x)"


def test_strings_without_markup_are_left_alone():
    assert render("plain {text}", CONTEXT) == "plain {text}"


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ input.__class__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ ().__class__.__bases__[0] }}",
])
def test_it_refuses_escapes_from_the_sandbox(template):
    with pytest.raises(TemplateError):
        render(template, CONTEXT)


def test_an_undefined_name_fails_with_the_expression():
    with pytest.raises(TemplateError) as info:
        render("{{ input.missing.deeper }}", CONTEXT)
    assert "input.missing.deeper" in str(info.value)


def test_evaluate_gives_native_values():
    assert evaluate("input.n > 2 and input.name == 'Ada'", CONTEXT) is True


@pytest.mark.parametrize("template", [
    "{{ 'a'|center(10**10) }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ 'x'|indent(200000) }}",
    "{{ lipsum(10**7) }}",
])
def test_it_refuses_templates_that_would_allocate_huge_strings(template):
    with pytest.raises(TemplateError):
        render(template, CONTEXT)


def test_bounded_filters_still_work_at_normal_sizes():
    assert render("{{ 'ab'|center(6) }}|{{ '%05d'|format(42) }}|{{ '%s-%s' % ('a', 'b') }}|{{ 10 % 3 }}", CONTEXT) \
        == "  ab  |00042|a-b|1"
    assert render("{{ 'hello world'|truncate(8, leeway=0) }}", CONTEXT) == "hello..."


# -- arithmetic ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression, context", [
    ("x ** y", {"x": 9, "y": 10**6}),  # a number of millions of digits: minutes of CPU for bigger ones
    ("'a' * n", {"n": 10**7}),  # a string of any size
    ("[0] * n", {"n": 10**7}),
])
def test_it_refuses_template_arithmetic_that_would_exhaust_the_server(expression, context):
    with pytest.raises(TemplateError, match="not allowed"):
        evaluate(expression, context)


def test_small_powers_and_repetitions_still_work():
    assert evaluate("2 ** 10", {}) == 1024
    assert evaluate("'ab' * 3", {}) == "ababab"
    assert evaluate("x ** 0.5", {"x": 16}) == 4.0
