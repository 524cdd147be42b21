"""Templates in task configs, rendered in Jinja2's sandbox.

A config string that is exactly one expression (``"{{ input.count }}"``) renders to the
expression's native value (a number, list or object); any other string with template markup
renders to text. The sandbox refuses access to private and dunder attributes, so
``{{ ''.__class__.__mro__ }}`` fails instead of reaching Python internals. Nothing is ever
passed to ``eval``.

Every rendering has a budget, the same in the worker and in the web process (where Flowdash action
requirements are evaluated): no value it makes may hold more than ``FLOWGATE_TEMPLATE_MAX_LENGTH``
characters or items (counted through nested lists and objects), and it may run for
``FLOWGATE_TEMPLATE_TIME_LIMIT_MS`` at most. Operations whose result may be much larger than their
inputs are checked before they allocate:

- ``replace`` and ``join`` (filters and methods; ``join`` over any iterable: a string, ``range``, a
  generator, an object's keys, with or without ``attribute=``, read once and no further than the budget),
  ``indent``, ``wordwrap`` (its lines counted before they are joined), ``tojson(indent=...)`` (the indented
  size, and the indent itself), ``pprint`` (each item on its own line, indented), ``urlize`` (the ``rel`` and
  ``target`` in every link);
- the methods ``center``, ``ljust``, ``rjust``, ``zfill``, ``expandtabs`` and ``translate`` (a dict, list or
  tuple table), of strings and of bytes, and an int's ``to_bytes``;
- ``str.format``, ``format_map``, the ``format`` filter and ``%``: each field may hold the whole text of
  the value it names, plus its width or precision;
- ``*``, ``+``, ``~`` and ``**``;
- the text of a block (a macro, ``{% set %}...{% endset %}``, ``{% filter %}``, ``{% call %}``,
  ``self.block()``), counted as it is written;
- the items a filter's iterator (``map``, ``select``, ``batch``, ...) yields, counted as they come, all told.

Every filter's, method's and operator's result is checked after; loops and calls check the clock. Sizes
are counted through nested lists, objects and namespaces, an int past 64 bits by its digits.
"""

from __future__ import annotations

import re
import string
import textwrap
import time
from _string import formatter_field_name_split
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache, wraps
from typing import Any

from django.conf import settings
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace
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
    a list repeating one large string is counted in full (it becomes that large once turned to text),
    an int inside a list or object by its digits once it is past 64 bits, and a namespace by what it holds.
    A filter's iterator (``map``, ``select``, ``batch``, ...) is counted as it yields: all of its items,
    as if they were kept in one list.
    """
    kind = type(value)
    if kind is int or kind is float or kind is bool or value is None:
        return value  # the common case, first
    if isinstance(value, str | bytes):
        _check_length(len(value), what)
        return value
    if isinstance(value, list | tuple | dict | set | frozenset | Namespace):
        _size(value, what)
    return value


def _size(value: Any, what: str, total: int = 0) -> int:
    """``total`` plus the characters and items in a value; refused once that passes the budget."""
    limit = max_length()
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
        elif isinstance(item, Namespace):
            pending.append(_namespace_attributes(item))
        else:
            total += _int_digits(item) if _is_int(item) and item.bit_length() > 64 else 1
        if total > limit:
            raise _too_large(total, what)
    return total


def _counted(items: Iterator, what: str) -> Iterator:
    """A filter's iterator, refused once what it has yielded, all told, passes the budget."""
    total = 0
    for item in items:
        total = _size(item, what, total + 1)
        yield item


def _namespace_attributes(namespace: Namespace) -> dict:
    """What a ``namespace()`` holds (its text shows all of it)."""
    return object.__getattribute__(namespace, "_Namespace__attrs")


def _int_digits(number: int) -> int:
    """An upper bound on the characters of an int's decimal text, sign included, without making it."""
    return number.bit_length() * 31 // 100 + 2


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


class _BlockText(list):
    """The text a block writes (a macro, ``{% set %}...{% endset %}``, ``{% filter %}``, ``{% call %}``),
    refused once past the budget as it grows: a loop may write the same long string over and over."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def append(self, chunk: str) -> None:
        self._count(len(chunk))
        super().append(chunk)

    def extend(self, chunks) -> None:
        chunks = tuple(chunks)
        self._count(sum(map(len, chunks)))
        super().extend(chunks)

    def _count(self, size: int) -> None:
        self.size += size
        if self.size > max_length():
            raise _too_large(self.size, "a block's text")


def _joined_text(chunks) -> str:
    """What the sandbox joins a block's text with (``self.block()`` and ``super()`` included)."""
    if isinstance(chunks, _BlockText):
        return "".join(chunks)  # counted as it was written
    limit = max_length()
    total = 0
    parts: list[str] = []
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise _too_large(total, "a block's text")
        parts.append(chunk)
    return "".join(parts)


