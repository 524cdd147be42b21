"""Every write to tenants, projects, memberships and API keys goes through these functions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiKey, Membership, Project, Role, Tenant
from config.queries import CompiledRead

KEY_PREFIX = "fg"
# Eight characters of look-up prefix: unique in practice, and too short to help guess a key.
PREFIX_LENGTH = 8
# Refresh last_used_at at most this often, so authenticating is not a write per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_tenant(name: str, slug: str | None = None) -> Tenant:
    return Tenant.objects.create(name=name, slug=slug or slugify(name))


def create_project(tenant: Tenant, name: str, slug: str | None = None) -> Project:
    return Project.objects.create(tenant=tenant, name=name, slug=slug or slugify(name))


def add_member(tenant: Tenant, user, role: str = Role.VIEWER) -> Membership:
    membership, created = Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def create_user(username: str, password: str | None, *, email: str = "", tenant: Tenant | None = None,
                role: str = Role.VIEWER, is_staff: bool = False, is_superuser: bool = False):
    User = get_user_model()
    with transaction.atomic():
        user = User(username=username, email=email, is_staff=is_staff or is_superuser, is_superuser=is_superuser)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        if tenant is not None:
            add_member(tenant, user, role)
    return user


def create_api_key(tenant: Tenant, name: str, role: str = Role.WORKFLOW, *, project: Project | None = None,
                   expires_at: datetime | None = None, created_by=None) -> tuple[ApiKey, str]:
    """Create a key and return it with its full secret, which is never stored and never shown again."""
    if project is not None and project.tenant_id != tenant.id:
        raise ValueError("The project belongs to another tenant.")
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    while True:
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        tenant=tenant, project=project, name=name, role=role, prefix=prefix, digest=_digest(secret),
        expires_at=expires_at, created_by=created_by,
    )
    return key, secret


def revoke_api_key(key: ApiKey) -> bool:
    """Revoke a key; answers False when it was already revoked."""
    return bool(ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))


def parse_key_prefix(secret: str) -> str | None:
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != PREFIX_LENGTH:
        return None
    return parts[1]


def find_api_key(secret: str) -> ApiKey | None:
    """The usable key whose secret this is, or None. The digest comparison is constant-time."""
    prefix = parse_key_prefix(secret)
    if prefix is None:
        return None
    key = _key_with_tenant(prefix)
    if key is None or not hmac.compare_digest(key.digest, _digest(secret)):
        return None
    if not key.is_usable:
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


_KEY_FIELDS = tuple(field.attname for field in ApiKey._meta.concrete_fields)
_TENANT_FIELDS = tuple(field.attname for field in Tenant._meta.concrete_fields)
# Every request with a key reads its key: compiled once per process (config.queries).
_KEY_READ = CompiledRead(
    lambda prefix: ApiKey.objects.filter(prefix=prefix).values(*_KEY_FIELDS, *(f"tenant__{f}" for f in _TENANT_FIELDS)),
    prefix=f"stand-in-{secrets.token_hex(8)}")


def _key_with_tenant(prefix: str) -> ApiKey | None:
    row = _KEY_READ.first(prefix=prefix)
    if row is None:
        return None
    key = ApiKey.from_db("default", _KEY_FIELDS, [row[name] for name in _KEY_FIELDS])
    key.tenant = Tenant.from_db("default", _TENANT_FIELDS, [row[f"tenant__{name}"] for name in _TENANT_FIELDS])
    return key


def membership_for(user, tenant_hint: str | None = None) -> Membership | None:
    """The membership a user acts through: the tenant named by the hint (slug or id), else the first."""
    memberships = Membership.objects.select_related("tenant").filter(user=user)
    if tenant_hint:
        hinted = [m for m in memberships if m.tenant.slug == tenant_hint or str(m.tenant.id) == tenant_hint]
        return hinted[0] if hinted else None
    return memberships.first()
