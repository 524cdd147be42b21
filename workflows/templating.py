"""Templates in task configs, rendered in Jinja2's sandbox.

A config string that is exactly one expression (``"{{ input.count }}"``) renders to the
expression's native value (a number, list or object); any other string with template markup
renders to text. The sandbox refuses access to private and dunder attributes, so
``{{ ''.__class__.__mro__ }}`` fails instead of reaching Python internals. Nothing is ever
passed to ``eval``.

Every rendering has a budget, the same in the worker and in the web process (where Flowdash action
requirements are evaluated): no value it makes may hold more than ``FLOWGATE_TEMPLATE_MAX_LENGTH``
characters or items (counted through nested lists and objects), and it may run for
``FLOWGATE_TEMPLATE_TIME_LIMIT_MS`` at most. Operations that multiply sizes (``replace``, ``join``,
``indent``, ``center``, ``ljust``, ``format``, ``*``, ``~``, ...) are checked before they allocate; every
filter's, method's and operator's result is checked after; loops and calls check the clock.
"""

from __future__ import annotations

import re
import string
import time
from contextvars import ContextVar
from functools import lru_cache, wraps
from typing import Any

from django.conf import settings
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)
_MARKUP = ("{{", "{%", "{#")

# Results past these sizes take the server's CPU or memory for minutes (``9 ** 99999999``,
# ``'a' * 10**10``); the sandbox refuses them. An int power's size is the base's bits times the exponent.
MAX_POWER_BITS = 100_000
MAX_REPEATED_LENGTH = 100_000


class BudgetExceeded(SecurityError):
    """A rendering made a value larger than the budget allows, or ran longer than it allows."""


_BIG_NUMBER_IN_FORMAT = re.compile(r"\d{6,}")


def _check_format(spec: Any) -> None:
    """Refuse printf-style formats whose width or precision would allocate huge strings."""
    if isinstance(spec, str) and "%" in spec and _BIG_NUMBER_IN_FORMAT.search(spec):
        raise BudgetExceeded(f"a format width above {MAX_REPEATED_LENGTH} characters is too large")


_STAR_WIDTH_IN_FORMAT = re.compile(r"%[-#0 +]*(\*|\d*\.\*)")


def _check_printf(spec: Any) -> None:
    _check_format(spec)
    if isinstance(spec, str) and _STAR_WIDTH_IN_FORMAT.search(spec):
        raise BudgetExceeded("a format width or precision taken from the arguments (%*d) is not supported; "
                            "write the number into the format")


def max_length() -> int:
    return settings.FLOWGATE_TEMPLATE_MAX_LENGTH


def time_limit_ms() -> int:
    return settings.FLOWGATE_TEMPLATE_TIME_LIMIT_MS


# When the rendering under way must stop (time.monotonic()); None outside a rendering.
_deadline: ContextVar[float | None] = ContextVar("template_deadline", default=None)


def _tick() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise BudgetExceeded(f"the template ran longer than {time_limit_ms()} ms "
                             "(FLOWGATE_TEMPLATE_TIME_LIMIT_MS); make it do less")


def _too_large(size: int, what: str) -> BudgetExceeded:
    return BudgetExceeded(f"{what} would hold {size} characters or items, more than the "
                          f"{max_length()} a template value may hold (FLOWGATE_TEMPLATE_MAX_LENGTH)")


def _check_length(size: int, what: str) -> None:
    if size > max_length():
        raise _too_large(size, what)


def _check_size(value: Any, what: str = "the result") -> Any:
    """Refuse a value holding more characters or items than the budget, counted through nesting.

    The walk stops as soon as the count passes the budget, so it costs at most the budget's steps;
    a list repeating one large string is counted in full (it becomes that large once turned to text).
    """
    kind = type(value)
    if kind is int or kind is float or kind is bool or value is None:
        return value  # the common case, first
    if isinstance(value, str | bytes):
        _check_length(len(value), what)
        return value
    if not isinstance(value, list | tuple | dict | set | frozenset):
        return value
    limit = max_length()
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, dict):
            total += len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            pending.extend(item)
        else:
            total += 1
        if total > limit:
            raise _too_large(total, what)
    return value