class _BudgetedCodeGenerator(CodeGenerator):
    """Compiles blocks so that they write into a ``_BlockText``."""

    def buffer(self, frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.block_text()")


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
    """A filter whose arguments and result are held to the budget, with checks before the costly ones.

    A check may hand back the arguments to call the filter with (an iterable it had to read, as a list).
    """
    precheck = _FILTER_PRECHECKS.get(name)

    @wraps(function)
    def wrapper(*args, **kwargs):
        _tick()
        for value in (*args, *kwargs.values()):
            _check_size(value, f"the input of {name}")
        if precheck is not None:
            replaced = precheck(*args, **kwargs)
            if replaced is not None:
                args, kwargs = replaced
        result = _check_size(function(*args, **kwargs), f"the result of {name}")
        if isinstance(result, Iterator) and not isinstance(result, str | bytes | list | tuple | dict):
            return _counted(result, f"the items of {name}")
        return result

    return wrapper


def _materialized(iterable: Any, what: str) -> list:
    """The items of an iterable (a range, a generator, a dict's keys, ...), refused once past the budget."""
    if isinstance(iterable, list):
        return iterable
    limit = max_length()
    items: list = []
    for item in iterable:
        _tick()
        items.append(item)
        if len(items) > limit:
            raise _too_large(len(items), what)
    return items


def _precheck_replace(eval_ctx, text, old, new, count=None):
    text = text if isinstance(text, str) else str(text)  # the filter replaces in the value's text
    _check_length(_replaced_length(text, str(old), str(new), count if count is not None else -1), "replace")


def _precheck_join(eval_ctx, value, d="", attribute=None):
    separator = d if isinstance(d, str) else str(d)
    if isinstance(value, str) and attribute is None:  # joined character by character
        _check_length(len(value) + len(separator) * max(len(value) - 1, 0), "join")
        return None
    items = list(value) if isinstance(value, tuple) else _materialized(value, "join")
    if attribute is not None:
        getter = make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    _joined_length(separator, items)
    return (eval_ctx, items, d), {}  # the items once read, joined as they were measured


def _precheck_indent(text, width=4, first=False, blank=False):
    if isinstance(text, str):
        indent = len(width) if isinstance(width, str) else (width if _is_int(width) else 0)
        # Lines end at any line break str.splitlines knows (\r, \u2028, ...), not only at \n.
        breaks = sum(1 for _break in _LINE_BREAK.finditer(text))
        _check_length(len(text) + (breaks + 1) * indent, "indent")


def _precheck_sum(environment, iterable, attribute=None, start=0):
    if not isinstance(start, int | float):
        raise BudgetExceeded("sum adds numbers only; use join for text")


def _scalar_text_length(value: Any) -> int:
    """An upper bound on the length of a number's, a boolean's or None's text."""
    if _is_int(value):
        return _int_digits(value)
    return 24 if isinstance(value, float) else 5


def _precheck_tojson(eval_ctx, value, indent=None):
    if indent is None:
        return
    if isinstance(indent, str):
        step = len(indent)
    elif _is_int(indent):
        step = max(indent, 0)
    else:
        return  # json.dumps says what is wrong
    if step > MAX_REPEATED_LENGTH:
        raise BudgetExceeded(f"tojson: an indent of {step} characters is larger than {MAX_REPEATED_LENGTH}")
    # Every item of a list or object at depth d starts a line indented (d + 1) times; a closing bracket,
    # d times. The walk stops once past the budget.
    limit = max_length()
    total = 0
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict | list | tuple):
            total += 2
            if item:
                total += len(item) * (2 + (depth + 1) * step) + 1 + depth * step
                if isinstance(item, dict):
                    total += 2 * len(item)
                    pending.extend((key, depth + 1) for key in item)
                    pending.extend((member, depth + 1) for member in item.values())
                else:
                    pending.extend((member, depth + 1) for member in item)
        else:
            total += _scalar_text_length(item)
        if total > limit:
            raise _too_large(total, "tojson")
        _tick()


