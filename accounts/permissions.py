"""Role checks. Views declare which roles may read and which may write."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from accounts.caller import Caller
from accounts.models import OPERATOR_ROLES, Role
from accounts.throttling import check_failed_authentication

ALL_ROLES = frozenset(Role.values)


class HasTenantRole(permissions.BasePermission):
    """Allow a caller whose role is in the view's ``read_roles`` (safe methods) or ``write_roles``.

    Views may also map actions to roles with ``action_roles = {"approve": {...}}``.
    """

    def has_permission(self, request, view) -> bool:
        caller = request.auth
        if not isinstance(caller, Caller):
            if request.user and request.user.is_authenticated:
                raise exceptions.PermissionDenied(
                    "Your account is not a member of any tenant; ask a tenant admin to add you."
                )
            check_failed_authentication(request)
            raise exceptions.NotAuthenticated()
        roles = required_roles(request, view)
        if caller.role not in roles:
            raise exceptions.PermissionDenied(
                f"Your role ({caller.role}) may not do this; it needs one of: {', '.join(sorted(roles))}."
            )
        return True


def required_roles(request, view) -> frozenset[str]:
    action_roles = getattr(view, "action_roles", None) or {}
    action = getattr(view, "action", None)
    if action in action_roles:
        return frozenset(action_roles[action])
    if request.method in permissions.SAFE_METHODS:
        return frozenset(getattr(view, "read_roles", ALL_ROLES))
    return frozenset(getattr(view, "write_roles", OPERATOR_ROLES))
