"""Native workflow serializers: shape and validate; the services do the writes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Project
from config.fields import TRUTH_FIELD_MAPPING, TruthField
from workflows.models import Workflow, WorkflowVersion
from workflows.services import DefinitionInvalid, current_definition, default_project
from workflows.validation import validate_definition


class TaskDefinitionSerializer(serializers.Serializer):
    """One task of a definition: its name, type (a registered task type), config and dependencies."""

    name = serializers.CharField()
    type = serializers.CharField(help_text="A registered task type: log, set, http, delay, condition, approval, "
                                           "response, fail, group, update_record, subworkflow, or a custom one.")
    config = serializers.DictField(required=False)
    depends_on = serializers.ListField(child=serializers.CharField(), required=False)
    retries = serializers.IntegerField(required=False, min_value=0)
    retry_backoff = serializers.DictField(required=False, help_text='{"type": "fixed"|"exponential", "delay": s, "max": s}')
    timeout_seconds = serializers.FloatField(required=False)
    skip_on_error = TruthField(required=False)
    description = serializers.CharField(required=False)


class DefinitionSerializer(serializers.Serializer):
    tasks = TaskDefinitionSerializer(many=True)


@extend_schema_field(DefinitionSerializer)
class DefinitionField(serializers.JSONField):
    """A definition as JSON; the schema shows its shape, validation is ``validate_definition``'s."""


class WorkflowSerializer(serializers.ModelSerializer):
    serializer_field_mapping = TRUTH_FIELD_MAPPING  # enabled, required: true/false words as everywhere
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all(), required=False,
                                                 help_text="Defaults to the caller's only project.")
    definition = DefinitionField(write_only=True, required=False,
                                       help_text='{"tasks": [...]}; a change makes a new version.')
    version = serializers.IntegerField(source="current_version", read_only=True)
    alias = serializers.SlugField(required=False, allow_null=True, allow_blank=True, max_length=100)

    class Meta:
        model = Workflow
        fields = ["id", "project", "name", "description", "alias", "integration_slug", "enabled", "tags",
                  "version", "definition", "created_at", "updated_at"]
        read_only_fields = ["id", "version", "created_at", "updated_at"]
        # Alias uniqueness is checked in validate() with a message that says which alias clashes.
        validators: list = []

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.auth is not None:
            fields["project"].queryset = Project.objects.for_caller(request.auth)
        return fields

    def validate_tags(self, value):
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str | int | float | bool)
                                                  for k, v in value.items()):
            raise serializers.ValidationError('Tags must be an object of simple values, like {"team": "ops"}.')
        return value

    def validate(self, attrs):
        errors: dict[str, list[str]] = {}
        if self.instance is None and "definition" not in attrs:
            errors["definition"] = ['A new workflow needs a definition: {"tasks": [...]}.']
        elif "definition" in attrs:
            problems = validate_definition(attrs["definition"])
            if problems:
                errors.update(DefinitionInvalid(problems).detail)
        project = self._project(attrs, errors)
        alias = attrs.get("alias")
        if alias and project is not None:
            clash = Workflow.objects.filter(project=project, alias=alias)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                errors["alias"] = [f"Alias {alias!r} is already used in this project."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def _project(self, attrs: dict, errors: dict) -> Project | None:
        """The workflow's project: its own on update (it cannot move), else the named or only one."""
        if self.instance is not None:
            if attrs.get("project") not in (None, self.instance.project):
                errors["project"] = ["A workflow cannot move to another project; create a new one there."]
            return self.instance.project
        if attrs.get("project") is None:
            try:
                attrs["project"] = default_project(self.context["request"].auth)
            except serializers.ValidationError as exc:
                errors.update(exc.detail)
        return attrs.get("project")


class WorkflowDetailSerializer(WorkflowSerializer):
    current_definition = serializers.SerializerMethodField()

    class Meta(WorkflowSerializer.Meta):
        fields = [*WorkflowSerializer.Meta.fields, "current_definition"]

    def get_current_definition(self, workflow) -> dict:
        return current_definition(workflow)


class WorkflowVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowVersion
        fields = ["id", "number", "definition", "checksum", "created_at"]
