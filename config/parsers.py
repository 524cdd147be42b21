"""The body parsers of every API: they refuse what a database column cannot store.

PostgreSQL's ``jsonb`` and ``text`` refuse the NUL character and lone UTF-16 surrogates (``"\\ud800"``
is valid JSON but no text at all), and JSON has no NaN or infinity
(Python reads ``1e400`` as ``inf``); such a body used to fail at the INSERT, as a 500. Nesting
deeper than the parser's recursion limit used to fail the same way. Numbers and true/false words
inside a body or a query string are read by ``config.values``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Half of a UTF-16 pair on its own: JSON's \u escapes can spell one, but no UTF-8 text holds it.
_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_PROBLEM = ("text may not contain a lone surrogate (\\ud800 to \\udfff); escape characters outside "
                     "the Basic Multilingual Plane as a pair, like \\ud83d\\ude00, or send them as UTF-8")

# Keys json.dumps turns into text; any other key cannot be written.
JSON_KEYS = (str, int, float, bool, type(None))


def unstorable(value: Any) -> str | None:
    """Why a value cannot be stored as JSON, or None.

    A JSON column takes text, numbers, booleans, null, lists and objects, nothing else: not the
    NUL character, NaN or an infinity, nor another Python type (a set, a range, a date) that a
    template or a deployment's task may produce.
    """
    pending = [value]
    while pending:  # a loop, not recursion: the value may be as deep as the parser allowed
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "text may not contain the NUL character (\\u0000)"
            if not item.isascii() and _SURROGATE.search(item):
                return SURROGATE_PROBLEM
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"numbers must be finite, not {item}"
        elif isinstance(item, dict):
            for key in item:
                if not isinstance(key, JSON_KEYS):
                    return f"object keys must be text or numbers, not {type(key).__name__}"
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif not isinstance(item, int | None):  # int covers bool
            return f"values must be text, numbers, booleans, null, lists or objects, not {type(item).__name__}"
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering 400 (ParseError) for values a JSON column cannot store."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        problem = unstorable(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data


def _refuse_nul(data):
    for key, values in data.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            raise ParseError(f"Form field {key!r} may not contain the NUL character.")
    return data


class FormParser(parsers.FormParser):
    """DRF's form parser, answering 400 for a NUL character in any field."""

    def parse(self, stream, media_type=None, parser_context=None):
        return _refuse_nul(super().parse(stream, media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, answering 400 for a NUL character in any (non-file) field."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _refuse_nul(result.data)
        return result
