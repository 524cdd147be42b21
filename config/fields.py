"""Serializer fields shared by the API surfaces."""

from __future__ import annotations

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.values import parse_truth


@extend_schema_field({"type": "object", "additionalProperties": {}, "example": {"amount": 120, "reason": "train"}})
class JSONObjectField(serializers.JSONField):
    """A JSON object, in the OpenAPI document and on input: any other JSON value is refused with 400."""

    default_error_messages = {"not_an_object": "Input must be a JSON object."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_an_object")
        return value


class TruthField(serializers.BooleanField):
    """A boolean read by ``config.values.parse_truth``, as every true/false value of Flowgate is:
    JSON true/false, 1/0, or the words true/false, yes/no, on/off, 1/0 in any case."""

    default_error_messages = {"invalid": "Must be true or false (yes/no, on/off and 1/0 are read too)."}

    def to_internal_value(self, data):
        value = parse_truth(data)
        if value is None:
            self.fail("invalid")
        return value


# For a ModelSerializer (``serializer_field_mapping = TRUTH_FIELD_MAPPING``): model booleans read as above.
TRUTH_FIELD_MAPPING = {**serializers.ModelSerializer.serializer_field_mapping, models.BooleanField: TruthField}
