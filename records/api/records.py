"""Native endpoints for records (at Flowdash's ``/workflows/{id}/tasks/`` path), stages, fields and actions.

Views are thin: they find the workflow with ``get_workflow_for`` (id or alias), validate the
body with a serializer and hand the write to ``records.services`` / ``records.actions``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts.models import OPERATOR_ROLES, Project, Role
from config.errors import ErrorSerializer
from config.fields import TRUTH_FIELD_MAPPING, TruthField
from config.filters import truth_param
from config.values import parse_number
from records import actions as action_services
from records import services as record_services
from records.models import Action, FieldDefinition, FieldType, Record, RecordEvent, Stage
from workflows.services import default_project, get_workflow_for

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid request; `errors` lists every problem."),
    401: OpenApiResponse(ErrorSerializer, description="Missing, invalid, revoked or expired credentials."),
    403: OpenApiResponse(ErrorSerializer, description="The caller's role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such workflow, task, stage, field or action for the caller."),
}
CONFLICT = {409: OpenApiResponse(ErrorSerializer, description="The stage still holds tasks.")}
WORKFLOW_PARAM = OpenApiParameter("workflow_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                  description="The workflow's id or alias.")
UNIQUE_ID_PARAM = OpenApiParameter("unique_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                                   description="The task's number in its workflow (like 678).")
STAGE_PARAM = OpenApiParameter("stage_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The stage's id.")
FIELD_PARAM = OpenApiParameter("field_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                               description="The field definition's id.")
ACTION_PARAM = OpenApiParameter("action_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                description="The action's UUID or its short id (like edHR10).")
RECORD_FILTERS = [
    OpenApiParameter("stage", OpenApiTypes.STR, description="Only tasks in the stage with this name."),
    OpenApiParameter("assignee", OpenApiTypes.STR, description="Only tasks assigned to this username or email."),
    OpenApiParameter("assigned", OpenApiTypes.BOOL, description="true: assigned tasks only; false: unassigned only."),
    OpenApiParameter("field", OpenApiTypes.STR, many=True,
                     description="`Name:value`: only tasks whose field has this value, e.g. `field=Name:Harry`. "
                                 "Repeat to combine (all must match)."),
]


CHECKLIST_SCHEMA = {
    "type": "array", "description": 'Item names, or {"name": "...", "done": false} objects; replaces the checklist.',
    "items": {"oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "properties": {"name": {"type": "string", "minLength": 1}, "done": {"type": "boolean"}},
         "required": ["name"]},
    ]},
    "example": ["Receipt attached", {"name": "Manager informed", "done": True}],
}


@extend_schema_field(CHECKLIST_SCHEMA)
class ChecklistField(serializers.ListField):
    """A checklist as a request sends it (``records.services`` cleans and checks the items)."""

class DefinitionRolesMixin:
    """Reading: every role. Writing: admin and workflow. Deleting a definition: admin only."""

    @property
    def write_roles(self):
        return {Role.ADMIN} if self.request.method == "DELETE" else OPERATOR_ROLES


class WorkflowScopedMixin:
    """Finds the path's workflow (by id or alias) once per request, for the caller."""

    filter_backends: list = []

    def get_workflow(self):
        if not hasattr(self, "_workflow"):
            self._workflow = get_workflow_for(self.request.auth, self.kwargs["workflow_id"])
        return self._workflow


# -- serializers ---------------------------------------------------------------------------------------
class ChecklistItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    done = TruthField()


class RecordSerializer(serializers.ModelSerializer):
    workflow = serializers.UUIDField(source="workflow_id", read_only=True)
    stage = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()
    checklist = ChecklistItemSerializer(many=True, read_only=True)
    created_by = serializers.SerializerMethodField()
    updated_by = serializers.SerializerMethodField()

    class Meta:
        model = Record
        fields = ["id", "unique_id", "workflow", "stage", "fields", "checklist", "assignee", "created_by",
                  "created_at", "updated_by", "updated_at"]
        read_only_fields = fields

    def get_stage(self, record) -> str | None:
        return record.stage.name if record.stage_id else None

    def get_assignee(self, record) -> str | None:
        return record_services.user_label(record.assignee) if record.assignee_id else None

    def get_created_by(self, record) -> str | None:
        return record_services.user_label(record.created_by) if record.created_by_id else None

    def get_updated_by(self, record) -> str | None:
        return record_services.user_label(record.updated_by) if record.updated_by_id else None


