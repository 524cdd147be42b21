"""Admin building blocks: rows that change only through Flowgate's services.

Operators may look at engine-written rows (and delete them where a model allows it), but never
add or edit them by hand: executions, task runs, logs, versions, approvals and flow runs are
written by the engine, the API and the approvers' pages, which keep their invariants. Rows that
operators do edit (workflows, stages, fields, records, actions) are saved through the services:
``adopt`` hands what a service saved back to the admin, ``error_messages`` words its refusal.
"""

from __future__ import annotations

from django.contrib import admin
from rest_framework.exceptions import ValidationError

from config.errors import error_lines, flatten_errors


def error_messages(exc: ValidationError) -> list[str]:
    """A service's ValidationError as lines an admin page can show ("name: This workflow already ...")."""
    return error_lines(flatten_errors(exc.detail))


def adopt(obj, saved) -> None:
    """Copy what a service saved onto the admin's object, which Django goes on to use (log entry, redirect)."""
    for field in type(obj)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


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
