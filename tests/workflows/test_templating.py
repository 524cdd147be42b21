"""The template sandbox: native values, text, and refused escapes."""

import textwrap

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
# Strings at the default budget: 4,000,000 and 1,000,000 characters.
BUDGET_TEXT = "(('a'*2000)|replace('a','a'*2000))"
MILLION = "(('a'*1000)|replace('a','a'*1000))"


# Each template would make a value far past the budget (most of them 10**9 characters or more); the second
# item is what the refusal names when the operation is refused before it allocates its result (an
# after-the-fact refusal says "the result of ...").
@pytest.mark.parametrize("template, refused_by", [
    ("{{ (('a'*10000)|replace('a','a'*10000))|length }}", 'replace would hold'),  # 10**8 characters from one filter
    ("{{ ['a'*100000]|replace('a', 'a'*100000) }}", "replace would hold"),  # in a list's text
    ("{{ ('a'*10000).replace('a', 'a'*10000)|length }}", 'replace would hold'),
    ("{{ ('a'*100000).join(['b'*100]*1000)|length }}", 'join would hold'),
    ("{{ (['a'*100000]*50)|join('-')|length }}", None),
    ("{{ 'a'.ljust(10**8)|length }}", 'ljust would hold'),
    ("{{ 'a'.rjust(10**8)|length }}", 'rjust would hold'),
    ("{{ 'a'.center(10**8)|length }}", 'center would hold'),
    ("{{ 'a'.zfill(10**8)|length }}", 'zfill would hold'),
    ("{{ ('a\\t'*50000).expandtabs(100000)|length }}", 'expandtabs would hold'),
    ("{{ ('a'*100000).translate({97: 'b'*100000})|length }}", 'translate would hold'),
    ("{{ '{:>100000000}'.format('a')|length }}", 'format width above'),
    ("{{ '{:>{}}'.format('a', 10**8)|length }}", 'format width taken'),
    ("{{ '%*s' % (10**8, 'a') }}", 'format width or precision'),
    ("{{ '%*s'|format(10**8, 'a') }}", 'format width or precision'),
    ("{{ ('\\n'*90000)|indent(90000)|length }}", 'indent would hold'),
    ("{{ ([['a']*100000]*100)|sum(start=[])|length }}", None),
    ("{% set ns = namespace(s='a'*100000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", '~ would hold'),
    ("{% set ns = namespace(s='a'*100000) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", '+ would hold'),
    ("{% set ns = namespace(n=2**99999) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}", 'a power with more than'),
    ("{% for i in range(100000) %}{{ 'a'*100000 }}{% endfor %}", 'the rendered text would hold'),  # the rendered text itself
    ("{{ ['a'*100000]*100 }}", None),  # a list that becomes 10**7 characters of text
    ("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}", 'nests or recurses'),
    # join over any iterable, not only lists
    ("{{ ('a'*100000)|join('b'*99999) }}", "join would hold"),  # a string, character by character
    ("{{ range(100000)|join('b'*99999) }}", "join would hold"),
    ("{{ range(100000)|map('string')|join('b'*99999) }}", "join would hold"),  # a generator
    ("{{ dict(range(100000)|batch(2)|list)|join('b'*99999) }}", "join would hold"),  # an object's keys
    ("{{ range(100000)|join('b'*99999, attribute='real') }}", "join would hold"),
    ("{{ ('b'*99999).join(range(100000)|map('string')) }}", "join would hold"),
    # tojson's indent
    ("{{ (range(100000)|list)|tojson(indent=99999) }}", "tojson would hold"),
    ("{{ [1]|tojson(indent=10**9) }}", "tojson: an indent of 1000000000"),  # made before anything is written
    ("{{ [1]|tojson(indent=('x'*100000) ~ 'x') }}", "tojson: an indent of 100001"),
    # wordwrap's wrapstring
    ("{{ ('a '*50000)|wordwrap(1, wrapstring='x'*99999) }}", "wordwrap would hold"),
    # formats: every field may hold its whole value
    ("{{ ('{0}'*250).format(" + BUDGET_TEXT + ") }}", "format would hold"),
    ("{{ ('{0[0]}'*1000).format([" + MILLION + "]) }}", "format would hold"),
    ("{{ ('{a!r}'*1000).format(a=" + MILLION + ") }}", "format would hold"),
    ("{{ ('{a}'*1000).format_map({'a': " + MILLION + "}) }}", "format_map would hold"),
    ("{{ (('F'*10000)|replace('F', '{0:99999}')).format(1) }}", "format would hold"),  # widths alone
    ("{{ ('%(a)s'*1000) % {'a': " + MILLION + "} }}", "% would hold"),
    ("{{ (('F'*10000)|replace('F', '%(a)99999d')) % {'a': 1} }}", "% would hold"),
    ("{{ ('%(a)s'*1000)|format(a=" + MILLION + ") }}", "format would hold"),
    ("{{ ['%(a)s'*1000]|format(a=" + MILLION + ") }}", "format would hold"),  # a list's text as the format
    ("{{ ['%0999999999d']|format(1) }}", "a format width above"),
    # bytes, made with encode, are held like strings
    ("{{ 'a'.encode() * 10**10 }}", "a repeated sequence longer"),
    ("{{ ('a'.encode()*100000).center(10**10) }}", "center would hold"),
    ("{{ ('a'.encode()*100000).replace('a'.encode(), ('b'*100000).encode()) }}", "replace would hold"),
    ("{{ '%0999999999d'.encode() % 1 }}", "a format width above"),
    ("{{ (1).to_bytes(10**10, 'big')|length }}", "to_bytes would hold"),
    ("{{ (1).to_bytes(length=10**10, byteorder='big')|length }}", "to_bytes would hold"),
    # filters' iterators, counted as they yield: map('center') makes a new long string for every item
    ("{{ range(100000)|map('string')|map('center', 100000)|list|length }}", "the items of map would hold"),
    ("{{ range(100000)|map('string')|map('center', 100000)|join|length }}", "the items of map would hold"),
    # blocks: their text is counted as it is written, and when joined
    ("{% set s = " + BUDGET_TEXT + " %}{% set x %}{% for i in range(2500) %}{{ s }}{% endfor %}{% endset %}"
     "{{ x|length }}", "a block's text would hold"),
    ("{% set s = " + BUDGET_TEXT + " %}{% macro m() %}{% for i in range(2500) %}{{ s }}{% endfor %}{% endmacro %}"
     "{{ m()|length }}", "a block's text would hold"),
    ("{% set s = " + BUDGET_TEXT + " %}{% filter length %}{% for i in range(2500) %}{{ s }}{% endfor %}"
     "{% endfilter %}", "a block's text would hold"),
    ("{% set x %}{% for i in range(100000) %}{{ 'a'*100000 }}{% endfor %}{% endset %}{{ x|length }}",
     "a block's text would hold"),
    ("{% if false %}{% block b %}{% for i in range(2500) %}{{ " + BUDGET_TEXT + " }}{% endfor %}{% endblock %}"
     "{% endif %}{{ self.b()|length }}", "a block's text would hold"),
    # indent: a line starts at every line break, not only at \n
    ("{{ ('\\r'*90000)|indent(90000, blank=True)|length }}", "indent would hold"),
    ("{{ ('a\\u2028'*45000)|indent(90000)|length }}", "indent would hold"),
    # and the rest that writes more than it reads
    ("{{ ('a'*100000).translate([''] * 97 + ['b'*100000]) }}", "translate would hold"),  # a list as the table
    ("{{ {('k'*100000): ('a '*50000)}|pprint }}", "pprint would hold"),  # each piece indented past the key
    ("{{ ('a.com '*16000)|urlize(target='x'*100000) }}", "urlize would hold"),  # the target in every link
    ("{{ ['a.com '*16000]|urlize(target='x'*100000) }}", "urlize would hold"),
])
def test_it_refuses_every_operation_that_would_exceed_the_budget(template, refused_by):
    with pytest.raises(TemplateError, match="not allowed") as caught:
        render(template, CONTEXT)
    assert caught.value.over_budget
    if refused_by is not None:
        assert refused_by in caught.value.reason and "the result of" not in caught.value.reason