class TaskWriteSerializer(serializers.Serializer):
    unique_id = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                         help_text="On creation only; defaults to the next free number.")
    stage = serializers.CharField(required=False, allow_null=True,
                                  help_text="A stage name; new tasks start in the first stage.")
    fields = serializers.DictField(required=False, help_text="Values by field name, checked against the "
                                                             "workflow's fields; null clears a value.")
    checklist = ChecklistField(child=serializers.JSONField(), required=False)
    assignee = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                     help_text="A member's username or email; null unassigns.")


class ActionRefSerializer(serializers.Serializer):
    id = serializers.CharField(source="short_id")
    name = serializers.CharField()


class RecordEventSerializer(serializers.ModelSerializer):
    action = ActionRefSerializer(read_only=True, allow_null=True)
    execution = serializers.UUIDField(source="execution_id", read_only=True, allow_null=True)

    class Meta:
        model = RecordEvent
        fields = ["id", "kind", "action", "execution", "actor", "outcome", "detail", "created_at"]
        read_only_fields = fields


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "position"]
        read_only_fields = ["id"]
        extra_kwargs = {"position": {"required": False}}


class FieldDefinitionSerializer(serializers.ModelSerializer):
    serializer_field_mapping = TRUTH_FIELD_MAPPING  # enabled, required: true/false words as everywhere
    type = serializers.ChoiceField(choices=FieldType.choices, required=False, default=FieldType.TEXT)

    class Meta:
        model = FieldDefinition
        fields = ["id", "name", "type", "required", "choices", "position"]
        read_only_fields = ["id"]
        extra_kwargs = {"position": {"required": False}, "required": {"required": False},
                        "choices": {"required": False}}


class ActionConditionSerializer(serializers.Serializer):
    expression = serializers.CharField(help_text="An expression over `record` (fields, checklist, stage, "
                                                 "assignee), e.g. `record.fields.Name.startswith('Hon.')`.")
    message = serializers.CharField(help_text="Shown when the expression is false.")


class ActionRequirementsSerializer(serializers.Serializer):
    """What an action requires of a task before it runs."""

    required_fields = serializers.ListField(child=serializers.CharField(), required=False)
    checklist_complete = TruthField(required=False)
    must_be_assigned = TruthField(required=False)
    conditions = ActionConditionSerializer(many=True, required=False)
    user_confirmation = TruthField(required=False, help_text="Asked in a UI only; the API ignores it.")


class ActionDefinitionSerializer(serializers.ModelSerializer):
    serializer_field_mapping = TRUTH_FIELD_MAPPING  # enabled, required: true/false words as everywhere
    project = serializers.UUIDField(source="project_id", read_only=True)
    workflow = serializers.UUIDField(source="workflow_id", read_only=True, allow_null=True)
    stages = serializers.SerializerMethodField()
    target_stage = serializers.SerializerMethodField()
    allowed_users = serializers.SerializerMethodField()
    requirements = ActionRequirementsSerializer(read_only=True)

    class Meta:
        model = Action
        fields = ["id", "short_id", "project", "workflow", "name", "description", "enabled", "stages",
                  "target_stage", "allowed_roles", "allowed_users", "requirements", "steps", "report_to_flow_runs",
                  "created_at"]
        read_only_fields = fields

    def get_stages(self, action) -> list[str]:
        return [stage.name for stage in action.stages.all()]

    def get_target_stage(self, action) -> str | None:
        return action.target_stage.name if action.target_stage_id else None

    def get_allowed_users(self, action) -> list[str]:
        return [record_services.user_label(user) for user in action.allowed_users.all()]


