import django_filters

from executions.models import Execution, Log, LogLevel
from workflows.api.filters import TagFilter


class ExecutionFilter(django_filters.FilterSet):
    status = django_filters.BaseInFilter(field_name="status", help_text="One or more statuses, comma-separated.")
    workflow = django_filters.UUIDFilter(field_name="workflow_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ended_after = django_filters.IsoDateTimeFilter(field_name="ended_at", lookup_expr="gte")
    ended_before = django_filters.IsoDateTimeFilter(field_name="ended_at", lookup_expr="lt")
    tag = TagFilter(help_text="key:value, like team:ops.")
    started_by = django_filters.CharFilter(field_name="started_by_label")
    linked_account_id = django_filters.CharFilter()
    schedule = django_filters.UUIDFilter(field_name="schedule_link__schedule_id",
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
