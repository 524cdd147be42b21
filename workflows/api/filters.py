import django_filters
from django.db import connections
from django.db.models.fields.json import KeyTransform
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from config.filters import TruthFilter
from workflows.models import Workflow


def filter_tag(queryset, name, value):
    """``tag=key:value`` matches rows whose tags object has that key with that value."""
    key, sep, tag_value = value.partition(":")
    if not sep or not key:
        raise ValidationError({"tag": ["Use key:value, for example tag=team:ops."]})
    if connections[queryset.db].vendor == "postgresql":
        # Containment, which the executions' GIN index of their tags answers (executions 0010).
        return queryset.filter(tags__contains={key: tag_value})
    # The key as a JSON key, never read as a lookup (``isnull``, ``a__regex``) as ``tags__<key>`` would be.
    return queryset.alias(tag_value=KeyTransform(key, "tags")).filter(tag_value=tag_value)


@extend_schema_field({"type": "string", "pattern": "^[^:]+:", "example": "team:ops"})
class TagFilter(django_filters.CharFilter):
    """``tag=key:value`` (the document's pattern says so; a value without a key and a colon answers 400)."""

    def __init__(self, **kwargs):
        super().__init__(method=lambda qs, name, value: filter_tag(qs, name, value), **kwargs)


class WorkflowFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    alias = django_filters.CharFilter()
    enabled = TruthFilter()
    tag = TagFilter(help_text="key:value, like team:ops.")
    project = django_filters.UUIDFilter(field_name="project_id")

    class Meta:
        model = Workflow
        fields = ["name", "alias", "enabled", "tag", "project"]
