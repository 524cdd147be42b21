"""Admin building blocks: rows that change only through Flowgate's services.

Operators may look at engine-written rows (and delete them where a model allows it), but never
add or edit them by hand: executions, task runs, logs, versions, approvals and flow runs are
written by the engine, the API and the approvers' pages, which keep their invariants. Rows that
operators do edit (workflows, stages, fields, records, actions) are saved through the services:
``adopt`` hands what a service saved back to the admin, ``error_messages`` words its refusal.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import helpers
from django.utils.html import format_html
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException

from config.counting import EstimatedPaginator
from config.errors import error_lines, flatten_errors


def error_messages(exc: APIException) -> list[str]:
    """A service's refusal (a ValidationError, a Conflict...) as lines an admin page can show
    ("name: This workflow already ...", or its one message)."""
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


class LargeTableAdmin(ReadOnlyAdmin):
    """A read-only admin over a table that grows with every execution (executions, task runs, logs...).

    Its changelist never counts the whole table: without filters it shows PostgreSQL's estimate
    ("about 1,000,000"), with filters an exact count up to 10,000 ("more than 10,000" past it),
    and no "N total" beside a search. Subclasses keep to filters with fixed choices (no SELECT
    DISTINCT over the table) and to no ``date_hierarchy`` (it reads every row's date), and name
    in ``list_select_related`` the relations their columns print.
    """

    paginator = EstimatedPaginator
    show_full_result_count = False
    # Django's "Show counts" would count the whole table once per filter choice.
    show_facets = admin.ShowFacets.NEVER
    list_select_related: list | tuple = ()
    # Rows per page: rendering a row (about a millisecond on a busy 2-core machine) costs far more than
    # reading it from its index, so a page stays a screenful.
    list_per_page = 30

    def action_checkbox(self, obj):
        """Django's row checkbox, written directly instead of through a form widget's template (per row)."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, str(obj.pk), label)


class ReadOnlyInline(admin.TabularInline):
    """An inline that lists a parent's child rows without offering to add, edit or remove them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False
