"""The one mechanism that narrows every view's rows to the caller's tenant (and project)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from rest_framework.exceptions import NotFound

from accounts.caller import Caller

NOT_FOUND = "Not found."


class TenantScopedMixin:
    """For DRF views: ``get_queryset()`` returns only rows of the caller's tenant.

    The model's manager must be a ``TenantQuerySet``; another tenant's object therefore answers
    404 from ``get_object()`` exactly like a missing one.
    """

    def get_queryset(self):
        return super().get_queryset().for_caller(self.request.auth)


def get_for_caller(queryset, caller: Caller | None, message: str = NOT_FOUND, **lookup):
    """Fetch one row the caller may see, or raise NotFound (also for malformed ids)."""
    try:
        return queryset.for_caller(caller).get(**lookup)
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound(message) from None