def _precheck_wordwrap(environment, s, width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True):
    if not isinstance(s, str):
        return
    separator = environment.newline_sequence if wrapstring is None else wrapstring
    if not isinstance(separator, str):
        return
    # Every line holds at least one character of the text, so there are at most len(s) + 1 of them.
    if len(s) + (len(s) + 1) * len(separator) <= max_length():
        return
    # Past that rough bound, count the lines as the filter makes them (no larger than the text), unjoined.
    size = 0
    paragraphs = s.splitlines()
    for paragraph in paragraphs:
        _tick()
        lines = textwrap.wrap(paragraph, width=width, expand_tabs=False, replace_whitespace=False,
                              break_long_words=break_long_words, break_on_hyphens=break_on_hyphens)
        size += sum(map(len, lines)) + max(len(lines) - 1, 0) * len(separator)
    _check_length(size + max(len(paragraphs) - 1, 0) * len(separator), "wordwrap")


_WHITESPACE_RUN = re.compile(r"\s+")


def _whitespace_runs(text: str) -> int:
    count = 0
    for _run in _WHITESPACE_RUN.finditer(text):
        count += 1
    return count


def _precheck_urlize(eval_ctx, value, trim_url_limit=None, nofollow=False, target=None, rel=None,
                     extra_schemes=None):
    value = value if isinstance(value, str) else str(value)  # the filter links the value's text
    # Each word may become <a href="https://word" rel="..." target="...">word...</a>: the escaped word
    # twice, and the attributes (escaped: 5 characters at most for one) once a word.
    policies = eval_ctx.environment.policies
    attributes = sum(len(str(text)) for text in (rel or "", target or policies["urlize.target"] or "",
                                                 policies["urlize.rel"] or "", "nofollow"))
    escaped = len(value) + 4 * sum(value.count(character) for character in "&\"'<>")
    _check_length(2 * escaped + (_whitespace_runs(value) + 1) * (5 * attributes + 64), "urlize")


_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _precheck_pprint(value):
    """pprint writes each item of a long list or object on its own line, indented to where the list
    starts; an object's values are indented past their keys, and long strings are cut into pieces, one
    a line. Count that before writing it."""
    limit = max_length()
    total = 0
    pending = [(value, 0)]
    while pending:
        item, column = pending.pop()
        if isinstance(item, str):
            # A piece ends after a run of spaces or at a line's end.
            breaks = sum(1 for _break in _LINE_BREAK.finditer(item))
            pieces = _whitespace_runs(item) + 2 * breaks + 1
            total += len(repr(item)) + pieces * (column + 4)
        elif isinstance(item, dict | list | tuple | set | frozenset):
            total += 12 + len(item) * (column + 14)
            if isinstance(item, dict):
                for key, member in item.items():
                    key_length = len(repr(key)) if isinstance(key, str) else _text_bound(key)
                    total += key_length + 2
                    pending.append((key, column + 1))
                    pending.append((member, column + 1 + key_length + 2))
            else:
                pending.extend((member, column + 11) for member in item)
        elif isinstance(item, Namespace):
            total += 13
            pending.append((_namespace_attributes(item), column))
        else:
            total += _text_bound(item)
        if total > limit:
            raise _too_large(total, "pprint")
        _tick()


def _text_bound(value: Any, conversion: str | None = None) -> int:
    """An upper bound on the length of a value's text (``str``; ``repr`` or ``ascii`` for the conversions
    ``r`` and ``a``), found without making it; refused once past the budget."""
    if isinstance(value, str) and conversion not in ("r", "a"):
        return len(value)
    limit = max_length()
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(ascii(item) if conversion == "a" else repr(item))
        elif isinstance(item, bytes):
            total += 4 * len(item) + 3
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 11 + 2 * len(item)  # brackets, ", ", frozenset({...})
            pending.extend(item)
        elif isinstance(item, Namespace):
            total += 13
            pending.append(_namespace_attributes(item))
        elif _is_int(item):
            total += 2 * item.bit_length() + 4  # any of its forms: decimal, hex, octal, binary, grouped
        elif isinstance(item, float):
            total += 450  # '%f' % 1e308 has 309 digits, grouped a third more
        elif isinstance(item, bool) or item is None:
            total += 5
        else:
            try:
                total += len(ascii(item)) if conversion == "a" else max(len(str(item)), len(repr(item)))
            except Exception:  # noqa: BLE001 (what it cannot show, the formatting itself reports)
                pass
        if total > limit:
            raise _too_large(total, "a formatted value")
    return total


_NUMBER = re.compile(r"\d+")


