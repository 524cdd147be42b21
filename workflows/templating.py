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

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

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


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate one expression (no braces) in the sandbox and return its native value."""
    try:
        result = _compiled_expression(expression)(**context)
    except TemplateSyntaxError as exc:
        raise TemplateError(expression, f"syntax error: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(expression, f"not allowed: {exc}") from None
    except UndefinedError as exc:
        raise TemplateError(expression, str(exc)) from None
    except Exception as exc:  # a filter or operator raised (division by zero, bad types, ...)
        raise TemplateError(expression, f"{exc.__class__.__name__}: {exc}") from None
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
    except TemplateSyntaxError as exc:
        raise TemplateError(value, f"syntax error: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(value, f"not allowed: {exc}") from None
    except UndefinedError as exc:
        raise TemplateError(value, str(exc)) from None
    except Exception as exc:
        raise TemplateError(value, f"{exc.__class__.__name__}: {exc}") from None


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