class ActionDefinitionWriteSerializer(serializers.Serializer):
    """An action to create or change; a refused body lists every problem at once."""

    # project and workflow are checked here. The other fields document the body: their values go
    # to records.actions as sent, which checks them in the words the admin shows too.
    project = serializers.UUIDField(required=False, help_text="Defaults to the workflow's project, or the "
                                                              "caller's only project.")
    workflow = serializers.CharField(required=False, allow_null=True,
                                     help_text="Id or alias of the workflow whose tasks the action works on.")
    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    enabled = TruthField(required=False)
    short_id = serializers.CharField(required=False, max_length=16, help_text="Defaults to a random 6 characters.")
    stages = serializers.ListField(child=serializers.CharField(), required=False,
                                   help_text="Stage names it is offered in; empty: every stage.")
    target_stage = serializers.CharField(required=False, allow_null=True,
                                         help_text="Stage name a task moves to when the action succeeds.")
    allowed_roles = serializers.ListField(child=serializers.CharField(), required=False,
                                          help_text="Roles that may perform it: admin, workflow, approver, viewer. "
                                                    "Empty: admin and workflow (or only the named users).")
    allowed_users = serializers.ListField(child=serializers.CharField(), required=False,
                                          help_text="Usernames or emails of members who may perform it.")
    requirements = ActionRequirementsSerializer(required=False)
    steps = serializers.JSONField(required=False, help_text='A workflow definition, {"tasks": [...]}, run when '
                                                            "the action is performed.")
    report_to_flow_runs = TruthField(required=False)

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's answer to a body that is not an object
        attributes = action_services.ACTION_ATTRIBUTES
        values = super().to_internal_value({k: v for k, v in data.items() if k not in attributes})
        values.update({key: data[key] for key in attributes if key in data})
        return values


# -- records -------------------------------------------------------------------------------------------
def filter_records(queryset, workflow, params):
    """Apply the list filters: stage, assignee, assigned, field=Name:value (repeatable)."""
    if params.get("stage"):
        stages = list(workflow.stages.values_list("name", flat=True))
        if params["stage"] not in stages:
            raise ValidationError({"stage": [f"Unknown stage {params['stage']!r}; this workflow's stages are: "
                                             f"{', '.join(stages) or 'none'}."]})
        queryset = queryset.filter(stage__name=params["stage"])
    if params.get("assignee"):
        value = params["assignee"]
        queryset = queryset.filter(Q(assignee__username=value) | Q(assignee__email__iexact=value))
    assigned = truth_param(params, "assigned")
    if assigned is not None:
        queryset = queryset.filter(assignee__isnull=not assigned)
    wanted = params.getlist("field")
    if wanted:
        types = dict(workflow.field_definitions.values_list("name", "type"))
        for index, item in enumerate(wanted):
            name, sep, value = item.partition(":")
            if not sep or not name:
                raise ValidationError({"field": ["Use Name:value, for example field=Name:Harry."]})
            if name not in types:
                raise ValidationError({"field": [f"Unknown field {name!r}; this workflow's fields are: "
                                                 f"{', '.join(types) or 'none'}."]})
            # A JSON comparison with the value in its stored type (a number for number fields): it
            # works on PostgreSQL and SQLite alike, and for field names with any characters (an
            # explicit key transform: ``fields__<name>`` would read ``isnull`` or ``a__b`` as lookups).
            number = _number_or_none(value) if types[name] == FieldType.NUMBER else None
            alias = f"field_{index}"
            queryset = queryset.alias(**{alias: KeyTransform(name, "fields")}).filter(
                **{alias: number if number is not None else value})
    return queryset


def _number_or_none(value: str) -> int | float | None:
    """The number a filter value stands for, or None (no stored number is NaN or infinite)."""
    try:
        return parse_number(value)
    except ValueError:
        return None


class RecordListView(WorkflowScopedMixin, generics.GenericAPIView):
    """A workflow's tasks (Flowgate calls them records)."""

    serializer_class = RecordSerializer
    cursor_ordering = ("unique_id", "id")

    def get_queryset(self):
        return (Record.objects.for_caller(self.request.auth).filter(workflow=self.get_workflow())
                .select_related("stage", "assignee", "created_by", "updated_by"))

    @extend_schema(operation_id="workflow_tasks_list", tags=["records"], summary="List a workflow's tasks",
                   parameters=[WORKFLOW_PARAM, *RECORD_FILTERS], responses={200: RecordSerializer(many=True), **ERRORS})
    def get(self, request, workflow_id):
        queryset = filter_records(self.get_queryset(), self.get_workflow(), request.query_params)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(RecordSerializer(page, many=True).data)

    @extend_schema(operation_id="workflow_tasks_create", tags=["records"], summary="Create a task",
                   parameters=[WORKFLOW_PARAM], request=TaskWriteSerializer,
                   responses={201: RecordSerializer, **ERRORS})
    def post(self, request, workflow_id):
        workflow = self.get_workflow()  # another tenant's workflow answers 404 whatever the body
        serializer = TaskWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record = record_services.create_record(
            workflow=workflow, fields=data.get("fields"), checklist=data.get("checklist"),
            assignee=data.get("assignee"), stage=data.get("stage", record_services.UNSET),
            unique_id=data.get("unique_id"), caller=request.auth, user=request.auth.person,
        )
        return Response(RecordSerializer(self.get_queryset().get(pk=record.pk)).data, status=status.HTTP_201_CREATED)


