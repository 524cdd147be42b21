"""DRF authentication classes: Bearer key, x-api-key header, HTTP Basic, and session.

Each returns ``(user, Caller)`` so that ``request.auth`` is always the Caller that tenant scoping
and role checks read.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions

from accounts.caller import Caller, KeyUser
from accounts.models import ApiKey
from accounts.services import find_api_key, membership_for
from accounts.throttling import check_failed_authentication

TENANT_HEADER = "HTTP_X_FLOWGATE_TENANT"
BAD_KEY = "Invalid, revoked or expired API key. Create a key with `manage.py createapikey` or in the admin."


def caller_for_key(key: ApiKey) -> Caller:
    return Caller(tenant=key.tenant, role=key.role, api_key=key, project_id=key.project_id)


def caller_for_user(user, request) -> Caller | None:
    membership = membership_for(user, request.META.get(TENANT_HEADER))
    if membership is None:
        return None
    return Caller(tenant=membership.tenant, role=membership.role, user=user)


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <api key>``."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use `Bearer <api key>`.")
        return self._authenticate_secret(header[1].decode(errors="replace"), request)

    def _authenticate_secret(self, secret: str, request=None):
        key = find_api_key(secret)
        if key is None:
            if request is not None:
                check_failed_authentication(request)
            raise exceptions.AuthenticationFailed(BAD_KEY)
        return KeyUser(key), caller_for_key(key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="flowgate"'


class HeaderKeyAuthentication(BearerKeyAuthentication):
    """``x-api-key: <api key>`` (Refold's header)."""

    def authenticate(self, request):
        secret = request.META.get("HTTP_X_API_KEY")
        if not secret:
            return None
        return self._authenticate_secret(secret.strip(), request)


class TenantBasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic with a user's username and password."""

    www_authenticate_realm = "flowgate"

    def authenticate_credentials(self, userid, password, request=None):
        try:
            user, _ = super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            if request is not None:
                check_failed_authentication(request)
            raise
        return user, caller_for_user(user, request)


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """Session login (browsable API and web pages); CSRF is enforced on unsafe methods."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        return user, caller_for_user(user, request)
