"""Who is calling: the tenant, role and identity behind a request, whatever the credential."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from accounts.models import DECIDER_ROLES, OPERATOR_ROLES, ApiKey, Tenant

# How an API key is named where an actor is stored: "key:<the key's name>".
KEY_LABEL_PREFIX = "key:"

@dataclass(frozen=True)
class Caller:
    """The authenticated party of a request; DRF puts it in ``request.auth``."""

    tenant: Tenant
    role: str
    user: object | None = None  # a django.contrib.auth user, when a person is calling
    api_key: ApiKey | None = None
    project_id: uuid.UUID | None = None  # a project-bound key reaches only this project

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.id

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "pk", None)

    @property
    def person(self):
        """The user behind the request when a person (not a key) is calling, else None."""
        return self.user if self.user_id is not None else None

    @property
    def can_operate(self) -> bool:
        return self.role in OPERATOR_ROLES

    @property
    def can_decide(self) -> bool:
        return self.role in DECIDER_ROLES

    @property
    def label(self) -> str:
        """Who is calling, as stored on what they start or change (``actor_words`` reads it back)."""
        if self.user is not None:
            return self.user.get_username()
        if self.api_key is not None:
            return f"{KEY_LABEL_PREFIX}{self.api_key.name}"
        return "system"


def actor_words(label: str | None) -> str:
    """A stored actor label (a username, ``key:<name>`` or ``system``) as words: API key “demo”."""
    label = (label or "").strip()
    if not label or label == "system":
        return "Flowgate (system)"
    if label.startswith(KEY_LABEL_PREFIX):
        return f"API key “{label[len(KEY_LABEL_PREFIX):]}”"
    return label


class KeyUser:
    """Stands in for ``request.user`` when an API key (not a person) authenticated."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.username = f"{KEY_LABEL_PREFIX}{api_key.name}"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username

    def has_perm(self, *args, **kwargs) -> bool:
        return False

    def has_perms(self, *args, **kwargs) -> bool:
        return False

    def has_module_perms(self, *args, **kwargs) -> bool:
        return False