def _spec_width(spec: str) -> int:
    """The largest width or precision in a format spec (the most padding it may add)."""
    return max((int(number) for number in _NUMBER.findall(spec)), default=0)


def _printf_fields(text: str):
    """(key, flags+width+precision, conversion) of each field of a printf-style format; ``%%`` is not one."""
    position = text.find("%")
    end = len(text)
    while 0 <= position < end - 1:
        index = position + 1
        key = None
        if text[index] == "(":
            depth, start = 1, index + 1
            index += 1
            while index < end and depth:
                depth += {"(": 1, ")": -1}.get(text[index], 0)
                index += 1
            key = text[start:index - 1]
        start = index
        while index < end and text[index] in "-#0 +*.0123456789hlL":
            index += 1
        conversion = text[index] if index < end else ""
        if conversion != "%":
            yield key, text[start:index], conversion
        position = text.find("%", index + 1)


_NOTHING = object()


def _printf_length(fmt: Any, values: Any, what: str) -> None:
    """Refuse a printf-style formatting whose result would be past the budget, before it is made."""
    if isinstance(fmt, bytes):
        fmt = fmt.decode("latin-1")
    if not isinstance(fmt, str):
        return
    limit = max_length()
    total = len(fmt)
    positional = iter(values if isinstance(values, tuple) else (values,))
    measured: dict[tuple[int, str], int] = {}
    for key, spec, conversion in _printf_fields(fmt):
        if key is not None:
            try:
                value = values[key]
            except Exception:  # noqa: BLE001 (the formatting itself says the key is missing)
                continue
        else:
            value = next(positional, _NOTHING)
            if value is _NOTHING:
                continue  # the formatting itself says there are too few values
        mark = (id(value), conversion)
        if mark not in measured:
            measured[mark] = _text_bound(value, conversion if conversion in ("r", "a") else None)
        total += _spec_width(spec) + measured[mark]
        if total > limit:
            raise _too_large(total, what)
        _tick()
    _check_length(total, what)


_FILTER_PRECHECKS = {"replace": _precheck_replace, "join": _precheck_join, "indent": _precheck_indent,
                     "sum": _precheck_sum, "tojson": _precheck_tojson, "wordwrap": _precheck_wordwrap,
                     "urlize": _precheck_urlize, "pprint": _precheck_pprint}
# str methods whose result may be much larger than the string: the result's length, before it is made.
_WIDTH_METHODS = ("center", "ljust", "rjust", "zfill")


