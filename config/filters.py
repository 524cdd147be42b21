"""Readers of the query parameters that list endpoints share.

A true/false parameter takes the words ``parse_truth`` reads (true/false, yes/no, on/off, 1/0,
any case) and answers 400 for anything else, instead of ignoring a filter it cannot read. Likewise
a list of words (``status=queued,running``) answers 400 for a word that is not one of its choices,
and a date-time for an offset or a year the database cannot store.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from rest_framework.exceptions import ValidationError

from config.values import parse_truth, utc_datetime

TRUTH_PROBLEM = "Use true or false."


def truth_param(params, name: str) -> bool | None:
    """The true/false query parameter ``name`` of ``params`` (a QueryDict); None when absent or empty."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    truth = parse_truth(raw)
    if truth is None:
        raise ValidationError({name: [TRUTH_PROBLEM]})
    return truth


class TruthField(forms.Field):
    """The form field of a ``TruthFilter``: a word ``parse_truth`` reads, or empty for no filter."""

    widget = forms.TextInput  # Django's boolean widgets turn an unknown word into "no filter"
    default_error_messages = {"invalid": TRUTH_PROBLEM}

    def to_python(self, value: Any) -> bool | None:
        if value is None or value == "":
            return None
        truth = parse_truth(value)
        if truth is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return truth


class TruthFilter(django_filters.BooleanFilter):
    """django-filter's BooleanFilter reading true/false words with ``parse_truth``; other words answer 400."""

    field_class = TruthField


class ChoiceInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """One or more of ``choices``, comma-separated; a word that is not one of them answers 400."""

    def __init__(self, *args, **kwargs) -> None:
        choices = kwargs.get("choices") or []
        kwargs.setdefault("help_text", "One or more of " + ", ".join(str(value) for value, _ in choices)
                          + ", comma-separated.")
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, moved to UTC; an offset or a year no database stores answers 400."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return utc_datetime(parsed)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
