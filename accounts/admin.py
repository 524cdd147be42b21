"""Operators' admin for tenants, projects, memberships and API keys.

API keys are created through ``accounts.services.create_api_key``: the full key appears once, in
the message after saving, and only its prefix and digest are stored.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from accounts import services
from accounts.models import ApiKey, Membership, Project, Tenant


class ProjectInline(admin.TabularInline):
    model = Project
    extra = 0
    fields = ["name", "slug", "created_at"]
    readonly_fields = ["created_at"]
    prepopulated_fields = {"slug": ["name"]}
    show_change_link = True


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "id", "created_at"]
    search_fields = ["name", "slug", "id"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "created_at"]
    inlines = [ProjectInline, MembershipInline]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "tenant", "id", "created_at"]
    list_filter = ["tenant"]
    list_select_related = ["tenant"]
    search_fields = ["name", "slug", "id", "tenant__slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "created_at"]
    autocomplete_fields = ["tenant"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    list_select_related = ["user", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__slug", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]
    readonly_fields = ["created_at"]


class ApiKeyCreationForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["tenant", "project", "name", "role", "expires_at"]

    def clean(self):
        cleaned = super().clean()
        tenant, project = cleaned.get("tenant"), cleaned.get("project")
        if tenant is not None and project is not None and project.tenant_id != tenant.id:
            self.add_error("project", f"Project {project} belongs to another tenant; pick one of {tenant.slug}'s.")
        expires_at = cleaned.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            self.add_error("expires_at", "The expiry must be in the future (or empty for a key that never expires).")
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "project", "role", "prefix", "state", "created_at", "last_used_at",
                    "expires_at"]
    list_filter = ["role", "tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["tenant", "project__tenant"]
    search_fields = ["name", "prefix", "tenant__slug"]
    autocomplete_fields = ["tenant", "project"]
    actions = ["revoke_keys"]
    # The digest never appears; the prefix is the only part of the key kept in clear.
    exclude = ["digest"]
    change_form_template = "admin/accounts/apikey/change_form.html"

    class Media:
        css = {"all": ["flowgate-console.css"]}
        js = ["flowgate-console.js"]

    def get_urls(self):
        revoke = self.admin_site.admin_view(require_POST(self.revoke_view))
        return [path("<uuid:object_id>/revoke/", revoke, name="accounts_apikey_revoke"),
                *super().get_urls()]

    def revoke_view(self, request, object_id):
        """The key page's Revoke button: through ``accounts.services.revoke_api_key``."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        key = get_object_or_404(ApiKey, pk=object_id)
        if services.revoke_api_key(key):
            self.message_user(request, f"API key {key.name} ({key.prefix}) is revoked: requests with it now "
                                       "answer 401.", messages.SUCCESS)
        else:
            self.message_user(request, f"API key {key.name} was already revoked.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:accounts_apikey_change", args=[key.pk]))

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "project", "name", "role", "expires_at"]
        return ["name", "tenant", "project", "role", "prefix", "state", "created_by", "created_at", "last_used_at",
                "expires_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A key's reach and role are fixed at creation: make a new key rather than widen an old one.
        return ["tenant", "project", "role", "prefix", "state", "created_by", "created_at", "last_used_at",
                "revoked_at"]

    @admin.display(description="state")
    def state(self, key: ApiKey) -> str:
        if key.revoked_at is not None:
            return "revoked"
        return "active" if key.is_usable else "expired"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = services.create_api_key(
            form.cleaned_data["tenant"], form.cleaned_data["name"], form.cleaned_data["role"],
            project=form.cleaned_data.get("project"), expires_at=form.cleaned_data.get("expires_at"),
            created_by=request.user if request.user.is_authenticated else None,
        )
        # The admin goes on with ``obj`` (change message, redirect): make it the row just created.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding = False
        obj._state.db = key._state.db
        messages.warning(request, format_html(
            'The API key {} is shown only this once; store it now: <span class="fg-secret">'
            '<input id="fg-new-key" class="fg-mono" readonly value="{}" aria-label="The new API key" size="60">'
            '<button type="button" class="fg-button fg-small" data-copy-target="fg-new-key">Copy</button></span>',
            key.name, secret,
        ))

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request, queryset):
        revoked = sum(services.revoke_api_key(key) for key in queryset)
        already = queryset.count() - revoked
        message = f"Revoked {revoked} API key{'s' if revoked != 1 else ''}."
        if already:
            message += f" {already} {'was' if already == 1 else 'were'} already revoked."
        self.message_user(request, message, messages.SUCCESS)
