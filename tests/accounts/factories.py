"""Tenants, projects, users and API keys, written through ``accounts.services`` as production writes them.

The factories build the rows; ``user_caller`` and ``key_caller`` give the ``Caller`` a request by
that user or with a new key would make, for calling services directly.
"""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils.text import slugify

from accounts import services
from accounts.authentication import caller_for_key
from accounts.caller import Caller
from accounts.models import ApiKey, Project, Role, Tenant

PASSWORD = "correct-horse-battery-staple"


class TenantFactory(factory.Factory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.LazyAttribute(lambda tenant: slugify(tenant.name))

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.create_tenant(**kwargs)


class ProjectFactory(factory.Factory):
    class Meta:
        model = Project

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.LazyAttribute(lambda project: slugify(project.name))

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.create_project(**kwargs)


class UserFactory(factory.Factory):
    """A user with the tests' password; a member of ``tenant`` with ``role`` when a tenant is given."""

    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    password = PASSWORD
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    tenant = None
    role = Role.VIEWER
    is_superuser = False

    @classmethod
    def _create(cls, model_class, *, username, password, **kwargs):
        return services.create_user(username, password, **kwargs)


class ApiKeyFactory(factory.Factory):
    """A key of ``tenant``; its secret, shown once in production, stays on the object as ``secret``."""

    class Meta:
        model = ApiKey

    tenant = factory.SubFactory(TenantFactory)
    role = Role.WORKFLOW
    name = factory.LazyAttributeSequence(lambda key, n: f"{key.role}-key-{n}")

    @classmethod
    def _create(cls, model_class, *, tenant, name, role, **kwargs):
        key, secret = services.create_api_key(tenant, name, role, **kwargs)
        key.secret = secret
        return key


def user_caller(user, role: str | None = None) -> Caller:
    """The Caller of a request by ``user``: in the tenant of its first membership, with that role by default."""
    membership = user.memberships.select_related("tenant").first()
    return Caller(tenant=membership.tenant, role=role or membership.role, user=user)


def key_caller(tenant: Tenant, role: str = Role.ADMIN, **key) -> Caller:
    """The Caller of a request with a new API key of ``tenant`` (``name``, ``project``: see ApiKeyFactory)."""
    return caller_for_key(ApiKeyFactory(tenant=tenant, role=role, **key))
