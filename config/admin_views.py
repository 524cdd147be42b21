"""Admin building blocks for rows that change only through Flowgate's services.

Operators may look at such rows (and delete them where a model allows it), but never add or
edit them by hand: executions, task runs, logs, versions, approvals and flow runs are written by
the engine, the API and the approvers' pages, which keep their invariants.
"""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model admin whose change page only shows the row."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """An inline that lists a parent's child rows without offering to add, edit or remove them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False
