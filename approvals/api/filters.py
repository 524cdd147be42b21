import django_filters

from approvals import services
from approvals.models import Approval, ApprovalStatus
from config.filters import ChoiceInFilter, TruthFilter


class ApprovalFilter(django_filters.FilterSet):
    status = ChoiceInFilter(field_name="status", choices=ApprovalStatus.choices)
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
