import django_filters

from config.filters import ChoiceInFilter, UtcIsoDateTimeFilter
from executions.models import Execution, ExecutionStatus, Log, LogLevel
from workflows.api.filters import TagFilter


class ExecutionFilter(django_filters.FilterSet):
    status = ChoiceInFilter(field_name="status", choices=ExecutionStatus.choices)
    workflow = django_filters.UUIDFilter(field_name="workflow_id")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ended_after = UtcIsoDateTimeFilter(field_name="ended_at", lookup_expr="gte")
    ended_before = UtcIsoDateTimeFilter(field_name="ended_at", lookup_expr="lt")
    tag = TagFilter(help_text="key:value, like team:ops.")
    started_by = django_filters.CharFilter(field_name="started_by_label")
    linked_account_id = django_filters.CharFilter()
    schedule = django_filters.UUIDFilter(field_name="origin_id",
                                         help_text="Only the executions this schedule started.")

    class Meta:
        model = Execution
        fields = ["status", "workflow", "created_after", "created_before", "ended_after", "ended_before", "tag",
                  "started_by", "linked_account_id", "schedule"]


class LogFilter(django_filters.FilterSet):
    level = django_filters.MultipleChoiceFilter(choices=LogLevel.choices)

    class Meta:
        model = Log
        fields = ["level"]