@pytest.mark.parametrize("template, expected", [
    ("{{ ['a', 'b']|join(', ') }}", "a, b"),
    ("{{ range(3)|join('-') }}", "0-1-2"),
    ("{{ 'abc'|join('.') }}", "a.b.c"),
    ("{{ {'a': 1, 'b': 2}|join }}", "ab"),
    ("{{ range(3)|map('string')|join }}", "012"),
    ("{{ [{'n': 'a'}, {'n': 'b'}]|join('/', attribute='n') }}", "a/b"),
    ("{{ '-'.join(range(3)|map('string')) }}", "0-1-2"),
    ("{{ {'a': 1}|tojson(indent=2) }}", '{\n  "a": 1\n}'),
    ("{{ [[1], []]|tojson(indent='  ') }}", '[\n  [\n    1\n  ],\n  []\n]'),
    ("{{ '{} and {}'.format(1, 2) }}", "1 and 2"),
    ("{{ '{0[k]}{1!r}{x:>3}'.format({'k': 'v'}, 'w', x=7) }}", "v'w'  7"),
    ("{{ '{a}.{b}'.format_map({'a': 1, 'b': 2}) }}", "1.2"),
    ("{{ '%s-%s'|format(1, 2) }}", "1-2"),
    ("{{ '%(a)s'|format(a='b') }}", "b"),
    ("{{ ['%s']|format(1) }}", "['1']"),
    ("{{ [1, 2]|replace(',', ';') }}", "[1; 2]"),
    ("{{ 5|format }}", "5"),
    ("{{ 'x %s' % 'y' }}", "x y"),
    ("{{ '%(a)s=%(b)05d %%' % {'a': 'x', 'b': 3} }}", "x=00003 %"),
    ("{{ 'a\\rb'|indent(2) }}", "a\n  b"),
    ("{{ 'a b c'|wordwrap(2) }}", "a\nb\nc"),
    ("{{ 'a b c'|wordwrap(2, wrapstring='|') }}", "a|b|c"),
    ("{{ 'ab'.translate([]) }}", "ab"),
    ("{{ {'a': [1, 2]}|pprint }}", "{'a': [1, 2]}"),
    ("{{ 'see www.a.com'|urlize }}", 'see <a href="https://www.a.com" rel="noopener">www.a.com</a>'),
    ("{{ ('ab'.encode() * 2).decode() }}", "abab"),
    ("{{ (258).to_bytes(2, 'big')|list }}", [1, 2]),
    ("{% for x in range(3)|map('string')|reverse %}{{ x }}{% endfor %}", "210"),
    ("{{ range(4)|batch(3, 0)|list }}", [[0, 1, 2], [3, 0, 0]]),
    ("{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{% set y %}a{{ 1 }}b{% endset %}{{ y }}"
     "{% filter upper %}q{% endfilter %}", "<1>a1bQ"),
])
def test_checked_operations_render_small_values_as_before(template, expected):
    assert render(template, CONTEXT) == expected


