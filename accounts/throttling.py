"""Rate limits: per API key or user, and per address for anonymous callers."""

from rest_framework.throttling import SimpleRateThrottle

from accounts.caller import Caller


class CallerRateThrottle(SimpleRateThrottle):
    scope = "caller"

    def get_cache_key(self, request, view):
        caller = request.auth
        if not isinstance(caller, Caller):
            return None
        ident = f"key-{caller.api_key.pk}" if caller.api_key is not None else f"user-{caller.user_id}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(SimpleRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, Caller):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedAuthenticationThrottle(SimpleRateThrottle):
    """Counts requests that bring no or bad credentials, per address, at the anonymous rate.

    DRF checks throttles only after authentication and permissions succeed, so without this a
    caller could guess keys or passwords at any speed.
    """

    scope = "anonymous"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "failed-auth", "ident": self.get_ident(request)}


def check_failed_authentication(request) -> None:
    """Raise 429 when this address has brought bad or no credentials too often."""
    from rest_framework.exceptions import Throttled

    throttle = FailedAuthenticationThrottle()
    if not throttle.allow_request(request, None):
        raise Throttled(wait=throttle.wait())
