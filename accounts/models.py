"""Tenants, projects, memberships with roles, and API keys."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    WORKFLOW = "workflow", "Workflow"
    APPROVER = "approver", "Approver"
    VIEWER = "viewer", "Viewer"


# Roles allowed to start, cancel and retry executions and to write definitions.
OPERATOR_ROLES = frozenset({Role.ADMIN, Role.WORKFLOW})
# Roles allowed to decide approvals (subject to each approval's own rules).
DECIDER_ROLES = frozenset({Role.ADMIN, Role.WORKFLOW, Role.APPROVER})


class Tenant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet):
    """Every tenant-owned model's manager: one place that narrows rows to a tenant."""

    tenant_field = "tenant"
    # Path to the owning project, for keys bound to one project; None when rows have no project.
    project_field: str | None = None

    def for_tenant(self, tenant: Tenant | uuid.UUID | None):
        if tenant is None:
            return self.none()
        return self.filter(**{self.tenant_field: tenant})

    def for_caller(self, caller):
        """Rows the caller may see: its tenant's, and only its project's for a project-bound key."""
        if caller is None:
            return self.none()
        return self.for_scope(caller.tenant_id, caller.project_id)

    def for_scope(self, tenant_id, project_id=None):
        """Rows of the tenant, and of the project when one is given (``for_caller`` by ids)."""
        queryset = self.for_tenant(tenant_id)
        if project_id is not None and self.project_field is not None:
            queryset = queryset.filter(**{self.project_field: project_id})
        return queryset


def scoped_queryset(tenant_field: str = "tenant", project_field: str | None = None) -> type[TenantQuerySet]:
    """A TenantQuerySet subclass for a model whose tenant and project live at the given paths."""
    return type(
        "ScopedQuerySet",
        (TenantQuerySet,),
        {"tenant_field": tenant_field, "project_field": project_field},
    )


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_queryset(project_field="id").as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="project_slug_unique_in_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.slug}"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_tenant")]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.role}"


class ApiKeyQuerySet(TenantQuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiKey(models.Model):
    """A tenant's API key. Only a SHA-256 digest and a short look-up prefix are stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="When set, the key reaches only this project.",
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.WORKFLOW)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
