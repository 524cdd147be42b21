"""Port's flow-run bodies, and its validation errors in the FastAPI/pydantic shape.

Every field here fails with pydantic's error type as the DRF error code (``value_error.str.regex``,
``type_error.enum``...) and pydantic's message, so ``validation_errors`` can turn a DRF error tree
into Port's ``{"detail": [{"loc", "msg", "type"}]}`` one entry per problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.settings import api_settings

from config.formats import iso
from config.values import utc_datetime
from flowruns.models import FlowType
from flowruns.services import ID_MAX_LENGTH, ID_PATTERN, MAX_ACTIONS, MAX_LOGS, Phase, actor_value

LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_TAGS = 100
# Each tag filter is one EXISTS in the list query; more than this is not a real search.
MAX_TAG_FILTERS = 20
TAG_KEY_MAX_LENGTH = 200
TAG_VALUE_MAX_LENGTH = 500
MAX_MESSAGE_LENGTH = 10_000

# DRF's own error codes (raised by DRF, not by the fields below) -> pydantic's error types.
DRF_CODE_TYPES = {
    "required": "value_error.missing",
    "null": "type_error.none.not_allowed",
    "not_a_list": "type_error.list",
    "max_length": "value_error.list.max_items",
    "invalid": "value_error",
}
PYDANTIC_MESSAGES = {
    "required": "field required",
    "null": "none is not an allowed value",
}


def validation_errors(detail: Any, loc: tuple = ()) -> list[dict]:
    """Flatten a DRF error tree into pydantic entries ``{"loc": [...], "msg": str, "type": str}``."""
    if isinstance(detail, Mapping):
        out = []
        for key, value in detail.items():
            # ListField reports its items' errors under their (int) index.
            out.extend(validation_errors(value, loc if key == api_settings.NON_FIELD_ERRORS_KEY else (*loc, key)))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, Mapping):  # a list of objects: one entry per object, {} when valid
                out.extend(validation_errors(value, (*loc, index)))
            else:
                out.extend(validation_errors(value, loc))
        return out
    code = getattr(detail, "code", None) or "invalid"
    return [{"loc": list(loc), "msg": str(detail), "type": DRF_CODE_TYPES.get(code, code)}]


def problem(loc: list, msg: str, type_: str) -> dict:
    return {"loc": loc, "msg": msg, "type": type_}


# -- fields --------------------------------------------------------------------------------------------------
class PydanticMessages:
    """Pydantic's wording for the two errors DRF raises itself (missing field, null)."""

    default_error_messages = PYDANTIC_MESSAGES


class PortString(PydanticMessages, serializers.Field):
    """A string, optionally held to a pattern and a maximum length."""

    default_error_messages = {
        "type_error.str": "str type expected",
        "value_error.str.regex": 'string does not match regex "{pattern}"',
        "value_error.any_str.max_length": "ensure this value has at most {limit_value} characters",
    }

    def __init__(self, *, pattern: str | None = None, max_length: int | None = None, **kwargs) -> None:
        self.pattern = pattern
        self.regex = re.compile(pattern) if pattern else None
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("type_error.str")
        if self.regex is not None and not self.regex.fullmatch(data):
            self.fail("value_error.str.regex", pattern=self.pattern)
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("value_error.any_str.max_length", limit_value=self.max_length)
        return data

    def to_representation(self, value):
        return value


class PortEnum(PydanticMessages, serializers.Field):
    """One of a fixed set of strings; ``component`` names its OpenAPI schema."""

    component: str | None = None

    default_error_messages = {
        "type_error.enum": "value is not a valid enumeration member; permitted: {permitted}",
    }

    def __init__(self, choices, **kwargs) -> None:
        self.choices = tuple(choices)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or data not in self.choices:
            self.fail("type_error.enum", permitted=", ".join(f"'{c}'" for c in self.choices))
        return data

    def to_representation(self, value):
        return value


class PortDateTime(PydanticMessages, serializers.DateTimeField):
    """An ISO 8601 date-time; without an offset it is taken as UTC."""

    default_error_messages = {"value_error.datetime": "invalid datetime format"}

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("value_error.datetime")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None  # DRF's own parsing says it is invalid
        if parsed is not None:
            try:
                utc_datetime(parsed)
            except ValueError as exc:
                raise ValidationError(ErrorDetail(str(exc), code="value_error.datetime")) from None
        try:
            return super().to_internal_value(value)
        except ValidationError:
            self.fail("value_error.datetime")


