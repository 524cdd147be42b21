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


# -- the budget: size and time of every operation --------------------------------------------------------------
@pytest.mark.parametrize("template", [
    "{{ (('a'*10000)|replace('a','a'*10000))|length }}",  # 10**8 characters from one filter
    "{{ ('a'*10000).replace('a', 'a'*10000)|length }}",
    "{{ ('a'*100000).join(['b'*100]*1000)|length }}",
    "{{ (['a'*100000]*50)|join('-')|length }}",
    "{{ 'a'.ljust(10**8)|length }}",
    "{{ 'a'.rjust(10**8)|length }}",
    "{{ 'a'.center(10**8)|length }}",
    "{{ 'a'.zfill(10**8)|length }}",
    "{{ ('a\\t'*50000).expandtabs(100000)|length }}",
    "{{ ('a'*100000).translate({97: 'b'*100000})|length }}",
    "{{ '{:>100000000}'.format('a')|length }}",
    "{{ '{:>{}}'.format('a', 10**8)|length }}",
    "{{ '%*s' % (10**8, 'a') }}",
    "{{ '%*s'|format(10**8, 'a') }}",
    "{{ ('\\n'*90000)|indent(90000)|length }}",
    "{{ ([['a']*100000]*100)|sum(start=[])|length }}",
    "{% set ns = namespace(s='a'*100000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{% set ns = namespace(s='a'*100000) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "{% set ns = namespace(n=2**99999) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}",
    "{% for i in range(100000) %}{{ 'a'*100000 }}{% endfor %}",  # the rendered text itself
    "{{ ['a'*100000]*100 }}",  # a list that becomes 10**7 characters of text
    "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
])
def test_it_refuses_every_operation_that_would_exceed_the_budget(template):
    with pytest.raises(TemplateError, match="not allowed") as caught:
        render(template, CONTEXT)
    assert caught.value.over_budget


def test_the_size_budget_is_a_setting(settings):
    assert render("{{ ('a'*600) ~ ('b'*600) }}", CONTEXT) == "a" * 600 + "b" * 600
    settings.FLOWGATE_TEMPLATE_MAX_LENGTH = 1000
    with pytest.raises(TemplateError, match="FLOWGATE_TEMPLATE_MAX_LENGTH") as caught:
        render("{{ ('a'*600) ~ ('b'*600) }}", CONTEXT)
    assert "1200 characters" in caught.value.reason


def test_a_template_that_runs_past_its_time_budget_fails(settings):
    settings.FLOWGATE_TEMPLATE_TIME_LIMIT_MS = 10
    # 10**10 empty iterations: only the clock stops them.
    with pytest.raises(TemplateError, match="FLOWGATE_TEMPLATE_TIME_LIMIT_MS") as caught:
        render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", CONTEXT)
    assert caught.value.over_budget


def test_templates_within_the_budget_render_as_before():
    template = ("{{ 'ab'|upper }}{% for x in input['items'] %}[{{ loop.index }}/{{ loop.length }}]{% endfor %}"
                "{{ '{:>4}'.format('a') }}|{{ ', '.join(['a', 'b']) }}|{{ input['items']|join('-') }}|"
                "{{ 'ab'|replace('a', 'c') }}|{{ 'x' ~ 1 ~ 'y' }}|{{ 'a'.ljust(3, '.') }}|{{ [1, 2]|sum }}")
    assert render(template, CONTEXT) == "AB[1/2][2/2]   a|a, b|1-2|cb|x1y|a..|3"
    assert render("{{ input.name * 3 }}", CONTEXT) == "AdaAdaAda"
    assert render("{{ 'a' * 100000 }}", CONTEXT) == "a" * 100000
