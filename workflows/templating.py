"""Templates in task configs, rendered in Jinja2's sandbox.

A config string that is exactly one expression (``"{{ input.count }}"``) renders to the
expression's native value (a number, list or object); any other string with template markup
renders to text. The sandbox refuses access to private and dunder attributes, so
``{{ ''.__class__.__mro__ }}`` fails instead of reaching Python internals. Nothing is ever
passed to ``eval``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)
_MARKUP = ("{{", "{%", "{#")

# Results past these sizes take the server's CPU or memory for minutes (``9 ** 99999999``,
# ``'a' * 10**10``); the sandbox refuses them. An int power's size is the base's bits times the exponent.
MAX_POWER_BITS = 100_000
MAX_REPEATED_LENGTH = 100_000


_BIG_NUMBER_IN_FORMAT = re.compile(r"\d{6,}")


def _check_format(spec: Any) -> None:
    """Refuse printf-style formats whose width or precision would allocate huge strings."""
    if isinstance(spec, str) and "%" in spec and _BIG_NUMBER_IN_FORMAT.search(spec):
        raise SecurityError(f"a format width above {MAX_REPEATED_LENGTH} characters is too large")


def _bounded(function):
    """A filter or global whose number arguments (widths, counts) are bounded."""

    def wrapper(*args, **kwargs):
        for value in (*args, *kwargs.values()):
            if _is_int(value) and abs(value) > MAX_REPEATED_LENGTH:
                raise SecurityError(f"{function.__name__}: {value} is larger than {MAX_REPEATED_LENGTH}")
        return function(*args, **kwargs)

    wrapper.__name__ = function.__name__
    for marker in ("jinja_pass_arg",):
        if hasattr(function, marker):
            setattr(wrapper, marker, getattr(function, marker))
    return wrapper


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, also bounding ``**``, ``*`` and ``%`` (intercepted operators are never folded at
    compile time) and the filters that take a width or a count."""

    intercepted_binops = frozenset({"**", "*", "%"})

    def __init__(self, **options) -> None:
        super().__init__(**options)
        for name in ("center", "indent", "wordwrap", "truncate", "batch", "slice", "filesizeformat"):
            self.filters[name] = _bounded(self.filters[name])
        format_filter = self.filters["format"]

        def bounded_format(value, *args, **kwargs):
            _check_format(value)
            return format_filter(value, *args, **kwargs)

        self.filters["format"] = bounded_format
        self.globals.pop("lipsum", None)  # lorem ipsum generator: no use here, and unbounded

    def call_binop(self, context, operator, left, right):
        if operator == "%":
            _check_format(left)
        if operator == "**" and _is_int(left) and _is_int(right) and abs(left) > 1 \
                and right * abs(left).bit_length() > MAX_POWER_BITS:
            raise SecurityError(f"a power with more than {MAX_POWER_BITS} bits is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and _is_int(count) \
                        and len(sequence) * count > MAX_REPEATED_LENGTH:
                    raise SecurityError(f"a repeated sequence longer than {MAX_REPEATED_LENGTH} items is too long")
        return super().call_binop(context, operator, left, right)


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

    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        super().__init__(f"template {expression!r} failed: {reason}")


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
    return f"{exc.__class__.__name__}: {exc}"  # a filter or operator raised (division by zero, bad types, ...)


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate one expression (no braces) in the sandbox and return its native value."""
    try:
        result = _compiled_expression(expression)(**context)
    except Exception as exc:
        raise TemplateError(expression, _reason(exc)) from None
    if isinstance(result, StrictUndefined):
        raise TemplateError(expression, "is undefined")
    return result


def render_string(value: str, context: dict[str, Any]) -> Any:
    if not has_markup(value):
        return value
    expression = _single_expression(value)
    if expression is not None:
        return evaluate(expression, context)
    try:
        return _compiled_template(value).render(**context)
    except Exception as exc:
        raise TemplateError(value, _reason(exc)) from None


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