@extend_schema_field({"type": "object", "additionalProperties": {}, "nullable": True})
class PortObject(PydanticMessages, serializers.Field):
    """A JSON object."""

    default_error_messages = {"type_error.dict": "value is not a valid dict"}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("type_error.dict")
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.ANY)
class PortAny(PydanticMessages, serializers.Field):
    """Any JSON value."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class PortListSerializer(PydanticMessages, serializers.ListSerializer):
    default_error_messages = {
        "not_a_list": "value is not a valid list",
        "max_length": "ensure this value has at most {max_length} items",
    }

    def run_child_validation(self, data):
        # ``allow_null`` lets the whole list be null; an item of it never is (``"tags": [null]``).
        if data is None:
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [
                ErrorDetail(PYDANTIC_MESSAGES["null"], code="null")]})
        return super().run_child_validation(data)


class PortSerializer(PydanticMessages, serializers.Serializer):
    """Base of Port's objects: pydantic's errors for a non-object and for missing or null fields."""

    class Meta:
        list_serializer_class = PortListSerializer

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [
                ErrorDetail("value is not a valid dict", code="type_error.dict")]})
        return super().to_internal_value(data)




class PhaseField(PortEnum):
    component = "PortPhase"

    def __init__(self, **kwargs) -> None:
        super().__init__(Phase.ALL, **kwargs)


class FlowTypeField(PortEnum):
    component = "PortFlowType"

    def __init__(self, **kwargs) -> None:
        super().__init__(FlowType.values, **kwargs)


class LevelField(PortEnum):
    component = "PortLogLevel"

    def __init__(self, **kwargs) -> None:
        super().__init__(LOG_LEVELS, **kwargs)


def _id_field(**kwargs) -> PortString:
    return PortString(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH, **kwargs)


# -- nested objects --------------------------------------------------------------------------------------------
class PortTagSerializer(PortSerializer):
    """A `key`/`value` label."""

    key = PortString(max_length=TAG_KEY_MAX_LENGTH)
    value = PortString(max_length=TAG_VALUE_MAX_LENGTH)


class PortActionSerializer(PortSerializer):
    """One step of a run (for an execution: one task run)."""

    id = PortString(max_length=ID_MAX_LENGTH, help_text="The action's name (a task's name for an execution).")
    phase = PhaseField(required=False, allow_null=True, default=None)
    startTime = PortDateTime(required=False, allow_null=True, default=None)
    endTime = PortDateTime(required=False, allow_null=True, default=None)


class PortLogSerializer(PortSerializer):
    """One log line of a run."""

    timestamp = PortDateTime(required=False, allow_null=True, default=None,
                             help_text="When the line was written; the server's time when absent.")
    message = PortString(max_length=MAX_MESSAGE_LENGTH)
    level = LevelField(required=False, default="info")
    action = PortString(max_length=ID_MAX_LENGTH, required=False, allow_null=True, default=None,
                        help_text="The action the line belongs to, if any.")


# -- request bodies -----------------------------------------------------------------------------------------------
class PortFlowRunCreateSerializer(PortSerializer):
    """Body of `POST /api/v1/flow-runs`: only these fields are read, any other is ignored."""

    id = _id_field(required=False, allow_null=True, help_text="Generated (a UUID) when absent.")
    flowId = _id_field()
    flowType = FlowTypeField(required=False, default=FlowType.SELF_SERVICE_ACTION)
    args = PortObject(required=False, allow_null=True, default=None)
    tags = PortTagSerializer(many=True, required=False, allow_null=True, max_length=MAX_TAGS)

    def model_values(self) -> dict:
        data = self.validated_data
        return {"run_id": data.get("id"), "flow_id": data["flowId"], "flow_type": data["flowType"],
                "args": data.get("args"), "tags": [dict(tag) for tag in data.get("tags") or []]}


class PortFlowRunUpsertSerializer(PortSerializer):
    """Body of `PUT /api/v1/flow-runs/{id_}`: replaces every field below (an absent one is reset)."""

    id = _id_field(required=False, allow_null=True, help_text="Must equal the path's id_ when given.")
    flowId = _id_field()
    flowType = FlowTypeField()
    args = PortObject(required=False, allow_null=True, default=None)
    phase = PhaseField(required=False, allow_null=True, default=None)
    startTime = PortDateTime(required=False, allow_null=True, default=None)
    endTime = PortDateTime(required=False, allow_null=True, default=None)
    actions = PortActionSerializer(many=True, required=False, allow_null=True, max_length=MAX_ACTIONS)
    outputs = PortAny(required=False, allow_null=True, default=None)
    logs = PortLogSerializer(many=True, required=False, allow_null=True, max_length=MAX_LOGS)
    tags = PortTagSerializer(many=True, required=False, allow_null=True, max_length=MAX_TAGS)

    def model_values(self, now) -> dict:
        data = self.validated_data
        return {
            "flow_id": data["flowId"], "flow_type": data["flowType"], "args": data.get("args"),
            "phase": data.get("phase"), "start_time": data.get("startTime"), "end_time": data.get("endTime"),
            "actions": [{"id": a["id"], "phase": a.get("phase"), "startTime": iso(a.get("startTime")),
                         "endTime": iso(a.get("endTime"))} for a in data.get("actions") or []],
            "outputs": data.get("outputs"),
            "logs": [{"timestamp": iso(line.get("timestamp") or now), "message": line["message"],
                      "level": line.get("level") or "info", "action": line.get("action")}
                     for line in data.get("logs") or []],
            "tags": [dict(tag) for tag in data.get("tags") or []],
        }


# -- responses ------------------------------------------------------------------------------------------------------
ACTOR_SCHEMA = {
    "oneOf": [{"type": "integer"}, {"type": "string"}],
    "nullable": True,
    "description": "Who did it: a user's id, or for an API key the id of the user who created it (numbers); "
                   "null for Flowgate itself or a key nobody created. reviewedBy is the name of an approver who "
                   "decided through an emailed link, without an account.",
}


@extend_schema_field(ACTOR_SCHEMA)
class ActorField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return actor_value(value)


@extend_schema_field(PortActionSerializer(many=True))
class _Actions(serializers.ReadOnlyField):
    pass


@extend_schema_field(PortLogSerializer(many=True))
class _Logs(serializers.ReadOnlyField):
    pass


@extend_schema_field(PortTagSerializer(many=True))
class _Tags(serializers.ReadOnlyField):
    pass


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class _LocItem(serializers.Field):
    def to_representation(self, value):
        return value


class PortFlowRunSerializer(serializers.Serializer):
    """A flow run as Port shows it (camelCase names are Port's). Actions, logs and tags are stored as shown."""

    id = serializers.CharField(source="run_id", read_only=True, help_text=f"Pattern: {ID_PATTERN}")
    flowId = serializers.CharField(source="flow_id", read_only=True)
    flowType = FlowTypeField(source="flow_type", read_only=True)
    args = PortObject(read_only=True)
    phase = PhaseField(read_only=True, allow_null=True)
    startTime = serializers.DateTimeField(source="start_time", read_only=True, allow_null=True)
    endTime = serializers.DateTimeField(source="end_time", read_only=True, allow_null=True)
    actions = _Actions()
    outputs = PortAny(read_only=True, allow_null=True)
    logs = _Logs()
    tags = _Tags()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    createdBy = ActorField(source="created_by")
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)
    updatedBy = ActorField(source="updated_by")
    reviewedBy = ActorField(source="reviewed_by")
    reviewedAt = serializers.DateTimeField(source="reviewed_at", read_only=True, allow_null=True)