def _method_result_length(method: Any, args: tuple, kwargs: dict) -> int | None:
    text = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if _is_int(text) and name == "to_bytes":
        size = args[0] if args else kwargs.get("length", 1)
        return size if _is_int(size) else None
    if not isinstance(text, str | bytes):
        return None
    kind = type(text) if isinstance(text, bytes) else str
    if name in _WIDTH_METHODS and args and _is_int(args[0]):
        return max(len(text), args[0])
    if name == "replace" and len(args) >= 2 and isinstance(args[0], kind) and isinstance(args[1], kind):
        return _replaced_length(text, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count", -1))
    if name == "join" and args:
        return _joined_length(text, args[0])
    if name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        return len(text) + text.count(b"\t" if kind is bytes else "\t") * size if _is_int(size) else None
    if name == "translate" and args and kind is str:
        # The table maps a character's code to a string, through dict, list or tuple indexing alike.
        table = args[0]
        replacements = table.values() if isinstance(table, dict) else table if isinstance(table, list | tuple) else ()
        longest = max((len(v) for v in replacements if isinstance(v, str)), default=1)
        return len(text) * max(longest, 1)
    return None


def _format_method(function: Any) -> Any:
    """The ``str.format`` or ``str.format_map`` a sandboxed format function stands for, or None."""
    method = getattr(function, "__wrapped__", None)
    if isinstance(getattr(method, "__self__", None), str) and getattr(method, "__name__", "") in (
            "format", "format_map"):
        return method
    return None


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, holding every operation to the budget (see the module's docstring).

    ``**``, ``*``, ``+`` and ``%`` are intercepted (intercepted operators are never folded at compile
    time); filters are wrapped; method calls go through ``call``; loops and ``~`` are rewritten to
    checked filters when a template is compiled.
    """

    intercepted_binops = frozenset({"**", "*", "%", "+"})
    code_generator_class = _BudgetedCodeGenerator
    block_text = _BlockText
    concat = staticmethod(_joined_text)

    def __init__(self, **options) -> None:
        super().__init__(**options)
        for name in ("center", "indent", "wordwrap", "truncate", "batch", "slice", "filesizeformat"):
            self.filters[name] = _bounded(self.filters[name])
        format_filter = self.filters["format"]

        def bounded_format(value, *args, **kwargs):
            if not isinstance(value, str):
                value = str(value)  # the filter formats with the value's text: a list's is its repr
            _check_printf(value)
            if not (args and kwargs):  # both at once: the filter says that is wrong
                _printf_length(value, kwargs or args, "format")
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
        if operator == "%" and isinstance(left, str | bytes):
            _check_printf(left.decode("latin-1") if isinstance(left, bytes) else left)
            _check_size(right, "the values of a % format")
            _printf_length(left, right, "%")
        if operator == "**" and _is_int(left) and _is_int(right) and abs(left) > 1 \
                and right * abs(left).bit_length() > MAX_POWER_BITS:
            raise BudgetExceeded(f"a power with more than {MAX_POWER_BITS} bits is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | bytes | list | tuple) and _is_int(count) \
                        and len(sequence) * count > MAX_REPEATED_LENGTH:
                    raise BudgetExceeded(f"a repeated sequence longer than {MAX_REPEATED_LENGTH} items is too long")
            if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > MAX_POWER_BITS:
                raise BudgetExceeded(f"a product with more than {MAX_POWER_BITS} bits is too large")
        if operator == "+" and isinstance(left, str | bytes | list | tuple) \
                and isinstance(right, str | bytes | list | tuple):
            _check_length(len(left) + len(right), "+")
        return _check_size(super().call_binop(context, operator, left, right), f"the result of {operator}")

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        _tick()
        for value in (*args, *kwargs.values()):
            _check_size(value, "a call's argument")
        if isinstance(getattr(__obj, "__self__", None), str | bytes) and getattr(__obj, "__name__", "") == "join" \
                and args and not isinstance(args[0], list | tuple):
            args = (_materialized(args[0], "join"), *args[1:])  # measured before joining, so taken once
        method = _format_method(__obj)
        if method is not None:
            __self._check_format_length(method, args, kwargs)
        length = _method_result_length(__obj, args, kwargs)
        if length is not None:
            _check_length(length, f"{getattr(__obj, '__name__', 'the call')}")
        return _check_size(super().call(__context, __obj, *args, **kwargs), "the result of a call")

    def _check_format_length(self, method: Any, args: tuple, kwargs: dict) -> None:
        """Refuse a ``str.format`` or ``format_map`` whose result would be past the budget, before it is
        made: the format's length, plus for each field its width and the text of the value it names."""
        text = method.__self__
        if method.__name__ == "format_map":
            if kwargs or len(args) != 1:
                return  # format_map says what is wrong
            args, kwargs = (), args[0]
        getter = SandboxedFormatter(self)
        limit = max_length()
        total = len(text)
        automatic = 0
        measured: dict[tuple[str, str | None], int] = {}
        for _literal, field, spec, conversion in _format_fields(text):
            if field is None:
                continue
            try:
                first, rest = formatter_field_name_split(field)
                mark = (field, conversion)
                if first == "":  # numbered in order: {} {} is {0} {1}
                    first, automatic = automatic, automatic + 1
                    mark = (f"{first}{field}", conversion)
                if mark not in measured:
                    value = getter.get_value(first, args, kwargs)
                    for is_attribute, part in rest:
                        value = self.getattr(value, part) if is_attribute else self.getitem(value, part)
                    measured[mark] = _text_bound(value, conversion)
            except BudgetExceeded:
                raise
            except Exception:  # noqa: BLE001 (the formatting itself says what is wrong with the field)
                continue
            total += _spec_width(spec or "") + measured[mark]
            if total > limit:
                raise _too_large(total, method.__name__)
            _tick()
        _check_length(total, method.__name__)

    def wrap_str_format(self, value):
        text = getattr(value, "__self__", None)
        if isinstance(text, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format_fields(text)
        return super().wrap_str_format(value)


def _format_fields(text: str):
    """The fields of a ``str.format`` format, one at a time; none past a malformed one (format()
    itself says what is wrong with it)."""
    fields = string.Formatter().parse(text)
    while True:
        try:
            yield next(fields)
        except (StopIteration, ValueError):
            return


def _check_format_fields(text: str) -> None:
    """Refuse ``str.format`` fields whose width is huge or taken from the arguments (``{:{}}``)."""
    for _literal, _field, spec, _conversion in _format_fields(text):
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