def _text_length(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(str(_check_size(value, "a joined item")))


def _replaced_length(text: str, old: str, new: str, count: int = -1) -> int:
    found = len(text) + 1 if old == "" else text.count(old)
    if count is not None and _is_int(count) and 0 <= count < found:
        found = count
    return len(text) + found * (len(new) - len(old))


def _joined_length(separator: str, items: list, what: str = "join") -> int:
    total = len(separator) * max(len(items) - 1, 0)
    for item in items:
        total += _text_length(item)
        _check_length(total, what)
    return total


def _bounded(function):
    """A filter or global whose number arguments (widths, counts) are bounded."""

    def wrapper(*args, **kwargs):
        for value in (*args, *kwargs.values()):
            if _is_int(value) and abs(value) > MAX_REPEATED_LENGTH:
                raise BudgetExceeded(f"{function.__name__}: {value} is larger than {MAX_REPEATED_LENGTH}")
        return function(*args, **kwargs)

    wrapper.__name__ = function.__name__
    for marker in ("jinja_pass_arg",):
        if hasattr(function, marker):
            setattr(wrapper, marker, getattr(function, marker))
    return wrapper


class _Budgeted(NodeTransformer):
    """Rewrites a parsed template so loops check the clock and ``~`` checks its size before joining."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), CONCAT_FILTER, [], [], None, None,
                            lineno=node.lineno)


LOOP_FILTER = "_flowgate_loop"
CONCAT_FILTER = "_flowgate_concat"


def _loop(iterable):
    for item in iterable:
        _tick()
        yield item


def _concat(parts: list) -> str:
    _joined_length("", parts, "~")
    return "".join(map(str, parts))


def _guarded(name: str, function):
    """A filter whose arguments and result are held to the budget, with checks before the costly ones."""
    precheck = _FILTER_PRECHECKS.get(name)

    @wraps(function)
    def wrapper(*args, **kwargs):
        _tick()
        for value in (*args, *kwargs.values()):
            _check_size(value, f"the input of {name}")
        if precheck is not None:
            precheck(*args, **kwargs)
        return _check_size(function(*args, **kwargs), f"the result of {name}")

    return wrapper


def _precheck_replace(eval_ctx, text, old, new, count=None):
    if isinstance(text, str):
        _check_length(_replaced_length(text, str(old), str(new), count if count is not None else -1), "replace")


def _precheck_join(eval_ctx, value, d="", attribute=None):
    if attribute is None and isinstance(value, list | tuple):
        _joined_length(str(d), list(value))


def _precheck_indent(text, width=4, first=False, blank=False):
    if isinstance(text, str):
        indent = len(width) if isinstance(width, str) else (width if _is_int(width) else 0)
        _check_length(len(text) + (text.count("\n") + 1) * indent, "indent")


def _precheck_sum(environment, iterable, attribute=None, start=0):
    if not isinstance(start, int | float):
        raise BudgetExceeded("sum adds numbers only; use join for text")


_FILTER_PRECHECKS = {"replace": _precheck_replace, "join": _precheck_join, "indent": _precheck_indent,
                     "sum": _precheck_sum}
# str methods whose result may be much larger than the string: the result's length, before it is made.
_WIDTH_METHODS = ("center", "ljust", "rjust", "zfill")


def _method_result_length(method: Any, args: tuple, kwargs: dict) -> int | None:
    text = getattr(method, "__self__", None)
    if not isinstance(text, str):
        return None
    name = getattr(method, "__name__", "")
    if name in _WIDTH_METHODS and args and _is_int(args[0]):
        return max(len(text), args[0])
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        return _replaced_length(text, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count", -1))
    if name == "join" and args:
        return _joined_length(text, list(args[0]))
    if name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        return len(text) + text.count("\t") * size if _is_int(size) else None
    if name == "translate" and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        return len(text) * max(longest, 1)
    return None


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, holding every operation to the budget (see the module's docstring).

    ``**``, ``*``, ``+`` and ``%`` are intercepted (intercepted operators are never folded at compile
    time); filters are wrapped; method calls go through ``call``; loops and ``~`` are rewritten to
    checked filters when a template is compiled.
    """

    intercepted_binops = frozenset({"**", "*", "%", "+"})

    def __init__(self, **options) -> None:
        super().__init__(**options)
        for name in ("center", "indent", "wordwrap", "truncate", "batch", "slice", "filesizeformat"):
            self.filters[name] = _bounded(self.filters[name])
        format_filter = self.filters["format"]

        def bounded_format(value, *args, **kwargs):
            _check_printf(value)
            return format_filter(value, *args, **kwargs)

        self.filters["format"] = bounded_format
        for name, function in list(self.filters.items()):
            self.filters[name] = _guarded(name, function)
        self.filters[LOOP_FILTER] = _loop
        self.filters[CONCAT_FILTER] = _concat
        self.globals.pop("lipsum", None)  # lorem ipsum generator: no use here, and unbounded
        self.finalize = _finalize

    def _generate(self, source, name, filename, defer_init=False):
        return super()._generate(_Budgeted().visit(source), name, filename, defer_init)

    def call_binop(self, context, operator, left, right):
        _tick()
        if operator == "%":
            _check_printf(left)
            _check_size(right, "the values of a % format")
        if operator == "**" and _is_int(left) and _is_int(right) and abs(left) > 1 \
                and right * abs(left).bit_length() > MAX_POWER_BITS:
            raise BudgetExceeded(f"a power with more than {MAX_POWER_BITS} bits is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and _is_int(count) \
                        and len(sequence) * count > MAX_REPEATED_LENGTH:
                    raise BudgetExceeded(f"a repeated sequence longer than {MAX_REPEATED_LENGTH} items is too long")
            if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > MAX_POWER_BITS:
                raise BudgetExceeded(f"a product with more than {MAX_POWER_BITS} bits is too large")
        if operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            _check_length(len(left) + len(right), "+")
        return _check_size(super().call_binop(context, operator, left, right), f"the result of {operator}")

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        _tick()
        for value in (*args, *kwargs.values()):
            _check_size(value, "a call's argument")
        if isinstance(getattr(__obj, "__self__", None), str) and getattr(__obj, "__name__", "") == "join" \
                and args and not isinstance(args[0], list | tuple):
            args = (list(args[0]), *args[1:])  # measured before joining, so taken once
        length = _method_result_length(__obj, args, kwargs)
        if length is not None:
            _check_length(length, f"{getattr(__obj, '__name__', 'the call')}")
        return _check_size(super().call(__context, __obj, *args, **kwargs), "the result of a call")

    def wrap_str_format(self, value):
        text = getattr(value, "__self__", None)
        if isinstance(text, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format_fields(text)
        return super().wrap_str_format(value)


def _check_format_fields(text: str) -> None:
    """Refuse ``str.format`` fields whose width is huge or taken from the arguments (``{:{}}``)."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # format() itself says what is wrong
    for _literal, _field, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            raise BudgetExceeded("a format width taken from the arguments ({:{}}) is not supported; "
                                "write the number into the format")
        _check_format(f"%{spec}")


def _finalize(value: Any) -> Any:
    """What ``{{ }}`` writes out, held to the budget before it is turned into text."""
    return _check_size(value, "an output")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_env = _Sandbox(undefined=StrictUndefined, autoescape=False)

# Compiling is most of a template's cost; the same few configs render over and over in a worker.
TEMPLATE_CACHE_SIZE = 2048


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _compiled_expression(expression: str):
    return _env.compile_expression(expression, undefined_to_none=False)


@lru_cache(maxsize=TEMPLATE_CACHE_SIZE)
def _compiled_template(source: str):
    return _env.from_string(source)


class TemplateError(Exception):
    """A template could not be compiled or rendered; the message names the expression."""

    def __init__(self, expression: str, reason: str, over_budget: bool = False) -> None:
        self.expression = expression
        self.reason = reason
        self.over_budget = over_budget  # too large or too slow, rather than wrong
        super().__init__(f"template {_shortened(expression)!r} failed: {reason}")


def _shortened(expression: str, length: int = 200) -> str:
    return expression if len(expression) <= length else expression[:length] + "..."


def _error(expression: str, exc: Exception) -> TemplateError:
    return TemplateError(expression, _reason(exc), over_budget=isinstance(exc, BudgetExceeded | RecursionError))


def has_markup(value: str) -> bool:
    return any(marker in value for marker in _MARKUP)


def _single_expression(value: str) -> str | None:
    match = _SINGLE_EXPRESSION.match(value)
    if match and "}}" not in match.group("expr") and "{{" not in match.group("expr"):
        return match.group("expr").strip()
    return None


def bare_expression(value: str) -> str:
    """An expression without the ``{{ }}`` around it, for fields that hold one expression."""
    text = value.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    return text


def _reason(exc: Exception) -> str:
    """Why compiling or rendering failed, in the words a workflow author needs."""
    if isinstance(exc, TemplateSyntaxError):
        return f"syntax error: {exc.message}"
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    if isinstance(exc, UndefinedError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "not allowed: the template nests or recurses too deeply"
    return f"{exc.__class__.__name__}: {exc}"  # a filter or operator raised (division by zero, bad types, ...)


class _Budget:
    """The time budget of one rendering (nested renderings keep the outer one's deadline)."""

    def __enter__(self):
        self.token = None
        if _deadline.get() is None:
            self.token = _deadline.set(time.monotonic() + time_limit_ms() / 1000)
        return self

    def __exit__(self, *exc_info):
        if self.token is not None:
            _deadline.reset(self.token)


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate one expression (no braces) in the sandbox and return its native value."""
    try:
        with _Budget():
            result = _check_size(_compiled_expression(expression)(**context))
    except Exception as exc:
        raise _error(expression, exc) from None
    if isinstance(result, StrictUndefined):
        raise TemplateError(expression, "is undefined")
    return result


def _rendered_text(template, context: dict[str, Any]) -> str:
    """The template's text, chunk by chunk, so that output past the budget stops the rendering."""
    limit = max_length()
    chunks: list[str] = []
    total = 0
    with _Budget():  # loops, calls and filters look at the clock; the chunks need not
        for chunk in template.generate(**context):
            total += len(chunk)
            if total > limit:
                raise _too_large(total, "the rendered text")
            chunks.append(chunk)
    return "".join(chunks)


def render_string(value: str, context: dict[str, Any]) -> Any:
    if not has_markup(value):
        return value
    expression = _single_expression(value)
    if expression is not None:
        return evaluate(expression, context)
    try:
        return _rendered_text(_compiled_template(value), context)
    except Exception as exc:
        raise _error(value, exc) from None


def render(value: Any, context: dict[str, Any]) -> Any:
    """Render every string in a JSON-like value (dicts and lists are walked)."""
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def syntax_errors(value: Any, path: str = "config") -> list[tuple[str, str]]:
    """(path, message) for every string in the value whose template markup does not compile."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        if has_markup(value):
            expression = _single_expression(value)
            try:
                if expression is not None:
                    _env.compile_expression(expression)
                else:
                    _env.parse(value)
            except TemplateSyntaxError as exc:
                found.append((path, f"template syntax error in {value!r}: {exc.message}"))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(syntax_errors(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(syntax_errors(item, f"{path}[{index}]"))
    return found


def expression_syntax_error(expression: str) -> str | None:
    try:
        _env.compile_expression(expression)
    except TemplateSyntaxError as exc:
        return f"syntax error in {expression!r}: {exc.message}"
    return None
