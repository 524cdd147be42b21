"""Serializer fields shared by the API surfaces."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"type": "object", "additionalProperties": {}, "example": {"amount": 120, "reason": "train"}})
class JSONObjectField(serializers.JSONField):
    """A JSON object, in the OpenAPI document and on input: any other JSON value is refused with 400."""

    default_error_messages = {"not_an_object": "Input must be a JSON object."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_an_object")
        return value