def test_wordwrap_counts_the_lines_it_makes_when_the_text_is_long(settings):
    settings.FLOWGATE_TEMPLATE_MAX_LENGTH = 1000
    # 600 characters and a 5-character wrapstring: one a character would be past 1000, 8 lines are not;
    # 120 lines of "word" are (480 + 119 * 5).
    assert render("{{ ('word '*120)|wordwrap(79, wrapstring='<br/>') }}", CONTEXT) \
        == "<br/>".join(textwrap.wrap("word " * 120, 79))
    with pytest.raises(TemplateError, match="wordwrap would hold 1075 characters") as caught:
        render("{{ ('word '*120)|wordwrap(4, wrapstring='<br/>') }}", CONTEXT)
    assert caught.value.over_budget and "the result of" not in caught.value.reason


def test_a_list_of_long_numbers_counts_their_digits():
    # 100,000 numbers of 4,215 digits: 421,500,000 characters once written out.
    with pytest.raises(TemplateError, match="FLOWGATE_TEMPLATE_MAX_LENGTH") as caught:
        render("{{ ([2**14000]*100000)|length }}", CONTEXT)
    assert caught.value.over_budget
    assert render("{{ ([2**14000]*10)|length }}", CONTEXT) == 10


def test_a_namespace_counts_what_it_holds():
    with pytest.raises(TemplateError, match="FLOWGATE_TEMPLATE_MAX_LENGTH") as caught:
        render("{% set ns = namespace(a=" + BUDGET_TEXT + ", b=" + BUDGET_TEXT + ") %}{{ ns.a|length }}", CONTEXT)
    assert caught.value.over_budget
    assert render("{% set ns = namespace(a=" + MILLION + ") %}{{ ns.a|length }}", CONTEXT) == "1000000"


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