class PortFlowRunQuerySerializer(PortSerializer):
    """The list's filters (query parameters); all optional and combined with AND."""

    flowId = PortString(max_length=ID_MAX_LENGTH, required=False, help_text="Runs of this flow.")
    flowType = FlowTypeField(required=False, help_text="Runs of this type.")
    phase = PhaseField(required=False, help_text="Runs in this phase.")
    tag = serializers.ListField(
        child=PortString(max_length=TAG_KEY_MAX_LENGTH + 1 + TAG_VALUE_MAX_LENGTH), required=False,
        max_length=MAX_TAG_FILTERS, error_messages={"max_length": "ensure this value has at most {max_length} items"},
        help_text="`key:value` (or just `key`, any value); repeat the parameter to require several tags.",
    )
    createdAfter = PortDateTime(required=False, help_text="Runs created at or after this time.")
    createdBefore = PortDateTime(required=False, help_text="Runs created before this time.")


# -- errors ------------------------------------------------------------------------------------------------------------
class PortValidationProblemSerializer(serializers.Serializer):
    """One problem: where, what, and pydantic's type for it."""

    loc = serializers.ListField(
        child=_LocItem(),
        help_text='Where: "body", "query" or "path", then the field names and list indexes.',
    )
    msg = serializers.CharField()
    type = serializers.CharField(help_text="pydantic's error type, e.g. value_error.str.regex or type_error.enum.")


class PortValidationErrorSerializer(serializers.Serializer):
    """422: one entry per problem in the request."""

    detail = PortValidationProblemSerializer(many=True)


class PortErrorSerializer(serializers.Serializer):
    """401, 403, 404, 405, 409 and 429: what went wrong, in one sentence."""

    detail = serializers.CharField()


# -- OpenAPI -------------------------------------------------------------------------------------------------------------
class PortStringSchema(OpenApiSerializerFieldExtension):
    target_class = PortString
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string"}
        if self.target.pattern:
            schema["pattern"] = self.target.pattern
        if self.target.max_length is not None:
            schema["maxLength"] = self.target.max_length
        return schema


class PortEnumSchema(OpenApiSerializerFieldExtension):
    """A named enum component (``PortPhase``...), so Port's enums never merge with other surfaces' ones."""

    target_class = PortEnum
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "enum": list(self.target.choices)}
        if self.target.component is None:
            return schema
        component = ResolvedComponent(name=self.target.component, type=ResolvedComponent.SCHEMA,
                                      object=self.target.component, schema=schema)
        auto_schema.registry.register_on_missing(component)
        return component.ref
