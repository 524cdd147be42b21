import django_filters

from approvals import services
from approvals.models import Approval
from config.filters import TruthFilter


class ApprovalFilter(django_filters.FilterSet):
    status = django_filters.BaseInFilter(field_name="status",
                                         help_text="One or more of pending, approved, rejected, expired, cancelled, "
                                                   "comma-separated.")
    workflow = django_filters.UUIDFilter(field_name="execution__workflow_id")
    execution = django_filters.UUIDFilter(field_name="execution_id")
    mine = TruthFilter(method="filter_mine", help_text="true: only pending approvals that you may decide now.")

    class Meta:
        model = Approval
        fields = ["status", "workflow", "execution", "mine"]

    def filter_mine(self, queryset, name, value):
        if not value:
            return queryset
        return services.decidable_by(queryset, getattr(self.request, "auth", None))
