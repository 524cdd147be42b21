"""Serializer fields shared by the API surfaces."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"type": "object", "additionalProperties": {}, "example": {"amount": 120, "reason": "train"}})
class JSONObjectField(serializers.JSONField):
    """A JSON object in the OpenAPI document; the serializer's ``validate_<name>`` refuses any other JSON value."""