class RecordDetailView(WorkflowScopedMixin, generics.GenericAPIView):
    serializer_class = RecordSerializer
    pagination_class = None

    def get_queryset(self):
        return Record.objects.select_related("stage", "assignee", "created_by", "updated_by")

    def get_object(self):
        return record_services.get_record_for(self.request.auth, self.get_workflow(), self.kwargs["unique_id"],
                                              self.get_queryset())

    @extend_schema(operation_id="workflow_task_retrieve", tags=["records"], summary="Get a task",
                   parameters=[WORKFLOW_PARAM, UNIQUE_ID_PARAM], responses={200: RecordSerializer, **ERRORS})
    def get(self, request, workflow_id, unique_id):
        return Response(RecordSerializer(self.get_object()).data)

    @extend_schema(operation_id="workflow_task_update", tags=["records"],
                   summary="Change a task: merge field values, replace the checklist, (un)assign, move",
                   parameters=[WORKFLOW_PARAM, UNIQUE_ID_PARAM], request=TaskWriteSerializer,
                   responses={200: RecordSerializer, **ERRORS})
    def patch(self, request, workflow_id, unique_id):
        record = self.get_object()
        serializer = TaskWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "unique_id" in data and data["unique_id"] != record.unique_id:
            raise ValidationError({"unique_id": ["A task's number cannot change."]})
        unset = record_services.UNSET
        record_services.update_record(
            record, fields=data.get("fields", unset), checklist=data.get("checklist", unset),
            assignee=data.get("assignee", unset), stage=data.get("stage", unset), caller=request.auth,
            user=request.auth.person,
        )
        return Response(RecordSerializer(self.get_queryset().get(pk=record.pk)).data)

    @extend_schema(operation_id="workflow_task_destroy", tags=["records"], summary="Delete a task",
                   parameters=[WORKFLOW_PARAM, UNIQUE_ID_PARAM], responses={204: None, **ERRORS})
    def delete(self, request, workflow_id, unique_id):
        record_services.delete_record(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecordHistoryView(WorkflowScopedMixin, generics.GenericAPIView):
    """What happened to a task, oldest first: created, updated, moved, actions and their outcomes."""

    serializer_class = RecordEventSerializer
    cursor_ordering = ("created_at", "id")

    @extend_schema(operation_id="workflow_task_history", tags=["records"], summary="A task's history",
                   parameters=[WORKFLOW_PARAM, UNIQUE_ID_PARAM],
                   responses={200: RecordEventSerializer(many=True), **ERRORS})
    def get(self, request, workflow_id, unique_id):
        record = record_services.get_record_for(request.auth, self.get_workflow(), unique_id)
        page = self.paginate_queryset(record_services.record_events(record))
        return self.get_paginated_response(RecordEventSerializer(page, many=True).data)


# -- stages and fields ------------------------------------------------------------------------------------
class StageListView(DefinitionRolesMixin, WorkflowScopedMixin, generics.GenericAPIView):
    serializer_class = StageSerializer
    cursor_ordering = ("position", "id")

    @extend_schema(operation_id="workflow_stages_list", tags=["records"], summary="List a workflow's stages",
                   parameters=[WORKFLOW_PARAM], responses={200: StageSerializer(many=True), **ERRORS})
    def get(self, request, workflow_id):
        page = self.paginate_queryset(self.get_workflow().stages.all())
        return self.get_paginated_response(StageSerializer(page, many=True).data)

    @extend_schema(operation_id="workflow_stages_create", tags=["records"], summary="Add a stage",
                   parameters=[WORKFLOW_PARAM], request=StageSerializer, responses={201: StageSerializer, **ERRORS})
    def post(self, request, workflow_id):
        workflow = self.get_workflow()  # another tenant's workflow answers 404 whatever the body
        serializer = StageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stage = record_services.create_stage(workflow=workflow, **serializer.validated_data)
        return Response(StageSerializer(stage).data, status=status.HTTP_201_CREATED)


class StageDetailView(DefinitionRolesMixin, WorkflowScopedMixin, generics.GenericAPIView):
    serializer_class = StageSerializer
    pagination_class = None

    def get_object(self):
        return record_services.get_stage_for(self.get_workflow(), self.kwargs["stage_id"])

    @extend_schema(operation_id="workflow_stage_retrieve", tags=["records"], summary="Get a stage",
                   parameters=[WORKFLOW_PARAM, STAGE_PARAM], responses={200: StageSerializer, **ERRORS})
    def get(self, request, workflow_id, stage_id):
        return Response(StageSerializer(self.get_object()).data)

    @extend_schema(operation_id="workflow_stage_update", tags=["records"], summary="Rename or reorder a stage",
                   parameters=[WORKFLOW_PARAM, STAGE_PARAM], request=StageSerializer,
                   responses={200: StageSerializer, **ERRORS})
    def patch(self, request, workflow_id, stage_id):
        stage = self.get_object()
        serializer = StageSerializer(stage, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        stage = record_services.update_stage(stage, **serializer.validated_data)
        return Response(StageSerializer(stage).data)

    @extend_schema(operation_id="workflow_stage_destroy", tags=["records"], summary="Delete an empty stage",
                   parameters=[WORKFLOW_PARAM, STAGE_PARAM], responses={204: None, **ERRORS, **CONFLICT})
    def delete(self, request, workflow_id, stage_id):
        record_services.delete_stage(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class FieldListView(DefinitionRolesMixin, WorkflowScopedMixin, generics.GenericAPIView):
    serializer_class = FieldDefinitionSerializer
    cursor_ordering = ("position", "id")

    @extend_schema(operation_id="workflow_fields_list", tags=["records"], summary="List a workflow's fields",
                   parameters=[WORKFLOW_PARAM], responses={200: FieldDefinitionSerializer(many=True), **ERRORS})
    def get(self, request, workflow_id):
        page = self.paginate_queryset(self.get_workflow().field_definitions.all())
        return self.get_paginated_response(FieldDefinitionSerializer(page, many=True).data)

    @extend_schema(operation_id="workflow_fields_create", tags=["records"], summary="Add a field",
                   parameters=[WORKFLOW_PARAM], request=FieldDefinitionSerializer,
                   responses={201: FieldDefinitionSerializer, **ERRORS})
    def post(self, request, workflow_id):
        workflow = self.get_workflow()  # another tenant's workflow answers 404 whatever the body
        serializer = FieldDefinitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = record_services.create_field(workflow=workflow, **serializer.validated_data)
        return Response(FieldDefinitionSerializer(definition).data, status=status.HTTP_201_CREATED)


class FieldDetailView(DefinitionRolesMixin, WorkflowScopedMixin, generics.GenericAPIView):
    serializer_class = FieldDefinitionSerializer
    pagination_class = None

    def get_object(self):
        return record_services.get_field_for(self.get_workflow(), self.kwargs["field_id"])

    @extend_schema(operation_id="workflow_field_retrieve", tags=["records"], summary="Get a field",
                   parameters=[WORKFLOW_PARAM, FIELD_PARAM], responses={200: FieldDefinitionSerializer, **ERRORS})
    def get(self, request, workflow_id, field_id):
        return Response(FieldDefinitionSerializer(self.get_object()).data)

    @extend_schema(operation_id="workflow_field_update", tags=["records"],
                   summary="Change a field (renaming it renames the tasks' values)",
                   parameters=[WORKFLOW_PARAM, FIELD_PARAM], request=FieldDefinitionSerializer,
                   responses={200: FieldDefinitionSerializer, **ERRORS})
    def patch(self, request, workflow_id, field_id):
        definition = self.get_object()
        serializer = FieldDefinitionSerializer(definition, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k in request.data}
        definition = record_services.update_field(definition, **changes)
        return Response(FieldDefinitionSerializer(definition).data)

    @extend_schema(operation_id="workflow_field_destroy", tags=["records"],
                   summary="Delete a field and its values on the tasks",
                   parameters=[WORKFLOW_PARAM, FIELD_PARAM], responses={204: None, **ERRORS})
    def delete(self, request, workflow_id, field_id):
        record_services.delete_field(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- actions ---------------------------------------------------------------------------------------------
ACTION_FILTERS = [
    OpenApiParameter("workflow", OpenApiTypes.STR, description="Only actions of this workflow (id or alias)."),
    OpenApiParameter("project", OpenApiTypes.UUID, description="Only actions of this project."),
    OpenApiParameter("enabled", OpenApiTypes.BOOL),
    OpenApiParameter("name", OpenApiTypes.STR, description="Name contains this text (any case)."),
]


def _action_queryset(caller):
    return (Action.objects.for_caller(caller).select_related("target_stage")
            .prefetch_related("stages", "allowed_users"))


def _write_arguments(caller, data: dict, *, creating: bool) -> dict:
    """Service arguments from a validated body: resolves the workflow and the project."""
    arguments = dict(data)
    project_id = arguments.pop("project", None)
    if "workflow" in arguments:
        ref = arguments["workflow"]
        if ref in (None, ""):
            arguments["workflow"] = None
        else:
            try:
                arguments["workflow"] = get_workflow_for(caller, ref)
            except NotFound:
                raise ValidationError({"workflow": [f"No workflow with id or alias {ref!r}."]}) from None
    if creating:
        project = None
        if project_id is not None:
            project = Project.objects.for_caller(caller).filter(pk=project_id).first()
            if project is None:
                raise ValidationError({"project": ["No such project in your account."]})
        elif arguments.get("workflow") is not None:
            project = arguments["workflow"].project
        arguments["project"] = project or default_project(caller)
    elif project_id is not None:
        raise ValidationError({"project": ["An action cannot move to another project; create a new one there."]})
    return arguments


class ActionListView(DefinitionRolesMixin, generics.GenericAPIView):
    serializer_class = ActionDefinitionSerializer
    filter_backends: list = []
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(operation_id="actions_list", tags=["actions"], summary="List actions",
                   parameters=ACTION_FILTERS, responses={200: ActionDefinitionSerializer(many=True), **ERRORS})
    def get(self, request):
        queryset = _action_queryset(request.auth)
        params = request.query_params
        if params.get("workflow"):
            queryset = queryset.filter(workflow=get_workflow_for(request.auth, params["workflow"]))
        if params.get("project"):
            queryset = queryset.filter(project_id=_uuid_param("project", params["project"]))
        enabled = truth_param(params, "enabled")
        if enabled is not None:
            queryset = queryset.filter(enabled=enabled)
        if params.get("name"):
            queryset = queryset.filter(name__icontains=params["name"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ActionDefinitionSerializer(page, many=True).data)

    @extend_schema(operation_id="actions_create", tags=["actions"], summary="Create an action",
                   request=ActionDefinitionWriteSerializer, responses={201: ActionDefinitionSerializer, **ERRORS})
    def post(self, request):
        serializer = ActionDefinitionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        arguments = _write_arguments(request.auth, {"name": None, **serializer.validated_data}, creating=True)
        action = action_services.create_action(**arguments)
        return Response(ActionDefinitionSerializer(_action_queryset(request.auth).get(pk=action.pk)).data,
                        status=status.HTTP_201_CREATED)


def _uuid_param(name: str, value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError({name: ["Must be a UUID."]}) from None


class ActionDetailView(DefinitionRolesMixin, generics.GenericAPIView):
    serializer_class = ActionDefinitionSerializer
    filter_backends: list = []
    pagination_class = None

    def get_object(self):
        return action_services.get_action_for(self.request.auth, self.kwargs["action_id"],
                                              _action_queryset(self.request.auth))

    @extend_schema(operation_id="action_retrieve", tags=["actions"], summary="Get an action by UUID or short id",
                   parameters=[ACTION_PARAM], responses={200: ActionDefinitionSerializer, **ERRORS})
    def get(self, request, action_id):
        return Response(ActionDefinitionSerializer(self.get_object()).data)

    @extend_schema(operation_id="action_update", tags=["actions"], summary="Change an action",
                   parameters=[ACTION_PARAM], request=ActionDefinitionWriteSerializer,
                   responses={200: ActionDefinitionSerializer, **ERRORS})
    def patch(self, request, action_id):
        action = self.get_object()
        serializer = ActionDefinitionWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        arguments = _write_arguments(request.auth, serializer.validated_data, creating=False)
        action_services.update_action(action, **arguments)
        return Response(ActionDefinitionSerializer(_action_queryset(request.auth).get(pk=action.pk)).data)

    @extend_schema(operation_id="action_destroy", tags=["actions"], summary="Delete an action",
                   parameters=[ACTION_PARAM], responses={204: None, **ERRORS})
    def delete(self, request, action_id):
        action_services.delete_action(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
